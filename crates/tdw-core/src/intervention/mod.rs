//! MIScope's frequency-gain intervention (spec: miscope-dashboard.md §3,
//! `frequency_gain_hook.py`): during an epoch window, the training forward scales the
//! attention output's components along chosen Fourier directions of the embedding.
//!
//! **Directions** (fixed for a run): from the embedding `W_E` of a reference checkpoint, for
//! each frequency k = 1..p/2,
//!
//! ```text
//! D_sin,k = unit(B[2k−1] · W_E[:p]),   D_cos,k = unit(B[2k] · W_E[:p])
//! ```
//!
//! with `B` the family's Fourier basis (row 2k−1 sin k, row 2k cos k; [`crate::analysis::fourier`])
//! and `unit(v) = v / max(‖v‖, 1e-8)`; the two are not orthogonalised.
//!
//! **Gain** `g_k = max(gain[k], 0.1)` for a target k (a target without a gain has 1), 1 for
//! every other frequency. **Ramp** over the window `[epoch_start, epoch_end)` with `R =
//! ramp_epochs`: `r(e) = 0` outside it, `(e − start)/R` while `e − start < R`, `(end − e)/R` once
//! `end − e ≤ R`, else 1. At epoch e the effective gain is `g' = 1 + (g − 1)·r(e)` and the hook
//! on `blocks.0.hook_attn_out` (all positions) is
//!
//! ```text
//! a ← a + Σ_k (g'_k − 1)·[(a·D_sin,k) D_sin,k + (a·D_cos,k) D_cos,k]
//! ```
//!
//! ([`crate::model::hook::AttnOutHook`] with coefficients `g' − 1`); `r = 0` means no hook. Only
//! the training forward is hooked; the test loss is the plain model's.

pub mod config;

use ndarray::{Array2, ArrayView2};

use crate::analysis::fourier;
use crate::model::hook::AttnOutHook;
pub use config::{DEFAULT_RAMP_EPOCHS, FrequencyGain, INTERVENTION_KEY, INTERVENTIONS_DIR};

/// MIScope's floor on a gain: no direction is scaled below a tenth.
pub const GAIN_FLOOR: f64 = 0.1;

impl FrequencyGain {
    /// The ramp factor `r(e)` at `epoch`.
    pub fn ramp(&self, epoch: u64) -> f64 {
        let (start, end, ramp) = (self.epoch_start, self.epoch_end, self.ramp_epochs);
        if epoch < start || epoch >= end {
            0.0
        } else if epoch - start < ramp {
            (epoch - start) as f64 / ramp as f64
        } else if end - epoch <= ramp {
            (end - epoch) as f64 / ramp as f64
        } else {
            1.0
        }
    }

    /// The full-strength gain `g_k` of frequency `k` (1-based).
    pub fn gain_of(&self, k: usize) -> f64 {
        if self.target_frequencies.contains(&k) {
            self.gain.get(&k).copied().unwrap_or(1.0).max(GAIN_FLOOR)
        } else {
            1.0
        }
    }

    /// The effective gain `g' = 1 + (g − 1)·r(e)` of frequency `k` at `epoch`.
    pub fn effective_gain(&self, k: usize, epoch: u64) -> f64 {
        1.0 + (self.gain_of(k) - 1.0) * self.ramp(epoch)
    }

    /// One line for people: `frequency gain k=4×0.3, k=10×0.3 over epochs 1500–6500 (ramp 200)`.
    pub fn summary(&self) -> String {
        let gains: Vec<String> = self
            .target_frequencies
            .iter()
            .map(|&k| format!("k={k}×{}", self.gain_of(k)))
            .collect();
        format!(
            "frequency gain {} over epochs {}–{} (ramp {})",
            gains.join(", "),
            self.epoch_start,
            self.epoch_end,
            self.ramp_epochs
        )
    }

    /// The hook of `epoch` on `directions`, or `None` where it changes nothing (`r = 0`).
    pub fn hook_at(&self, epoch: u64, directions: &FrequencyDirections) -> Option<AttnOutHook> {
        if self.ramp(epoch) == 0.0 {
            return None;
        }
        let mut dirs = Vec::new();
        let mut coefficients = Vec::new();
        for &k in &self.target_frequencies {
            let Some((sin, cos)) = directions.of(k) else {
                continue;
            };
            let c = (self.effective_gain(k, epoch) - 1.0) as f32;
            for d in [sin, cos] {
                dirs.push(d.to_vec());
                coefficients.push(c);
            }
        }
        let hook = AttnOutHook::new(directions.d_model(), dirs, coefficients);
        (!hook.is_identity()).then_some(hook)
    }
}

/// What the analysis of an intervened variant is told: its block and the directions its check
/// projects on (from its checkpoint at `epoch_start`).
#[derive(Debug, Clone, PartialEq)]
pub struct InterventionContext {
    /// The intervention.
    pub config: FrequencyGain,
    /// The directions of every frequency.
    pub directions: FrequencyDirections,
}

/// The sine and cosine directions of every frequency k = 1..p/2, from an embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyDirections {
    /// Row `2(k−1)` is `D_sin,k`, row `2(k−1)+1` is `D_cos,k`: `[2·(p/2), d_model]`.
    rows: Array2<f32>,
}

impl FrequencyDirections {
    /// The directions of `w_e` (`[d_vocab, d_model]`, its first `p` rows the numbers) for
    /// modulus `p`.
    pub fn from_embedding(w_e: ArrayView2<f32>, p: usize) -> Self {
        let basis = fourier::basis(p);
        let numbers = w_e.slice(ndarray::s![..p, ..]);
        let d_model = w_e.ncols();
        let n = p / 2;
        let mut rows = Array2::<f32>::zeros((2 * n, d_model));
        for k in 1..=n {
            for (slot, basis_row) in [(2 * (k - 1), 2 * k - 1), (2 * (k - 1) + 1, 2 * k)] {
                let v = basis.row(basis_row).dot(&numbers);
                let norm = v.dot(&v).sqrt().max(1e-8);
                rows.row_mut(slot).assign(&(v / norm));
            }
        }
        FrequencyDirections { rows }
    }

    /// Number of frequencies, p/2.
    pub fn n_freq(&self) -> usize {
        self.rows.nrows() / 2
    }

    /// The residual width.
    pub fn d_model(&self) -> usize {
        self.rows.ncols()
    }

    /// `(D_sin,k, D_cos,k)` of frequency `k` (1-based), if `k ≤ p/2`.
    pub fn of(&self, k: usize) -> Option<(&[f32], &[f32])> {
        if k == 0 || k > self.n_freq() {
            return None;
        }
        let sin = self.rows.row(2 * (k - 1)).to_slice()?;
        let cos = self.rows.row(2 * (k - 1) + 1).to_slice()?;
        Some((sin, cos))
    }
}

/// Per-frequency RMS amplitude of attention outputs along the frequency directions:
/// `√ mean_rows [(a·D_sin,k)² + (a·D_cos,k)²]` for k = 1..p/2 (MIScope's Intervention Check;
/// rows are every (pair, position)).
pub fn rms_amplitudes(attn_out: ArrayView2<f32>, directions: &FrequencyDirections) -> Vec<f64> {
    let projections = attn_out.dot(&directions.rows.t());
    let rows = attn_out.nrows().max(1) as f64;
    (0..directions.n_freq())
        .map(|k| {
            let energy: f64 = projections
                .column(2 * k)
                .iter()
                .chain(projections.column(2 * k + 1).iter())
                .map(|&x| (x as f64) * (x as f64))
                .sum();
            (energy / rows).sqrt()
        })
        .collect()
}

/// What the Intervention Check shows at one checkpoint: the amplitudes before the hook and
/// after the hook of that epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckAmplitudes {
    /// Before the hook, per frequency.
    pub baseline: Vec<f64>,
    /// After the hook at the epoch's ramp factor (equal to `baseline` outside the window).
    pub modified: Vec<f64>,
}

/// The check of `attn_out` rows (`[rows, d_model]`, the plain model's outputs) at `epoch`.
pub fn check(
    config: &FrequencyGain,
    directions: &FrequencyDirections,
    attn_out: ArrayView2<f32>,
    epoch: u64,
) -> CheckAmplitudes {
    let baseline = rms_amplitudes(attn_out, directions);
    let modified = match config.hook_at(epoch, directions) {
        None => baseline.clone(),
        Some(hook) => {
            let mut hooked = attn_out.to_owned();
            for mut row in hooked.rows_mut() {
                hook.apply(
                    row.as_slice_mut()
                        .expect("rows of an owned array are contiguous"),
                );
            }
            rms_amplitudes(hooked.view(), directions)
        }
    };
    CheckAmplitudes { baseline, modified }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(start: u64, end: u64, ramp: u64) -> FrequencyGain {
        let text = format!(
            r#"{{"type":"frequency_gain","target_frequencies":[2,3],"gain":{{"2":0.3,"3":0.02}},"epoch_start":{start},"epoch_end":{end},"ramp_epochs":{ramp}}}"#
        );
        FrequencyGain::from_json(&serde_json::from_str(&text).unwrap(), Path::new("t.json"))
            .unwrap()
    }

    #[test]
    fn the_ramp_rises_holds_and_falls_inside_the_window() {
        let c = config(100, 300, 50);
        for (epoch, r) in [
            (0, 0.0),
            (99, 0.0),
            (100, 0.0),
            (125, 0.5),
            (149, 49.0 / 50.0),
            (150, 1.0),
            (249, 1.0),
            (250, 1.0),
            (251, 49.0 / 50.0),
            (275, 0.5),
            (299, 1.0 / 50.0),
            (300, 0.0),
            (1000, 0.0),
        ] {
            assert_eq!(c.ramp(epoch), r, "epoch {epoch}");
        }
        // No ramp: full strength over the whole window from its first epoch.
        let sharp = config(10, 20, 0);
        assert_eq!(
            (
                sharp.ramp(9),
                sharp.ramp(10),
                sharp.ramp(19),
                sharp.ramp(20)
            ),
            (0.0, 1.0, 1.0, 0.0)
        );
    }

    #[test]
    fn gains_are_floored_and_only_targets_move() {
        let c = config(0, 100, 10);
        assert_eq!(c.gain_of(2), 0.3);
        assert_eq!(c.gain_of(3), GAIN_FLOOR);
        assert_eq!(c.gain_of(4), 1.0);
        assert!((c.effective_gain(2, 5) - 0.65).abs() < 1e-12);
    }

    /// An embedding of Z/p whose coordinates 2(k−1) and 2(k−1)+1 are sin k and cos k (scaled),
    /// so the directions are the unit vectors; coordinate p−1 is unused by any number.
    fn embedding(p: usize) -> Array2<f32> {
        let mut w = Array2::<f32>::zeros((p + 1, p));
        for x in 0..p {
            let t = 2.0 * std::f32::consts::PI * x as f32 / p as f32;
            for k in 1..=p / 2 {
                w[[x, 2 * (k - 1)]] = (k as f32 * t).sin() * k as f32;
                w[[x, 2 * (k - 1) + 1]] = (k as f32 * t).cos();
            }
        }
        w
    }

    #[test]
    fn directions_are_the_embeddings_fourier_components() {
        let p = 11;
        let dirs = FrequencyDirections::from_embedding(embedding(p).view(), p);
        assert_eq!((dirs.n_freq(), dirs.d_model()), (5, 11));
        for k in 1..=5 {
            let (sin, cos) = dirs.of(k).unwrap();
            for j in 0..11 {
                let (es, ec) = (
                    (j == 2 * (k - 1)) as u8 as f32,
                    (j == 2 * k - 1) as u8 as f32,
                );
                assert!(
                    (sin[j] - es).abs() < 1e-5 && (cos[j] - ec).abs() < 1e-5,
                    "k {k}"
                );
            }
        }
        assert!(dirs.of(0).is_none() && dirs.of(6).is_none());
    }

    #[test]
    fn the_check_scales_target_amplitudes_by_the_gain() {
        let p = 11;
        let dirs = FrequencyDirections::from_embedding(embedding(p).view(), p);
        let c = config(0, 100, 10);
        // Attention outputs with a component along every direction and along the unused last
        // coordinate, which no direction touches.
        let a = Array2::from_shape_fn((7, 11), |(i, j)| ((i * 5 + j * 3) % 7) as f32 - 2.5);
        // Full strength at epoch 50: frequency 2 scaled by 0.3, 3 by the floor 0.1, others 1.
        let at = check(&c, &dirs, a.view(), 50);
        let ratio = |amps: &CheckAmplitudes, k: usize| amps.modified[k - 1] / amps.baseline[k - 1];
        assert!((ratio(&at, 2) - 0.3).abs() < 1e-5, "{at:?}");
        assert!((ratio(&at, 3) - 0.1).abs() < 1e-5, "{at:?}");
        for k in [1, 4, 5] {
            assert!((ratio(&at, k) - 1.0).abs() < 1e-5, "{at:?}");
        }
        // Ramp 0.5 at epoch 5: g' = 0.65 and 0.55.
        let half = check(&c, &dirs, a.view(), 5);
        assert!((ratio(&half, 2) - 0.65).abs() < 1e-5);
        assert!((ratio(&half, 3) - 0.55).abs() < 1e-5);
        // Outside the window nothing changes.
        let after = check(&c, &dirs, a.view(), 100);
        assert_eq!(after.modified, after.baseline);
        // The part no direction touches is untouched by the hook.
        let hook = c.hook_at(50, &dirs).unwrap();
        let mut row = vec![0.0; 11];
        row[10] = 3.0;
        let before = row.clone();
        hook.apply(&mut row);
        assert!(
            row.iter().zip(&before).all(|(x, y)| (x - y).abs() < 1e-6),
            "{row:?}"
        );
        // Hand-made: a row along D_cos,2 only keeps 0.3 of it.
        let mut along = vec![0.0; 11];
        along[3] = 2.0;
        hook.apply(&mut along);
        assert!((along[3] - 0.6).abs() < 1e-5, "{along:?}");
    }
}
