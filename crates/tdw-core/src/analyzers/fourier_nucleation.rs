//! `fourier_nucleation`: which frequencies the MLP's input weights are predisposed to at a
//! checkpoint (meant for epoch 0), found by iterated spectral sharpening (spec §5.14).
//!
//! R = (W_E[:p] · W_in)ᵀ is each neuron's response to each token. Project R on an f64 sin/cos
//! basis without a constant (k = 1..p/2), record per-frequency energies, then keep each
//! neuron's 30% strongest frequencies and re-synthesise R; repeat 12 times. Writes
//! `aggregate_energy` f32 (13, p/2) (energy over neurons, divided by its max), `neuron_peak_freq`
//! i32 (13, d_mlp) (1-based k of each neuron's strongest frequency), `neuron_committed_count`
//! i32 (13, p/2) (neurons with > 15% of their energy on k), `frequencies` i32 (p/2,) = 1..p/2,
//! `prime`, `iterations` i32 and `sharpness` f32 scalars.

use ndarray::{Array1, Array2, Axis, s};

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerResult};
use crate::analyzers::stats;
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;

pub struct FourierNucleation;

const ITERATIONS: usize = 12;
const SHARPNESS: f64 = 0.7;
const COMMITTED_FRACTION: f64 = 0.15;

impl Analyzer for FourierNucleation {
    fn name(&self) -> &'static str {
        "fourier_nucleation"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let p = context.prime;
        let n_freq = p / 2;
        let w_e = stats::matrix(bundle.weight("W_E")?, "W_E")?;
        let w_in = stats::matrix(bundle.weight("W_in")?, "W_in")?;
        let response = w_e
            .slice(s![..p, ..])
            .dot(&w_in)
            .reversed_axes()
            .mapv(f64::from);
        let d_mlp = response.nrows();
        let unit = |f: fn(f64) -> f64| -> Array2<f64> {
            let mut b = Array2::from_shape_fn((n_freq, p), |(k, x)| {
                f(2.0 * std::f64::consts::PI * (k + 1) as f64 * x as f64 / p as f64)
            });
            for mut row in b.rows_mut() {
                let norm = row.dot(&row).sqrt();
                row.mapv_inplace(|v| v / norm);
            }
            b
        };
        let (cos_basis, sin_basis) = (unit(f64::cos), unit(f64::sin));
        let keep = ((n_freq as f64 * (1.0 - SHARPNESS)) as usize).max(1);

        let mut aggregate = Array2::<f32>::zeros((ITERATIONS + 1, n_freq));
        let mut peak = Array2::<i32>::zeros((ITERATIONS + 1, d_mlp));
        let mut committed = Array2::<i32>::zeros((ITERATIONS + 1, n_freq));
        let mut r = response;
        for it in 0..=ITERATIONS {
            let pc = r.dot(&cos_basis.t());
            let ps = r.dot(&sin_basis.t());
            let energy = &pc * &pc + &ps * &ps;
            let total: Array1<f64> = energy.sum_axis(Axis(0));
            let max = total.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            aggregate
                .row_mut(it)
                .assign(&total.mapv(|v| (v / max) as f32));
            for (n, row) in energy.rows().into_iter().enumerate() {
                let (argmax, _) = stats::argmax(row.iter().map(|&v| v as f32));
                // f32 ties are resolved on the f64 values to match numpy's argmax.
                let argmax = row
                    .iter()
                    .enumerate()
                    .fold((argmax, f64::NEG_INFINITY), |best, (i, &v)| {
                        if v > best.1 { (i, v) } else { best }
                    })
                    .0;
                peak[[it, n]] = argmax as i32 + 1;
                let sum = row.sum().max(1e-10);
                for (f, &e) in row.iter().enumerate() {
                    if e / sum > COMMITTED_FRACTION {
                        committed[[it, f]] += 1;
                    }
                }
            }
            if it < ITERATIONS {
                let mut mask = Array2::<f64>::zeros(energy.dim());
                for (n, row) in energy.rows().into_iter().enumerate() {
                    let mut sorted: Vec<f64> = row.to_vec();
                    sorted.sort_by(|a, b| b.total_cmp(a));
                    let threshold = sorted[keep - 1];
                    for (f, &e) in row.iter().enumerate() {
                        mask[[n, f]] = if e >= threshold { 1.0 } else { 0.0 };
                    }
                }
                r = (&pc * &mask).dot(&cos_basis) + (&ps * &mask).dot(&sin_basis);
            }
        }
        Ok(Artifact::new()
            .with("aggregate_energy", aggregate)
            .with("neuron_peak_freq", peak)
            .with("neuron_committed_count", committed)
            .with("frequencies", Array1::from_iter(1..=n_freq as i32))
            .with("prime", p as i32)
            .with("iterations", ITERATIONS as i32)
            .with("sharpness", SHARPNESS as f32))
    }
}
