//! `neuron_freq_norm` ("neuron frequency clusters"): for each MLP neuron, the fraction of its
//! activation variance over the (a, b) grid carried by each frequency (spec §5.4).
//!
//! `F = B · A_n · Bᵀ` for each neuron's grid A_n; `norm_matrix[f, n]` = energy of frequency
//! k = f + 1 (its sin/cos block and cross terms with the constant) over the non-DC energy.
//! Writes `norm_matrix` f32 (p/2, d_mlp). Summary (f64, neurons specialised when their largest
//! fraction ≥ 0.9): `specialized_count_per_freq` (p/2,), `specialized_count_low/mid/high`
//! (argmax in the first, second, last third of frequencies), `specialized_count_total`,
//! `mean_max_frac`, `median_max_frac` (over all neurons).

use ndarray::{Array1, Array2, Axis};

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerResult, ranked};
use crate::analysis::fourier;
use crate::analyzers::{neuron_activations, stats};
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;

pub struct NeuronFreqNorm;

/// MIScope's default specialisation threshold for this summary.
const SPECIALIZATION_THRESHOLD: f32 = 0.9;

/// Per-frequency variance fractions of each neuron: (p/2, d_mlp), computed once per bundle.
pub fn norm_matrix<'b>(
    bundle: &'b ActivationBundle,
    context: &AnalysisContext,
) -> AnalyzerResult<&'b Array2<f32>> {
    if let Some(norm) = bundle.neuron_fractions.get() {
        return Ok(norm);
    }
    let grids = neuron_activations::activation_grids(bundle, context.prime)?;
    let fractions =
        fourier::grid_variance_fractions(grids.view(), &context.fourier_basis, context.prime);
    Ok(bundle.neuron_fractions.get_or_init(|| fractions))
}

impl Analyzer for NeuronFreqNorm {
    fn name(&self) -> &'static str {
        "neuron_freq_norm"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        Ok(Artifact::new().with("norm_matrix", norm_matrix(bundle, context)?.clone()))
    }

    fn summary_keys(&self) -> &'static [&'static str] {
        &[
            "specialized_count_per_freq",
            "specialized_count_low",
            "specialized_count_mid",
            "specialized_count_high",
            "specialized_count_total",
            "mean_max_frac",
            "median_max_frac",
        ]
    }

    fn summary(&self, artifact: &Artifact, _context: &AnalysisContext) -> AnalyzerResult<Artifact> {
        let norm = ranked::<_, ndarray::Ix2>("norm_matrix", artifact.f32("norm_matrix")?.clone())?;
        let n_freq = norm.nrows();
        let (n_low, n_mid) = (n_freq / 3, 2 * n_freq / 3);
        let mut per_freq = Array1::<f64>::zeros(n_freq);
        let (mut low, mut mid, mut high) = (0f64, 0f64, 0f64);
        let mut max_fracs = Vec::with_capacity(norm.ncols());
        for column in norm.axis_iter(Axis(1)) {
            let (f, max) = stats::argmax(column.iter().copied());
            max_fracs.push(f64::from(max));
            if max >= SPECIALIZATION_THRESHOLD {
                per_freq[f] += 1.0;
                match f {
                    f if f < n_low => low += 1.0,
                    f if f < n_mid => mid += 1.0,
                    _ => high += 1.0,
                }
            }
        }
        let total = per_freq.sum();
        Ok(Artifact::new()
            .with("specialized_count_per_freq", per_freq)
            .with("specialized_count_low", low)
            .with("specialized_count_mid", mid)
            .with("specialized_count_high", high)
            .with("specialized_count_total", total)
            .with(
                "mean_max_frac",
                max_fracs.iter().sum::<f64>() / max_fracs.len().max(1) as f64,
            )
            .with("median_max_frac", stats::median(&max_fracs)))
    }
}
