//! `input_trace_graduation` (cross-epoch, reads `input_trace`): when each (a, b) pair is learned
//! for good, i.e. the first checkpoint from which it is predicted correctly at three consecutive
//! checkpoints (spec §5.21).
//!
//! Writes `graduation_epochs` i32 (p²,) (−1 if never, or fewer than 3 checkpoints), `epochs` i32
//! (n,), `split` bool (p²,) (from the first checkpoint).

use ndarray::Array1;

use crate::analysis::analyzer::{CrossEpochAnalyzer, CrossEpochInput, ForAnalyzer};
use crate::error::Result;
use crate::formats::artifact::{Array, Artifact};
use crate::formats::error::KeyError;

pub struct InputTraceGraduation;

const WINDOW: usize = 3;

impl CrossEpochAnalyzer for InputTraceGraduation {
    fn name(&self) -> &'static str {
        "input_trace_graduation"
    }

    fn requires(&self) -> &'static [&'static str] {
        &["input_trace"]
    }

    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact> {
        let stacked = input.loader.load_epochs(
            "input_trace",
            Some(input.epochs),
            Some(&["correct", "split"]),
        )?;
        let flags = |key: &str| match stacked.get(key) {
            Some(Array::Bool(a)) => Ok(a),
            Some(other) => Err(KeyError::Dtype {
                key: key.into(),
                found: other.dtype().numpy_name(),
                expected: "bool",
            }),
            None => Err(KeyError::Missing {
                key: key.into(),
                keys: stacked.keys().map(str::to_string).collect(),
            }),
        };
        let correct = flags("correct").for_analyzer(self.name())?;
        let split = flags("split").for_analyzer(self.name())?;
        let n = input.epochs.len();
        let pairs = correct.shape().get(1).copied().unwrap_or(0);
        let graduation: Array1<i32> = (0..pairs)
            .map(|k| {
                (0..n.saturating_sub(WINDOW - 1))
                    .find(|&i| (i..i + WINDOW).all(|t| correct[[t, k]]))
                    .map_or(-1, |i| input.epochs[i] as i32)
            })
            .collect();
        let first_split: Array1<bool> = (0..pairs).map(|k| split[[0, k]]).collect();
        Ok(Artifact::new()
            .with("graduation_epochs", graduation)
            .with(
                "epochs",
                Array1::from_iter(input.epochs.iter().map(|&e| e as i32)),
            )
            .with("split", first_split))
    }
}
