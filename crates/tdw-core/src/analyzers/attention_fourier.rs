//! `attention_fourier`: per head, how the QK circuit and the value map of the token embeddings
//! distribute over frequencies (spec §5.8). Weights only.
//!
//! With E = W_E[:p]: QK_h = (E W_Q[h])(E W_K[h])ᵀ, G = B·QK_h·Bᵀ, and frequency k's energy is
//! the Frobenius norm of G's (sin k, cos k) 2×2 block; for the value map H = B·(E W_V[h]) it is
//! the norm of H's sin/cos rows. Each head's energies are normalised to sum to 1 (DC excluded).
//! Writes `qk_freq_norms`, `v_freq_norms` f32 (heads, p/2).

use ndarray::{Array2, s};

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerResult};
use crate::analyzers::stats;
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;

pub struct AttentionFourier;

fn normalise(mut row: Vec<f32>) -> Vec<f32> {
    let total = row.iter().sum::<f32>().max(1e-10);
    row.iter_mut().for_each(|v| *v /= total);
    row
}

impl Analyzer for AttentionFourier {
    fn name(&self) -> &'static str {
        "attention_fourier"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let p = context.prime;
        let n_freq = context.n_freq();
        let basis = &context.fourier_basis;
        let w_e = stats::matrix(bundle.weight("W_E")?, "W_E")?;
        let e = w_e.slice(s![..p, ..]);
        let (w_q, w_k, w_v) = (
            stats::heads(bundle.weight("W_Q")?, "W_Q")?,
            stats::heads(bundle.weight("W_K")?, "W_K")?,
            stats::heads(bundle.weight("W_V")?, "W_V")?,
        );
        let heads = w_q.shape()[0];
        let mut qk = Array2::<f32>::zeros((heads, n_freq));
        let mut v = Array2::<f32>::zeros((heads, n_freq));
        for h in 0..heads {
            let q = e.dot(&w_q.slice(s![h, .., ..]));
            let k = e.dot(&w_k.slice(s![h, .., ..]));
            let g = basis.dot(&q.dot(&k.t())).dot(&basis.t());
            let energies: Vec<f32> = (1..=n_freq)
                .map(|k| {
                    let (si, ci) = (2 * k - 1, 2 * k);
                    [g[[si, si]], g[[si, ci]], g[[ci, si]], g[[ci, ci]]]
                        .iter()
                        .map(|x| x * x)
                        .sum::<f32>()
                        .sqrt()
                })
                .collect();
            qk.row_mut(h)
                .assign(&ndarray::Array1::from(normalise(energies)));
            let hv = basis.dot(&e.dot(&w_v.slice(s![h, .., ..])));
            let energies: Vec<f32> = (1..=n_freq)
                .map(|k| {
                    let rows = [hv.row(2 * k - 1), hv.row(2 * k)];
                    rows.iter()
                        .flat_map(|r| r.iter())
                        .map(|x| x * x)
                        .sum::<f32>()
                        .sqrt()
                })
                .collect();
            v.row_mut(h)
                .assign(&ndarray::Array1::from(normalise(energies)));
        }
        Ok(Artifact::new()
            .with("qk_freq_norms", qk)
            .with("v_freq_norms", v))
    }
}
