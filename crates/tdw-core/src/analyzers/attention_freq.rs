//! `attention_freq`: the Fourier structure of how much the "=" token attends to a (spec §5.7).
//!
//! `X_h[a, b] = pattern[a·p + b, h, 2, 0]`; `freq_matrix[f, h]` = fraction of X_h's non-DC
//! variance at frequency k = f + 1. Writes `freq_matrix` f32 (p/2, heads). Summary (f64):
//! `dominant_freq_per_head` (0-based f, as float), `max_frac_per_head`, `mean_specialization`.

use ndarray::{Array1, Array3, Axis};

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerError, AnalyzerResult, ranked};
use crate::analysis::fourier;
use crate::analyzers::stats;
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;

pub struct AttentionFreq;

const TO_POSITION: usize = 2;
const FROM_POSITION: usize = 0;

impl Analyzer for AttentionFreq {
    fn name(&self) -> &'static str {
        "attention_freq"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let pattern = bundle.attention_pattern()?;
        let (rows, heads, _, _) = pattern.dim();
        let p = context.prime;
        if rows != p * p {
            return Err(AnalyzerError::Rows {
                what: "attention pattern".into(),
                found: rows,
                expected: p * p,
            });
        }
        let grids = Array3::from_shape_fn((heads, p, p), |(h, a, b)| {
            pattern[[a * p + b, h, TO_POSITION, FROM_POSITION]]
        });
        let freq_matrix = fourier::grid_variance_fractions(grids.view(), &context.fourier_basis, p);
        Ok(Artifact::new().with("freq_matrix", freq_matrix))
    }

    fn summary_keys(&self) -> &'static [&'static str] {
        &[
            "dominant_freq_per_head",
            "max_frac_per_head",
            "mean_specialization",
        ]
    }

    fn summary(&self, artifact: &Artifact, _context: &AnalysisContext) -> AnalyzerResult<Artifact> {
        let matrix =
            ranked::<_, ndarray::Ix2>("freq_matrix", artifact.f32("freq_matrix")?.clone())?;
        let (dominant, max): (Vec<f64>, Vec<f64>) = matrix
            .axis_iter(Axis(1))
            .map(|column| {
                let (f, m) = stats::argmax(column.iter().copied());
                (f as f64, f64::from(m))
            })
            .unzip();
        let mean = max.iter().sum::<f64>() / max.len().max(1) as f64;
        Ok(Artifact::new()
            .with("dominant_freq_per_head", Array1::from(dominant))
            .with("max_frac_per_head", Array1::from(max))
            .with("mean_specialization", mean))
    }
}
