//! `head_ablation`: the loss and accuracy of every checkpoint with each attention head ablated,
//! zero and mean ablation (TransformerLens' `hook_z` ablations), as curves over training.
//!
//! At checkpoint e, on every probe pair (the full (a, b) grid), the "=" position's logits with
//! head h's `blocks.0.attn.hook_z` replaced at every position by
//! - zeros (zero ablation), or
//! - its mean over the probe at that position (mean ablation, `z̄_h[pos] = mean_rows z_h[pos]`),
//!
//! give `loss = mean_rows −log softmax(logits)[label]` (log-softmax in f64, as the training loss)
//! and `accuracy = mean_rows [argmax logits = label]`. The unablated model's are the baseline.
//!
//! Writes `epochs` i64 (n,), `baseline_loss`, `baseline_accuracy` f64 (n,), and `zero_loss`,
//! `zero_accuracy`, `mean_loss`, `mean_accuracy` f64 (n, n_heads). Cost: 1 + 2·n_heads
//! full forward passes of the grid per checkpoint (burn, CPU), so it is not in the family's list:
//! run it with `tdw analyze <variant> --analyzers head_ablation`.

use ndarray::{Array1, Array2};
use rayon::prelude::*;

use crate::analysis::analyzer::{CrossEpochAnalyzer, CrossEpochInput};
use crate::error::{AnalyzerError, MissingSite, Result};
use crate::formats::artifact::Artifact;
use crate::model::cache::HookName;

/// The analyzer's name.
pub const NAME: &str = "head_ablation";

pub struct HeadAblation;

/// One checkpoint's baseline loss and accuracy, and per head `[zero loss, zero accuracy, mean
/// loss, mean accuracy]`.
type CheckpointAblations = (f64, f64, Vec<[f64; 4]>);

/// Mean loss (f64 log-softmax) and accuracy of `logits` (`[rows, classes]` row-major) on `labels`.
pub fn loss_and_accuracy(logits: &[f32], classes: usize, labels: &[i64]) -> (f64, f64) {
    let mut loss = 0.0;
    let mut right = 0usize;
    for (row, &label) in logits.chunks(classes).zip(labels) {
        let max = row
            .iter()
            .map(|&v| v as f64)
            .fold(f64::NEG_INFINITY, f64::max);
        let log_sum = row
            .iter()
            .map(|&v| (v as f64 - max).exp())
            .sum::<f64>()
            .ln()
            + max;
        loss += log_sum - row[label as usize] as f64;
        let argmax = row
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                if v > best.1 { (i, v) } else { best }
            })
            .0;
        right += usize::from(argmax == label as usize);
    }
    let rows = labels.len().max(1) as f64;
    (loss / rows, right as f64 / rows)
}

/// The last position's logits of `[batch, pos, classes]` as host values.
fn last_position(logits: burn_tensor::Tensor<3>) -> Result<(Vec<f32>, usize)> {
    let [batch, n_pos, classes] = logits.dims();
    let data = logits
        .slice([0..batch, n_pos - 1..n_pos])
        .reshape([batch, classes])
        .into_data()
        .convert::<f32>();
    let values = data
        .as_slice::<f32>()
        .map_err(|_| {
            AnalyzerError::NotFinite {
                what: "the logits as f32",
            }
            .into_error(NAME)
        })?
        .to_vec();
    Ok((values, classes))
}

impl CrossEpochAnalyzer for HeadAblation {
    fn name(&self) -> &'static str {
        NAME
    }

    fn requires(&self) -> &'static [&'static str] {
        &[]
    }

    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact> {
        if input.epochs.is_empty() {
            return Err(AnalyzerError::NoCheckpoints.into_error(NAME));
        }
        let context = input.context;
        let probe = &context.probe;
        let labels = &probe.labels;
        let per_epoch: Vec<Result<CheckpointAblations>> = input
            .epochs
            .par_iter()
            .map(|&epoch| {
                let model = input.run.load_model(epoch, input.device)?;
                let tokens = || {
                    burn_tensor::Tensor::<2, burn_tensor::Int>::from_data(
                        burn_tensor::TensorData::new(
                            probe.tokens.clone(),
                            [probe.len(), probe.n_ctx],
                        ),
                        &model.device(),
                    )
                };
                let (logits, cache) = model.forward(tokens(), true);
                let cache = cache.expect("forward was asked for a cache");
                let z = cache.rank4(HookName::AttnZ { layer: 0 }).ok_or_else(|| {
                    AnalyzerError::Skipped(MissingSite("blocks.0.attn.hook_z".into()))
                        .into_error(NAME)
                })?;
                let [_, n_pos, heads, d_head] = z.dims();
                // z̄_h[pos, :] = mean over rows, as [head][pos * d_head + j].
                let means = z.clone().mean_dim(0).reshape([n_pos, heads, d_head]);
                let means = means.swap_dims(0, 1).into_data().convert::<f32>();
                let means = means
                    .as_slice::<f32>()
                    .map_err(|_| AnalyzerError::NotFinite { what: "z means" }.into_error(NAME))?
                    .to_vec();
                drop(cache);
                let (clean, classes) = last_position(logits)?;
                let (base_loss, base_accuracy) = loss_and_accuracy(&clean, classes, labels);
                let mut per_head = Vec::with_capacity(heads);
                for head in 0..heads {
                    let mean = &means[head * n_pos * d_head..(head + 1) * n_pos * d_head];
                    let (zero, _) =
                        last_position(model.forward_ablating_head(tokens(), head, None))?;
                    let (meaned, _) =
                        last_position(model.forward_ablating_head(tokens(), head, Some(mean)))?;
                    let (zl, za) = loss_and_accuracy(&zero, classes, labels);
                    let (ml, ma) = loss_and_accuracy(&meaned, classes, labels);
                    per_head.push([zl, za, ml, ma]);
                }
                Ok((base_loss, base_accuracy, per_head))
            })
            .collect();
        let n = input.epochs.len();
        let mut baseline_loss = Vec::with_capacity(n);
        let mut baseline_accuracy = Vec::with_capacity(n);
        let mut rows: Vec<Vec<[f64; 4]>> = Vec::with_capacity(n);
        for result in per_epoch {
            let (l, a, heads) = result?;
            baseline_loss.push(l);
            baseline_accuracy.push(a);
            rows.push(heads);
        }
        let heads = rows.first().map_or(0, Vec::len);
        let column = |k: usize| Array2::from_shape_fn((n, heads), |(e, h)| rows[e][h][k]);
        Ok(Artifact::new()
            .with(
                "epochs",
                Array1::from_iter(input.epochs.iter().map(|&e| e as i64)),
            )
            .with("baseline_loss", Array1::from(baseline_loss))
            .with("baseline_accuracy", Array1::from(baseline_accuracy))
            .with("zero_loss", column(0))
            .with("zero_accuracy", column(1))
            .with("mean_loss", column(2))
            .with("mean_accuracy", column(3)))
    }
}
