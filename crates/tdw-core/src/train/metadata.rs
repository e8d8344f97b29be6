//! `metadata.json`: the record of a training run (losses per epoch, the split, the checkpoint
//! epochs), in MIScope's keys and order.

use serde::{Deserialize, Serialize};

/// `metadata.json` of a trained variant (MIScope's keys, in its order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub train_losses: Vec<f64>,
    pub test_losses: Vec<f64>,
    pub train_indices: Vec<usize>,
    pub test_indices: Vec<usize>,
    pub checkpoint_epochs: Vec<u64>,
    pub num_epochs: u64,
}
