//! The analysis of a variant: its [`AnalysisContext`] (the probe and the split it trained on),
//! what analyzers see of each checkpoint, and [`Variant::analyze`], which opens the analyzer
//! registry and runs an [`AnalysisRun`] — the one place the CLI, the notebook functions and the
//! panels start an analysis from.

use std::path::PathBuf;

use burn_tensor::Device;

use crate::analysis::freshness::FreshnessReport;
use crate::analysis::{
    AnalysisContext, AnalysisProgress, AnalysisReport, AnalysisRun, AnalyzerRegistry, TrainedRun,
};
use crate::error::{Error, Result};
use crate::family::{FamilySpec, Params};
use crate::intervention::InterventionContext;
use crate::model::bundle::ActivationBundle;
use crate::model::transformer::Transformer;
use crate::train::Metadata;
use crate::variant::Variant;

/// What to analyze; the default runs every analyzer of the family over every checkpoint,
/// skipping what is on disk already.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    /// Only these analyzers (any kind), run in the family's order; `None`: all of the family's.
    pub analyzers: Option<Vec<String>>,
    /// Only these checkpoint epochs (others on disk are left alone); `None`: every checkpoint.
    pub epochs: Option<Vec<u64>>,
    /// Recompute artifacts that already exist.
    pub force: bool,
    /// The directory of `analyzer.json` declarations; `None`: the project's
    /// ([`crate::paths::analyzers_dir`]).
    pub analyzers_dir: Option<PathBuf>,
    /// The device of the forward passes; `None`: [`crate::default_device`].
    pub device: Option<Device>,
}

impl Variant {
    /// Runs the analyzers `options` select over the variant's checkpoints (resumable: an
    /// artifact on disk is not computed again unless `options.force`), reporting to `progress`.
    pub fn analyze(
        &self,
        options: &AnalyzeOptions,
        progress: &mut dyn AnalysisProgress,
    ) -> Result<AnalysisReport> {
        let dir = options
            .analyzers_dir
            .clone()
            .unwrap_or_else(crate::paths::analyzers_dir);
        let registry = AnalyzerRegistry::open(&dir)?;
        let mut run = AnalysisRun::new(self, &registry).force(options.force);
        if let Some(names) = &options.analyzers {
            run = run.analyzers(names.clone());
        } else if self.intervention().is_some() {
            // An intervened variant gets its check besides the family's analyzers.
            let spec = self.family().spec();
            let mut names: Vec<String> = spec
                .analyzers
                .iter()
                .chain(&spec.secondary_analyzers)
                .chain(&spec.cross_epoch_analyzers)
                .cloned()
                .collect();
            names.push(crate::analyzers::intervention_check::NAME.to_string());
            run = run.analyzers(names);
        }
        if let Some(epochs) = &options.epochs {
            run = run.checkpoints(epochs.clone());
        }
        if let Some(device) = &options.device {
            run = run.device(device.clone());
        }
        run.run(progress)
    }

    /// Which analyzers' artifacts are up to date with the checkpoints.
    pub fn freshness(&self) -> Result<FreshnessReport> {
        FreshnessReport::check(self)
    }

    /// The family facts analyzers are given: the family's dataset as the probe and the split
    /// the run trained on.
    pub fn analysis_context(&self) -> Result<AnalysisContext> {
        let family = self.family().implementation()?;
        let params = self.params().clone();
        let probe = family.dataset(&params)?;
        // The split the run trained on. metadata.json stores it; a run without one (checkpoints
        // copied by hand) is split again from config.json's training_fraction. A file that is
        // there but unreadable is an error: a guessed split would make every split-aware
        // artifact wrong without a word.
        let train_indices = match self.metadata() {
            Ok(metadata) => metadata.train_indices,
            // Never trained (no config.json either): the family's default split, as MIScope's
            // analysis assumes; used to probe initial weights.
            Err(Error::MissingFile { .. }) if !self.config_path().exists() => {
                let fraction = self.family().training_config()?.training_fraction;
                family.split(&params, fraction)?.train_indices
            }
            Err(Error::MissingFile { .. }) => {
                let config = self.model_config_json()?;
                let fraction = config
                    .get("training_fraction")
                    .and_then(serde_json::Value::as_f64)
                    .ok_or_else(|| Error::StoredField {
                        path: self.config_path(),
                        field: "training_fraction",
                        value: config.get("training_fraction").map(|v| v.to_string()),
                        reason: format!(
                            "{} is missing, so the split must come from config.json's training_fraction",
                            self.metadata_path().display()
                        ),
                    })?;
                family.split(&params, fraction)?.train_indices
            }
            Err(e) => return Err(e),
        };
        let mut context =
            AnalysisContext::new(params, probe, &train_indices, &self.metadata_path())?;
        if let (Some(config), Some(directions)) =
            (self.intervention(), self.intervention_directions(true)?)
        {
            context.intervention = Some(std::sync::Arc::new(InterventionContext {
                config: config.clone(),
                directions,
            }));
        }
        Ok(context)
    }

    /// What analyzers see of the checkpoint of `epoch` on `context`'s probe.
    pub fn bundle(
        &self,
        epoch: u64,
        context: &AnalysisContext,
        device: &Device,
    ) -> Result<ActivationBundle> {
        let state = self.load_checkpoint(epoch)?;
        let mut bundle = self.family().implementation()?.bundle(
            self.family().spec(),
            self.params(),
            &state,
            &context.probe,
            device,
        )?;
        bundle.epoch = Some(epoch);
        Ok(bundle)
    }
}

impl TrainedRun for Variant {
    fn name(&self) -> &str {
        Variant::name(self)
    }

    fn spec(&self) -> &FamilySpec {
        self.family().spec()
    }

    fn params(&self) -> &Params {
        Variant::params(self)
    }

    fn dir(&self) -> &std::path::Path {
        Variant::dir(self)
    }

    fn artifacts_dir(&self) -> PathBuf {
        Variant::artifacts_dir(self)
    }

    fn checkpoints(&self) -> Result<Vec<u64>> {
        Variant::checkpoints(self)
    }

    fn analysis_context(&self) -> Result<AnalysisContext> {
        Variant::analysis_context(self)
    }

    fn bundle(
        &self,
        epoch: u64,
        context: &AnalysisContext,
        device: &Device,
    ) -> Result<ActivationBundle> {
        Variant::bundle(self, epoch, context, device)
    }

    fn metadata(&self) -> Result<Metadata> {
        Variant::metadata(self)
    }

    fn load_model(&self, epoch: u64, device: &Device) -> Result<Transformer> {
        Variant::load_model(self, epoch, device)
    }
}
