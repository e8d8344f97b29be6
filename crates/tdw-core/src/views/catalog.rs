//! The view catalogue (spec §6.1): views addressed by MIScope's names, what each needs on disk,
//! and the epoch cursor that binds a view to one checkpoint of one variant.
//!
//! `variant.at(epoch).view(name)?.figure()?` loads the artifacts the view names and renders one
//! [`Figure`]. Per-epoch views read the cursor's checkpoint; time-axis views draw the cursor as
//! the red epoch indicator; cross-epoch views without a cursor mark the last epoch.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::analysis::loader::ArtifactLoader;
use crate::error::{Error, Result};
use crate::paths;
use crate::variant::Variant;
use crate::views::builtin;
pub use crate::views::definition::{
    Renderer, Requirement, ViewDefinition, ViewInput, ViewOptionSpec,
};
use crate::views::figure::{Figure, ImageFormat};

/// All views, sorted by name.
pub struct ViewCatalog {
    views: BTreeMap<&'static str, ViewDefinition>,
}

impl ViewCatalog {
    /// The built-in catalogue.
    pub fn builtin() -> &'static ViewCatalog {
        static CATALOG: OnceLock<ViewCatalog> = OnceLock::new();
        CATALOG.get_or_init(|| ViewCatalog {
            views: builtin::definitions()
                .into_iter()
                .map(|d| (d.name, d))
                .collect(),
        })
    }

    /// Names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.views.keys().copied().collect()
    }

    /// Every view, in catalogue order.
    pub fn definitions(&self) -> impl Iterator<Item = &ViewDefinition> {
        self.views.values()
    }

    /// A view by name, or an error suggesting the closest names.
    pub fn get(&self, name: &str) -> Result<&ViewDefinition> {
        self.views.get(name).ok_or_else(|| Error::UnknownView {
            name: name.to_string(),
            suggestions: self.close_matches(name),
        })
    }

    /// Up to five names that look like `name` (edit distance, or sharing its last segment).
    pub fn close_matches(&self, name: &str) -> Vec<String> {
        let last = name.rsplit('.').next().unwrap_or(name);
        let mut scored: Vec<(f64, &str)> = self
            .views
            .keys()
            .map(|candidate| {
                let mut score = strsim::normalized_levenshtein(name, candidate);
                let tail = candidate.rsplit('.').next().unwrap_or(candidate);
                if !last.is_empty() && (tail.contains(last) || last.contains(tail)) {
                    score += 0.5;
                }
                (score, *candidate)
            })
            .filter(|(score, _)| *score >= 0.5)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        scored
            .into_iter()
            .take(5)
            .map(|(_, n)| n.to_string())
            .collect()
    }

    /// Names of the views whose requirements `variant` meets, sorted.
    pub fn available_for(&self, variant: &Variant) -> Vec<&'static str> {
        let loader = ArtifactLoader::new(variant.artifacts_dir());
        self.views
            .values()
            .filter(|d| d.requires.iter().all(|r| r.is_met(variant, &loader)))
            .map(|d| d.name)
            .collect()
    }
}

/// A variant with an optional epoch cursor.
#[derive(Debug, Clone)]
pub struct EpochCursor {
    variant: Variant,
    epoch: Option<u64>,
}

impl EpochCursor {
    /// The variant the view draws.
    pub fn variant(&self) -> &Variant {
        &self.variant
    }

    /// The cursor epoch, if one is set.
    pub fn epoch(&self) -> Option<u64> {
        self.epoch
    }

    /// Binds a view to this variant and epoch.
    pub fn view(&self, name: &str) -> Result<BoundView> {
        let definition = ViewCatalog::builtin().get(name)?;
        Ok(BoundView {
            variant: self.variant.clone(),
            epoch: self.epoch,
            definition,
            options: BTreeMap::new(),
        })
    }

    /// Views this variant has the artifacts for.
    pub fn available_views(&self) -> Vec<&'static str> {
        ViewCatalog::builtin().available_for(&self.variant)
    }
}

impl Variant {
    /// The epoch cursor at `epoch`: `variant.at(9000).view("...")`.
    pub fn at(&self, epoch: u64) -> EpochCursor {
        EpochCursor {
            variant: self.clone(),
            epoch: Some(epoch),
        }
    }

    /// A view without a cursor: per-epoch views take the first analyzed epoch, time-axis views
    /// draw no indicator.
    pub fn view(&self, name: &str) -> Result<BoundView> {
        EpochCursor {
            variant: self.clone(),
            epoch: None,
        }
        .view(name)
    }

    /// Names of the views whose artifacts exist for this variant.
    pub fn available_views(&self) -> Vec<&'static str> {
        ViewCatalog::builtin().available_for(self)
    }
}

/// A view bound to a variant, an epoch cursor and options; render it with [`BoundView::figure`].
#[derive(Debug, Clone)]
pub struct BoundView {
    variant: Variant,
    epoch: Option<u64>,
    definition: &'static ViewDefinition,
    options: BTreeMap<String, String>,
}

impl BoundView {
    /// The view's name.
    pub fn name(&self) -> &'static str {
        self.definition.name
    }

    /// What the view reads and how it draws.
    pub fn definition(&self) -> &'static ViewDefinition {
        self.definition
    }

    /// Sets a view option (`neuron`, `group`, …); unknown names are rejected when rendering.
    pub fn with(mut self, option: &str, value: impl ToString) -> Self {
        self.options.insert(option.to_string(), value.to_string());
        self
    }

    /// Loads what the view reads and draws it.
    pub fn figure(&self) -> Result<Figure> {
        let loader = ArtifactLoader::new(self.variant.artifacts_dir());
        self.definition.check_available(&self.variant, &loader)?;
        for name in self.options.keys() {
            if !self.definition.options.iter().any(|o| o.name == name) {
                let known: Vec<&str> = self.definition.options.iter().map(|o| o.name).collect();
                return Err(Error::ViewOption {
                    view: self.definition.name.to_string(),
                    reason: format!("unknown option '{name}' (options: [{}])", known.join(", ")),
                });
            }
        }
        let input = ViewInput::new(
            self.definition,
            &self.variant,
            loader,
            self.epoch,
            &self.options,
        );
        (self.definition.render)(&input)
    }

    /// Where [`BoundView::export`] writes by default:
    /// `results/exports/{variant}__{view}[__epochEEEEE][__{k}_{v}…].{ext}` (MIScope's scheme).
    pub fn default_export_path(&self, format: ImageFormat) -> PathBuf {
        // An intervened variant's name is a path (`{parent}/interventions/{name}`): one file name.
        let variant = self.variant.name().replace('/', "__");
        let mut stem = format!("{variant}__{}", self.definition.name);
        if let Some(epoch) = self.epoch.filter(|_| self.definition.is_per_epoch()) {
            stem.push_str(&format!("__epoch{epoch:05}"));
        }
        for (k, v) in &self.options {
            stem.push_str(&format!("__{k}_{v}"));
        }
        paths::results_dir()
            .join("exports")
            .join(format!("{stem}.{}", format.extension()))
    }

    /// Renders and saves the view (format from the extension), returning the path written.
    pub fn export(&self, path: Option<PathBuf>) -> Result<PathBuf> {
        let path = path.unwrap_or_else(|| self.default_export_path(ImageFormat::Svg));
        ImageFormat::from_path(&path)?;
        self.figure()?.save(path)
    }
}
