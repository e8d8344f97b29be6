//! `progress_measures` (cross-epoch): the progress measures of Nanda et al., "Progress measures
//! for grokking via mechanistic interpretability" (ICLR 2023), per checkpoint.
//!
//! Key frequencies are read from the final checkpoint's embedding (`dominant_frequencies`): the
//! frequencies k whose sin/cos energy √(c²_{2k−1} + c²_{2k}) exceeds 3× the mean energy, at most 8
//! (at least the strongest one). Then, for every checkpoint, on the full (a, b) grid:
//! - `restricted_loss` (all pairs): MLP activations at "=" replaced by their mean plus their
//!   projections on cos(2πk(a+b)/p) and sin(2πk(a+b)/p) for the key k, mapped to logits by
//!   W_out·W_U, with the mean logit restored — the loss of the circuit alone; it falls *before*
//!   the test loss during circuit formation.
//! - `excluded_loss` (training pairs): logits minus exactly those key-frequency components — the
//!   loss without the circuit; it rises as memorisation is replaced by the circuit.
//! - `gini_embedding`, `gini_neuron_logit`: Gini coefficients of the Fourier-row norms of W_E[:p]
//!   and of the neuron→logit map (W_out·W_U)ᵀ (sparser in frequency = higher).
//! - `total_sum_squared_weights` over trainable weights (weight decay's cleanup).
//! - `train_loss`, `test_loss`: the recorded losses at that epoch (metadata.json).
//!
//! Writes those (n,) f64 arrays, `epochs` i64 (n,) and `key_frequencies` i64 (K,) (1-based k).

use std::f64::consts::PI;

use ndarray::{Array1, Array2, Axis, s};
use rayon::prelude::*;

use crate::analysis::analyzer::{
    AnalyzerError, CrossEpochAnalyzer, CrossEpochInput, ForAnalyzer, ranked,
};
use crate::error::Result;
use crate::formats::artifact::Artifact;
use crate::model::config::is_bias;

const NAME: &str = "progress_measures";

pub struct ProgressMeasures;

const MAX_KEY_FREQUENCIES: usize = 8;

/// Key frequencies (1-based k) from embedding Fourier coefficients.
pub fn key_frequencies(coefficients: &[f64]) -> Vec<usize> {
    let n_freq = (coefficients.len() - 1) / 2;
    let energy: Vec<f64> = (1..=n_freq)
        .map(|k| (coefficients[2 * k - 1].powi(2) + coefficients[2 * k].powi(2)).sqrt())
        .collect();
    let mean = energy.iter().sum::<f64>() / n_freq.max(1) as f64;
    let mut ranked: Vec<usize> = (0..n_freq).collect();
    ranked.sort_by(|&a, &b| energy[b].total_cmp(&energy[a]));
    let mut keys: Vec<usize> = ranked
        .iter()
        .copied()
        .filter(|&f| energy[f] > 3.0 * mean)
        .take(MAX_KEY_FREQUENCIES)
        .collect();
    if keys.is_empty() {
        keys.push(ranked[0]);
    }
    keys.sort_unstable();
    keys.into_iter().map(|f| f + 1).collect()
}

/// Gini coefficient of non-negative values (0 = uniform, → 1 = concentrated).
pub fn gini(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let total: f64 = sorted.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    sorted
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * (i + 1) as f64 - n - 1.0) * x)
        .sum::<f64>()
        / (n * total)
}

/// f64 mean NLL of the labels of `rows` (all rows when `None`).
fn nll(logits: &Array2<f64>, labels: &[i64], rows: Option<&[usize]>) -> f64 {
    let row_loss = |i: usize| {
        let row = logits.row(i);
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
        log_sum - row[labels[i] as usize]
    };
    match rows {
        Some(rows) => rows.iter().map(|&i| row_loss(i)).sum::<f64>() / rows.len().max(1) as f64,
        None => (0..logits.nrows()).map(row_loss).sum::<f64>() / logits.nrows().max(1) as f64,
    }
}

fn row_norms(m: &Array2<f64>) -> Vec<f64> {
    m.rows().into_iter().map(|r| r.dot(&r).sqrt()).collect()
}

impl CrossEpochAnalyzer for ProgressMeasures {
    fn name(&self) -> &'static str {
        "progress_measures"
    }

    fn requires(&self) -> &'static [&'static str] {
        &["dominant_frequencies"]
    }

    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact> {
        let last = *input
            .epochs
            .last()
            .ok_or(AnalyzerError::NoCheckpoints)
            .for_analyzer(NAME)?;
        let coefficients: Vec<f64> = input
            .loader
            .load_epoch("dominant_frequencies", last)?
            .as_f64("coefficients")
            .for_analyzer(NAME)?
            .iter()
            .copied()
            .collect();
        let keys = key_frequencies(&coefficients);
        let context = input.context;
        let p = context.prime;
        let rows = context.probe.labels.len();
        // Unit-norm cos/sin(2πk(a+b)/p) over the probe rows, for each key frequency.
        let waves: Vec<(Array1<f64>, Array1<f64>)> = keys
            .iter()
            .map(|&k| {
                let angle =
                    |i: usize| 2.0 * PI * k as f64 * ((i / p + i % p) % p) as f64 / p as f64;
                let mut c: Array1<f64> = (0..rows).map(|i| angle(i).cos()).collect();
                let mut s: Array1<f64> = (0..rows).map(|i| angle(i).sin()).collect();
                let (nc, ns) = (c.dot(&c).sqrt(), s.dot(&s).sqrt());
                c.mapv_inplace(|v| v / nc);
                s.mapv_inplace(|v| v / ns);
                (c, s)
            })
            .collect();
        let train_rows: Vec<usize> = (0..rows).filter(|&i| context.train_mask[i]).collect();
        let metadata = input.run.metadata().ok();
        let basis = context.fourier_basis.mapv(f64::from);

        let per_epoch: Vec<Result<[f64; 7]>> = input
            .epochs
            .par_iter()
            .map(|&epoch| {
                let model = input.run.load_model(epoch, input.device)?;
                let bundle = context.bundle(&model);
                let acts = bundle.mlp_post().for_analyzer(NAME)?.mapv(f64::from);
                let logits = bundle.logits().for_analyzer(NAME)?.mapv(f64::from);
                let weight = |name: &str| -> Result<Array2<f64>> {
                    let w = bundle.weight(name).for_analyzer(NAME)?.mapv(f64::from);
                    ranked::<_, ndarray::Ix2>(name, w).for_analyzer(NAME)
                };
                let w_logit = weight("W_out")?.dot(&weight("W_U")?);
                // Key-frequency part of the logits: Σ_k wave_k ⊗ ((actsᵀ wave_k) · W_logit).
                let mut key_part = Array2::<f64>::zeros(logits.dim());
                for (c, s) in &waves {
                    for wave in [c, s] {
                        let coefficient = acts.t().dot(wave).dot(&w_logit);
                        key_part += &(wave.view().insert_axis(Axis(1)).to_owned()
                            * coefficient.view().insert_axis(Axis(0)));
                    }
                }
                let mean_part = acts.mean_axis(Axis(0)).expect("rows > 0").dot(&w_logit);
                let mut restricted = key_part.clone() + mean_part.view().insert_axis(Axis(0));
                let shift = logits.mean_axis(Axis(0)).expect("rows")
                    - restricted.mean_axis(Axis(0)).expect("rows");
                restricted += &shift.view().insert_axis(Axis(0));
                let excluded = &logits - &key_part;
                let w_e = weight("W_E")?;
                let gini_embedding = gini(&row_norms(&basis.dot(&w_e.slice(s![..p, ..]))));
                let gini_neuron_logit = gini(&row_norms(&basis.dot(&w_logit.t())));
                let squares: f64 = model
                    .to_state()
                    .iter()
                    .filter(|(n, _)| !is_bias(n))
                    .flat_map(|(_, t)| t.data.iter())
                    .map(|&v| f64::from(v).powi(2))
                    .sum();
                let recorded = |losses: Option<&Vec<f64>>| {
                    losses
                        .and_then(|l| l.get(epoch as usize))
                        .copied()
                        .unwrap_or(f64::NAN)
                };
                Ok([
                    nll(&restricted, &context.probe.labels, None),
                    nll(&excluded, &context.probe.labels, Some(&train_rows)),
                    recorded(metadata.as_ref().map(|m| &m.train_losses)),
                    recorded(metadata.as_ref().map(|m| &m.test_losses)),
                    gini_embedding,
                    gini_neuron_logit,
                    squares,
                ])
            })
            .collect();
        let mut columns: [Vec<f64>; 7] = Default::default();
        for row in per_epoch {
            for (column, value) in columns.iter_mut().zip(row?) {
                column.push(value);
            }
        }
        let [restricted, excluded, train, test, gini_e, gini_l, squares] = columns;
        Ok(Artifact::new()
            .with(
                "epochs",
                Array1::from_iter(input.epochs.iter().map(|&e| e as i64)),
            )
            .with(
                "key_frequencies",
                Array1::from_iter(keys.iter().map(|&k| k as i64)),
            )
            .with("restricted_loss", Array1::from(restricted))
            .with("excluded_loss", Array1::from(excluded))
            .with("train_loss", Array1::from(train))
            .with("test_loss", Array1::from(test))
            .with("gini_embedding", Array1::from(gini_e))
            .with("gini_neuron_logit", Array1::from(gini_l))
            .with("total_sum_squared_weights", Array1::from(squares)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_extremes() {
        assert!(gini(&[1.0, 1.0, 1.0, 1.0]).abs() < 1e-12);
        assert!((gini(&[0.0, 0.0, 0.0, 1.0]) - 0.75).abs() < 1e-12);
        assert_eq!(gini(&[0.0, 0.0]), 0.0);
    }

    #[test]
    fn key_frequencies_pick_the_strong_pairs() {
        let mut c = vec![0.1; 11]; // p = 11: constant + 5 sin/cos pairs
        c[3] = 2.0; // sin 2
        c[4] = 1.0; // cos 2
        assert_eq!(key_frequencies(&c), vec![2]);
        assert_eq!(key_frequencies(&[0.1; 11]).len(), 1, "always at least one");
    }
}
