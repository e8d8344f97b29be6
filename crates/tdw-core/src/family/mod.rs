//! Model families: the `family.json` declaration ([`FamilySpec`]) and the Rust implementation
//! that builds a family's model and data ([`ModelFamily`]), paired in a [`Family`]. The registry
//! that discovers them and the variants under `results/` sit a layer above, in
//! [`crate::variant`].

pub mod parameter;
pub mod params;
pub mod pattern;
pub mod spec;

use std::sync::Arc;

use crate::checkpoint::Layout;
use crate::dataset::{Dataset, Split};
use crate::error::Result;
use crate::model::bundle::ActivationBundle;
use crate::model::config::TransformerConfig;
use crate::model::state::StateDict;
use crate::train::TrainingConfig;
use crate::train::engine::{FreshRun, StartState, Stepper, StepperSetup};
pub use parameter::{ParamType, ParamValue, ParameterSpec, split_assignment};
pub use params::Params;
pub use spec::FamilySpec;

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
    /// allocated. Default: the transformer's ([`crate::train::engine::memory_estimate`]).
    fn peak_memory(&self, spec: &FamilySpec, params: &Params) -> Result<u64> {
        Ok(crate::train::engine::memory_estimate(
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
    /// transformer's forward pass ([`ActivationBundle::of_probe`]).
    fn bundle(
        &self,
        spec: &FamilySpec,
        params: &Params,
        state: &StateDict,
        probe: &Dataset,
        device: &burn_tensor::Device,
    ) -> Result<ActivationBundle> {
        let config = self.model_config(spec, params)?;
        let model = crate::model::transformer::Transformer::from_state(&config, state, device);
        Ok(ActivationBundle::of_probe(&model, probe))
    }
}

/// A family as the registry holds it: its declaration and, when this build has one, its
/// implementation.
#[derive(Clone)]
pub struct Family {
    spec: FamilySpec,
    implementation: Option<Arc<dyn ModelFamily>>,
    /// The families the registry could implement, named when this one has no implementation.
    implemented: Vec<String>,
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
    /// Pairs a declaration with its implementation; `implemented` names the families the
    /// caller's table has (for the error of a family without one).
    pub fn new(
        spec: FamilySpec,
        implementation: Option<Arc<dyn ModelFamily>>,
        implemented: Vec<String>,
    ) -> Self {
        Family {
            spec,
            implementation,
            implemented,
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
                known: self.implemented.clone(),
            })
    }

    /// Whether this build can train and analyze the family.
    pub fn is_implemented(&self) -> bool {
        self.implementation.is_some()
    }

    /// The training configuration: implementation defaults, overridden by family.json.
    pub fn training_config(&self) -> Result<TrainingConfig> {
        let mut config = self.implementation()?.training_defaults();
        self.spec.training.apply_to(&mut config);
        Ok(config)
    }

    /// Validates parameters given as text (CLI `k=v`).
    pub fn params_from_text<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Params> {
        Params::from_text_pairs(&self.spec, pairs)
    }

    /// A run of these parameters from their seeded initial weights on the split of `fraction`
    /// of the pairs (the family's default when `None`), for engines used without files.
    pub fn fresh_run(&self, params: &Params, fraction: Option<f64>) -> Result<FreshRun> {
        let family = self.implementation()?;
        let training = self.training_config()?;
        let fraction = fraction.unwrap_or(training.training_fraction);
        let data = family.dataset(params)?;
        let Split {
            train_indices,
            test_indices,
        } = family.split(params, fraction)?;
        Ok(FreshRun {
            config: family.model_config(&self.spec, params)?,
            start: StartState {
                state: family.init_state(&self.spec, params)?,
                step: 0,
                moments: Vec::new(),
            },
            adamw: training.adamw(),
            train: data.subset(&train_indices),
            test: data.subset(&test_indices),
        })
    }
}
