//! What an analysis reads of a trained run, as a narrow trait: its name and family, its
//! checkpoints and metadata, and where its artifacts go. [`crate::Variant`] implements it; the
//! analysis layer never sees the variant type (which sits above it and calls down into it).

use std::path::{Path, PathBuf};

use burn_tensor::Device;

use crate::analysis::context::AnalysisContext;
use crate::error::Result;
use crate::family::{FamilySpec, Params};
use crate::model::bundle::ActivationBundle;
use crate::model::transformer::Transformer;
use crate::train::Metadata;

/// A run with checkpoints on disk. `Sync` because the analysis reads checkpoints from worker
/// threads.
pub trait TrainedRun: Sync {
    /// The run's directory name (progress, errors, the manifest).
    fn name(&self) -> &str;
    /// The family's declaration (its analyzer lists and architecture).
    fn spec(&self) -> &FamilySpec;
    /// The domain parameters.
    fn params(&self) -> &Params;
    /// The run's directory (the analysis holds its lock there).
    fn dir(&self) -> &Path;
    /// Where the artifacts go, `{dir}/artifacts`.
    fn artifacts_dir(&self) -> PathBuf;
    /// Checkpoint epochs on disk, ascending.
    fn checkpoints(&self) -> Result<Vec<u64>>;
    /// The family facts analyzers are given, with the split the run trained on.
    fn analysis_context(&self) -> Result<AnalysisContext>;
    /// What analyzers see of the checkpoint of `epoch` on `context`'s probe.
    fn bundle(
        &self,
        epoch: u64,
        context: &AnalysisContext,
        device: &Device,
    ) -> Result<ActivationBundle>;
    /// The run's `metadata.json` (losses, split, checkpoint epochs).
    fn metadata(&self) -> Result<Metadata>;
    /// The transformer at `epoch` (for analyzers that run the model again).
    fn load_model(&self, epoch: u64, device: &Device) -> Result<Transformer>;
}
