//! Analysis of a trained variant: analyzer traits, the run over checkpoints, the loader of their
//! artifacts (files in [`crate::formats`]), the Fourier library shared by analyzers.

pub mod analyzer;
pub mod context;
pub mod fourier;
pub mod freshness;
pub mod loader;
pub mod manifest;
pub mod registry;
pub mod run;
pub mod summary;
pub mod trained;

/// The artifact types, where analyzers have always found them (they live in [`crate::formats`]).
pub use crate::formats::{Array, Artifact, DType, artifact, npz};
pub use crate::model::bundle::ActivationBundle;
pub use analyzer::{
    AnalysisContext, Analyzer, AnalyzerError, CrossEpochAnalyzer, SecondaryAnalyzer,
};
pub use loader::ArtifactLoader;
pub use registry::{AnalysisPlan, AnalyzerRegistry, AnalyzerSpec};
pub use run::{AnalysisEvent, AnalysisProgress, AnalysisReport, AnalysisRun};
pub use trained::TrainedRun;
