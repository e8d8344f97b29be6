//! `parameter_snapshot`: the weight matrices of a checkpoint (no biases), the input of most
//! weight-space analyses (spec §5.9).
//!
//! Reads: the bundle's weights. Writes, in this order: `W_E` (d_vocab, d_model), `W_pos`
//! (n_ctx, d_model), `W_Q`, `W_K`, `W_V` (n_heads, d_model, d_head), `W_O` (n_heads, d_head,
//! d_model), `W_in` (d_model, d_mlp), `W_out` (d_mlp, d_model), `W_U` (d_model, p), all f32;
//! weights a family lacks are left out (MLP families have `embed_a`/`embed_b` instead).

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerResult};
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;

pub struct ParameterSnapshot;

/// MIScope's `WEIGHT_MATRIX_NAMES`, plus the learned-embedding MLP's two tables.
pub const WEIGHT_NAMES: [&str; 11] = [
    "W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U", "embed_a", "embed_b",
];

impl Analyzer for ParameterSnapshot {
    fn name(&self) -> &'static str {
        "parameter_snapshot"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        _context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let mut artifact = Artifact::new();
        for name in WEIGHT_NAMES {
            if let Ok(weight) = bundle.weight(name) {
                artifact.insert(name, weight.clone());
            }
        }
        Ok(artifact)
    }
}
