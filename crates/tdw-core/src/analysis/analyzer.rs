//! The three kinds of analyzer (spec §4.1) and what they are given.
//!
//! - [`Analyzer`] (per-epoch, "primary"): sees one checkpoint's [`ActivationBundle`] and the
//!   family [`AnalysisContext`]; writes `artifacts/{name}/epoch_{EEEEE}.npz`.
//! - [`SecondaryAnalyzer`]: derives a per-epoch artifact from another analyzer's artifact,
//!   without a model.
//! - [`CrossEpochAnalyzer`]: reads per-epoch artifacts across all checkpoints; writes
//!   `artifacts/{name}/cross_epoch.npz`.
//!
//! Analyzers with summary keys also return per-epoch summary values, which the run stacks into
//! `summary.npz`.

use ndarray::Array2;

use crate::analysis::artifact::Artifact;
use crate::analysis::bundle::{ActivationBundle, MissingSite};
use crate::analysis::fourier;
use crate::analysis::loader::ArtifactLoader;
use crate::error::{Error, Result};
use crate::family::{Params, variant::Variant};

/// Family facts every analyzer may use (MIScope's `prepare_analysis_context`, spec §4.2).
#[derive(Debug, Clone)]
pub struct AnalysisContext {
    /// The variant's domain parameters.
    pub params: Params,
    /// The modulus p.
    pub prime: usize,
    /// The orthonormal Fourier basis of Z/p (p × p for odd p).
    pub fourier_basis: Array2<f32>,
    /// Probe tokens, `n_ctx` per row (row k = [a, b, p] with a = k / p, b = k % p).
    pub probe_tokens: Vec<i64>,
    /// `(a + b) mod p` of every probe row.
    pub labels: Vec<i64>,
    /// Whether each probe row was a training pair. Taken from metadata.json when the run has
    /// one (MIScope rebuilds it assuming fraction 0.3, which is wrong for other fractions).
    pub train_mask: Vec<bool>,
}

impl AnalysisContext {
    /// The context of a variant.
    pub fn for_variant(variant: &Variant) -> Result<Self> {
        let family = variant.family().implementation()?;
        let params = variant.params().clone();
        let data = family.dataset(&params)?;
        let prime = params.int("prime")? as usize;
        // The split the run trained on. metadata.json stores it; a run without one (checkpoints
        // copied by hand) is split again from config.json's training_fraction. A file that is
        // there but unreadable is an error: a guessed split would make every split-aware
        // artifact wrong without a word.
        let train_indices = match variant.metadata() {
            Ok(metadata) => metadata.train_indices,
            // Never trained (no config.json either): the family's default split, as MIScope's
            // analysis assumes; used to probe initial weights.
            Err(Error::MissingFile { .. }) if !variant.config_path().exists() => {
                let fraction = variant.family().training_config()?.training_fraction;
                family.split(&params, fraction)?.train_indices
            }
            Err(Error::MissingFile { .. }) => {
                let config = variant.model_config_json()?;
                let fraction = config
                    .get("training_fraction")
                    .and_then(serde_json::Value::as_f64)
                    .ok_or_else(|| Error::InvalidSetting {
                        setting: format!("{} `training_fraction`", variant.config_path().display()),
                        value: config
                            .get("training_fraction")
                            .map_or("absent".into(), |v| v.to_string()),
                        reason: format!(
                            "{} is missing, so the split must come from config.json's training_fraction",
                            variant.metadata_path().display()
                        ),
                    })?;
                family.split(&params, fraction)?.train_indices
            }
            Err(e) => return Err(e),
        };
        let mut train_mask = vec![false; data.len()];
        for i in train_indices {
            let slot = train_mask.get_mut(i).ok_or_else(|| Error::InvalidSetting {
                setting: format!("{} `train_indices`", variant.metadata_path().display()),
                value: i.to_string(),
                reason: format!("beyond the {} examples of this variant", data.len()),
            })?;
            *slot = true;
        }
        Ok(AnalysisContext {
            params,
            prime,
            fourier_basis: fourier::basis(prime),
            probe_tokens: data.tokens,
            labels: data.labels,
            train_mask,
        })
    }

    /// Whether the probe is the full grid of `[a, b, =]` rows in a-major order, which lets a
    /// one-layer model use the table-based forward of `grid_forward`.
    pub fn is_grid_probe(&self) -> bool {
        let p = self.prime;
        self.probe_tokens.len() == 3 * p * p
            && self
                .probe_tokens
                .chunks_exact(3)
                .enumerate()
                .all(|(k, row)| row == [(k / p) as i64, (k % p) as i64, p as i64])
    }

    /// One forward pass of the probe through `model`, reduced to what analyzers read.
    pub fn bundle(&self, model: &crate::model::transformer::Transformer) -> ActivationBundle {
        if model.config().n_layers == 1 && self.is_grid_probe() {
            return crate::analysis::grid_forward::grid_bundle(model, self.prime);
        }
        let rows = self.labels.len();
        let n_ctx = self.probe_tokens.len() / rows.max(1);
        let device = model.device();
        let tokens = burn::tensor::Tensor::<2, burn::tensor::Int>::from_data(
            burn::tensor::TensorData::new(self.probe_tokens.clone(), [rows, n_ctx]),
            &device,
        );
        ActivationBundle::from_transformer(model, tokens)
    }

    /// Number of frequencies, p / 2.
    pub fn n_freq(&self) -> usize {
        self.prime / 2
    }
}

/// Why an analyzer produced nothing for an epoch.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalyzerError {
    /// The model lacks a site the analyzer needs; recorded and skipped, not an error of the run.
    #[error("skipped: {0}")]
    Skipped(#[from] MissingSite),
    /// The inputs are present but unusable (a key missing from an artifact, a wrong shape).
    #[error("{0}")]
    Invalid(String),
}

impl AnalyzerError {
    /// Converts into the crate error, naming the analyzer.
    pub fn into_error(self, analyzer: &str) -> Error {
        Error::AnalyzerInput {
            analyzer: analyzer.to_string(),
            reason: self.to_string(),
        }
    }
}

impl From<String> for AnalyzerError {
    fn from(reason: String) -> Self {
        AnalyzerError::Invalid(reason)
    }
}

/// Result of one analyzer call.
pub type AnalyzerResult<T> = std::result::Result<T, AnalyzerError>;

/// A per-epoch analyzer.
pub trait Analyzer: Send + Sync {
    /// Name in family.json, artifact directory and `analyzers/<name>/analyzer.json`.
    fn name(&self) -> &'static str;
    /// The artifact for one checkpoint.
    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact>;
    /// Keys of the per-epoch summary (empty: no summary.npz).
    fn summary_keys(&self) -> &'static [&'static str] {
        &[]
    }
    /// Summary values of one epoch's artifact, keyed as [`Analyzer::summary_keys`].
    fn summary(
        &self,
        _artifact: &Artifact,
        _context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        Ok(Artifact::new())
    }
}

/// A per-epoch analyzer computed from another analyzer's artifact.
pub trait SecondaryAnalyzer: Send + Sync {
    fn name(&self) -> &'static str;
    /// The primary analyzer whose artifacts this one reads.
    fn depends_on(&self) -> &'static str;
    fn analyze(&self, input: &Artifact, context: &AnalysisContext) -> AnalyzerResult<Artifact>;
    fn summary_keys(&self) -> &'static [&'static str] {
        &[]
    }
    fn summary(
        &self,
        _artifact: &Artifact,
        _context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        Ok(Artifact::new())
    }
}

/// What a cross-epoch analyzer is given.
pub struct CrossEpochInput<'a> {
    /// Reads the per-epoch artifacts of the variant.
    pub loader: &'a ArtifactLoader,
    /// Every checkpoint epoch of the variant, ascending.
    pub epochs: &'a [u64],
    /// The family context.
    pub context: &'a AnalysisContext,
    /// The variant (metadata, checkpoints) for analyzers that need more than artifacts.
    pub variant: &'a Variant,
    /// Device for analyzers that run the model.
    pub device: &'a burn::tensor::Device,
}

/// An analyzer over all checkpoints at once.
pub trait CrossEpochAnalyzer: Send + Sync {
    fn name(&self) -> &'static str;
    /// Analyzers whose artifacts must exist first.
    fn requires(&self) -> &'static [&'static str];
    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact>;
}
