//! Intervened variants (MIScope's `InterventionVariant`): a variant retrained from epoch 0 with
//! the parent's seeds and split while a frequency-gain hook edits its training forward
//! ([`crate::intervention`]), stored under `{parent}/interventions/{name}/` with the same files
//! as any variant, so every analysis, view and report takes it.
//!
//! Its config.json is the parent's (architecture, seeds, fraction, any learning rate or weight
//! decay the parent recorded) plus the `intervention` block; it is found by that block. Its
//! name is `{parent}/interventions/{label or hash}`, the path below the family's results.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn_tensor::Device;
use ndarray::ArrayView2;

use crate::error::{Error, Result};
use crate::intervention::config::dir_of;
use crate::intervention::{
    FrequencyDirections, FrequencyGain, INTERVENTION_KEY, INTERVENTIONS_DIR,
};
use crate::model::state::StateDict;
use crate::train::{Progress, TrainOptions, TrainingResult};
use crate::variant::Variant;
use crate::variant::training::recorded_hyperparameters;

/// What makes a variant an intervened one: its block and its parent.
#[derive(Debug, Clone, PartialEq)]
pub struct InterventionOf {
    /// The intervention.
    pub config: FrequencyGain,
    /// The parent's name.
    pub parent_name: String,
    /// The parent's directory (the directions come from its checkpoint at `epoch_start`).
    pub parent_dir: PathBuf,
}

impl Variant {
    /// The intervention this variant was trained with, if it is an intervened variant.
    pub fn intervention(&self) -> Option<&FrequencyGain> {
        self.intervention.as_ref().map(|i| &i.config)
    }

    /// The variant an intervened variant was derived from.
    pub fn parent(&self) -> Option<Variant> {
        let of = self.intervention.as_ref()?;
        Some(Variant {
            family: self.family.clone(),
            params: self.params.clone(),
            name: of.parent_name.clone(),
            dir: of.parent_dir.clone(),
            intervention: None,
        })
    }

    /// The intervened variant of `config` under this one; creates nothing. Refused for a block
    /// that does not fit the model (a frequency beyond p/2), for a parent that is itself an
    /// intervened variant, and for a name already taken by a trained intervention.
    pub fn create_intervention(&self, config: FrequencyGain, origin: &Path) -> Result<Variant> {
        if let Some(of) = &self.intervention {
            return Err(Error::InterventionField {
                origin: origin.to_path_buf(),
                field: "parent".into(),
                reason: format!(
                    "'{}' is itself an intervention of '{}'; intervene on the parent",
                    self.name, of.parent_name
                ),
            });
        }
        if self.model_config().is_err() {
            return Err(Error::InterventionField {
                origin: origin.to_path_buf(),
                field: "type".into(),
                reason: format!(
                    "'{}' is not a transformer: its model has no blocks.0.hook_attn_out to hook",
                    self.name
                ),
            });
        }
        config.check_prime(self.params.int("prime")? as usize, origin)?;
        let name = config.name();
        let variant = self.intervened(config, &name);
        if variant.config_path().exists() || !variant.checkpoints()?.is_empty() {
            return Err(Error::InterventionExists {
                parent: self.name.clone(),
                name,
                dir: variant.dir.clone(),
            });
        }
        Ok(variant)
    }

    fn intervened(&self, config: FrequencyGain, name: &str) -> Variant {
        Variant {
            family: self.family.clone(),
            params: self.params.clone(),
            name: format!("{}/{INTERVENTIONS_DIR}/{name}", self.name),
            dir: dir_of(&self.dir, name),
            intervention: Some(Arc::new(InterventionOf {
                config,
                parent_name: self.name.clone(),
                parent_dir: self.dir.clone(),
            })),
        }
    }

    /// The intervened variants on disk under this one: every `interventions/*/config.json`
    /// with an `intervention` block, sorted by directory name (MIScope's
    /// `Variant.interventions`). A directory whose block does not parse is skipped.
    pub fn interventions(&self) -> Result<Vec<Variant>> {
        let root = self.dir.join(INTERVENTIONS_DIR);
        let entries = match std::fs::read_dir(&root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&root, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .filter_map(|name| self.open_intervention(&name).ok())
            .collect())
    }

    /// The intervened variant `name` under this one, from its config.json's block.
    pub fn open_intervention(&self, name: &str) -> Result<Variant> {
        let path = dir_of(&self.dir, name).join("config.json");
        let config: serde_json::Map<String, serde_json::Value> =
            crate::json_file::read_json(&path, "config.json")?;
        let block = config
            .get(INTERVENTION_KEY)
            .ok_or_else(|| Error::InterventionField {
                origin: path.clone(),
                field: INTERVENTION_KEY.into(),
                reason: "missing: not an intervened variant".into(),
            })?;
        let config = FrequencyGain::from_json(block, &path)?;
        Ok(self.intervened(config, name))
    }

    /// Creates the intervened variant of `config` and trains it: by default for the parent's
    /// number of epochs, on the parent's checkpoint schedule (plus `epoch_start`, where the
    /// check takes its directions), fraction, learning rate and weight decay; `options` may
    /// change each, as for [`Variant::train`].
    pub fn intervene(
        &self,
        config: FrequencyGain,
        origin: &Path,
        options: &TrainOptions,
        device: &Device,
        progress: &mut dyn Progress,
    ) -> Result<(Variant, TrainingResult)> {
        let variant = self.create_intervention(config, origin)?;
        let options = self.intervention_training(&variant, options)?;
        let result = variant.train(&options, device, progress)?;
        Ok((variant, result))
    }

    /// The training options of `child` (an intervention of this variant): the parent's number
    /// of epochs, checkpoint schedule (plus `epoch_start`), fraction, learning rate and weight
    /// decay, under whatever `options` sets.
    pub fn intervention_training(
        &self,
        child: &Variant,
        options: &TrainOptions,
    ) -> Result<TrainOptions> {
        let metadata = self.metadata()?;
        let config = child.intervention().expect("an intervened variant");
        let num_epochs = options.num_epochs.unwrap_or(metadata.num_epochs);
        let checkpoints = options.checkpoint_epochs.clone().unwrap_or_else(|| {
            let mut epochs = metadata.checkpoint_epochs.clone();
            epochs.push(config.epoch_start);
            epochs.retain(|&e| e < num_epochs);
            epochs.sort_unstable();
            epochs.dedup();
            epochs
        });
        let (learning_rate, weight_decay) = recorded_hyperparameters(self)?;
        Ok(TrainOptions {
            num_epochs: Some(num_epochs),
            checkpoint_epochs: Some(checkpoints),
            training_fraction: Some(options.training_fraction.unwrap_or(self.stored_fraction()?)),
            learning_rate: Some(options.learning_rate.unwrap_or(learning_rate)),
            weight_decay: Some(options.weight_decay.unwrap_or(weight_decay)),
            ..options.clone()
        })
    }

    /// The directions of an intervened variant's hook: from the parent's checkpoint at
    /// `epoch_start` (training), or from its own there, else the parent's (the check; the two
    /// are the same weights, since the hook is off up to and including `epoch_start`).
    pub(crate) fn intervention_directions(
        &self,
        own_first: bool,
    ) -> Result<Option<FrequencyDirections>> {
        let (Some(config), Some(parent)) = (self.intervention(), self.parent()) else {
            return Ok(None);
        };
        let epoch = config.epoch_start;
        let state = if own_first && self.checkpoint_path(epoch).is_file() {
            self.load_checkpoint(epoch)?
        } else {
            parent.load_checkpoint(epoch)?
        };
        Ok(Some(directions_of(
            &state,
            self.params.int("prime")? as usize,
        )?))
    }
}

/// The directions of a checkpoint's embedding.
fn directions_of(state: &StateDict, p: usize) -> Result<FrequencyDirections> {
    let w_e = state.get("embed.W_E").ok_or_else(|| Error::ModelState {
        parameter: "embed.W_E".into(),
        reason: "an intervention needs the token embedding".into(),
    })?;
    let view = match w_e.shape.as_slice() {
        [rows, cols] if *rows >= p => ArrayView2::from_shape((*rows, *cols), &w_e.data).ok(),
        _ => None,
    }
    .ok_or_else(|| Error::ModelState {
        parameter: "embed.W_E".into(),
        reason: format!("shape {:?}, expected [d_vocab ≥ {p}, d_model]", w_e.shape),
    })?;
    Ok(FrequencyDirections::from_embedding(view, p))
}
