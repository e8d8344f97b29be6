//! `metadata.json`: the record of a training run (losses per epoch, the split, the checkpoint
//! epochs), in MIScope's keys and order.

use serde::{Deserialize, Serialize};

/// `metadata.json` of a trained variant (MIScope's keys, in its order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Training loss before each epoch's step.
    pub train_losses: Vec<f64>,
    /// Test loss after each epoch's step.
    pub test_losses: Vec<f64>,
    /// Dataset rows of the training split, in permutation order.
    pub train_indices: Vec<usize>,
    /// The remaining rows, in permutation order.
    pub test_indices: Vec<usize>,
    /// Epochs with a checkpoint on disk.
    pub checkpoint_epochs: Vec<u64>,
    /// Epochs trained.
    pub num_epochs: u64,
}
