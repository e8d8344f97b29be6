//! `neuron_activations`: every MLP neuron's ReLU output over the whole (a, b) grid (spec §5.3).
//!
//! Reads `blocks.0.mlp.hook_post` at the "=" position for the p² probe rows (row a·p + b).
//! Writes `activations` f32 (d_mlp, p, p) with `activations[n, a, b]`.

use ndarray::Array3;

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerError, AnalyzerResult};
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;

pub struct NeuronActivations;

/// The MLP activations as (d_mlp, p, p) grids (computed once per bundle).
pub fn activation_grids(bundle: &ActivationBundle, p: usize) -> AnalyzerResult<&Array3<f32>> {
    if let Some(grids) = bundle.neuron_grids.get() {
        return Ok(grids);
    }
    let post = bundle.mlp_post()?;
    let (rows, d_mlp) = post.dim();
    if rows != p * p {
        return Err(AnalyzerError::Rows {
            what: "MLP activations".into(),
            found: rows,
            expected: p * p,
        });
    }
    let grids = crate::kernels::linalg::transpose(&post.view())
        .into_shape_with_order((d_mlp, p, p))
        .expect("d_mlp × p² elements");
    Ok(bundle.neuron_grids.get_or_init(|| grids))
}

impl Analyzer for NeuronActivations {
    fn name(&self) -> &'static str {
        "neuron_activations"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        Ok(Artifact::new().with(
            "activations",
            activation_grids(bundle, context.prime)?.clone(),
        ))
    }
}
