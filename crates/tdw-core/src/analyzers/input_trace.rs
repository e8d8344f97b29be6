//! `input_trace`: for every (a, b) pair, the model's prediction, whether it is right, how
//! confident it is and whether the pair was trained on (spec §5.12). The grokking signal is in the
//! test split; accuracy is reconstructed here because training records only losses.
//!
//! Reads the logits at the "=" position. Writes `predictions` i16 (p²,) (argmax), `correct` bool
//! (p²,), `confidence` f16 (p²,) (largest softmax probability), `split` bool (p²,) (true = a
//! training pair, from metadata.json). Summary (f32): `test_residue_class_accuracy` (p,) and
//! `train_residue_class_accuracy` (p,) (accuracy over pairs with (a+b) mod p = c; 0 if none),
//! `test_overall_accuracy`, `train_overall_accuracy`.

use ndarray::{Array1, ArrayD};

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerError, AnalyzerResult};
use crate::analyzers::stats;
use crate::formats::artifact::{Array, Artifact};
use crate::formats::error::KeyError;
use crate::model::bundle::ActivationBundle;

pub struct InputTrace;

impl Analyzer for InputTrace {
    fn name(&self) -> &'static str {
        "input_trace"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let logits = bundle.logits()?;
        let rows = logits.nrows();
        if rows != context.probe.labels.len() {
            return Err(AnalyzerError::Rows {
                what: "logits".into(),
                found: rows,
                expected: context.probe.labels.len(),
            });
        }
        let mut predictions = Vec::with_capacity(rows);
        let mut correct = Vec::with_capacity(rows);
        let mut confidence = Vec::with_capacity(rows);
        for (row, &label) in logits.rows().into_iter().zip(&context.probe.labels) {
            let (argmax, max) = stats::argmax(row.iter().copied());
            let denominator: f32 = row.iter().map(|&v| (v - max).exp()).sum();
            predictions.push(argmax as i16);
            correct.push(argmax as i64 == label);
            confidence.push(half::f16::from_f32(1.0 / denominator));
        }
        Ok(Artifact::new()
            .with("predictions", Array1::from(predictions))
            .with("correct", Array1::from(correct))
            .with("confidence", Array1::from(confidence))
            .with("split", Array1::from(context.train_mask.clone())))
    }

    fn summary_keys(&self) -> &'static [&'static str] {
        &[
            "test_residue_class_accuracy",
            "train_residue_class_accuracy",
            "test_overall_accuracy",
            "train_overall_accuracy",
        ]
    }

    fn summary(&self, artifact: &Artifact, context: &AnalysisContext) -> AnalyzerResult<Artifact> {
        let flags = |key: &str| -> AnalyzerResult<ArrayD<bool>> {
            match artifact.get(key) {
                Some(Array::Bool(a)) => Ok(a.clone()),
                Some(other) => Err(KeyError::Dtype {
                    key: key.to_string(),
                    found: other.dtype().numpy_name(),
                    expected: "bool",
                }
                .into()),
                None => Err(KeyError::Missing {
                    key: key.to_string(),
                    keys: artifact.keys().map(str::to_string).collect(),
                }
                .into()),
            }
        };
        let (correct, split) = (flags("correct")?, flags("split")?);
        let p = context.prime;
        let mut sums = [vec![0f32; p], vec![0f32; p]]; // [test, train]
        let mut counts = [vec![0f32; p], vec![0f32; p]];
        for ((&ok, &train), &label) in correct.iter().zip(split.iter()).zip(&context.probe.labels) {
            let side = usize::from(train);
            counts[side][label as usize] += 1.0;
            sums[side][label as usize] += f32::from(u8::from(ok));
        }
        let per_class = |side: usize| -> Array1<f32> {
            (0..p)
                .map(|c| {
                    if counts[side][c] > 0.0 {
                        sums[side][c] / counts[side][c]
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let overall = |side: usize| -> f32 {
            let n: f32 = counts[side].iter().sum();
            if n > 0.0 {
                sums[side].iter().sum::<f32>() / n
            } else {
                0.0
            }
        };
        Ok(Artifact::new()
            .with("test_residue_class_accuracy", per_class(0))
            .with("train_residue_class_accuracy", per_class(1))
            .with("test_overall_accuracy", overall(0))
            .with("train_overall_accuracy", overall(1)))
    }
}
