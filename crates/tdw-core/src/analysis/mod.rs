//! Analysis of a trained variant: analyzer traits, the run over checkpoints, npz artifacts and
//! their loader, the Fourier library shared by analyzers.

pub mod analyzer;
pub mod artifact;
pub mod context;
pub mod deflate;
pub mod fourier;
pub mod freshness;
pub mod loader;
pub mod manifest;
pub mod npz;
pub mod registry;
pub mod run;
pub mod summary;
pub mod trained;
pub mod zip_writer;

pub use crate::model::bundle::ActivationBundle;
pub use analyzer::{
    AnalysisContext, Analyzer, AnalyzerError, CrossEpochAnalyzer, SecondaryAnalyzer,
};
pub use artifact::{Array, Artifact, DType};
pub use loader::ArtifactLoader;
pub use registry::{AnalysisPlan, AnalyzerRegistry, AnalyzerSpec};
pub use run::{AnalysisEvent, AnalysisProgress, AnalysisReport, AnalysisRun};
pub use trained::TrainedRun;
