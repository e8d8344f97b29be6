//! `fourier_frequency_quality` (secondary, reads `dominant_frequencies`): how much of the ideal
//! addition table the embedding's dominant Fourier components could express (spec §5.16).
//!
//! Dominant components: basis rows with coefficient > 3·mean (may include the constant row).
//! With F = B[dominant] (m, p), the quality is the fraction of the one-hot tensor
//! T[a, b, c] = [(a + b) mod p = c] captured by the span of {F_i ⊗ F_j}:
//! Σ_{i,j,c} (Σ_b F[j, b]·F[i, (c − b) mod p])² / p² (2m/p for m complete sin/cos pairs).
//! Writes `quality_score` f32, `dominant_frequencies` i32 (m,) (basis rows; length varies by
//! epoch), `k` i32 (= m), `reconstruction_error` f32 (1 − quality). Summary (f64):
//! `quality_score`, `reconstruction_error`, `k`.

use ndarray::Array1;

use crate::analysis::analyzer::{
    AnalysisContext, AnalyzerError, AnalyzerResult, SecondaryAnalyzer,
};
use crate::formats::artifact::Artifact;

pub struct FourierFrequencyQuality;

const THRESHOLD_FACTOR: f32 = 3.0;

impl SecondaryAnalyzer for FourierFrequencyQuality {
    fn name(&self) -> &'static str {
        "fourier_frequency_quality"
    }

    fn depends_on(&self) -> &'static str {
        "dominant_frequencies"
    }

    fn analyze(&self, input: &Artifact, context: &AnalysisContext) -> AnalyzerResult<Artifact> {
        let c = input.f32("coefficients").map_err(AnalyzerError::from)?;
        let mean = c.iter().sum::<f32>() / c.len().max(1) as f32;
        let dominant: Vec<usize> = c
            .iter()
            .enumerate()
            .filter(|(_, v)| **v > THRESHOLD_FACTOR * mean)
            .map(|(i, _)| i)
            .collect();
        let p = context.prime;
        let basis = &context.fourier_basis;
        let m = dominant.len();
        let mut total = 0f64;
        for &i in &dominant {
            for &j in &dominant {
                for out in 0..p {
                    let mut acc = 0f64;
                    for b in 0..p {
                        acc += f64::from(basis[[j, b]]) * f64::from(basis[[i, (out + p - b) % p]]);
                    }
                    total += acc * acc;
                }
            }
        }
        let quality = if m == 0 {
            0.0
        } else {
            (total / (p * p) as f64) as f32
        };
        Ok(Artifact::new()
            .with("quality_score", quality)
            .with(
                "dominant_frequencies",
                Array1::from_iter(dominant.iter().map(|&i| i as i32)),
            )
            .with("k", m as i32)
            .with("reconstruction_error", 1.0 - quality))
    }

    fn summary_keys(&self) -> &'static [&'static str] {
        &["quality_score", "reconstruction_error", "k"]
    }

    fn summary(&self, artifact: &Artifact, _context: &AnalysisContext) -> AnalyzerResult<Artifact> {
        let scalar = |key: &str| -> AnalyzerResult<f64> {
            let values = artifact.as_f64(key)?;
            values
                .iter()
                .next()
                .copied()
                .ok_or_else(|| AnalyzerError::shape(key, values.shape(), "one value"))
        };
        Ok(Artifact::new()
            .with("quality_score", scalar("quality_score")?)
            .with("reconstruction_error", scalar("reconstruction_error")?)
            .with("k", scalar("k")?))
    }
}
