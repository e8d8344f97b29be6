//! Model families: the `family.json` declaration ([`FamilySpec`]), the Rust implementation that
//! builds a family's model and data ([`ModelFamily`]), the registry that discovers both, and the
//! [`Variant`]s that live under `results/`.

pub mod params;
pub mod pattern;
pub mod registry;
pub mod spec;
pub mod variant;

use std::sync::Arc;

use crate::analysis::analyzer::AnalysisContext;
use crate::analysis::bundle::ActivationBundle;
use crate::checkpoint::Layout;
use crate::error::Result;
use crate::model::config::TransformerConfig;
use crate::model::state::StateDict;
use crate::train::TrainingConfig;
use crate::train::engine::{Stepper, StepperSetup};
pub use params::{ParamType, ParamValue, Params};
pub use spec::{FamilySpec, ParameterSpec};

/// The task data of a family: every input the model can see, with its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Token rows, `n_ctx` ids each, flattened row-major (`[a, b, p]` for modular addition).
    pub tokens: Vec<i64>,
    /// Tokens per row.
    pub n_ctx: usize,
    /// The correct output class of each row.
    pub labels: Vec<i64>,
}

impl Dataset {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset has no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The rows at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        Dataset {
            tokens: indices
                .iter()
                .flat_map(|&i| {
                    self.tokens[i * self.n_ctx..(i + 1) * self.n_ctx]
                        .iter()
                        .copied()
                })
                .collect(),
            n_ctx: self.n_ctx,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

/// Which rows of the full dataset train and which test.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Training rows, in permutation order (not sorted), as MIScope stores them.
    pub train_indices: Vec<usize>,
    /// The remaining rows, in permutation order.
    pub test_indices: Vec<usize>,
}

/// What a family implementation provides beyond its JSON: the model, the data and the training
/// defaults. One implementation per family, in `families/<name>.rs`; nothing else in the crate
/// branches on a family's name.
pub trait ModelFamily: Send + Sync {
    /// Sizes of the model for these parameters.
    fn model_config(&self, spec: &FamilySpec, params: &Params) -> Result<TransformerConfig>;
    /// The initial weights for these parameters (seeded, reproducing the Python reference).
    fn init_state(&self, spec: &FamilySpec, params: &Params) -> Result<StateDict>;
    /// Every input with its label (also the analysis probe).
    fn dataset(&self, params: &Params) -> Result<Dataset>;
    /// The train/test split for a training fraction.
    fn split(&self, params: &Params, training_fraction: f64) -> Result<Split>;
    /// How many rows [`ModelFamily::dataset`] has, without building it (so that a run too large
    /// for memory is refused before anything is allocated). Default: builds the dataset.
    fn examples(&self, params: &Params) -> Result<usize> {
        Ok(self.dataset(params)?.len())
    }
    /// A rough upper bound of a training run's peak memory in bytes, checked before anything is
    /// allocated. Default: the transformer's ([`crate::train::run::memory_estimate`]).
    fn peak_memory(&self, spec: &FamilySpec, params: &Params) -> Result<u64> {
        Ok(crate::train::run::memory_estimate(
            &self.model_config(spec, params)?,
            self.examples(params)?,
        ))
    }
    /// Training defaults before `family.json`'s `training` overrides.
    fn training_defaults(&self) -> TrainingConfig;
    /// The content of `config.json` for a run.
    fn config_json(
        &self,
        spec: &FamilySpec,
        params: &Params,
        training_fraction: f64,
    ) -> Result<serde_json::Map<String, serde_json::Value>>;

    /// The tensors of this family's checkpoints. Default: a TransformerLens model of
    /// [`ModelFamily::model_config`].
    fn checkpoint_layout(&self, spec: &FamilySpec, params: &Params) -> Result<Layout> {
        Ok(Layout::transformer(&self.model_config(spec, params)?))
    }

    /// What trains this family, one epoch at a time. Default: the transformer engines (the
    /// fused CPU engine or burn, as `setup.engine` resolves for the model and device).
    fn stepper(
        &self,
        spec: &FamilySpec,
        params: &Params,
        setup: StepperSetup<'_>,
    ) -> Result<Box<dyn Stepper>> {
        let config = self.model_config(spec, params)?;
        crate::train::engine::stepper(
            setup.engine.resolve(&config, setup.device),
            &config,
            setup.start,
            setup.adamw,
            setup.train,
            setup.test,
            setup.device,
        )
    }

    /// What analyzers see of the weights `state` on the analysis probe. Default: the
    /// transformer's forward pass ([`AnalysisContext::bundle`]).
    fn bundle(
        &self,
        spec: &FamilySpec,
        params: &Params,
        state: &StateDict,
        context: &AnalysisContext,
        device: &burn::tensor::Device,
    ) -> Result<ActivationBundle> {
        let config = self.model_config(spec, params)?;
        let model = crate::model::transformer::Transformer::from_state(&config, state, device);
        Ok(context.bundle(&model))
    }
}

/// A family as the registry holds it: its declaration and, when this build has one, its
/// implementation.
#[derive(Clone)]
pub struct Family {
    spec: FamilySpec,
    implementation: Option<Arc<dyn ModelFamily>>,
}

impl std::fmt::Debug for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family")
            .field("name", &self.spec.name)
            .field("implemented", &self.implementation.is_some())
            .finish()
    }
}

impl Family {
    /// Pairs a declaration with its implementation.
    pub fn new(spec: FamilySpec, implementation: Option<Arc<dyn ModelFamily>>) -> Self {
        Family {
            spec,
            implementation,
        }
    }

    /// The parsed family.json.
    pub fn spec(&self) -> &FamilySpec {
        &self.spec
    }

    /// The family's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The implementation, or an error saying this build has none for the family.
    pub fn implementation(&self) -> Result<&dyn ModelFamily> {
        self.implementation
            .as_deref()
            .ok_or_else(|| crate::error::Error::NoImplementation {
                family: self.spec.name.clone(),
                known: crate::families::implemented_names(),
            })
    }

    /// Whether this build can train and analyze the family.
    pub fn is_implemented(&self) -> bool {
        self.implementation.is_some()
    }

    /// The training configuration: implementation defaults, overridden by family.json.
    pub fn training_config(&self) -> Result<TrainingConfig> {
        let mut config = self.implementation()?.training_defaults();
        config.apply(&self.spec.training);
        Ok(config)
    }

    /// Validates parameters given as text (CLI `k=v`).
    pub fn params_from_text<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Params> {
        Params::from_text_pairs(&self.spec, pairs)
    }
}
