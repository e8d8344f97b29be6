//! Full-batch training with checkpoints, as MIScope's `Variant.train` (spec §3.3–3.5).
//!
//! One "epoch" is one AdamW step on the whole training split. Per epoch we record the training
//! loss *before* the step and the test loss *after* it, both as f64 cross-entropy of the last
//! position's logits. Checkpoints hold the weights after the step of their epoch; the final epoch
//! is always saved. Files are written atomically; `metadata.json` and `config.json` carry
//! MIScope's keys, so either tool can read a run made by the other.

pub mod adamw;
pub mod engine;
pub mod fused;
pub mod host_adamw;
pub mod metadata;
pub mod mlp;
pub mod progress;
pub mod schedule;
pub mod state;

use std::path::PathBuf;

use burn_tensor::activation::log_softmax;
use burn_tensor::{DType, Device, Gradients, Int, Tensor, TensorData};

use crate::dataset::Dataset;
use crate::model::hook::AttnOutHook;
use crate::model::transformer::Transformer;
pub use adamw::{AdamW, AdamWConfig};
pub use host_adamw::HostAdamW;
pub use metadata::Metadata;
pub use progress::{NoProgress, Progress, TrainEvent};

/// Hyper-parameters of a training run, with a family's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingConfig {
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// AdamW (β1, β2).
    pub betas: (f64, f64),
    /// AdamW ε (torch's default, 1e-8; burn's default would be 1e-5).
    pub eps: f64,
    /// Number of full-batch steps.
    pub num_epochs: u64,
    /// Fraction of all pairs used for training.
    pub training_fraction: f64,
    /// Requested checkpoint epochs (the final epoch is added by the loop).
    pub checkpoint_epochs: Vec<u64>,
}

impl TrainingConfig {
    /// The optimizer settings.
    pub fn adamw(&self) -> AdamWConfig {
        AdamWConfig {
            lr: self.learning_rate,
            weight_decay: self.weight_decay,
            beta1: self.betas.0,
            beta2: self.betas.1,
            eps: self.eps,
        }
    }
}

/// What a caller may change for one run; `None` keeps the family's default.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Number of epochs (default: the family's, 25,000 for the one-layer family).
    pub num_epochs: Option<u64>,
    /// Checkpoint epochs (default: the family's schedule).
    pub checkpoint_epochs: Option<Vec<u64>>,
    /// Training fraction (default 0.3).
    pub training_fraction: Option<f64>,
    /// AdamW learning rate (default: the family's, 1e-3 for the one-layer family). A value other
    /// than the family's is recorded in config.json (`learning_rate`), so a resumed run keeps it.
    pub learning_rate: Option<f64>,
    /// AdamW decoupled weight decay (default: the family's, 1.0); recorded like the learning rate.
    pub weight_decay: Option<f64>,
    /// Retrain a variant that already has checkpoints, deleting its old checkpoints, metadata
    /// and artifacts first.
    pub overwrite: bool,
    /// Continue an interrupted (or extend a finished) run from its last saved state instead of
    /// refusing; a variant without checkpoints starts fresh.
    pub resume: bool,
    /// Stop after this epoch (a time-boxed session); the run stays resumable from its last
    /// checkpoint.
    pub stop_after_epoch: Option<u64>,
    /// Which code computes the steps (default: the fused CPU engine where it applies).
    pub engine: engine::Engine,
}

/// The outcome of a run, as MIScope's `TrainingResult`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingResult {
    /// Train loss before each epoch's step.
    pub train_losses: Vec<f64>,
    /// Test loss after each epoch's step.
    pub test_losses: Vec<f64>,
    /// Epochs saved as checkpoints.
    pub checkpoint_epochs: Vec<u64>,
    /// Last entry of `train_losses`.
    pub final_train_loss: f64,
    /// Last entry of `test_losses`.
    pub final_test_loss: f64,
    /// Where the run was written.
    pub variant_dir: PathBuf,
}

/// Rows of a dataset as tensors on a device.
pub struct Batch {
    /// Token ids, `[batch, n_ctx]`.
    pub tokens: Tensor<2, Int>,
    /// Correct classes, `[batch]`.
    pub labels: Tensor<1, Int>,
}

impl Batch {
    /// Uploads a dataset.
    pub fn new(data: &Dataset, device: &Device) -> Self {
        let rows = data.len();
        Batch {
            tokens: Tensor::from_data(
                TensorData::new(data.tokens.clone(), [rows, data.n_ctx]),
                device,
            ),
            labels: Tensor::from_data(TensorData::new(data.labels.clone(), [rows]), device),
        }
    }
}

/// A training fraction must leave both a train and a test set.
pub fn check_fraction(fraction: f64) -> crate::error::Result<()> {
    if fraction > 0.0 && fraction < 1.0 {
        Ok(())
    } else {
        Err(crate::error::Error::InvalidSetting {
            setting: "training_fraction".into(),
            value: fraction.to_string(),
            reason: "must lie strictly between 0 and 1".into(),
        })
    }
}

/// An AdamW learning rate must be a positive finite number.
pub fn check_learning_rate(lr: f64) -> crate::error::Result<()> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(crate::error::Error::InvalidSetting {
            setting: "learning_rate".into(),
            value: lr.to_string(),
            reason: "must be a positive finite number (the family's default is 1e-3)".into(),
        })
    }
}

/// A weight decay must be finite and not negative; `lr · weight_decay` must stay below 1, else
/// AdamW's decoupled decay `w ← w·(1 − lr·λ)` flips or zeroes every weight each step.
pub fn check_weight_decay(weight_decay: f64, lr: f64) -> crate::error::Result<()> {
    let reason = if !weight_decay.is_finite() || weight_decay < 0.0 {
        "must be a finite number ≥ 0 (the family's default is 1.0)".to_string()
    } else if lr * weight_decay >= 1.0 {
        format!(
            "learning_rate × weight_decay = {} must stay below 1 (AdamW multiplies every weight by 1 − lr·λ each step)",
            lr * weight_decay
        )
    } else {
        return Ok(());
    };
    Err(crate::error::Error::InvalidSetting {
        setting: "weight_decay".into(),
        value: weight_decay.to_string(),
        reason,
    })
}

/// MIScope's `compute_loss`: mean negative log-likelihood of the labels under the last
/// position's logits, with the log-softmax taken in f64. In f32 the loss of a memorised training
/// set underflows to exactly 0 and its gradient vanishes; Nanda's code uses f64 for this reason.
///
/// # Shapes
/// - `logits`: `[batch, d_vocab_out]`, `labels`: `[batch]`; returns a one-element f64 tensor.
pub fn cross_entropy_f64(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let log_probs = log_softmax(logits.cast(DType::F64), 1);
    log_probs.gather(1, labels.unsqueeze_dim(1)).mean().neg()
}

/// The loss of a model on a batch, read back as an f64.
pub fn loss_value(model: &Transformer, batch: &Batch) -> f64 {
    let logits = model.forward_last(batch.tokens.clone());
    cross_entropy_f64(logits, batch.labels.clone()).into_scalar::<f64>()
}

/// The loss on a batch and its gradients by autodiff: returns the loss, the copy of `model`
/// whose trainable weights are the autodiff leaves, and the gradients keyed by those leaves.
pub fn loss_and_gradients(model: &Transformer, batch: &Batch) -> (f64, Transformer, Gradients) {
    loss_and_gradients_hooked(model, batch, None)
}

/// [`loss_and_gradients`] of the forward with `hook` on `blocks.0.hook_attn_out` (an
/// intervention's training forward; the test loss is never hooked).
pub fn loss_and_gradients_hooked(
    model: &Transformer,
    batch: &Batch,
    hook: Option<&AttnOutHook>,
) -> (f64, Transformer, Gradients) {
    let leaves = model.with_trainable_leaves();
    let loss = cross_entropy_f64(
        leaves.forward_last_hooked(batch.tokens.clone(), hook),
        batch.labels.clone(),
    );
    let grads = loss.backward();
    (loss.into_scalar::<f64>(), leaves, grads)
}

/// One full-batch step: returns the loss before the step and the updated model.
pub fn train_step(model: Transformer, optimizer: &mut AdamW, batch: &Batch) -> (f64, Transformer) {
    train_step_hooked(model, optimizer, batch, None)
}

/// [`train_step`] with `hook` on the training forward's `blocks.0.hook_attn_out`.
pub fn train_step_hooked(
    model: Transformer,
    optimizer: &mut AdamW,
    batch: &Batch,
    hook: Option<&AttnOutHook>,
) -> (f64, Transformer) {
    let (value, leaves, grads) = loss_and_gradients_hooked(&model, batch, hook);
    let model = optimizer.step(model, &leaves, &grads);
    (value, model)
}
