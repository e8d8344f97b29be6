//! `modulo_addition_1layer`: Neel Nanda's grokking setup, a one-layer transformer learning
//! `(a + b) mod p` from the sequences `[a, b, =]` (spec §1.2, §2, §3).
//!
//! Inputs are all p² ordered pairs, row `k = a·p + b`; token `p` is "=". The split is
//! `torch.randperm(p²)` under `data_seed`, the first ⌊p²·fraction⌋ rows train; the weights are
//! TransformerLens' seeded init under `seed`.

use serde_json::{Map, Value};

use crate::dataset::{Dataset, Split};
use crate::error::{Error, Result};
use crate::family::{FamilySpec, ModelFamily, Params};
use crate::model::config::TransformerConfig;
use crate::model::init::init_state;
use crate::model::state::StateDict;
use crate::torch_rng::Mt19937;
use crate::train::{TrainingConfig, schedule};

/// The one-layer modular-addition family.
pub struct ModuloAddition1Layer;

impl ModuloAddition1Layer {
    /// The family's name in family.json.
    pub const NAME: &'static str = "modulo_addition_1layer";
}

pub(crate) fn prime(params: &Params) -> Result<usize> {
    Ok(params.int("prime")? as usize)
}

pub(crate) fn non_negative(params: &Params, name: &str) -> Result<u64> {
    let value = params.int(name)?;
    u64::try_from(value).map_err(|_| Error::invalid_parameter(name, value, "must be >= 0"))
}

/// All p² pairs, row `a·p + b`, labelled `(a + b) mod p`: `[a, b, =]` rows (token p is "=")
/// for the transformer, `[a, b]` for the MLPs.
pub(crate) fn pairs_dataset(p: usize, equals_token: bool) -> Dataset {
    let n_ctx = if equals_token { 3 } else { 2 };
    let mut tokens = Vec::with_capacity(p * p * n_ctx);
    let mut labels = Vec::with_capacity(p * p);
    for a in 0..p {
        for b in 0..p {
            tokens.extend([a as i64, b as i64]);
            if equals_token {
                tokens.push(p as i64);
            }
            labels.push(((a + b) % p) as i64);
        }
    }
    Dataset {
        tokens,
        n_ctx,
        labels,
    }
}

/// config.json's run keys after the architecture, in MIScope's order: `seed`, the parameters
/// (existing keys keep their slot), `model_seed`, `data_seed`, `training_fraction`.
pub(crate) fn add_run_keys(
    config: &mut Map<String, Value>,
    params: &Params,
    training_fraction: f64,
) -> Result<()> {
    let seed = params.int("seed")?;
    config.insert("seed".into(), seed.into());
    for (name, value) in params.iter() {
        config.insert(name.into(), value.to_json());
    }
    config.insert("model_seed".into(), seed.into());
    config.insert("data_seed".into(), params.int("data_seed")?.into());
    config.insert("training_fraction".into(), training_fraction.into());
    Ok(())
}

/// The split of the p² pairs: `torch.randperm(p²)` under `data_seed`, the first
/// ⌊p²·fraction⌋ rows train (shared by the three modular-addition families).
pub(crate) fn split_pairs(params: &Params, training_fraction: f64) -> Result<Split> {
    let p = prime(params)?;
    let data_seed = non_negative(params, "data_seed")?;
    crate::train::check_fraction(training_fraction)?;
    let n = p * p;
    let mut permutation = Mt19937::new(data_seed).randperm(n);
    // Python's int(p*p*fraction): the float product, truncated (12769·0.3 → 3830).
    let cutoff = (n as f64 * training_fraction) as usize;
    let test_indices = permutation.split_off(cutoff);
    if permutation.is_empty() || test_indices.is_empty() {
        let (empty, other) = if permutation.is_empty() {
            ("training", "raise")
        } else {
            ("test", "lower")
        };
        return Err(Error::InvalidSetting {
            setting: "training_fraction".into(),
            value: training_fraction.to_string(),
            reason: format!(
                "leaves the {empty} set empty: ⌊{p}² × {training_fraction}⌋ = {cutoff} of {n} pairs train; {other} the fraction"
            ),
        });
    }
    Ok(Split {
        train_indices: permutation,
        test_indices,
    })
}

impl ModelFamily for ModuloAddition1Layer {
    fn model_config(&self, spec: &FamilySpec, params: &Params) -> Result<TransformerConfig> {
        TransformerConfig::from_architecture(&spec.architecture, prime(params)?)
    }

    fn init_state(&self, spec: &FamilySpec, params: &Params) -> Result<StateDict> {
        let config = self.model_config(spec, params)?;
        Ok(init_state(&config, non_negative(params, "seed")?))
    }

    fn dataset(&self, params: &Params) -> Result<Dataset> {
        Ok(pairs_dataset(prime(params)?, true))
    }

    fn examples(&self, params: &Params) -> Result<usize> {
        let p = prime(params)?;
        Ok(p * p)
    }

    fn split(&self, params: &Params, training_fraction: f64) -> Result<Split> {
        split_pairs(params, training_fraction)
    }

    fn training_defaults(&self) -> TrainingConfig {
        TrainingConfig {
            learning_rate: 1e-3,
            weight_decay: 1.0,
            betas: (0.9, 0.98),
            eps: 1e-8,
            num_epochs: 25_000,
            training_fraction: 0.3,
            checkpoint_epochs: schedule::from_ranges(&schedule::ONE_LAYER_DEFAULT),
        }
    }

    fn config_json(
        &self,
        spec: &FamilySpec,
        params: &Params,
        training_fraction: f64,
    ) -> Result<Map<String, Value>> {
        // Key order as MIScope writes it: architecture (with `seed`), then the params (existing
        // keys keep their slot), then model_seed, data_seed, training_fraction.
        let mut config = self.model_config(spec, params)?.to_config_json();
        add_run_keys(&mut config, params, training_fraction)?;
        Ok(config)
    }
}
