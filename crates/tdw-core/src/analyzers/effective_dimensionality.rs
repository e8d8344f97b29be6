//! `effective_dimensionality`: singular-value spectra of every weight matrix (spec §5.10).
//!
//! Writes `sv_{name}` f32, descending: per head (heads, d_head) for W_Q, W_K, W_V, W_O, else
//! (min(rows, cols),). Summary `pr_{name}` (f64): the participation ratio of the singular values
//! themselves, `(Σs)² / Σs²` (0 when all are 0) — per head for attention matrices. A falling
//! ratio means the matrix concentrates on fewer directions.

use ndarray::{Array1, Array2, ArrayD, Axis};

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerResult};
use crate::analyzers::stats;
use crate::formats::artifact::{Array, Artifact};
use crate::formats::error::KeyError;
use crate::model::bundle::ActivationBundle;

pub struct EffectiveDimensionality;

const NAMES: [&str; 9] = [
    "W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U",
];
const PER_HEAD: [&str; 4] = ["W_Q", "W_K", "W_V", "W_O"];

/// `(Σ s)² / Σ s²` of singular values (MIScope's definition; 0 for a zero matrix).
pub fn participation_ratio(s: impl Iterator<Item = f64> + Clone) -> f64 {
    let sum: f64 = s.clone().sum();
    let squares: f64 = s.map(|v| v * v).sum();
    if squares == 0.0 {
        0.0
    } else {
        sum * sum / squares
    }
}

impl Analyzer for EffectiveDimensionality {
    fn name(&self) -> &'static str {
        "effective_dimensionality"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        _context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let mut artifact = Artifact::new();
        for name in NAMES {
            let Ok(weight) = bundle.weight(name) else {
                continue;
            };
            let values: ArrayD<f32> = if PER_HEAD.contains(&name) {
                let heads = stats::heads(weight, name)?;
                let rows: Vec<Vec<f32>> = heads
                    .outer_iter()
                    .map(|m| {
                        stats::singular_values(m)
                            .into_iter()
                            .map(|v| v as f32)
                            .collect()
                    })
                    .collect();
                let width = rows.first().map_or(0, Vec::len);
                Array2::from_shape_vec((rows.len(), width), rows.concat())
                    .expect("equal head sizes")
                    .into_dyn()
            } else {
                let m = stats::matrix(weight, name)?;
                Array1::from(
                    stats::singular_values(m.view())
                        .into_iter()
                        .map(|v| v as f32)
                        .collect::<Vec<_>>(),
                )
                .into_dyn()
            };
            artifact.insert(format!("sv_{name}"), values);
        }
        Ok(artifact)
    }

    fn summary_keys(&self) -> &'static [&'static str] {
        &[
            "pr_W_E", "pr_W_pos", "pr_W_Q", "pr_W_K", "pr_W_V", "pr_W_O", "pr_W_in", "pr_W_out",
            "pr_W_U",
        ]
    }

    fn summary(&self, artifact: &Artifact, _context: &AnalysisContext) -> AnalyzerResult<Artifact> {
        let mut out = Artifact::new();
        for name in NAMES {
            let key = format!("sv_{name}");
            let values = match artifact.get(&key) {
                Some(Array::F32(v)) => v,
                // A weight the family's model does not have (the analyzer left it out).
                None => continue,
                Some(other) => {
                    return Err(KeyError::Dtype {
                        key: key.to_string(),
                        found: other.dtype().numpy_name(),
                        expected: "float32",
                    }
                    .into());
                }
            };
            let pr_key = format!("pr_{name}");
            if values.ndim() == 2 {
                let per_head: Array1<f64> = values
                    .axis_iter(Axis(0))
                    .map(|row| participation_ratio(row.iter().map(|&v| f64::from(v))))
                    .collect();
                out.insert(pr_key, per_head);
            } else {
                out.insert(
                    pr_key,
                    participation_ratio(values.iter().map(|&v| f64::from(v))),
                );
            }
        }
        Ok(out)
    }
}
