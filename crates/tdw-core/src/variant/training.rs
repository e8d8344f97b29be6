//! The training loop of a variant (MIScope's `Variant.train`, spec §3.4), resumable.
//!
//! Every checkpoint epoch writes, in this order: the checkpoint, `metadata.json` with the losses
//! so far, and the optimizer state. A run that is killed therefore loses at most the epochs since
//! its last checkpoint, and `resume` continues from there: same weights, same AdamW moments and
//! step count, same split (taken from metadata.json), so the resumed losses are bit-identical to
//! an uninterrupted run's on the same machine and backend.
//!
//! Nothing on disk changes before the run's settings have passed (options, the memory it needs,
//! the split, the initial weights, the engine); the whole run holds the variant's lock; a fresh
//! variant that fails leaves no directory, and a `--force` keeps the old run aside until the new
//! one has saved its first checkpoint ([`SetAside`]).

use burn_tensor::Device;

use crate::checkpoint;
use crate::error::{Error, Result};
use crate::json_file::write_json;
use crate::lock::VariantLock;
use crate::model::hook::AttnOutHook;
use crate::train::engine::{StartState, StepperSetup};
use crate::train::state::{self, OptimizerState};
use crate::train::{
    AdamWConfig, Metadata, Progress, TrainEvent, TrainOptions, TrainingConfig, TrainingResult,
    schedule,
};
use crate::variant::Variant;

/// config.json keys recording a learning rate and weight decay other than the family's (absent
/// otherwise, so a default run's config.json is MIScope's byte for byte; MIScope ignores them).
pub const LEARNING_RATE_KEY: &str = "learning_rate";
/// config.json's key for the weight decay a variant was trained with.
pub const WEIGHT_DECAY_KEY: &str = "weight_decay";

/// The caller's AdamW settings over the family's, validated before anything on disk changes.
fn requested_adamw(defaults: &TrainingConfig, options: &TrainOptions) -> Result<AdamWConfig> {
    let mut adamw = defaults.adamw();
    if let Some(lr) = options.learning_rate {
        crate::train::check_learning_rate(lr)?;
        adamw.lr = lr;
    }
    if let Some(wd) = options.weight_decay {
        adamw.weight_decay = wd;
    }
    crate::train::check_weight_decay(adamw.weight_decay, adamw.lr)?;
    Ok(adamw)
}

/// The learning rate and weight decay a run on disk was trained with: config.json's
/// [`LEARNING_RATE_KEY`] and [`WEIGHT_DECAY_KEY`] where present, else the family's.
pub fn recorded_hyperparameters(variant: &Variant) -> Result<(f64, f64)> {
    let family = variant.family().training_config()?.adamw();
    let config = variant.model_config_json()?;
    let read = |key: &'static str, default: f64| -> Result<f64> {
        match config.get(key) {
            None => Ok(default),
            Some(value) => value.as_f64().ok_or_else(|| Error::StoredField {
                path: variant.config_path(),
                field: key,
                value: Some(value.to_string()),
                reason: "must be a number".into(),
            }),
        }
    };
    Ok((
        read(LEARNING_RATE_KEY, family.lr)?,
        read(WEIGHT_DECAY_KEY, family.weight_decay)?,
    ))
}

/// A resumed run continues with the settings it was trained with; asking for others is refused
/// (the curve would no longer be one run's).
fn recorded_adamw(
    variant: &Variant,
    defaults: &TrainingConfig,
    options: &TrainOptions,
) -> Result<AdamWConfig> {
    let (lr, weight_decay) = recorded_hyperparameters(variant)?;
    for (setting, asked, recorded) in [
        (LEARNING_RATE_KEY, options.learning_rate, lr),
        (WEIGHT_DECAY_KEY, options.weight_decay, weight_decay),
    ] {
        if let Some(asked) = asked
            && asked != recorded
        {
            return Err(Error::InvalidSetting {
                setting: setting.into(),
                value: asked.to_string(),
                reason: format!(
                    "{} was trained with {setting} {recorded}; a resumed run keeps it (leave it out, or retrain with --force)",
                    variant.name()
                ),
            });
        }
    }
    Ok(AdamWConfig {
        lr,
        weight_decay,
        ..defaults.adamw()
    })
}

/// A checkpoint list given by the caller must lie inside the run and name each epoch once (the
/// family's own schedule may reach past a short run: it is cut to the run silently).
fn check_checkpoint_list(epochs: &[u64], num_epochs: u64) -> Result<()> {
    let bad = |value: String, reason: String| Error::InvalidSetting {
        setting: "checkpoints".into(),
        value,
        reason,
    };
    if let Some(late) = epochs.iter().find(|&&e| e >= num_epochs) {
        return Err(bad(
            late.to_string(),
            format!(
                "is past the run's last epoch {} (epochs count from 0)",
                num_epochs - 1
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(twice) = epochs.iter().find(|&&e| !seen.insert(e)) {
        return Err(bad(twice.to_string(), "is listed twice".into()));
    }
    Ok(())
}

/// What a run on disk consists of (the lock and anything else in the directory stay put).
const RUN_ENTRIES: [&str; 4] = ["checkpoints", "artifacts", "metadata.json", "config.json"];

/// A run being replaced by `overwrite`, moved into `{variant}/.replaced-{pid}/` so that nothing
/// is lost until the new run has saved its first checkpoint ([`SetAside::discard`]). Dropped
/// without that (the new run failed or was interrupted first), it is put back; a process killed
/// meanwhile leaves it there, and the next `train` of the variant (which holds the lock, so no
/// one else is using it) puts it back before anything else.
struct SetAside {
    variant_dir: std::path::PathBuf,
    dir: std::path::PathBuf,
    done: bool,
}

impl SetAside {
    fn move_run(variant: &Variant) -> Result<SetAside> {
        let dir = variant
            .dir()
            .join(format!(".replaced-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let aside = SetAside {
            variant_dir: variant.dir().to_path_buf(),
            dir,
            done: false,
        };
        for entry in RUN_ENTRIES {
            let from = aside.variant_dir.join(entry);
            if from.exists() {
                // On failure the guard's drop moves back what was moved so far.
                std::fs::rename(&from, aside.dir.join(entry)).map_err(|e| Error::io(&from, e))?;
            }
        }
        Ok(aside)
    }

    /// The new run has a checkpoint: the old one goes.
    fn discard(mut self) {
        self.done = true;
        // Left over if this fails; harmless (never read) and removed on the next replacement.
        let _ignored = std::fs::remove_dir_all(&self.dir);
    }

    /// The old run back in place of whatever the new one wrote.
    fn put_back(&mut self) -> Result<()> {
        self.done = true;
        for entry in RUN_ENTRIES {
            let kept = self.dir.join(entry);
            if !kept.exists() {
                continue;
            }
            let target = self.variant_dir.join(entry);
            if target.is_dir() {
                std::fs::remove_dir_all(&target).map_err(|e| Error::io(&target, e))?;
            } else if target.exists() {
                std::fs::remove_file(&target).map_err(|e| Error::io(&target, e))?;
            }
            std::fs::rename(&kept, &target).map_err(|e| Error::io(&kept, e))?;
        }
        std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))
    }

    /// Puts back every run left aside by a replacement that ended without its first checkpoint.
    /// Called under the variant's lock.
    fn restore_abandoned(variant: &Variant) -> Result<()> {
        let Ok(entries) = std::fs::read_dir(variant.dir()) else {
            return Ok(());
        };
        for entry in entries.filter_map(|e| e.ok()) {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".replaced-")
                && entry.path().is_dir()
            {
                SetAside {
                    variant_dir: variant.dir().to_path_buf(),
                    dir: entry.path(),
                    done: false,
                }
                .put_back()?;
            }
        }
        Ok(())
    }
}

impl Drop for SetAside {
    fn drop(&mut self) {
        if !self.done {
            // If this fails too, the next `train` of the variant puts it back.
            let _ignored = self.put_back();
        }
    }
}

/// Where a run starts: fresh, or from a saved epoch.
struct Start {
    weights: StartState,
    first_epoch: u64,
    metadata: Metadata,
}

impl Variant {
    /// Trains the variant from its seeded initialisation (spec §3.4) and writes checkpoints,
    /// `config.json` and `metadata.json`, as this module describes.
    ///
    /// Refuses a variant that already has checkpoints unless `options.overwrite` (retrain from
    /// scratch) or `options.resume` (continue from the last saved state) is set.
    pub fn train(
        &self,
        options: &TrainOptions,
        device: &Device,
        progress: &mut dyn Progress,
    ) -> Result<TrainingResult> {
        train(self, options, device, progress)
    }
}

/// Trains `variant`; see [`Variant::train`].
fn train(
    variant: &Variant,
    options: &TrainOptions,
    device: &Device,
    progress: &mut dyn Progress,
) -> Result<TrainingResult> {
    let implementation = variant.family().implementation()?;
    let spec = variant.family().spec();
    let defaults = variant.family().training_config()?;
    let fraction = options
        .training_fraction
        .unwrap_or(defaults.training_fraction);
    crate::train::check_fraction(fraction)?;
    let requested = Requested {
        fraction,
        adamw: requested_adamw(&defaults, options)?,
    };
    if options.num_epochs == Some(0) {
        return Err(Error::InvalidSetting {
            setting: "epochs".into(),
            value: "0".into(),
            reason: "must be at least 1".into(),
        });
    }
    let layout = implementation.checkpoint_layout(spec, variant.params())?;
    check_memory(
        variant,
        implementation.peak_memory(spec, variant.params())?,
        implementation.examples(variant.params())?,
    )?;

    // The directory is created only now that the options passed; if this run then fails before
    // it wrote anything, the directory goes again (a refused variant leaves nothing behind).
    // The highest directory this run creates (the family's too, on a first run).
    let created = variant
        .dir()
        .ancestors()
        .take_while(|dir| !dir.exists())
        .last()
        .map(std::path::Path::to_path_buf);
    std::fs::create_dir_all(variant.dir()).map_err(|e| Error::io(variant.dir(), e))?;
    // Refused because another process holds the lock: the directory is that process's now.
    let lock = VariantLock::acquire(variant.dir(), variant.name(), "train")?;
    let outcome = train_locked(
        variant, options, device, progress, &layout, &defaults, requested,
    );
    // Removed while the lock is still held; a process that opened the lock file meanwhile finds
    // it unlinked once it gets the lock, and starts over (see `VariantLock::acquire`).
    if outcome.is_err()
        && let Some(dir) = &created
    {
        remove_if_unused(dir);
    }
    drop(lock);
    outcome
}

/// The memory this machine has free now (`MemAvailable`), if it can tell.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses a run whose estimated peak memory ([`crate::family::ModelFamily::peak_memory`]) exceeds the memory available, before anything is
/// allocated or written.
fn check_memory(variant: &Variant, needed: u64, rows: usize) -> Result<()> {
    match available_memory() {
        Some(available) if needed > available => Err(Error::NotEnoughMemory {
            variant: variant.name().to_string(),
            rows,
            needed_gb: needed as f64 / 1e9,
            available_gb: available as f64 / 1e9,
        }),
        _ => Ok(()),
    }
}

/// Removes a directory this run created, if nothing but lock files and empty sub-directories
/// is in it (never a file another process wrote).
fn remove_if_unused(dir: &std::path::Path) {
    fn only_empty_dirs(dir: &std::path::Path) -> bool {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.filter_map(|e| e.ok()).all(|entry| {
                let path = entry.path();
                if path.is_dir() {
                    only_empty_dirs(&path)
                } else {
                    entry.file_name() == crate::lock::FILE_NAME
                }
            })
        })
    }
    if only_empty_dirs(dir) {
        let _ignored = std::fs::remove_dir_all(dir);
    }
}

/// The settings of a fresh run, validated by [`train`] before anything on disk changes.
#[derive(Debug, Clone, Copy)]
struct Requested {
    fraction: f64,
    adamw: AdamWConfig,
}

/// The run itself, under the variant's lock.
fn train_locked(
    variant: &Variant,
    options: &TrainOptions,
    device: &Device,
    progress: &mut dyn Progress,
    layout: &checkpoint::Layout,
    defaults: &TrainingConfig,
    requested: Requested,
) -> Result<TrainingResult> {
    let implementation = variant.family().implementation()?;
    let spec = variant.family().spec();
    let fraction = requested.fraction;
    // Files half-written by a killed run are never read; clear them away. A run replaced by a
    // --force that died before its first checkpoint is put back first.
    crate::atomic_file::remove_stale_temporaries(variant.dir());
    crate::atomic_file::remove_stale_temporaries(&variant.checkpoints_dir());
    SetAside::restore_abandoned(variant)?;
    let existing = variant.checkpoints()?;
    let resuming = options.resume && !existing.is_empty();
    let replacing = !existing.is_empty() && !options.resume;
    if replacing && !options.overwrite {
        return Err(Error::AlreadyTrained {
            variant: variant.name().to_string(),
            dir: variant.dir().to_path_buf(),
            checkpoints: existing.len(),
        });
    }

    let adamw = if resuming {
        recorded_adamw(variant, defaults, options)?
    } else {
        requested.adamw
    };
    let state_path = variant.checkpoints_dir().join(state::FILE_NAME);
    let start = if resuming {
        resume_point(variant, &state_path, options)?
    } else {
        let split = implementation.split(variant.params(), fraction)?;
        let init = implementation.init_state(spec, variant.params())?;
        Start {
            weights: StartState {
                state: init,
                step: 0,
                moments: Vec::new(),
            },
            first_epoch: 0,
            metadata: Metadata {
                train_losses: Vec::new(),
                test_losses: Vec::new(),
                train_indices: split.train_indices,
                test_indices: split.test_indices,
                checkpoint_epochs: Vec::new(),
                num_epochs: options.num_epochs.unwrap_or(defaults.num_epochs),
            },
        }
    };
    let Start {
        weights,
        first_epoch,
        mut metadata,
    } = start;
    let num_epochs = metadata.num_epochs;
    let requested = options
        .checkpoint_epochs
        .clone()
        .unwrap_or_else(|| defaults.checkpoint_epochs.clone());
    if let Some(asked) = &options.checkpoint_epochs {
        check_checkpoint_list(asked, num_epochs)?;
    }
    let planned = schedule::effective(&requested, num_epochs);

    let data = implementation.dataset(variant.params())?;
    let mut stepper = implementation.stepper(
        spec,
        variant.params(),
        StepperSetup {
            engine: options.engine,
            start: weights,
            adamw,
            train: &data.subset(&metadata.train_indices),
            test: &data.subset(&metadata.test_indices),
            device,
        },
    )?;
    // An intervened variant: the hook's directions from the parent's checkpoint at
    // epoch_start, and an engine that can hook the attention output, both checked now.
    let intervention = match (
        variant.intervention(),
        variant.intervention_directions(false)?,
    ) {
        (Some(config), Some(directions)) => {
            let probe = AttnOutHook::new(directions.d_model(), Vec::new(), Vec::new());
            stepper.set_attn_out_hook(Some(probe))?;
            Some((config, directions))
        }
        _ => None,
    };
    // Everything is validated: only now does the old run make room (moved aside, deleted once
    // the new run has saved its first checkpoint; put back if it fails before).
    let mut aside = if replacing {
        Some(SetAside::move_run(variant)?)
    } else {
        None
    };
    let outcome = (|| -> Result<()> {
        for dir in [variant.checkpoints_dir(), variant.artifacts_dir()] {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        if !resuming {
            let mut config_json = implementation.config_json(spec, variant.params(), fraction)?;
            let family_adamw = defaults.adamw();
            if adamw.lr != family_adamw.lr || adamw.weight_decay != family_adamw.weight_decay {
                config_json.insert(LEARNING_RATE_KEY.into(), adamw.lr.into());
                config_json.insert(WEIGHT_DECAY_KEY.into(), adamw.weight_decay.into());
            }
            if let Some(config) = variant.intervention() {
                config_json.insert(
                    crate::intervention::INTERVENTION_KEY.into(),
                    serde_json::Value::Object(config.raw.clone()),
                );
            }
            write_json(&variant.config_path(), &config_json, true)?;
        }
        Ok(())
    })();
    // On an error from here until the first checkpoint, dropping `aside` puts the old run back.
    outcome?;

    progress.event(&TrainEvent::Started {
        variant: variant.name().to_string(),
        first_epoch,
        total_epochs: num_epochs,
    });
    for epoch in first_epoch..num_epochs {
        if let Some((config, directions)) = &intervention {
            stepper.set_attn_out_hook(config.hook_at(epoch, directions))?;
        }
        let train_loss = stepper.step();
        let test_loss = stepper.test_loss();
        metadata.train_losses.push(train_loss);
        metadata.test_losses.push(test_loss);
        progress.event(&TrainEvent::Epoch {
            epoch,
            train_loss,
            test_loss,
        });
        if planned.contains(&epoch) {
            checkpoint::save_layout(&variant.checkpoint_path(epoch), layout, &stepper.state())?;
            metadata.checkpoint_epochs.push(epoch);
            write_json(&variant.metadata_path(), &metadata, false)?;
            let (step, moments) = stepper.optimizer_state();
            OptimizerState {
                epoch,
                step,
                moments,
            }
            .save(&state_path)?;
            if let Some(aside) = aside.take() {
                aside.discard();
            }
            progress.event(&TrainEvent::Checkpoint { epoch });
        }
        if options.stop_after_epoch == Some(epoch) && epoch + 1 < num_epochs {
            break;
        }
        if epoch + 1 < num_epochs && progress.should_stop() {
            let resume = match metadata.checkpoint_epochs.last() {
                Some(saved) => format!(
                    "the run resumes from its checkpoint at epoch {saved} (train again with resume)"
                ),
                None => "no checkpoint was written yet, so training again starts over".into(),
            };
            return Err(Error::Interrupted {
                what: "training",
                at: format!("after epoch {epoch}"),
                resume,
            });
        }
    }

    let final_train_loss = metadata.train_losses.last().copied().unwrap_or(f64::NAN);
    let final_test_loss = metadata.test_losses.last().copied().unwrap_or(f64::NAN);
    progress.event(&TrainEvent::Finished {
        final_train_loss,
        final_test_loss,
    });
    Ok(TrainingResult {
        train_losses: metadata.train_losses,
        test_losses: metadata.test_losses,
        checkpoint_epochs: metadata.checkpoint_epochs,
        final_train_loss,
        final_test_loss,
        variant_dir: variant.dir().to_path_buf(),
    })
}

/// The saved state to continue from: the epoch named by the optimizer state, with its
/// checkpoint and the losses recorded up to it.
fn resume_point(
    variant: &Variant,
    state_path: &std::path::Path,
    options: &TrainOptions,
) -> Result<Start> {
    let cannot = |reason: String| Error::InvalidSetting {
        setting: "resume".into(),
        value: variant.name().to_string(),
        reason,
    };
    let saved = OptimizerState::load(state_path)?.ok_or_else(|| {
        cannot(format!(
            "{} has no optimizer state (trained by MIScope or an older tdw); retrain with --force",
            state_path.display()
        ))
    })?;
    let mut metadata = variant.metadata()?;
    let epoch = saved.epoch;
    if metadata.train_losses.len() <= epoch as usize || metadata.test_losses.len() <= epoch as usize
    {
        return Err(cannot(format!(
            "metadata.json records {} epochs, fewer than the saved epoch {epoch}",
            metadata.train_losses.len()
        )));
    }
    metadata.train_losses.truncate(epoch as usize + 1);
    metadata.test_losses.truncate(epoch as usize + 1);
    metadata.checkpoint_epochs.retain(|&e| e <= epoch);
    if let Some(n) = options.num_epochs {
        metadata.num_epochs = n;
    }
    if metadata.num_epochs <= epoch {
        return Err(cannot(format!(
            "the run already reached epoch {epoch} of {}; pass more --epochs to extend it",
            metadata.num_epochs
        )));
    }
    Ok(Start {
        weights: StartState {
            state: variant.load_checkpoint(epoch)?,
            step: saved.step,
            moments: saved.moments,
        },
        first_epoch: epoch + 1,
        metadata,
    })
}
