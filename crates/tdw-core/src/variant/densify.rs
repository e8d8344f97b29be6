//! Checkpoint densification (MIScope's Checkpoint Schedule page): add checkpoint epochs to a
//! trained variant by retraining it from epoch 0 with the same seeds, split, optimizer settings
//! and number of epochs, saving the merged schedule.
//!
//! Why the old artifacts stay valid: training is bit-identical for the same settings on the same
//! machine and engine, so every checkpoint the variant had is written again byte for byte, and an
//! artifact computed from it is still the artifact of that checkpoint. This module does not take
//! that on trust: the new run is written into a scratch directory inside the variant and
//! compared with the old one (every old checkpoint's bytes and every epoch's train and test loss)
//! before anything of the variant changes. Only if all agree are the new checkpoints moved in and
//! metadata.json replaced (each by an atomic rename); otherwise the scratch run is deleted and
//! the error names the first difference. Artifacts are never touched, so the next analysis
//! computes only the new epochs (and the cross-epoch results, which see more checkpoints).
//!
//! A densify that is killed leaves the variant as it was, or with some new checkpoints moved in
//! before metadata.json lists them: those are byte-identical to what the run would save, so a
//! second densify (or an analysis) uses them as they are. The scratch directory of a killed run
//! is removed by the next densify.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use burn_tensor::Device;

use crate::error::{Error, Result};
use crate::lock::VariantLock;
use crate::train::{Progress, TrainOptions, engine::Engine};
use crate::variant::Variant;
use crate::variant::training::recorded_hyperparameters;

/// Prefix of the scratch directory a densify trains into, inside the variant's directory.
const SCRATCH_PREFIX: &str = ".densify-";

/// `start, start + step, …, ≤ end`: one row of MIScope's Checkpoint Schedule page (its end is
/// inclusive, unlike Python's `range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochRange {
    /// First epoch.
    pub start: u64,
    /// Last epoch (inclusive).
    pub end: u64,
    /// Distance between epochs (≥ 1).
    pub step: u64,
}

impl EpochRange {
    /// Parses `START:END:STEP` (or `START:END`, step 100 as MIScope's "+ Add Range").
    pub fn parse(text: &str) -> Result<EpochRange> {
        let bad = |reason: &str| Error::InvalidSetting {
            setting: "range".into(),
            value: text.into(),
            reason: reason.into(),
        };
        let parts: Vec<&str> = text.split(':').map(str::trim).collect();
        let number = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| bad("expected START:END:STEP, non-negative integers"))
        };
        let (start, end, step) = match parts.as_slice() {
            [start, end] => (number(start)?, number(end)?, 100),
            [start, end, step] => (number(start)?, number(end)?, number(step)?),
            _ => return Err(bad("expected START:END:STEP, e.g. 9000:13000:50")),
        };
        if step == 0 {
            return Err(bad("the step must be at least 1"));
        }
        if end < start {
            return Err(bad("END must not be before START"));
        }
        Ok(EpochRange { start, end, step })
    }

    /// The epochs of the range.
    pub fn epochs(&self) -> impl Iterator<Item = u64> + '_ {
        (self.start..=self.end).step_by(self.step as usize)
    }
}

/// What a densify would do, computed without changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DensifyPlan {
    /// Epochs of the run (metadata's `num_epochs`).
    pub num_epochs: u64,
    /// Checkpoint epochs on disk.
    pub existing: Vec<u64>,
    /// Epochs the ranges add (not on disk, before `num_epochs`).
    pub new_epochs: Vec<u64>,
    /// Epochs the ranges name at or past `num_epochs`, which no retrain of this run can save.
    pub past_end: Vec<u64>,
    /// The schedule of the retrain: existing ∪ new.
    pub merged: Vec<u64>,
}

/// What a densify did.
#[derive(Debug, Clone, PartialEq)]
pub struct DensifyResult {
    /// The plan it carried out.
    pub plan: DensifyPlan,
    /// Checkpoints checked byte for byte against the new run before it was kept.
    pub verified: usize,
    /// Seconds spent retraining.
    pub seconds: f64,
}

impl Variant {
    /// The densification `ranges` would make: which epochs are new, which already exist. Refuses
    /// a variant that is not trained, and ranges that add no epoch (nothing would change).
    pub fn densify_plan(&self, ranges: &[EpochRange]) -> Result<DensifyPlan> {
        let metadata = self.metadata()?;
        let trained = metadata.train_losses.len() as u64;
        if trained != metadata.num_epochs {
            return Err(Error::UnfinishedRun {
                variant: self.name().to_string(),
                trained,
                num_epochs: metadata.num_epochs,
            });
        }
        let existing = self.checkpoints()?;
        if existing.is_empty() {
            return Err(Error::MissingCheckpoint {
                variant: self.name().to_string(),
                epoch: 0,
                path: self.checkpoints_dir(),
                available: existing,
            });
        }
        let requested: BTreeSet<u64> = ranges.iter().flat_map(EpochRange::epochs).collect();
        let have: BTreeSet<u64> = existing.iter().copied().collect();
        let past_end: Vec<u64> = requested
            .iter()
            .copied()
            .filter(|&e| e >= metadata.num_epochs)
            .collect();
        let new_epochs: Vec<u64> = requested
            .iter()
            .copied()
            .filter(|e| *e < metadata.num_epochs && !have.contains(e))
            .collect();
        if new_epochs.is_empty() {
            return Err(Error::NothingToDensify {
                variant: self.name().to_string(),
                checkpoints: existing.len(),
                num_epochs: metadata.num_epochs,
            });
        }
        let merged: Vec<u64> = have
            .union(&new_epochs.iter().copied().collect())
            .copied()
            .collect();
        Ok(DensifyPlan {
            num_epochs: metadata.num_epochs,
            existing,
            new_epochs,
            past_end,
            merged,
        })
    }

    /// Adds the checkpoint epochs of `ranges` by retraining from epoch 0 (see the module docs):
    /// same seeds, stored fraction, recorded learning rate and weight decay, same number of
    /// epochs, on `engine`. The variant changes only after the new run has reproduced every old
    /// checkpoint byte for byte.
    pub fn densify(
        &self,
        ranges: &[EpochRange],
        engine: Engine,
        device: &Device,
        progress: &mut dyn Progress,
    ) -> Result<DensifyResult> {
        let _lock = VariantLock::acquire(self.dir(), self.name(), "densify")?;
        remove_scratch(self.dir());
        let plan = self.densify_plan(ranges)?;
        let fraction = self.stored_fraction()?;
        let (learning_rate, weight_decay) = recorded_hyperparameters(self)?;
        let scratch_root = self
            .dir()
            .join(format!("{SCRATCH_PREFIX}{}", std::process::id()));
        let mut scratch = Variant::new(self.family.clone(), self.params.clone(), &scratch_root)?;
        // An intervened variant retrains with its hook (directions from its real parent).
        scratch.intervention = self.intervention.clone();
        let started = std::time::Instant::now();
        let outcome = (|| {
            let options = TrainOptions {
                num_epochs: Some(plan.num_epochs),
                checkpoint_epochs: Some(plan.merged.clone()),
                training_fraction: Some(fraction),
                learning_rate: Some(learning_rate),
                weight_decay: Some(weight_decay),
                engine,
                ..Default::default()
            };
            scratch.train(&options, device, progress)?;
            let seconds = started.elapsed().as_secs_f64();
            let verified = self.verify_reproduced(&scratch, &plan)?;
            self.install(&scratch, &plan)?;
            Ok(DensifyResult {
                plan: plan.clone(),
                verified,
                seconds,
            })
        })();
        let _ignored = std::fs::remove_dir_all(&scratch_root);
        outcome
    }

    /// config.json's `training_fraction`: the split this variant was trained on.
    pub(crate) fn stored_fraction(&self) -> Result<f64> {
        let config = self.model_config_json()?;
        let value = config.get("training_fraction");
        value
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| Error::StoredField {
                path: self.config_path(),
                field: "training_fraction",
                value: value.map(|v| v.to_string()),
                reason: "needed to retrain on the same split; expected a number".into(),
            })
    }

    /// Checks that `scratch` reproduced this variant: the same losses at every epoch and the same
    /// bytes in every checkpoint this variant has. Returns how many checkpoints were compared.
    fn verify_reproduced(&self, scratch: &Variant, plan: &DensifyPlan) -> Result<usize> {
        let (old, new) = (self.metadata()?, scratch.metadata()?);
        let differs = |what: String| Error::NotReproduced {
            variant: self.name().to_string(),
            what,
        };
        if old.train_indices != new.train_indices {
            return Err(differs("the training split".into()));
        }
        for (name, a, b) in [
            ("train", &old.train_losses, &new.train_losses),
            ("test", &old.test_losses, &new.test_losses),
        ] {
            if let Some(epoch) = (0..a.len().max(b.len()))
                .find(|&e| a.get(e).map(|l| l.to_bits()) != b.get(e).map(|l| l.to_bits()))
            {
                return Err(differs(format!("the {name} loss at epoch {epoch}")));
            }
        }
        for &epoch in &plan.existing {
            let (a, b) = (self.checkpoint_path(epoch), scratch.checkpoint_path(epoch));
            if read(&a)? != read(&b)? {
                return Err(differs(format!("checkpoint {}", a.display())));
            }
        }
        Ok(plan.existing.len())
    }

    /// Moves the new checkpoints in, then replaces metadata.json (both atomic renames).
    fn install(&self, scratch: &Variant, plan: &DensifyPlan) -> Result<()> {
        for &epoch in &plan.new_epochs {
            rename(
                &scratch.checkpoint_path(epoch),
                &self.checkpoint_path(epoch),
            )?;
        }
        rename(&scratch.metadata_path(), &self.metadata_path())
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::io(from, e))
}

/// Removes scratch runs of densifies that were killed (called under the variant's lock).
fn remove_scratch(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let scratch: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(SCRATCH_PREFIX))
        .map(|e| e.path())
        .collect();
    for path in scratch {
        let _ignored = std::fs::remove_dir_all(path);
    }
}
