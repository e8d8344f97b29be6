//! `neuron_dynamics` (cross-epoch, reads `neuron_freq_norm`): when each neuron settles on its
//! frequency, and how often it switched before (spec §5.18).
//!
//! A neuron is committed at a checkpoint when its largest frequency fraction is ≥ 3/(p/2)
//! ("three times uniform"). Writes `epochs` i64 (n,), `dominant_freq` i64 (n, d_mlp) (0-based f),
//! `max_frac` f32 (n, d_mlp), `switch_counts` i32 (d_mlp,) (changes of dominant frequency between
//! committed checkpoints), `commitment_epochs` f64 (d_mlp,) (first checkpoint of the final
//! uninterrupted committed run on the final frequency; NaN if uncommitted at the end) and
//! `threshold` f64 (1,).

use ndarray::{Array1, Array2, Axis};

use crate::analysis::analyzer::{CrossEpochAnalyzer, CrossEpochInput, ForAnalyzer, ranked};
use crate::error::Result;
use crate::formats::artifact::Artifact;

pub struct NeuronDynamics;

impl CrossEpochAnalyzer for NeuronDynamics {
    fn name(&self) -> &'static str {
        "neuron_dynamics"
    }

    fn requires(&self) -> &'static [&'static str] {
        &["neuron_freq_norm"]
    }

    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact> {
        let stacked = input.loader.load_epochs(
            "neuron_freq_norm",
            Some(input.epochs),
            Some(&["norm_matrix"]),
        )?;
        let norms = stacked.f32("norm_matrix").for_analyzer(self.name())?;
        let norms =
            ranked::<_, ndarray::Ix3>("norm_matrix", norms.clone()).for_analyzer(self.name())?;
        let (n, n_freq, d_mlp) = norms.dim();
        let threshold = 3.0 / n_freq as f64;
        let mut dominant = Array2::<i64>::zeros((n, d_mlp));
        let mut max_frac = Array2::<f32>::zeros((n, d_mlp));
        for t in 0..n {
            for m in 0..d_mlp {
                let column = norms.index_axis(Axis(0), t);
                let column = column.column(m);
                let (f, v) = crate::analyzers::stats::argmax(column.iter().copied());
                dominant[[t, m]] = f as i64;
                max_frac[[t, m]] = v;
            }
        }
        let committed = |t: usize, m: usize| f64::from(max_frac[[t, m]]) >= threshold;
        let mut switches = Array1::<i32>::zeros(d_mlp);
        let mut commitment = Array1::<f64>::from_elem(d_mlp, f64::NAN);
        for m in 0..d_mlp {
            let mut last = -1i64;
            for t in 0..n {
                if committed(t, m) {
                    if last >= 0 && dominant[[t, m]] != last {
                        switches[m] += 1;
                    }
                    last = dominant[[t, m]];
                }
            }
            if n > 0 && committed(n - 1, m) {
                let target = dominant[[n - 1, m]];
                let mut start = n - 1;
                while start > 0 && committed(start - 1, m) && dominant[[start - 1, m]] == target {
                    start -= 1;
                }
                commitment[m] = input.epochs[start] as f64;
            }
        }
        Ok(Artifact::new()
            .with(
                "epochs",
                Array1::from_iter(input.epochs.iter().map(|&e| e as i64)),
            )
            .with("dominant_freq", dominant)
            .with("max_frac", max_frac)
            .with("switch_counts", switches)
            .with("commitment_epochs", commitment)
            .with("threshold", Array1::from(vec![threshold])))
    }
}
