//! The training loop of a variant (MIScope's `Variant.train`, spec §3.4), resumable.
//!
//! Every checkpoint epoch writes, in this order: the checkpoint, `metadata.json` with the losses
//! so far, and the optimizer state. A run that is killed therefore loses at most the epochs since
//! its last checkpoint, and `resume` continues from there: same weights, same AdamW moments and
//! step count, same split (taken from metadata.json), so the resumed losses are bit-identical to
//! an uninterrupted run's on the same machine and backend.

use burn::tensor::Device;

use crate::checkpoint;
use crate::error::{Error, Result};
use crate::family::variant::{Metadata, Variant, write_json};
use crate::lock::VariantLock;
use crate::train::engine::{StartState, StepperSetup};
use crate::train::state::{self, OptimizerState};
use crate::train::{
    AdamWConfig, Progress, TrainEvent, TrainOptions, TrainingConfig, TrainingResult, schedule,
};

/// config.json keys recording a learning rate and weight decay other than the family's (absent
/// otherwise, so a default run's config.json is MIScope's byte for byte; MIScope ignores them).
pub const LEARNING_RATE_KEY: &str = "learning_rate";
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
    let read = |key: &str, default: f64| -> Result<f64> {
        match config.get(key) {
            None => Ok(default),
            Some(value) => value.as_f64().ok_or_else(|| Error::InvalidSetting {
                setting: format!("{} `{key}`", variant.config_path().display()),
                value: value.to_string(),
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

/// Where a run starts: fresh, or from a saved epoch.
struct Start {
    weights: StartState,
    first_epoch: u64,
    metadata: Metadata,
}

/// Trains `variant`; see [`Variant::train`].
pub fn train(
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
    let requested_adamw = requested_adamw(&defaults, options)?;
    if options.num_epochs == Some(0) {
        return Err(Error::InvalidSetting {
            setting: "epochs".into(),
            value: "0".into(),
            reason: "must be at least 1".into(),
        });
    }
    let layout = implementation.checkpoint_layout(spec, variant.params())?;
    let _lock = VariantLock::acquire(variant.dir(), variant.name(), "train")?;

    // Files half-written by a killed run are never read; clear them away.
    crate::atomic_file::remove_stale_temporaries(variant.dir());
    crate::atomic_file::remove_stale_temporaries(&variant.checkpoints_dir());
    let existing = variant.checkpoints()?;
    let resuming = options.resume && !existing.is_empty();
    if !existing.is_empty() && !options.resume {
        if !options.overwrite {
            return Err(Error::AlreadyTrained {
                variant: variant.name().to_string(),
                dir: variant.dir().to_path_buf(),
                checkpoints: existing.len(),
            });
        }
        for stale in [variant.checkpoints_dir(), variant.artifacts_dir()] {
            if stale.exists() {
                std::fs::remove_dir_all(&stale).map_err(|e| Error::io(&stale, e))?;
            }
        }
        for stale in [variant.metadata_path(), variant.config_path()] {
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(|e| Error::io(&stale, e))?;
            }
        }
    }

    let adamw = if resuming {
        recorded_adamw(variant, &defaults, options)?
    } else {
        requested_adamw
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
        write_json(&variant.config_path(), &config_json, true)?;
    }

    progress.event(&TrainEvent::Started {
        variant: variant.name().to_string(),
        first_epoch,
        total_epochs: num_epochs,
    });
    for epoch in first_epoch..num_epochs {
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
            checkpoint::save_layout(&variant.checkpoint_path(epoch), &layout, &stepper.state())?;
            metadata.checkpoint_epochs.push(epoch);
            write_json(&variant.metadata_path(), &metadata, false)?;
            let (step, moments) = stepper.optimizer_state();
            OptimizerState {
                epoch,
                step,
                moments,
            }
            .save(&state_path)?;
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
