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
pub use crate::error::AnalyzerError;
use crate::error::{Error, Result};
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;

impl AnalyzerError {
    /// Converts into the crate error, naming the analyzer.
    pub fn into_error(self, analyzer: &str) -> Error {
        Error::AnalyzerInput {
            analyzer: analyzer.to_string(),
            cause: self,
        }
    }

    /// A [`AnalyzerError::Shape`] for an array of `shape` under `key`.
    pub fn shape(key: impl Into<String>, shape: &[usize], expected: impl Into<String>) -> Self {
        AnalyzerError::Shape {
            key: key.into(),
            found: shape.to_vec(),
            expected: expected.into(),
        }
    }
}

/// Input errors as the crate error naming the analyzer: `artifact.f32(key).for_analyzer(NAME)?`
/// in analyzers that return [`Result`].
pub trait ForAnalyzer<T> {
    /// The error, if any, as [`Error::AnalyzerInput`] of `analyzer`.
    fn for_analyzer(self, analyzer: &str) -> Result<T>;
}

impl<T, E: Into<AnalyzerError>> ForAnalyzer<T> for std::result::Result<T, E> {
    fn for_analyzer(self, analyzer: &str) -> Result<T> {
        self.map_err(|e| e.into().into_error(analyzer))
    }
}

/// `array` under `key` with rank `D`, or a [`AnalyzerError::Shape`] saying what it has.
pub fn ranked<T, D: ndarray::Dimension>(
    key: &str,
    array: ndarray::ArrayD<T>,
) -> AnalyzerResult<ndarray::Array<T, D>> {
    let found = array.shape().to_vec();
    array
        .into_dimensionality::<D>()
        .map_err(|_| AnalyzerError::Shape {
            key: key.into(),
            found,
            expected: format!("{}-d", D::NDIM.unwrap_or(0)),
        })
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
    /// The analyzer's name, its artifacts' directory.
    fn name(&self) -> &'static str;
    /// The primary analyzer whose artifacts this one reads.
    fn depends_on(&self) -> &'static str;
    /// The epoch's artifact, derived from the artifact of the analyzer it depends on.
    fn analyze(&self, input: &Artifact, context: &AnalysisContext) -> AnalyzerResult<Artifact>;
    /// Keys of its summary.npz (none by default).
    fn summary_keys(&self) -> &'static [&'static str] {
        &[]
    }
    /// This epoch's summary values (from the artifact just written).
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
    pub device: &'a burn_tensor::Device,
}

/// An analyzer over all checkpoints at once.
pub trait CrossEpochAnalyzer: Send + Sync {
    /// The analyzer's name, its artifacts' directory.
    fn name(&self) -> &'static str;
    /// Analyzers whose artifacts must exist first.
    fn requires(&self) -> &'static [&'static str];
    /// The cross-epoch artifact, from the per-epoch artifacts of the analyzers it requires.
    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact>;
}
