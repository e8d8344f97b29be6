//! The analyzers this build provides, by name and kind, and their declarations in
//! `analyzers/<name>/analyzer.json`.
//!
//! A family's lists in family.json choose what runs. A name that is neither built in nor declared
//! is an error listing the known names; a name that is declared (MIScope has it) but not built
//! into this version is reported in the run's summary as not implemented, never dropped silently.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::analysis::analyzer::{Analyzer, CrossEpochAnalyzer, SecondaryAnalyzer};
use crate::error::{Error, Result};
use crate::family::FamilySpec;

/// Kind of analyzer, as analyzer.json spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalyzerKind {
    /// One artifact per checkpoint, from the model's activations (`"per_epoch"`).
    PerEpoch,
    /// One artifact per checkpoint, from another analyzer's artifact (`"secondary"`).
    Secondary,
    /// One artifact over all checkpoints (`"cross_epoch"`).
    CrossEpoch,
}

/// One output key of an analyzer, as declared.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OutputSpec {
    /// numpy dtype name (`float32`, `int16`, ...).
    pub dtype: String,
    /// Symbolic shape, e.g. `["d_mlp", "p", "p"]` or `[]` for a scalar.
    pub shape: Vec<serde_json::Value>,
    /// What the array holds.
    #[serde(default)]
    pub description: String,
}

/// `analyzers/<name>/analyzer.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct AnalyzerSpec {
    /// The analyzer's name (its directory under analyzers/ and artifacts/).
    pub name: String,
    /// Which of the three kinds it is.
    pub kind: AnalyzerKind,
    /// What it computes, for `tdw analyzers` and the notebook listing.
    pub description: String,
    /// Secondary analyzers: the primary analyzer they read.
    #[serde(default)]
    pub depends_on: Option<String>,
    /// Cross-epoch analyzers: the analyzers they read.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Keys of summary.npz (besides `epochs`).
    #[serde(default)]
    pub summary_keys: Vec<String>,
    /// Output keys in file order.
    #[serde(default)]
    pub outputs: IndexMap<String, OutputSpec>,
}

/// What a run will execute, in order.
#[derive(Clone, Default)]
pub struct AnalysisPlan {
    /// Per-epoch analyzers, in run order.
    pub primary: Vec<Arc<dyn Analyzer>>,
    /// Secondary analyzers, each after the analyzer it depends on.
    pub secondary: Vec<Arc<dyn SecondaryAnalyzer>>,
    /// Cross-epoch analyzers, each after those it requires.
    pub cross_epoch: Vec<Arc<dyn CrossEpochAnalyzer>>,
    /// Names declared in analyzers/ (and by MIScope) that this build does not implement.
    pub not_implemented: Vec<String>,
}

impl AnalysisPlan {
    /// Every planned name, in run order.
    pub fn names(&self) -> Vec<&'static str> {
        self.primary
            .iter()
            .map(|a| a.name())
            .chain(self.secondary.iter().map(|a| a.name()))
            .chain(self.cross_epoch.iter().map(|a| a.name()))
            .collect()
    }
}

/// Built-in analyzers plus the declarations found on disk.
pub struct AnalyzerRegistry {
    primary: IndexMap<&'static str, Arc<dyn Analyzer>>,
    secondary: IndexMap<&'static str, Arc<dyn SecondaryAnalyzer>>,
    cross_epoch: IndexMap<&'static str, Arc<dyn CrossEpochAnalyzer>>,
    specs: IndexMap<String, AnalyzerSpec>,
}

/// The analyzer implementations a registry is handed, of the three kinds.
#[derive(Default, Clone)]
pub struct Implementations {
    /// Per-epoch analyzers.
    pub primary: Vec<Arc<dyn Analyzer>>,
    /// Secondary analyzers.
    pub secondary: Vec<Arc<dyn SecondaryAnalyzer>>,
    /// Cross-epoch analyzers.
    pub cross_epoch: Vec<Arc<dyn CrossEpochAnalyzer>>,
}

impl AnalyzerRegistry {
    /// The analyzers of `implementations`, with declarations read from `analyzers_dir` (absent:
    /// the declarations this build ships with). [`AnalyzerRegistry::open`] hands it this
    /// build's analyzers.
    pub fn open_with(analyzers_dir: &Path, implementations: Implementations) -> Result<Self> {
        let mut registry = AnalyzerRegistry {
            primary: IndexMap::new(),
            secondary: IndexMap::new(),
            cross_epoch: IndexMap::new(),
            specs: IndexMap::new(),
        };
        for a in implementations.primary {
            registry.primary.insert(a.name(), a);
        }
        for a in implementations.secondary {
            registry.secondary.insert(a.name(), a);
        }
        for a in implementations.cross_epoch {
            registry.cross_epoch.insert(a.name(), a);
        }
        match std::fs::read_dir(analyzers_dir) {
            Ok(entries) => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path().join("analyzer.json"))
                    .filter(|p| p.is_file())
                    .collect();
                files.sort();
                for path in files {
                    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
                    let spec = parse_spec(&text, &path)?;
                    registry.specs.insert(spec.name.clone(), spec);
                }
            }
            // No analyzers/ here (outside the checkout, an installed binary): the declarations
            // this build ships with.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                for (name, text) in crate::shipped::ANALYZERS {
                    let origin = crate::shipped::origin("analyzers", name, "analyzer.json");
                    let spec = parse_spec(text, &origin)?;
                    registry.specs.insert(spec.name.clone(), spec);
                }
            }
            Err(e) => return Err(Error::io(analyzers_dir, e)),
        }
        Ok(registry)
    }

    /// The declaration of an analyzer, if analyzers/ has one.
    pub fn spec(&self, name: &str) -> Option<&AnalyzerSpec> {
        self.specs.get(name)
    }

    /// All declarations.
    pub fn specs(&self) -> impl Iterator<Item = &AnalyzerSpec> {
        self.specs.values()
    }

    /// Names of built-in per-epoch analyzers.
    pub fn primary_names(&self) -> Vec<&'static str> {
        self.primary.keys().copied().collect()
    }

    /// Names of built-in secondary analyzers.
    pub fn secondary_names(&self) -> Vec<&'static str> {
        self.secondary.keys().copied().collect()
    }

    /// Names of built-in cross-epoch analyzers.
    pub fn cross_epoch_names(&self) -> Vec<&'static str> {
        self.cross_epoch.keys().copied().collect()
    }

    /// A built-in secondary analyzer.
    pub fn secondary(&self, name: &str) -> Option<Arc<dyn SecondaryAnalyzer>> {
        self.secondary.get(name).cloned()
    }

    /// A built-in per-epoch analyzer.
    pub fn primary(&self, name: &str) -> Option<Arc<dyn Analyzer>> {
        self.primary.get(name).cloned()
    }

    /// The plan for a family: its three lists in family.json order, optionally restricted to
    /// `only` (names of any kind).
    pub fn plan(&self, family: &FamilySpec, only: Option<&[String]>) -> Result<AnalysisPlan> {
        let mut plan = AnalysisPlan::default();
        if let Some(only) = only {
            for name in only {
                let listed = family.analyzers.contains(name)
                    || family.secondary_analyzers.contains(name)
                    || family.cross_epoch_analyzers.contains(name);
                let built_in = self.primary.contains_key(name.as_str())
                    || self.secondary.contains_key(name.as_str())
                    || self.cross_epoch.contains_key(name.as_str());
                if !listed && !built_in {
                    return Err(self.unknown(name, "any"));
                }
            }
        }
        let wanted = |name: &String| only.is_none_or(|o| o.contains(name));
        let extra: Vec<&String> = only
            .map(|o| {
                o.iter()
                    .filter(|n| {
                        !family.analyzers.contains(n)
                            && !family.secondary_analyzers.contains(n)
                            && !family.cross_epoch_analyzers.contains(n)
                    })
                    .collect()
            })
            .unwrap_or_default();
        for name in family
            .analyzers
            .iter()
            .chain(
                extra
                    .iter()
                    .copied()
                    .filter(|n| self.primary.contains_key(n.as_str())),
            )
            .filter(|n| wanted(n))
        {
            match self.primary.get(name.as_str()) {
                Some(a) => plan.primary.push(a.clone()),
                None => self.missing(name, "per-epoch", &mut plan)?,
            }
        }
        for name in family
            .secondary_analyzers
            .iter()
            .chain(
                extra
                    .iter()
                    .copied()
                    .filter(|n| self.secondary.contains_key(n.as_str())),
            )
            .filter(|n| wanted(n))
        {
            match self.secondary.get(name.as_str()) {
                Some(a) => plan.secondary.push(a.clone()),
                None => self.missing(name, "secondary", &mut plan)?,
            }
        }
        for name in family
            .cross_epoch_analyzers
            .iter()
            .chain(
                extra
                    .iter()
                    .copied()
                    .filter(|n| self.cross_epoch.contains_key(n.as_str())),
            )
            .filter(|n| wanted(n))
        {
            match self.cross_epoch.get(name.as_str()) {
                Some(a) => plan.cross_epoch.push(a.clone()),
                None => self.missing(name, "cross-epoch", &mut plan)?,
            }
        }
        Ok(plan)
    }

    fn missing(&self, name: &str, kind: &'static str, plan: &mut AnalysisPlan) -> Result<()> {
        if self.specs.contains_key(name) {
            plan.not_implemented.push(name.to_string());
            Ok(())
        } else {
            Err(self.unknown(name, kind))
        }
    }

    fn unknown(&self, name: &str, kind: &'static str) -> Error {
        let mut known: Vec<String> = self
            .primary
            .keys()
            .chain(self.secondary.keys())
            .chain(self.cross_epoch.keys())
            .map(|s| s.to_string())
            .collect();
        known.sort();
        Error::UnknownAnalyzer {
            name: name.to_string(),
            kind,
            known,
        }
    }
}

/// Parses an `analyzer.json`; `path` names it in errors (its directory must match the name).
fn parse_spec(text: &str, path: &Path) -> Result<AnalyzerSpec> {
    let spec: AnalyzerSpec = serde_json::from_str(text).map_err(|cause| Error::Json {
        path: path.to_path_buf(),
        cause,
    })?;
    let dir_name = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    if dir_name.as_deref() != Some(spec.name.as_str()) {
        return Err(Error::AnalyzerSpec {
            path: path.to_path_buf(),
            reason: format!(
                "name '{}' does not match its directory {:?}",
                spec.name,
                dir_name.unwrap_or_default()
            ),
        });
    }
    Ok(spec)
}
