//! `landscape_flatness`: how much the loss rises when the weights are pushed a fixed distance in
//! random directions — a flat minimum barely notices (spec §5.11).
//!
//! baseline = f32 mean NLL of the last-position logits on the full (a, b) grid. For each of 50
//! directions d ~ N(0, I) over all trainable weights (named_parameters order, biases excluded),
//! normalised to ‖d‖ = 1, the weights move by ε·d (ε = 0.1) and the loss change is recorded.
//! Directions come from torch's generator under a fixed seed (0), so a run is reproducible and
//! draws the same directions as MIScope's `torch.randn(total, generator=manual_seed(0))`.
//! Writes `baseline_loss` f32, `delta_losses` f32 (50,), `epsilon` f32. Summary (f64): mean,
//! median, max, std (population) and 90th percentile of the deltas, `flatness_ratio` (share of
//! deltas below 10% of the baseline) and `baseline_loss`.

use burn_tensor::{Int, Tensor, TensorData};
use ndarray::{Array1, Array2};

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerError, AnalyzerResult};
use crate::analyzers::stats;
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;
use crate::model::config::is_bias;
use crate::model::transformer::Transformer;
use crate::torch_rng::Mt19937;

pub struct LandscapeFlatness;

const N_DIRECTIONS: usize = 50;
const EPSILON: f32 = 0.1;
const SEED: u64 = 0;

/// f32 mean negative log-likelihood of `labels` under `logits` (rows).
pub fn mean_nll_f32(logits: &Array2<f32>, labels: &[i64]) -> f32 {
    let mut total = 0f32;
    for (row, &label) in logits.rows().into_iter().zip(labels) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum = row.iter().map(|&v| (v - max).exp()).sum::<f32>().ln() + max;
        total += log_sum - row[label as usize];
    }
    total / labels.len().max(1) as f32
}

fn loss_of(model: &Transformer, tokens: &Tensor<2, Int>, labels: &[i64]) -> f32 {
    let logits = model.forward_last(tokens.clone());
    let dims = logits.dims();
    let values = logits
        .into_data()
        .convert::<f32>()
        .as_slice::<f32>()
        .expect("f32")
        .to_vec();
    mean_nll_f32(
        &Array2::from_shape_vec(dims, values).expect("shape from the tensor"),
        labels,
    )
}

impl Analyzer for LandscapeFlatness {
    fn name(&self) -> &'static str {
        "landscape_flatness"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let model = bundle.model()?;
        let baseline = mean_nll_f32(bundle.logits()?, &context.probe.labels);
        let device = model.device();
        let tokens: Tensor<2, Int> = Tensor::from_data(
            TensorData::new(
                context.probe.tokens.clone(),
                [context.probe.len(), context.probe.n_ctx],
            ),
            &device,
        );
        let state = model.to_state();
        let total: usize = state
            .iter()
            .filter(|(name, _)| !is_bias(name))
            .map(|(_, t)| t.data.len())
            .sum();
        let mut rng = Mt19937::new(SEED);
        let mut direction = vec![0f32; total];
        let mut deltas = Vec::with_capacity(N_DIRECTIONS);
        for _ in 0..N_DIRECTIONS {
            rng.fill_normal(&mut direction, 0.0, 1.0);
            let norm = direction.iter().map(|v| v * v).sum::<f32>().sqrt();
            let mut perturbed = state.clone();
            let mut offset = 0;
            for (name, tensor) in perturbed.iter_mut() {
                if is_bias(name) {
                    continue;
                }
                for (w, d) in tensor.data.iter_mut().zip(&direction[offset..]) {
                    *w += EPSILON * d / norm;
                }
                offset += tensor.data.len();
            }
            let model = Transformer::from_state(model.config(), &perturbed, &device);
            deltas.push(loss_of(&model, &tokens, &context.probe.labels) - baseline);
        }
        if deltas.iter().any(|d| !d.is_finite()) {
            return Err(AnalyzerError::NotFinite {
                what: "a perturbed loss",
            });
        }
        Ok(Artifact::new()
            .with("baseline_loss", baseline)
            .with("delta_losses", Array1::from(deltas))
            .with("epsilon", EPSILON))
    }

    fn summary_keys(&self) -> &'static [&'static str] {
        &[
            "mean_delta_loss",
            "median_delta_loss",
            "max_delta_loss",
            "std_delta_loss",
            "p90_delta_loss",
            "flatness_ratio",
            "baseline_loss",
        ]
    }

    fn summary(&self, artifact: &Artifact, _context: &AnalysisContext) -> AnalyzerResult<Artifact> {
        let deltas: Vec<f64> = artifact
            .as_f64("delta_losses")
            .map_err(AnalyzerError::from)?
            .iter()
            .copied()
            .collect();
        let baseline = artifact
            .as_f64("baseline_loss")
            .map_err(AnalyzerError::from)?
            .iter()
            .next()
            .copied()
            .unwrap_or(0.0);
        let n = deltas.len().max(1) as f64;
        let mean = deltas.iter().sum::<f64>() / n;
        let std = (deltas.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
        let threshold = if baseline > 0.0 { 0.1 * baseline } else { 0.1 };
        Ok(Artifact::new()
            .with("mean_delta_loss", mean)
            .with("median_delta_loss", stats::median(&deltas))
            .with(
                "max_delta_loss",
                deltas.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
            .with("std_delta_loss", std)
            .with("p90_delta_loss", stats::percentile(&deltas, 90.0))
            .with(
                "flatness_ratio",
                deltas.iter().filter(|&&d| d < threshold).count() as f64 / n,
            )
            .with("baseline_loss", baseline))
    }
}
