//! `logit_attribution`: direct logit attribution of every attention head, the MLP and the
//! embedding to the correct logit, at every checkpoint (TransformerLens' decomposition of the
//! residual stream, read through the unembedding).
//!
//! With one layer and no LayerNorm the "=" position's residual stream is a sum of parts,
//! `resid_post = resid_pre + Σ_h z_h W_O[h] + b_O + mlp_out`, and the logits are
//! `resid_post · W_U + b_U`, so each part's direct contribution to the correct logit of a pair is
//! `part · W_U[:, label]`. Averaged over all p² pairs:
//!
//! ```text
//! heads[h] = mean_rows (z_h W_O[h]) · W_U[:, label]     mlp = mean_rows mlp_out · W_U[:, label]
//! embed    = mean_rows resid_pre · W_U[:, label]        correct_logit = mean_rows logits[label]
//! ```
//!
//! and `Σ heads + mlp + embed + (b_O · W_U + b_U)[label]` = `correct_logit` (checked in the tests).
//! Writes `epochs` i64 (n,), `heads` f64 (n, n_heads), `mlp`, `embed`, `correct_logit` f64 (n,).
//! One forward pass with a cache per checkpoint.

use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

use crate::analysis::analyzer::{CrossEpochAnalyzer, CrossEpochInput};
use crate::error::{AnalyzerError, MissingSite, Result};
use crate::formats::artifact::Artifact;
use crate::model::cache::HookName;

/// The analyzer's name.
pub const NAME: &str = "logit_attribution";

pub struct LogitAttribution;

/// One checkpoint's head attributions, MLP, embedding and mean correct logit.
type CheckpointAttribution = (Vec<f64>, f64, f64, f64);

/// Host values of a tensor, or the analyzer's error.
fn values<const D: usize>(t: burn_tensor::Tensor<D>, what: &'static str) -> Result<Vec<f32>> {
    let data = t.into_data().convert::<f32>();
    data.as_slice::<f32>()
        .map(<[f32]>::to_vec)
        .map_err(|_| AnalyzerError::NotFinite { what }.into_error(NAME))
}

/// `mean_rows x[row] · W_U[:, label[row]]` for `x` `[rows, d_model]`, `w_u` `[d_model, classes]`.
fn attribution(x: ArrayView2<f32>, w_u: ArrayView2<f32>, labels: &[i64]) -> f64 {
    let total: f64 = x
        .rows()
        .into_iter()
        .zip(labels)
        .map(|(row, &label)| {
            row.iter()
                .zip(w_u.column(label as usize))
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum::<f64>()
        })
        .sum();
    total / labels.len().max(1) as f64
}

impl CrossEpochAnalyzer for LogitAttribution {
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
        let probe = &input.context.probe;
        let labels = &probe.labels;
        let rows = probe.len();
        let per_epoch: Vec<Result<CheckpointAttribution>> = input
            .epochs
            .par_iter()
            .map(|&epoch| {
                let model = input.run.load_model(epoch, input.device)?;
                let tokens = burn_tensor::Tensor::<2, burn_tensor::Int>::from_data(
                    burn_tensor::TensorData::new(probe.tokens.clone(), [rows, probe.n_ctx]),
                    &model.device(),
                );
                let (logits, cache) = model.forward(tokens, true);
                let cache = cache.expect("forward was asked for a cache");
                let missing =
                    |site: &str| AnalyzerError::Skipped(MissingSite(site.into())).into_error(NAME);
                let z = cache
                    .rank4(HookName::AttnZ { layer: 0 })
                    .ok_or_else(|| missing("blocks.0.attn.hook_z"))?;
                let [_, n_pos, heads, d_head] = z.dims();
                let last = n_pos - 1;
                let d_model = model.config().d_model;
                let at_last3 = |hook: HookName, what: &'static str| -> Result<Array2<f32>> {
                    let t = cache.rank3(hook).ok_or_else(|| missing(what))?.clone();
                    let v = values(
                        t.slice([0..rows, last..last + 1]).reshape([rows, d_model]),
                        what,
                    )?;
                    Ok(Array2::from_shape_vec((rows, d_model), v).expect("rows × d_model"))
                };
                let resid_pre =
                    at_last3(HookName::ResidPre { layer: 0 }, "blocks.0.hook_resid_pre")?;
                let mlp_out = at_last3(HookName::MlpOut { layer: 0 }, "blocks.0.hook_mlp_out")?;
                let z_last = values(
                    z.clone()
                        .slice([0..rows, last..last + 1])
                        .reshape([rows, heads * d_head]),
                    "z",
                )?;
                let state = model.to_state();
                let w_o = &state["blocks.0.attn.W_O"].data;
                let w_u = ArrayView2::from_shape(
                    (d_model, state["unembed.W_U"].data.len() / d_model),
                    &state["unembed.W_U"].data,
                )
                .expect("d_model × d_vocab_out");
                let mut per_head = Vec::with_capacity(heads);
                for head in 0..heads {
                    // z_h W_O[h] for every row: [rows, d_head] × [d_head, d_model].
                    let mut out = Array2::<f32>::zeros((rows, d_model));
                    for (r, mut row) in out.rows_mut().into_iter().enumerate() {
                        for j in 0..d_head {
                            let zj = z_last[r * heads * d_head + head * d_head + j];
                            let w = &w_o
                                [(head * d_head + j) * d_model..(head * d_head + j + 1) * d_model];
                            for (o, &wv) in row.iter_mut().zip(w) {
                                *o += zj * wv;
                            }
                        }
                    }
                    per_head.push(attribution(out.view(), w_u, labels));
                }
                let [_, _, classes] = logits.dims();
                let logit_values = values(
                    logits
                        .slice([0..rows, last..last + 1])
                        .reshape([rows, classes]),
                    "logits",
                )?;
                let correct = logit_values
                    .chunks(classes)
                    .zip(labels)
                    .map(|(row, &l)| row[l as usize] as f64)
                    .sum::<f64>()
                    / rows.max(1) as f64;
                Ok((
                    per_head,
                    attribution(mlp_out.view(), w_u, labels),
                    attribution(resid_pre.view(), w_u, labels),
                    correct,
                ))
            })
            .collect();
        let n = input.epochs.len();
        let mut head_rows = Vec::with_capacity(n);
        let (mut mlp, mut embed, mut correct) = (Vec::new(), Vec::new(), Vec::new());
        for result in per_epoch {
            let (h, m, e, c) = result?;
            head_rows.push(h);
            mlp.push(m);
            embed.push(e);
            correct.push(c);
        }
        let heads = head_rows.first().map_or(0, Vec::len);
        Ok(Artifact::new()
            .with(
                "epochs",
                Array1::from_iter(input.epochs.iter().map(|&e| e as i64)),
            )
            .with(
                "heads",
                Array2::from_shape_fn((n, heads), |(e, h)| head_rows[e][h]),
            )
            .with("mlp", Array1::from(mlp))
            .with("embed", Array1::from(embed))
            .with("correct_logit", Array1::from(correct)))
    }
}
