//! `modulo_addition_2layer_mlp` and `modulo_addition_learned_emb_mlp`: the MLP baselines of the
//! grokking setup (spec §1.2). Same task, pairs, split and naming as the one-layer family; the
//! model is [`crate::model::mlp`], trained on the host by [`MlpTrainer`].
//!
//! The probe is the p² pairs `[a, b]` (no "=" token); the bundle has MLP activations, logits and
//! the weights `W_in`, `W_out` (and `embed_a`, `embed_b`), but no attention and no residual
//! stream, so analyzers that need those are skipped with that reason.

use indexmap::IndexMap;
use ndarray::{Array2, ArrayD, IxDyn};
use serde_json::{Map, Value};

use crate::checkpoint::Layout;
use crate::dataset::{Dataset, Split};
use crate::error::{Error, Result};
use crate::family::{FamilySpec, ModelFamily, Params};
use crate::model::bundle::ActivationBundle;
use crate::model::config::TransformerConfig;
use crate::model::mlp::{self, MlpConfig, MlpWeights};
use crate::model::state::StateDict;
use crate::train::HostAdamW;
use crate::train::engine::{Engine, Stepper, StepperSetup};
use crate::train::mlp::MlpTrainer;
use crate::train::{TrainingConfig, schedule};

use super::modulo_addition::{add_run_keys, non_negative, pairs_dataset, prime, split_pairs};

/// One of the two MLP families.
pub struct ModuloAdditionMlp {
    name: &'static str,
    embedding: bool,
}

impl ModuloAdditionMlp {
    /// The one-hot input family's name in family.json.
    pub const TWO_LAYER: &'static str = "modulo_addition_2layer_mlp";
    /// The learned-embedding family's name in family.json.
    pub const LEARNED_EMBEDDING: &'static str = "modulo_addition_learned_emb_mlp";

    /// one-hot(a) ++ one-hot(b) → W_in → ReLU → W_out.
    pub fn two_layer() -> Self {
        ModuloAdditionMlp {
            name: Self::TWO_LAYER,
            embedding: false,
        }
    }

    /// embed_a(a) + embed_b(b) → W_in → ReLU → W_out.
    pub fn learned_embedding() -> Self {
        ModuloAdditionMlp {
            name: Self::LEARNED_EMBEDDING,
            embedding: true,
        }
    }

    fn config(&self, spec: &FamilySpec, params: &Params) -> Result<MlpConfig> {
        MlpConfig::from_architecture(&spec.architecture, prime(params)?, self.embedding)
    }
}

impl ModelFamily for ModuloAdditionMlp {
    fn model_config(&self, _spec: &FamilySpec, _params: &Params) -> Result<TransformerConfig> {
        Err(Error::NotATransformer {
            family: self.name.into(),
        })
    }

    fn init_state(&self, spec: &FamilySpec, params: &Params) -> Result<StateDict> {
        Ok(self
            .config(spec, params)?
            .init_state(non_negative(params, "seed")?))
    }

    fn dataset(&self, params: &Params) -> Result<Dataset> {
        Ok(pairs_dataset(prime(params)?, false))
    }

    fn examples(&self, params: &Params) -> Result<usize> {
        let p = prime(params)?;
        Ok(p * p)
    }

    /// 64 MiB plus, per (a, b) example, its one-hot input (2p), hidden layer and p logits in f32
    /// with 25% to spare: `p² × (3p + d_hidden) × 5` bytes.
    fn peak_memory(&self, spec: &FamilySpec, params: &Params) -> Result<u64> {
        let config = self.config(spec, params)?;
        let rows = (config.p * config.p) as u64;
        Ok((64 << 20) + rows * (3 * config.p + config.d_hidden) as u64 * 5)
    }

    fn split(&self, params: &Params, training_fraction: f64) -> Result<Split> {
        split_pairs(params, training_fraction)
    }

    fn training_defaults(&self) -> TrainingConfig {
        TrainingConfig {
            learning_rate: 1e-4,
            weight_decay: if self.embedding { 2.0 } else { 1.0 },
            betas: (0.9, 0.98),
            eps: 1e-8,
            num_epochs: 50_000,
            training_fraction: 0.3,
            checkpoint_epochs: schedule::from_ranges(&schedule::MLP_DEFAULT),
        }
    }

    fn config_json(
        &self,
        spec: &FamilySpec,
        params: &Params,
        training_fraction: f64,
    ) -> Result<Map<String, Value>> {
        let mut config = spec.architecture.clone();
        add_run_keys(&mut config, params, training_fraction)?;
        Ok(config)
    }

    fn checkpoint_layout(&self, spec: &FamilySpec, params: &Params) -> Result<Layout> {
        Ok(Layout::plain(self.config(spec, params)?.parameter_shapes()))
    }

    fn stepper(
        &self,
        spec: &FamilySpec,
        params: &Params,
        setup: StepperSetup<'_>,
    ) -> Result<Box<dyn Stepper>> {
        if setup.engine == Engine::Burn || *setup.device != crate::default_device() {
            return Err(Error::UnsupportedEngine {
                engine: format!("{:?} on {:?}", setup.engine, setup.device),
                reason: format!("{} trains on the host CPU engine only", self.name),
            });
        }
        let start = setup.start;
        let optimizer = HostAdamW::restore(setup.adamw, start.step, start.moments);
        Ok(Box::new(MlpTrainer::new(
            self.config(spec, params)?,
            start.state,
            optimizer,
            setup.train,
            setup.test,
        )?))
    }

    fn bundle(
        &self,
        spec: &FamilySpec,
        params: &Params,
        state: &StateDict,
        probe: &Dataset,
        _device: &burn_tensor::Device,
    ) -> Result<ActivationBundle> {
        let config = self.config(spec, params)?;
        let w = MlpWeights::of(&config, state)?;
        let acts = mlp::forward(&config, &w, &probe.tokens);
        let rows = probe.len();
        let matrix = |data: Vec<f32>, cols: usize| {
            Array2::from_shape_vec((rows, cols), data).expect("rows × cols activations")
        };
        // Weights under MIScope's short names, in the torch layout ([out, in]).
        let mut weights = IndexMap::new();
        for (short, full) in [
            ("embed_a", mlp::EMBED_A),
            ("embed_b", mlp::EMBED_B),
            ("W_in", mlp::W_IN),
            ("W_out", mlp::W_OUT),
        ] {
            if let Some(tensor) = state.get(full) {
                let array = ArrayD::from_shape_vec(IxDyn(&tensor.shape), tensor.data.clone())
                    .expect("state tensors match their shapes");
                weights.insert(short.to_string(), array);
            }
        }
        Ok(ActivationBundle {
            weights,
            mlp_post: Some(matrix(acts.hidden, config.d_hidden)),
            logits: Some(matrix(acts.logits, config.p)),
            ..Default::default()
        })
    }
}
