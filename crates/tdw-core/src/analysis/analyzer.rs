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

pub use crate::analysis::context::AnalysisContext;
use crate::analysis::loader::ArtifactLoader;
use crate::analysis::trained::TrainedRun;
use crate::error::{Error, Result};
use crate::formats::artifact::Artifact;
use crate::model::bundle::{ActivationBundle, MissingSite};

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
    /// The run (metadata, checkpoints) for analyzers that need more than artifacts.
    pub run: &'a dyn TrainedRun,
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
