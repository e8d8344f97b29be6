//! What a view is: its name, what it reads on disk ([`Requirement`]), its options, and the
//! renderer that draws it from a [`ViewInput`]. The built-in views are tables of these
//! definitions; the catalogue collects them.

use std::collections::BTreeMap;

use crate::analysis::loader::ArtifactLoader;
use crate::error::{Error, Result};
use crate::formats::artifact::Artifact;
use crate::variant::{Metadata, Variant};
use crate::views::figure::Figure;

/// What a view needs on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// At least one per-epoch artifact of the analyzer.
    Epoch(&'static str),
    /// The analyzer's `summary.npz`.
    Summary(&'static str),
    /// The analyzer's `cross_epoch.npz`.
    CrossEpoch(&'static str),
    /// The variant's `metadata.json` (it has been trained).
    Metadata,
}

impl Requirement {
    pub(crate) fn is_met(self, variant: &Variant, loader: &ArtifactLoader) -> bool {
        match self {
            Requirement::Epoch(a) => !loader.epochs(a).is_empty(),
            Requirement::Summary(a) => loader.has_summary(a),
            Requirement::CrossEpoch(a) => loader.has_cross_epoch(a),
            Requirement::Metadata => variant.metadata_path().is_file(),
        }
    }

    fn describe(self) -> String {
        match self {
            Requirement::Epoch(a) => format!("no per-epoch artifacts of '{a}' (run `tdw analyze`)"),
            Requirement::Summary(a) => format!("no summary.npz of '{a}' (run `tdw analyze`)"),
            Requirement::CrossEpoch(a) => {
                format!("no cross_epoch.npz of '{a}' (run `tdw analyze`)")
            }
            Requirement::Metadata => "no metadata.json (train the variant first)".into(),
        }
    }
}

/// An option a view accepts (`neuron=5`, `group=mlp`), with its default and meaning.
#[derive(Debug, Clone, Copy)]
pub struct ViewOptionSpec {
    /// Its name, as in `name=value`.
    pub name: &'static str,
    /// Its value when not given.
    pub default: &'static str,
    /// What it changes.
    pub help: &'static str,
}

/// Draws a view from its input.
pub type Renderer = fn(&ViewInput<'_>) -> Result<Figure>;

/// One named chart: what it reads and how it draws.
#[derive(Debug, Clone, Copy)]
pub struct ViewDefinition {
    /// Its name in the catalogue (MIScope's where it has one).
    pub name: &'static str,
    /// What it shows.
    pub description: &'static str,
    /// The artifacts or files it reads.
    pub requires: &'static [Requirement],
    /// For per-epoch views: the analyzer whose checkpoints the cursor moves over.
    pub epoch_source: Option<&'static str>,
    /// The options it accepts.
    pub options: &'static [ViewOptionSpec],
    /// The function that draws it.
    pub render: Renderer,
}

impl ViewDefinition {
    /// Whether the view reads one checkpoint (and so depends on the cursor's epoch).
    pub fn is_per_epoch(&self) -> bool {
        self.epoch_source.is_some()
    }

    /// Whether `variant` has everything the view reads.
    pub fn is_available_for(&self, variant: &Variant) -> bool {
        let loader = ArtifactLoader::new(variant.artifacts_dir());
        self.requires.iter().all(|r| r.is_met(variant, &loader))
    }

    pub(crate) fn check_available(&self, variant: &Variant, loader: &ArtifactLoader) -> Result<()> {
        match self.requires.iter().find(|r| !r.is_met(variant, loader)) {
            None => Ok(()),
            Some(r) => Err(Error::ViewUnavailable {
                view: self.name.to_string(),
                variant: variant.name().to_string(),
                missing: r.describe(),
            }),
        }
    }
}

/// What a renderer sees: the variant, its artifacts, the cursor and the options.
pub struct ViewInput<'a> {
    view: &'static ViewDefinition,
    variant: &'a Variant,
    loader: ArtifactLoader,
    cursor: Option<u64>,
    options: &'a BTreeMap<String, String>,
}

impl<'a> ViewInput<'a> {
    /// The input of `view` on `variant`, reading artifacts through `loader`.
    pub(crate) fn new(
        view: &'static ViewDefinition,
        variant: &'a Variant,
        loader: ArtifactLoader,
        cursor: Option<u64>,
        options: &'a BTreeMap<String, String>,
    ) -> Self {
        ViewInput {
            view,
            variant,
            loader,
            cursor,
            options,
        }
    }

    /// The variant drawn.
    pub fn variant(&self) -> &Variant {
        self.variant
    }

    /// The variant's artifacts.
    pub fn loader(&self) -> &ArtifactLoader {
        &self.loader
    }

    /// The cursor epoch, for the epoch indicator of time-axis charts.
    pub fn cursor(&self) -> Option<u64> {
        self.cursor
    }

    /// An error about this view's data.
    pub fn data_error(&self, reason: impl Into<String>) -> Error {
        Error::ViewData {
            view: self.view.name.to_string(),
            reason: reason.into(),
        }
    }

    /// The epoch a per-epoch view shows: the cursor if given (it must have been analyzed), else
    /// the source analyzer's first epoch.
    pub fn epoch(&self) -> Result<u64> {
        let source = self
            .view
            .epoch_source
            .ok_or_else(|| self.data_error("not a per-epoch view"))?;
        let epochs = self.loader.epochs(source);
        match self.cursor {
            Some(epoch) if epochs.contains(&epoch) => Ok(epoch),
            Some(epoch) => {
                let mut nearest = epochs.clone();
                nearest.sort_by_key(|e| e.abs_diff(epoch));
                nearest.truncate(3);
                nearest.sort();
                Err(Error::ViewData {
                    view: self.view.name.to_string(),
                    reason: format!(
                        "epoch {epoch} has no '{source}' artifact; nearest analyzed epochs: {nearest:?}"
                    ),
                })
            }
            None => epochs
                .first()
                .copied()
                .ok_or_else(|| self.data_error(format!("no epochs of '{source}'"))),
        }
    }

    /// The per-epoch artifact of `analyzer` at [`ViewInput::epoch`], only `fields` if given.
    pub fn epoch_artifact(&self, analyzer: &str, fields: &[&str]) -> Result<(u64, Artifact)> {
        let epoch = self.epoch()?;
        let fields = (!fields.is_empty()).then_some(fields);
        Ok((
            epoch,
            self.loader.load_epoch_fields(analyzer, epoch, fields)?,
        ))
    }

    /// One row `a[i]` of the per-epoch array `key` of `analyzer` at [`ViewInput::epoch`], read
    /// without the rest of the array; `choose` sees the whole shape and picks `i`. Returns the
    /// epoch, the whole shape and the row widened to f64.
    pub fn epoch_row(
        &self,
        analyzer: &str,
        key: &str,
        choose: impl FnOnce(&[usize]) -> Result<usize>,
    ) -> Result<(u64, Vec<usize>, Vec<f64>)> {
        let epoch = self.epoch()?;
        let (shape, row) = self.loader.load_epoch_row(analyzer, epoch, key, choose)?;
        Ok((epoch, shape, row.to_f64().iter().copied().collect()))
    }

    /// `summary.npz` of `analyzer`.
    pub fn summary(&self, analyzer: &str) -> Result<Artifact> {
        self.loader.load_summary(analyzer)
    }

    /// `cross_epoch.npz` of `analyzer`.
    pub fn cross_epoch(&self, analyzer: &str) -> Result<Artifact> {
        self.loader.load_cross_epoch(analyzer)
    }

    /// The variant's metadata.json.
    pub fn metadata(&self) -> Result<Metadata> {
        self.variant.metadata()
    }

    /// A numeric array widened to f64, with its shape.
    pub fn array(&self, artifact: &Artifact, key: &str) -> Result<(Vec<usize>, Vec<f64>)> {
        let array = artifact
            .as_f64(key)
            .map_err(|e| self.data_error(e.to_string()))?;
        Ok((array.shape().to_vec(), array.iter().copied().collect()))
    }

    /// A numeric array as complex numbers (real ones with a zero imaginary part), with its shape.
    pub fn complex_array(
        &self,
        artifact: &Artifact,
        key: &str,
    ) -> Result<(Vec<usize>, Vec<num_complex::Complex64>)> {
        let array = artifact
            .as_complex(key)
            .map_err(|e| self.data_error(e.to_string()))?;
        Ok((array.shape().to_vec(), array.iter().copied().collect()))
    }

    /// A 1-D array as f64.
    pub fn vector(&self, artifact: &Artifact, key: &str) -> Result<Vec<f64>> {
        let (shape, values) = self.array(artifact, key)?;
        if shape.len() != 1 {
            return Err(self.data_error(format!("`{key}` has shape {shape:?}, expected 1-D")));
        }
        Ok(values)
    }

    /// An option's text, or its declared default.
    pub fn option(&self, name: &str) -> &str {
        match self.options.get(name) {
            Some(v) => v,
            None => self
                .view
                .options
                .iter()
                .find(|o| o.name == name)
                .map_or("", |o| o.default),
        }
    }

    /// An option parsed as a non-negative integer below `bound`.
    pub fn index_option(&self, name: &str, bound: usize) -> Result<usize> {
        let text = self.option(name);
        match text.parse::<usize>() {
            Ok(v) if v < bound => Ok(v),
            _ => Err(Error::ViewOption {
                view: self.view.name.to_string(),
                reason: format!("option '{name}' = '{text}': expected an integer in 0..{bound}"),
            }),
        }
    }

    /// An option that must be one of `allowed`.
    pub fn choice_option(&self, name: &str, allowed: &[&str]) -> Result<String> {
        let text = self.option(name);
        if allowed.contains(&text) {
            Ok(text.to_string())
        } else {
            Err(Error::ViewOption {
                view: self.view.name.to_string(),
                reason: format!(
                    "option '{name}' = '{text}': expected one of [{}]",
                    allowed.join(", ")
                ),
            })
        }
    }

    /// A yes/no option.
    pub fn flag_option(&self, name: &str) -> Result<bool> {
        match self.option(name) {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            other => Err(Error::ViewOption {
                view: self.view.name.to_string(),
                reason: format!("option '{name}' = '{other}': expected true or false"),
            }),
        }
    }
}
