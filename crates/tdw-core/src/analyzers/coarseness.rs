//! `coarseness`: how much of each neuron's activation variance sits in the lowest frequencies
//! k = 1..3 (spec §5.5). "Blob" neurons (≥ 0.7) respond to coarse regions of the grid, "plaid"
//! neurons (< 0.5) to fine periodic structure.
//!
//! Reads the MLP activations. Writes `coarseness` f32 (d_mlp,) = Σ of `norm_matrix` rows 0..2.
//! Summary (f64): `mean_coarseness`, `std_coarseness` (population), `median_coarseness`,
//! `p25_coarseness`, `p75_coarseness`, `blob_count` (≥ 0.7), `coarseness_hist` (20 equal bins on
//! [0, 1], the last closed, as numpy.histogram).

use ndarray::{Array1, Axis, s};

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerError, AnalyzerResult};
use crate::analyzers::{neuron_freq_norm, stats};
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;

pub struct Coarseness;

const N_LOW_FREQS: usize = 3;
const BLOB_THRESHOLD: f64 = 0.7;
const HIST_BINS: usize = 20;

impl Analyzer for Coarseness {
    fn name(&self) -> &'static str {
        "coarseness"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let norm = neuron_freq_norm::norm_matrix(bundle, context)?;
        let low = N_LOW_FREQS.min(norm.nrows());
        let coarseness: Array1<f32> = norm.slice(s![..low, ..]).sum_axis(Axis(0));
        Ok(Artifact::new().with("coarseness", coarseness))
    }

    fn summary_keys(&self) -> &'static [&'static str] {
        &[
            "mean_coarseness",
            "std_coarseness",
            "median_coarseness",
            "p25_coarseness",
            "p75_coarseness",
            "blob_count",
            "coarseness_hist",
        ]
    }

    fn summary(&self, artifact: &Artifact, _context: &AnalysisContext) -> AnalyzerResult<Artifact> {
        let values: Vec<f64> = artifact
            .as_f64("coarseness")
            .map_err(AnalyzerError::from)?
            .iter()
            .copied()
            .collect();
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let mut hist = Array1::<f64>::zeros(HIST_BINS);
        for &v in &values {
            if (0.0..=1.0).contains(&v) {
                let bin = ((v * HIST_BINS as f64) as usize).min(HIST_BINS - 1);
                hist[bin] += 1.0;
            }
        }
        Ok(Artifact::new()
            .with("mean_coarseness", mean)
            .with("std_coarseness", std)
            .with("median_coarseness", stats::median(&values))
            .with("p25_coarseness", stats::percentile(&values, 25.0))
            .with("p75_coarseness", stats::percentile(&values, 75.0))
            .with(
                "blob_count",
                values.iter().filter(|&&v| v >= BLOB_THRESHOLD).count() as f64,
            )
            .with("coarseness_hist", hist))
    }
}
