//! A variant: one family with one set of domain parameters, and everything on disk about it.
//!
//! A variant has no bookkeeping file of its own: its name comes from the family's pattern, its
//! state (untrained / trained / analyzed) is derived from what is under its directory, so a run
//! made by another process, or by MIScope, is seen as soon as its files exist (spec §1.4, §1.7).
//!
//! The variant layer sits above families and analysis and drives both: the registry that finds
//! families and their variants ([`registry`]), the training loop that writes a variant's files
//! ([`training`], [`Variant::train`]) and the analysis of its checkpoints ([`analysis`],
//! [`Variant::analyze`]). The layers below take plain data or a narrow trait
//! ([`crate::analysis::TrainedRun`]), never a `Variant`.

pub mod analysis;
pub mod checksums;
pub mod densify;
pub mod intervention;
pub mod outcome;
pub mod registry;
pub mod training;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn_tensor::Device;
use serde::{Deserialize, Serialize};

use crate::checkpoint;
use crate::error::{Error, Result};
use crate::family::{Family, Params, pattern};
use crate::json_file::read_json;
use crate::model::config::TransformerConfig;
use crate::model::state::StateDict;
use crate::model::transformer::Transformer;
pub use crate::train::Metadata;
use crate::train::engine::FreshRun;
pub use analysis::AnalyzeOptions;
pub use densify::{DensifyPlan, DensifyResult, EpochRange};
pub use intervention::InterventionOf;
pub use outcome::{FailureMode, Outcome, Performance};
pub use registry::FamilyRegistry;

/// Where a variant is in its life, derived from disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariantState {
    /// No checkpoint on disk.
    Untrained,
    /// Checkpoints, no analysis artifacts.
    Trained,
    /// Checkpoints and at least one `.npz` artifact.
    Analyzed,
}

impl fmt::Display for VariantState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VariantState::Untrained => "untrained",
            VariantState::Trained => "trained",
            VariantState::Analyzed => "analyzed",
        })
    }
}

/// One family + one set of parameters, rooted in a results directory.
#[derive(Clone)]
pub struct Variant {
    family: Arc<Family>,
    params: Params,
    name: String,
    dir: PathBuf,
    /// Set for an intervened variant (`{parent}/interventions/{name}`).
    intervention: Option<Arc<intervention::InterventionOf>>,
}

impl fmt::Debug for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Variant(family='{}', name='{}', state={})",
            self.family.name(),
            self.name,
            self.state()
        )
    }
}

impl PartialEq for Variant {
    fn eq(&self, other: &Self) -> bool {
        self.family.name() == other.family.name()
            && self.params == other.params
            && self.intervention().map(|i| &i.raw) == other.intervention().map(|i| &i.raw)
    }
}

impl Variant {
    /// A variant of `family` under `results_dir`; creates nothing on disk.
    pub fn new(family: Arc<Family>, params: Params, results_dir: &Path) -> Result<Self> {
        let name = pattern::format_name(&family.spec().variant_pattern, |k| params.get(k))
            .map_err(|reason| Error::FamilyField {
                path: family.spec().path.clone(),
                field: "variant_pattern".into(),
                reason,
            })?;
        let dir = results_dir.join(family.name()).join(&name);
        Ok(Variant {
            family,
            params,
            name,
            dir,
            intervention: None,
        })
    }

    /// The directory name, from the family's `variant_pattern`; for an intervened variant
    /// `{parent}/interventions/{name}`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The family.
    pub fn family(&self) -> &Family {
        &self.family
    }

    /// The domain parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// `results/{family}/{name}`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `…/checkpoints`.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.dir.join("checkpoints")
    }

    /// `…/artifacts`.
    pub fn artifacts_dir(&self) -> PathBuf {
        self.dir.join("artifacts")
    }

    /// `…/metadata.json`.
    pub fn metadata_path(&self) -> PathBuf {
        self.dir.join("metadata.json")
    }

    /// `…/config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// Path of the checkpoint file for `epoch` (whether or not it exists).
    pub fn checkpoint_path(&self, epoch: u64) -> PathBuf {
        self.checkpoints_dir().join(checkpoint::file_name(epoch))
    }

    /// Untrained / trained / analyzed, from what is on disk now.
    pub fn state(&self) -> VariantState {
        let has_checkpoints = !self.checkpoints().unwrap_or_default().is_empty();
        if !has_checkpoints {
            VariantState::Untrained
        } else if contains_npz(&self.artifacts_dir()) {
            VariantState::Analyzed
        } else {
            VariantState::Trained
        }
    }

    /// Sorted epochs of the checkpoint files present (an absent directory means none).
    pub fn checkpoints(&self) -> Result<Vec<u64>> {
        let dir = self.checkpoints_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(dir, e)),
        };
        let mut epochs: Vec<u64> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| checkpoint::epoch_of(&entry.file_name().to_string_lossy()))
            .collect();
        epochs.sort_unstable();
        Ok(epochs)
    }

    /// The run's start, from the seeded initial weights on the split of `fraction` (the
    /// family's default when `None`), without touching the variant's files.
    pub fn fresh_run(&self, fraction: Option<f64>) -> Result<FreshRun> {
        self.family.fresh_run(&self.params, fraction)
    }

    /// The model sizes of this variant.
    pub fn model_config(&self) -> Result<TransformerConfig> {
        self.family
            .implementation()?
            .model_config(self.family.spec(), &self.params)
    }

    /// The parameters stored in the checkpoint of `epoch`, validated against the model.
    pub fn load_checkpoint(&self, epoch: u64) -> Result<StateDict> {
        let path = self.checkpoint_path(epoch);
        if !path.exists() {
            return Err(Error::MissingCheckpoint {
                variant: self.name.clone(),
                epoch,
                path,
                available: self.checkpoints().unwrap_or_default(),
            });
        }
        checkpoint::load_layout(&path, &self.checkpoint_layout()?)
    }

    /// The tensors this variant's checkpoints hold.
    pub fn checkpoint_layout(&self) -> Result<checkpoint::Layout> {
        self.family
            .implementation()?
            .checkpoint_layout(self.family.spec(), &self.params)
    }

    /// The model at `epoch`, on `device`.
    pub fn load_model(&self, epoch: u64, device: &Device) -> Result<Transformer> {
        let state = self.load_checkpoint(epoch)?;
        Ok(Transformer::from_state(
            &self.model_config()?,
            &state,
            device,
        ))
    }

    /// The parsed `metadata.json`.
    pub fn metadata(&self) -> Result<Metadata> {
        read_json(&self.metadata_path(), "metadata.json")
    }

    /// The parsed `config.json`.
    pub fn model_config_json(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        read_json(&self.config_path(), "config.json")
    }
}

fn contains_npz(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(|e| e.ok()).any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            contains_npz(&path)
        } else {
            path.extension().is_some_and(|ext| ext == "npz")
        }
    })
}
