//! `transient_frequency` (cross-epoch, reads `neuron_dynamics`): frequencies that recruit many
//! neurons at some point of training but are abandoned by the end (spec §5.23).
//!
//! A neuron is specialised when its largest fraction is ≥ 0.70. A frequency qualified if at some
//! checkpoint ≥ 5% of the neurons specialise on it; it is final if ≥ 10% do at the last one;
//! transient = qualified and not final. Writes `ever_qualified_freqs` i32 (0-based f), `is_final`
//! bool, `peak_epoch`, `peak_count`, `homeless_count` i32 (peak members no longer specialised at
//! the end), `committed_counts` i32 (n, n_qualified), `peak_members_flat` i32 with
//! `peak_members_offsets` i32 (group i = flat[off[i]..off[i+1]]), `epochs` i32 (n,), and f64
//! scalars `_neuron_threshold`, `_transient_canonical_threshold`, `_final_canonical_threshold`.

use ndarray::{Array1, Array2};

use crate::analysis::analyzer::{CrossEpochAnalyzer, CrossEpochInput, ForAnalyzer, ranked};
use crate::error::Result;
use crate::formats::artifact::{Array, Artifact};
use crate::formats::error::KeyError;

const NAME: &str = "transient_frequency";

pub struct TransientFrequency;

const NEURON_THRESHOLD: f64 = 0.70;
const TRANSIENT_CANONICAL_THRESHOLD: f64 = 0.05;
const FINAL_CANONICAL_THRESHOLD: f64 = 0.10;

impl CrossEpochAnalyzer for TransientFrequency {
    fn name(&self) -> &'static str {
        "transient_frequency"
    }

    fn requires(&self) -> &'static [&'static str] {
        &["neuron_dynamics"]
    }

    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact> {
        let dynamics = input.loader.load_cross_epoch("neuron_dynamics")?;
        let dominant = match dynamics.get("dominant_freq") {
            Some(Array::I64(a)) => ranked::<_, ndarray::Ix2>("dominant_freq", a.clone()),
            Some(other) => Err(KeyError::Dtype {
                key: "dominant_freq".into(),
                found: other.dtype().numpy_name(),
                expected: "int64",
            }
            .into()),
            None => Err(KeyError::Missing {
                key: "dominant_freq".into(),
                keys: dynamics.keys().map(str::to_string).collect(),
            }
            .into()),
        }
        .for_analyzer(NAME)?;
        let max_frac = dynamics.f32("max_frac").for_analyzer(NAME)?;
        let max_frac =
            ranked::<_, ndarray::Ix2>("max_frac", max_frac.clone()).for_analyzer(NAME)?;
        let epochs: Vec<i64> = dynamics
            .as_f64("epochs")
            .for_analyzer(NAME)?
            .iter()
            .map(|&v| v as i64)
            .collect();
        let (n, d_mlp) = dominant.dim();
        let n_freq = dominant.iter().copied().max().map_or(0, |m| m as usize + 1);
        let specialised = |t: usize, m: usize| f64::from(max_frac[[t, m]]) >= NEURON_THRESHOLD;
        let mut counts = Array2::<i32>::zeros((n, n_freq));
        for t in 0..n {
            for m in 0..d_mlp {
                if specialised(t, m) {
                    counts[[t, dominant[[t, m]] as usize]] += 1;
                }
            }
        }
        let transient_min = TRANSIENT_CANONICAL_THRESHOLD * d_mlp as f64;
        let final_min = FINAL_CANONICAL_THRESHOLD * d_mlp as f64;
        let qualified: Vec<usize> = (0..n_freq)
            .filter(|&f| (0..n).any(|t| f64::from(counts[[t, f]]) >= transient_min))
            .collect();
        let mut is_final = Vec::new();
        let mut peak_epoch = Vec::new();
        let mut peak_count = Vec::new();
        let mut homeless = Vec::new();
        let mut flat = Vec::new();
        let mut offsets = vec![0i32];
        for &f in &qualified {
            is_final.push(n > 0 && f64::from(counts[[n - 1, f]]) >= final_min);
            let (peak_t, count) = (0..n).fold((0, i32::MIN), |best, t| {
                if counts[[t, f]] > best.1 {
                    (t, counts[[t, f]])
                } else {
                    best
                }
            });
            peak_epoch.push(epochs[peak_t] as i32);
            peak_count.push(count);
            let members: Vec<usize> = (0..d_mlp)
                .filter(|&m| specialised(peak_t, m) && dominant[[peak_t, m]] as usize == f)
                .collect();
            homeless.push(members.iter().filter(|&&m| !specialised(n - 1, m)).count() as i32);
            flat.extend(members.iter().map(|&m| m as i32));
            offsets.push(flat.len() as i32);
        }
        let committed =
            Array2::from_shape_fn((n, qualified.len()), |(t, i)| counts[[t, qualified[i]]]);
        Ok(Artifact::new()
            .with(
                "ever_qualified_freqs",
                Array1::from_iter(qualified.iter().map(|&f| f as i32)),
            )
            .with("is_final", Array1::from(is_final))
            .with("peak_epoch", Array1::from(peak_epoch))
            .with("peak_count", Array1::from(peak_count))
            .with("homeless_count", Array1::from(homeless))
            .with("committed_counts", committed)
            .with("peak_members_flat", Array1::from(flat))
            .with("peak_members_offsets", Array1::from(offsets))
            .with(
                "epochs",
                Array1::from_iter(epochs.iter().map(|&e| e as i32)),
            )
            .with("_neuron_threshold", NEURON_THRESHOLD)
            .with(
                "_transient_canonical_threshold",
                TRANSIENT_CANONICAL_THRESHOLD,
            )
            .with("_final_canonical_threshold", FINAL_CANONICAL_THRESHOLD))
    }
}
