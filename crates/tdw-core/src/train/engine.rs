//! Which code computes a training step. Both engines train the same model with the same AdamW
//! and write the same files; they differ in speed and reach:
//! - `fused` ([`crate::train::fused`]): hand-written forward/backward of the one-layer ReLU model
//!   on the CPU, computing only what the "=" position's loss needs (the fast default);
//! - `burn`: burn's autodiff on any model depth and any burn device (GPU backends included).

use std::str::FromStr;

use burn_tensor::Device;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::model::config::TransformerConfig;
use crate::model::hook::AttnOutHook;
use crate::model::state::StateDict;
use crate::model::transformer::Transformer;
use crate::train::HostAdamW;
use crate::train::fused::{self, FusedTrainer};
use crate::train::state::Moments;
use crate::train::{AdamW, AdamWConfig, Batch, loss_value, train_step_hooked};

/// The engine a run asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    /// `fused` where it applies (one-layer ReLU model on the default CPU device), else `burn`.
    #[default]
    Auto,
    /// The fused CPU engine; an error for models it does not compute.
    Fused,
    /// burn's autodiff, on the given device.
    Burn,
}

impl FromStr for Engine {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Engine::Auto),
            "fused" => Ok(Engine::Fused),
            "burn" => Ok(Engine::Burn),
            other => Err(Error::InvalidSetting {
                setting: "engine".into(),
                value: other.into(),
                reason: "expected auto, fused or burn".into(),
            }),
        }
    }
}

impl Engine {
    /// The engine that will run: `Auto` resolved for this model and device.
    pub fn resolve(self, config: &TransformerConfig, device: &Device) -> Engine {
        match self {
            Engine::Auto if fused::supports(config) && *device == crate::default_device() => {
                Engine::Fused
            }
            Engine::Auto => Engine::Burn,
            chosen => chosen,
        }
    }
}

/// Where a run starts: weights, optimizer step count and moments (empty when fresh).
pub struct StartState {
    /// The weights.
    pub state: StateDict,
    /// AdamW steps taken (0 when fresh).
    pub step: u64,
    /// AdamW's moments, by parameter name.
    pub moments: Moments,
}

/// Everything a family's [`crate::family::ModelFamily::stepper`] gets: the engine asked for, where
/// the run starts, the optimizer settings, the two splits and the device.
pub struct StepperSetup<'a> {
    /// The engine asked for.
    pub engine: Engine,
    /// Where the run starts.
    pub start: StartState,
    /// The optimizer's settings.
    pub adamw: AdamWConfig,
    /// The training split.
    pub train: &'a Dataset,
    /// The test split.
    pub test: &'a Dataset,
    /// Where models live.
    pub device: &'a Device,
}

/// A run from its initial weights on a split: everything an engine needs, without touching any
/// files (benchmarks, profiling, engine checks). Built by [`crate::Family::fresh_run`].
pub struct FreshRun {
    /// The model's sizes.
    pub config: TransformerConfig,
    /// The initial weights (no optimizer state).
    pub start: StartState,
    /// The optimizer's settings.
    pub adamw: AdamWConfig,
    /// The training split.
    pub train: Dataset,
    /// The test split.
    pub test: Dataset,
}

impl FreshRun {
    /// The stepper of `engine` (resolved for this model and device) for this run.
    pub fn stepper(self, engine: Engine, device: &Device) -> Result<Box<dyn Stepper>> {
        stepper(
            engine.resolve(&self.config, device),
            &self.config,
            self.start,
            self.adamw,
            &self.train,
            &self.test,
            device,
        )
    }
}

/// One epoch at a time: a step on the training rows, then the test loss.
pub trait Stepper {
    /// One full-batch AdamW step; the training loss before it.
    fn step(&mut self) -> f64;
    /// The test loss under the current weights.
    fn test_loss(&mut self) -> f64;
    /// The current weights by TransformerLens name.
    fn state(&self) -> StateDict;
    /// Optimizer step count and moments, for the optimizer-state file.
    fn optimizer_state(&self) -> (u64, Moments);
    /// Edits `blocks.0.hook_attn_out` in the training forward of the following steps (`None`:
    /// no edit); the test loss is never hooked. Models without an attention output refuse.
    fn set_attn_out_hook(&mut self, hook: Option<AttnOutHook>) -> Result<()> {
        match hook {
            None => Ok(()),
            Some(_) => Err(Error::UnsupportedEngine {
                engine: "this family's".into(),
                reason: "its model has no blocks.0.hook_attn_out to intervene on".into(),
            }),
        }
    }
}

/// Builds the stepper of `engine` (already resolved) for a model, its start and its data.
pub fn stepper(
    engine: Engine,
    config: &TransformerConfig,
    start: StartState,
    adamw: AdamWConfig,
    train: &Dataset,
    test: &Dataset,
    device: &Device,
) -> Result<Box<dyn Stepper>> {
    let StartState {
        state,
        step,
        moments,
    } = start;
    match engine {
        Engine::Fused => {
            let optimizer = HostAdamW::restore(adamw, step, moments);
            Ok(Box::new(FusedTrainer::new(
                config, state, optimizer, train, test,
            )?))
        }
        Engine::Burn | Engine::Auto => Ok(Box::new(BurnStepper {
            model: Some(Transformer::from_state(config, &state, device)),
            optimizer: AdamW::restore(adamw, step, moments, device),
            train: Batch::new(train, device),
            test: Batch::new(test, device),
            hook: None,
        })),
    }
}

impl Stepper for FusedTrainer {
    fn step(&mut self) -> f64 {
        FusedTrainer::step(self)
    }
    fn test_loss(&mut self) -> f64 {
        FusedTrainer::test_loss(self)
    }
    fn state(&self) -> StateDict {
        FusedTrainer::state(self).clone()
    }
    fn optimizer_state(&self) -> (u64, Moments) {
        FusedTrainer::optimizer_state(self)
    }
    fn set_attn_out_hook(&mut self, hook: Option<AttnOutHook>) -> Result<()> {
        FusedTrainer::set_attn_out_hook(self, hook);
        Ok(())
    }
}

struct BurnStepper {
    /// Always `Some` between calls (a step consumes and returns the model).
    model: Option<Transformer>,
    optimizer: AdamW,
    train: Batch,
    test: Batch,
    hook: Option<AttnOutHook>,
}

impl BurnStepper {
    fn model(&self) -> &Transformer {
        self.model
            .as_ref()
            .expect("the model is put back after every step")
    }
}

impl Stepper for BurnStepper {
    fn step(&mut self) -> f64 {
        let model = self
            .model
            .take()
            .expect("the model is put back after every step");
        let hook = self.hook.as_ref();
        let (loss, updated) = train_step_hooked(model, &mut self.optimizer, &self.train, hook);
        self.model = Some(updated);
        loss
    }
    fn test_loss(&mut self) -> f64 {
        loss_value(self.model(), &self.test)
    }
    fn state(&self) -> StateDict {
        self.model().to_state()
    }
    fn optimizer_state(&self) -> (u64, Moments) {
        self.optimizer.export()
    }
    fn set_attn_out_hook(&mut self, hook: Option<AttnOutHook>) -> Result<()> {
        self.hook = hook.filter(|h| !h.is_identity());
        Ok(())
    }
}

/// A rough upper bound of a run's peak memory: 64 MiB of code and buffers plus, per example (all
/// of them: the training rows step, the test rows are evaluated every epoch), its residual
/// stream, MLP hidden layer and output logits in f32 with 25% to spare,
/// `rows × (n_ctx·d_model + d_mlp + d_vocab_out) × 5` bytes. Measured peaks (p = 311, 96,721
/// rows): 407 MB fused, 550 MB burn, against 644 MB estimated; at p = 113, 57 MB fused.
pub fn memory_estimate(config: &TransformerConfig, rows: usize) -> u64 {
    let per_row = (config.n_ctx * config.d_model + config.d_mlp + config.d_vocab_out) as u64 * 5;
    (64 << 20) + rows as u64 * per_row
}
