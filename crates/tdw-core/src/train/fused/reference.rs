//! The fused engine's table algorithm in plain loops: the slow, readable version each fast stage
//! is tested against (`tests.rs` beside it), stage by stage on the same inputs and outputs.
//!
//! Every function here has the signature of the stage it mirrors ([`Tables::build`],
//! [`rows::forward`](super::rows::forward), [`rows::backward`](super::rows::backward),
//! [`Tables::backward`]) and fills the same buffers, so a test hands both the same input and
//! compares what they write. Sums are taken in f64 over index loops, in the order the formulas
//! below write them, and rounded to f32 once where the fast engine stores f32: what the two
//! disagree by is the fast engine's f32 accumulation (and its summation order), nothing else.
//! No SIMD, no gemm, no threads, no reuse of buffers between stages.
//!
//! # The model and its tables
//!
//! Tokens `t_0 … t_{L−1}` (L = n_ctx, the last position ℓ = L − 1), heads `h`, `√d_head = s`.
//! One layer, no LayerNorm; the loss reads the last position only:
//!
//! ```text
//! R_j[t]   = W_E[t] + W_pos[j]                                      resid  [L·V, d]
//! q[t]_h   = R_ℓ[t]·W_Q[h] + b_Q[h]                                 q      [V, H·dh]
//! k[j,t]_h = R_j[t]·W_K[h] + b_K[h],  v[j,t]_h = R_j[t]·W_V[h] + b_V[h]
//! own[t]   = R_ℓ[t] + b_O
//! O_in[h]  = W_O[h]·W_in,  O_U[h] = W_O[h]·W_U,  W_OU = W_out·W_U
//! S[(j,t), t', h] = q[t']_h · k[j,t]_h / s                          scores
//! P[t]       = own[t]·W_in + b_in          (own rows t < V)         pre
//! G[t]       = own[t]·W_U + b_out·W_U + b_U                         logit
//! P[r(j,t,h)] = v[j,t]_h·O_in[h],  G[r(j,t,h)] = v[j,t]_h·O_U[h]   (head rows)
//! ```
//!
//! # A row's forward
//!
//! ```text
//! A_{h,j}  = softmax_j S[(j,t_j), t_ℓ, h]                           pattern
//! pre      = P[t_ℓ] + Σ_{h,j} A_{h,j}·P[r(j,t_j,h)]
//! hidden   = ReLU(pre)
//! z        = G[t_ℓ] + Σ_{h,j} A_{h,j}·G[r(j,t_j,h)] + hidden·W_OU     logits
//! loss     = (1/n) Σ_rows −log softmax(z)[label]        (log-softmax in f64)
//! ```
//! which is the dense model's `((R_ℓ + attn_out) + MLP(R_ℓ + attn_out))·W_U + b_U` with
//! `attn_out = Σ_h (Σ_j A_{h,j} v[j,t_j]_h)·W_O[h] + b_O`, expanded by linearity ([`dense_loss`]
//! computes it that way, as a check on the expansion).
//!
//! # The gradients
//!
//! Per row, with `δz = (softmax(z) − onehot(label))/n`:
//! ```text
//! δhidden = δz·W_OUᵀ,   δpre = δhidden ⊙ [pre > 0],   δW_OU += hiddenᵀ·δz
//! δP[t_ℓ] += δpre,      δG[t_ℓ] += δz
//! δP[r] += A_{h,j}·δpre, δG[r] += A_{h,j}·δz                      for r = r(j,t_j,h)
//! δA_{h,j} = δpre·P[r] + δz·G[r]
//! δS_{h,j} = A_{h,j}·(δA_{h,j} − Σ_{j'} A_{h,j'}·δA_{h,j'}) / s     (softmax, then the 1/s)
//! δS[(j,t_j), t_ℓ, h] += δS_{h,j}
//! ```
//! Then the tables back to the weights (biases are frozen, spec §3.3):
//! ```text
//! δown[t]  = δP[t]·W_inᵀ + δG[t]·W_Uᵀ
//! δW_in    = Σ_t own[t]ᵀ·δP[t] + Σ_h W_O[h]ᵀ·δO_in[h]
//! δW_U     = Σ_t own[t]ᵀ·δG[t] + b_outᵀ·Σ_t δG[t] + W_outᵀ·δW_OU + Σ_h W_O[h]ᵀ·δO_U[h]
//! δW_out   = δW_OU·W_Uᵀ
//! δv[j,t]_h = δP[r]·O_in[h]ᵀ + δG[r]·O_U[h]ᵀ
//! δO_in[h] = Σ_{j,t} v[j,t]_hᵀ·δP[r],   δO_U[h] = Σ_{j,t} v[j,t]_hᵀ·δG[r]
//! δW_O[h]  = δO_in[h]·W_inᵀ + δO_U[h]·W_Uᵀ
//! δq[t']_h = Σ_{(j,t)} δS[(j,t),t',h]·k[j,t]_h,   δk[j,t]_h = Σ_{t'} δS[(j,t),t',h]·q[t']_h
//! δW_Q[h]  = Σ_t R_ℓ[t]ᵀ·δq[t]_h      (δW_K, δW_V likewise over every (j, t))
//! δR_j[t]  = Σ_h δk[j,t]_h·W_K[h]ᵀ + δv[j,t]_h·W_V[h]ᵀ
//!            + [j = ℓ]·(Σ_h δq[t]_h·W_Q[h]ᵀ + δown[t])
//! δW_E[t]  = Σ_j δR_j[t],   δW_pos[j] = Σ_t δR_j[t]
//! ```

use super::params::{Grads, Weights};
use super::rows::{Activations, Rows};
use super::tables::{Reads, TableGrads, Tables};
use super::{Dims, NamedGradients};
use crate::dataset::Dataset;
use crate::error::Result;
use crate::model::config::TransformerConfig;
use crate::model::state::StateDict;

/// `Σ_i x_i·y_i` in f64.
fn dot(x: impl IntoIterator<Item = f32>, y: impl IntoIterator<Item = f32>) -> f64 {
    x.into_iter().zip(y).map(|(a, b)| a as f64 * b as f64).sum()
}

/// Entry `(row, col)` of a row-major matrix with `cols` columns.
fn at(matrix: &[f32], cols: usize, row: usize, col: usize) -> f32 {
    matrix[row * cols + col]
}

/// `Σ_k x[k]·M[k, c]` for every column `c` of the row-major `M` (`x.len()` rows, `cols` columns).
fn vec_mat(x: &[f32], matrix: &[f32], cols: usize) -> Vec<f64> {
    (0..cols)
        .map(|c| {
            dot(
                x.iter().copied(),
                (0..x.len()).map(|k| at(matrix, cols, k, c)),
            )
        })
        .collect()
}

fn to_f32(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

/// The per-head projection `x·W[h] + b[h]` (`W` is `[n_heads, d_model, d_head]`), all heads side
/// by side: `[n_heads · d_head]`.
fn project(x: &[f32], weight: &[f32], bias: &[f32], dims: &Dims) -> Vec<f32> {
    let (d, dh) = (dims.d_model, dims.d_head);
    let mut out = Vec::with_capacity(dims.n_heads * dh);
    for head in 0..dims.n_heads {
        let w = &weight[head * d * dh..(head + 1) * d * dh];
        for (c, y) in vec_mat(x, w, dh).into_iter().enumerate() {
            out.push((y + bias[head * dh + c] as f64) as f32);
        }
    }
    out
}

/// [`Tables::build`] in plain loops: every table of the module docs, the `pre` and `logit` rows
/// and the scores only where `read` says the data reads them (zero elsewhere, as the fast
/// engine leaves them).
pub(super) fn build_tables(dims: &Dims, w: &Weights<'_>, read: &Reads) -> Tables {
    let Dims {
        d_vocab: v,
        d_vocab_out: o,
        n_ctx,
        n_heads: h,
        d_head: dh,
        d_model: d,
        d_mlp: m,
    } = *dims;
    let (hd, last) = (h * dh, n_ctx - 1);
    let resid: Vec<f32> = (0..n_ctx * v)
        .flat_map(|key| {
            let (j, t) = (key / v, key % v);
            (0..d).map(move |i| w.w_e[t * d + i] + w.w_pos[j * d + i])
        })
        .collect();
    let r = |j: usize, t: usize| &resid[(j * v + t) * d..(j * v + t + 1) * d];
    let q: Vec<f32> = (0..v)
        .flat_map(|t| project(r(last, t), w.w_q, w.b_q, dims))
        .collect();
    let keys = |weight, bias| -> Vec<f32> {
        (0..n_ctx * v)
            .flat_map(|key| project(r(key / v, key % v), weight, bias, dims))
            .collect()
    };
    let (k, values) = (keys(w.w_k, w.b_k), keys(w.w_v, w.b_v));
    let own: Vec<f32> = (0..v)
        .flat_map(|t| (0..d).map(move |i| r(last, t)[i] + w.b_o[i]))
        .collect();
    let o_in = to_f32(
        &(0..hd)
            .flat_map(|row| vec_mat(&w.w_o[row * d..][..d], w.w_in, m))
            .collect::<Vec<_>>(),
    );
    let o_u = to_f32(
        &(0..hd)
            .flat_map(|row| vec_mat(&w.w_o[row * d..][..d], w.w_u, o))
            .collect::<Vec<_>>(),
    );
    let w_ou = to_f32(
        &(0..m)
            .flat_map(|row| vec_mat(&w.w_out[row * d..][..d], w.w_u, o))
            .collect::<Vec<_>>(),
    );

    let n = dims.table_rows();
    let (mut pre, mut logit) = (vec![0.0; n * m], vec![0.0; n * o]);
    let out_bias = vec_mat(w.b_out, w.w_u, o);
    for &t in &read.queries {
        let x = &own[t * d..(t + 1) * d];
        for (c, y) in vec_mat(x, w.w_in, m).into_iter().enumerate() {
            pre[t * m + c] = (y + w.b_in[c] as f64) as f32;
        }
        for (c, y) in vec_mat(x, w.w_u, o).into_iter().enumerate() {
            logit[t * o + c] = (y + out_bias[c] + w.b_u[c] as f64) as f32;
        }
    }
    for key in read.keys.iter().flat_map(|keys| keys.clone()) {
        for head in 0..h {
            let x = &values[key * hd + head * dh..][..dh];
            let row = dims.head_row(key / v, key % v, head);
            let o_in_h = &o_in[head * dh * m..(head + 1) * dh * m];
            let o_u_h = &o_u[head * dh * o..(head + 1) * dh * o];
            pre[row * m..(row + 1) * m].copy_from_slice(&to_f32(&vec_mat(x, o_in_h, m)));
            logit[row * o..(row + 1) * o].copy_from_slice(&to_f32(&vec_mat(x, o_u_h, o)));
        }
    }

    let slots = read.queries.len();
    let mut scores = vec![0.0; n_ctx * v * slots * h];
    for key in 0..n_ctx * v {
        for (slot, &tq) in read.queries.iter().enumerate() {
            for head in 0..h {
                let query = &q[tq * hd + head * dh..][..dh];
                let k_row = &k[key * hd + head * dh..][..dh];
                let s = dot(query.iter().copied(), k_row.iter().copied()) / (dh as f64).sqrt();
                scores[(key * slots + slot) * h + head] = s as f32;
            }
        }
    }
    let mut slot = vec![usize::MAX; v];
    for (i, &t) in read.queries.iter().enumerate() {
        slot[t] = i;
    }
    Tables {
        resid,
        q,
        k,
        v: values,
        own,
        o_in,
        o_u,
        pre,
        logit,
        w_ou,
        scores,
        slot,
        read: read.clone(),
    }
}

/// The table rows row `b` reads, each with its attention weight: `(A_{h,j}, r(j, t_j, h))` in
/// head-major order, the pattern being `acts.pattern`'s row.
fn read_rows<'a>(
    dims: &'a Dims,
    tokens: &'a [u32],
    pattern: &'a [f32],
) -> impl Iterator<Item = (f32, usize)> + 'a {
    let n_ctx = dims.n_ctx;
    (0..dims.n_heads).flat_map(move |head| {
        (0..n_ctx).map(move |j| {
            let weight = pattern[head * n_ctx + j];
            (weight, dims.head_row(j, tokens[j] as usize, head))
        })
    })
}

/// [`rows::forward`](super::rows::forward) row by row: each row's pattern, hidden layer and logits
/// into `acts` (and `δz` with `want_grad`), returning the mean loss.
pub(super) fn forward(
    dims: &Dims,
    tables: &Tables,
    rows: &Rows,
    acts: &mut Activations,
    want_grad: bool,
) -> f64 {
    let Dims {
        d_vocab: v,
        d_vocab_out: o,
        n_ctx,
        n_heads: h,
        d_mlp: m,
        ..
    } = *dims;
    let (n, hp, slots) = (rows.len(), h * n_ctx, tables.query_slots());
    acts.pattern = vec![0.0; n * hp];
    acts.hidden = vec![0.0; n * m];
    acts.logits = vec![0.0; n * o];
    acts.d_logits = vec![0.0; n * o];
    let mut total = 0.0;
    for b in 0..n {
        let tokens = rows.tokens_of(b);
        let tl = tokens[n_ctx - 1] as usize;
        let slot = tables.slot[tl];
        let pattern = &mut acts.pattern[b * hp..(b + 1) * hp];
        for head in 0..h {
            let scores: Vec<f64> = (0..n_ctx)
                .map(|j| {
                    let key = j * v + tokens[j] as usize;
                    tables.scores[(key * slots + slot) * h + head] as f64
                })
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            for (j, s) in scores.iter().enumerate() {
                pattern[head * n_ctx + j] = ((s - max).exp() / sum) as f32;
            }
        }
        let pattern = &acts.pattern[b * hp..(b + 1) * hp];
        let reads: Vec<(f32, usize)> = read_rows(dims, tokens, pattern).collect();
        let hidden = &mut acts.hidden[b * m..(b + 1) * m];
        for (c, x) in hidden.iter_mut().enumerate() {
            let pre = tables.pre[tl * m + c] as f64
                + reads
                    .iter()
                    .map(|&(a, row)| a as f64 * tables.pre[row * m + c] as f64)
                    .sum::<f64>();
            *x = pre.max(0.0) as f32;
        }
        let hidden = &acts.hidden[b * m..(b + 1) * m];
        let logits = &mut acts.logits[b * o..(b + 1) * o];
        for (c, z) in logits.iter_mut().enumerate() {
            let direct = tables.logit[tl * o + c] as f64
                + reads
                    .iter()
                    .map(|&(a, row)| a as f64 * tables.logit[row * o + c] as f64)
                    .sum::<f64>();
            let mlp = dot(
                hidden.iter().copied(),
                (0..m).map(|k| at(&tables.w_ou, o, k, c)),
            );
            *z = (direct + mlp) as f32;
        }
        let (loss, d_logits) = cross_entropy(&acts.logits[b * o..(b + 1) * o], rows.label_of(b));
        total += loss;
        if want_grad {
            for (g, p) in acts.d_logits[b * o..(b + 1) * o].iter_mut().zip(d_logits) {
                *g = (p / n as f64) as f32;
            }
        }
    }
    total / n as f64
}

/// `−log softmax(z)[label]` in f64 and `softmax(z) − onehot(label)`.
fn cross_entropy(z: &[f32], label: usize) -> (f64, Vec<f64>) {
    let max = z
        .iter()
        .map(|&x| x as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = z.iter().map(|&x| (x as f64 - max).exp()).sum();
    let loss = sum.ln() + max - z[label] as f64;
    let mut grad: Vec<f64> = z.iter().map(|&x| (x as f64 - max).exp() / sum).collect();
    grad[label] -= 1.0;
    (loss, grad)
}

/// [`rows::backward`](super::rows::backward) row by row: from the pattern, hidden layer and `δz`
/// that the forward left in `acts`, every table gradient of `dt` (overwritten).
pub(super) fn backward(
    dims: &Dims,
    tables: &Tables,
    rows: &Rows,
    acts: &Activations,
    dt: &mut TableGrads,
) {
    let Dims {
        d_vocab: v,
        d_vocab_out: o,
        n_ctx,
        n_heads: h,
        d_head: dh,
        d_mlp: m,
        ..
    } = *dims;
    let (n, hp, slots) = (rows.len(), h * n_ctx, tables.query_slots());
    let mut d_pre_tab = vec![0.0f64; dt.pre.len()];
    let mut d_logit_tab = vec![0.0f64; dt.logit.len()];
    let mut d_w_ou_t = vec![0.0f64; o * m];
    let mut d_scores = vec![0.0f64; dt.scores.len()];
    for b in 0..n {
        let tokens = rows.tokens_of(b);
        let tl = tokens[n_ctx - 1] as usize;
        let pattern = &acts.pattern[b * hp..(b + 1) * hp];
        let hidden = &acts.hidden[b * m..(b + 1) * m];
        let dz = &acts.d_logits[b * o..(b + 1) * o];
        // δpre = (δz·W_OUᵀ) ⊙ [pre > 0]; δW_OUᵀ += δzᵀ·hidden.
        let d_pre: Vec<f64> = (0..m)
            .map(|k| {
                let d_hidden = dot(
                    dz.iter().copied(),
                    (0..o).map(|c| at(&tables.w_ou, o, k, c)),
                );
                if hidden[k] > 0.0 { d_hidden } else { 0.0 }
            })
            .collect();
        for c in 0..o {
            for k in 0..m {
                d_w_ou_t[c * m + k] += dz[c] as f64 * hidden[k] as f64;
            }
        }
        // The own row of the last token, read with weight 1.
        for k in 0..m {
            d_pre_tab[tl * m + k] += d_pre[k];
        }
        for c in 0..o {
            d_logit_tab[tl * o + c] += dz[c] as f64;
        }
        // The head rows, weighted by the pattern, and δA from the same rows.
        let mut d_pattern = vec![0.0f64; hp];
        for (i, (a, row)) in read_rows(dims, tokens, pattern).enumerate() {
            let a = a as f64;
            for k in 0..m {
                d_pre_tab[row * m + k] += a * d_pre[k];
                d_pattern[i] += d_pre[k] * tables.pre[row * m + k] as f64;
            }
            for c in 0..o {
                d_logit_tab[row * o + c] += a * dz[c] as f64;
                d_pattern[i] += dz[c] as f64 * tables.logit[row * o + c] as f64;
            }
        }
        // Through each head's softmax and the 1/√d_head, onto the score table.
        let slot = tables.slot[tl];
        for head in 0..h {
            let a = &pattern[head * n_ctx..(head + 1) * n_ctx];
            let g = &d_pattern[head * n_ctx..(head + 1) * n_ctx];
            let mean: f64 = a.iter().zip(g).map(|(&a, g)| a as f64 * g).sum();
            for j in 0..n_ctx {
                let key = j * v + tokens[j] as usize;
                let ds = a[j] as f64 * (g[j] - mean) / (dh as f64).sqrt();
                d_scores[(key * slots + slot) * h + head] += ds;
            }
        }
    }
    dt.pre = to_f32(&d_pre_tab);
    dt.logit = to_f32(&d_logit_tab);
    dt.w_ou_t = to_f32(&d_w_ou_t);
    dt.scores = to_f32(&d_scores);
}

/// [`Tables::backward`] in plain loops: the table gradients `dt` carried to every trainable
/// weight's gradient in `grads` (overwritten), by the formulas of the module docs.
pub(super) fn tables_backward(
    dims: &Dims,
    tables: &Tables,
    w: &Weights<'_>,
    dt: &TableGrads,
    grads: &mut Grads,
) {
    let Dims {
        d_vocab: v,
        d_vocab_out: o,
        n_ctx,
        n_heads: h,
        d_head: dh,
        d_model: d,
        d_mlp: m,
    } = *dims;
    let (hd, last, pv) = (h * dh, n_ctx - 1, n_ctx * v);
    let slots = tables.query_slots();
    let mut d_w_in = vec![0.0f64; d * m];
    let mut d_w_u = vec![0.0f64; d * o];
    let mut d_w_out = vec![0.0f64; m * d];
    let mut d_w_o = vec![0.0f64; hd * d];
    let mut d_resid = vec![0.0f64; pv * d];

    // The own rows: P[t] = own[t]·W_in + b_in, G[t] = own[t]·W_U + b_out·W_U + b_U.
    let mut d_g_sum = vec![0.0f64; o];
    for t in 0..v {
        let own = &tables.own[t * d..(t + 1) * d];
        let (dp, dg) = (&dt.pre[t * m..(t + 1) * m], &dt.logit[t * o..(t + 1) * o]);
        for i in 0..d {
            let through_in = dot(dp.iter().copied(), (0..m).map(|k| at(w.w_in, m, i, k)));
            let through_u = dot(dg.iter().copied(), (0..o).map(|c| at(w.w_u, o, i, c)));
            d_resid[(last * v + t) * d + i] += through_in + through_u;
            for k in 0..m {
                d_w_in[i * m + k] += own[i] as f64 * dp[k] as f64;
            }
            for c in 0..o {
                d_w_u[i * o + c] += own[i] as f64 * dg[c] as f64;
            }
        }
        for c in 0..o {
            d_g_sum[c] += dg[c] as f64;
        }
    }
    for i in 0..d {
        for c in 0..o {
            d_w_u[i * o + c] += w.b_out[i] as f64 * d_g_sum[c];
        }
    }

    // W_OU = W_out·W_U.
    for k in 0..m {
        for i in 0..d {
            d_w_out[k * d + i] += dot(
                (0..o).map(|c| dt.w_ou_t[c * m + k]),
                (0..o).map(|c| at(w.w_u, o, i, c)),
            );
        }
    }
    for i in 0..d {
        for c in 0..o {
            d_w_u[i * o + c] += dot(
                (0..m).map(|k| at(w.w_out, d, k, i)),
                (0..m).map(|k| dt.w_ou_t[c * m + k]),
            );
        }
    }

    // The head rows: P[r] = v_h·O_in[h], G[r] = v_h·O_U[h].
    let mut d_values = vec![0.0f64; pv * hd];
    let mut d_o_in = vec![0.0f64; hd * m];
    let mut d_o_u = vec![0.0f64; hd * o];
    for key in 0..pv {
        for head in 0..h {
            let row = dims.head_row(key / v, key % v, head);
            let (dp, dg) = (
                &dt.pre[row * m..(row + 1) * m],
                &dt.logit[row * o..(row + 1) * o],
            );
            for c in 0..dh {
                let hc = head * dh + c;
                let x = tables.v[key * hd + hc] as f64;
                d_values[key * hd + hc] += dot(
                    dp.iter().copied(),
                    (0..m).map(|k| at(&tables.o_in, m, hc, k)),
                ) + dot(
                    dg.iter().copied(),
                    (0..o).map(|k| at(&tables.o_u, o, hc, k)),
                );
                for k in 0..m {
                    d_o_in[hc * m + k] += x * dp[k] as f64;
                }
                for k in 0..o {
                    d_o_u[hc * o + k] += x * dg[k] as f64;
                }
            }
        }
    }
    // O_in = W_O·W_in, O_U = W_O·W_U (all heads stacked: W_O is [H·dh, d]).
    for hc in 0..hd {
        for i in 0..d {
            let mut g = 0.0;
            for k in 0..m {
                g += d_o_in[hc * m + k] * at(w.w_in, m, i, k) as f64;
            }
            for c in 0..o {
                g += d_o_u[hc * o + c] * at(w.w_u, o, i, c) as f64;
            }
            d_w_o[hc * d + i] += g;
            for k in 0..m {
                d_w_in[i * m + k] += at(w.w_o, d, hc, i) as f64 * d_o_in[hc * m + k];
            }
            for c in 0..o {
                d_w_u[i * o + c] += at(w.w_o, d, hc, i) as f64 * d_o_u[hc * o + c];
            }
        }
    }

    // The scores S[(j,t), t', h] = q[t']_h·k[j,t]_h / √d_head (the 1/√d_head is in dt.scores).
    let mut d_q = vec![0.0f64; v * hd];
    let mut d_k = vec![0.0f64; pv * hd];
    for key in 0..pv {
        for (slot, &tq) in tables.read.queries.iter().enumerate() {
            for head in 0..h {
                let g = dt.scores[(key * slots + slot) * h + head] as f64;
                for c in 0..dh {
                    let hc = head * dh + c;
                    d_q[tq * hd + hc] += g * tables.k[key * hd + hc] as f64;
                    d_k[key * hd + hc] += g * tables.q[tq * hd + hc] as f64;
                }
            }
        }
    }

    // The projections x·W[h] + b[h] of the residual tables (the query's of the last position
    // only): each weight's gradient, and the residual's.
    let mut d_q_at = vec![0.0f64; pv * hd];
    d_q_at[last * v * hd..].copy_from_slice(&d_q);
    let mut project_back = |d_out: &[f64], weight: &[f32], grad: &mut [f32]| {
        let mut d_weight = vec![0.0f64; h * d * dh];
        for key in 0..pv {
            let x = &tables.resid[key * d..(key + 1) * d];
            for head in 0..h {
                for i in 0..d {
                    for c in 0..dh {
                        let g = d_out[key * hd + head * dh + c];
                        d_weight[(head * d + i) * dh + c] += x[i] as f64 * g;
                        d_resid[key * d + i] += g * weight[(head * d + i) * dh + c] as f64;
                    }
                }
            }
        }
        grad.copy_from_slice(&to_f32(&d_weight));
    };
    project_back(&d_values, w.w_v, &mut grads.w_v);
    project_back(&d_k, w.w_k, &mut grads.w_k);
    project_back(&d_q_at, w.w_q, &mut grads.w_q);

    // R_j[t] = W_E[t] + W_pos[j].
    let mut d_w_e = vec![0.0f64; v * d];
    let mut d_w_pos = vec![0.0f64; n_ctx * d];
    for j in 0..n_ctx {
        for t in 0..v {
            for i in 0..d {
                let g = d_resid[(j * v + t) * d + i];
                d_w_e[t * d + i] += g;
                d_w_pos[j * d + i] += g;
            }
        }
    }
    grads.w_e = to_f32(&d_w_e);
    grads.w_pos = to_f32(&d_w_pos);
    grads.w_o = to_f32(&d_w_o);
    grads.w_in = to_f32(&d_w_in);
    grads.w_out = to_f32(&d_w_out);
    grads.w_u = to_f32(&d_w_u);
}

/// The training loss of `state` on `data` and its gradients by parameter name, every stage in
/// this module's plain loops (no fast kernel involved): what the fused engine computes, slowly.
pub fn loss_and_gradients(
    config: &TransformerConfig,
    state: &StateDict,
    data: &Dataset,
) -> Result<(f64, NamedGradients)> {
    let dims = Dims::of(config);
    let w = Weights::from_state(state, &dims)?;
    let rows = Rows::new(data, &dims)?;
    let read = super::rows::reads(&dims, &[&rows]);
    let tables = build_tables(&dims, &w, &read);
    let mut acts = Activations::default();
    let loss = forward(&dims, &tables, &rows, &mut acts, true);
    let mut dt = TableGrads::zeros(&dims, &read);
    backward(&dims, &tables, &rows, &acts, &mut dt);
    let mut grads = Grads::zeros(&dims);
    tables_backward(&dims, &tables, &w, &dt, &mut grads);
    let named = grads
        .named()
        .into_iter()
        .map(|(name, g)| (name, g.to_vec()))
        .collect();
    Ok((loss, named))
}

/// The mean loss of the dense model, computed as TransformerLens writes the forward pass (the
/// residual stream per position, attention of the last query over every position, the MLP, the
/// unembedding), all in f64: the check that the tables' expansion is the model.
pub fn dense_loss(config: &TransformerConfig, state: &StateDict, data: &Dataset) -> Result<f64> {
    let dims = Dims::of(config);
    let w = Weights::from_state(state, &dims)?;
    let Dims {
        d_vocab_out: o,
        n_ctx,
        n_heads: h,
        d_head: dh,
        d_model: d,
        d_mlp: m,
        ..
    } = dims;
    let rows = Rows::new(data, &dims)?;
    let f = |x: &[f32]| -> Vec<f64> { x.iter().map(|&v| v as f64).collect() };
    let (w_q, w_k, w_v, w_o) = (f(w.w_q), f(w.w_k), f(w.w_v), f(w.w_o));
    let (w_in, w_out, w_u) = (f(w.w_in), f(w.w_out), f(w.w_u));
    let mut total = 0.0;
    for b in 0..rows.len() {
        let tokens = rows.tokens_of(b);
        let resid: Vec<Vec<f64>> = (0..n_ctx)
            .map(|j| {
                let t = tokens[j] as usize;
                (0..d)
                    .map(|i| (w.w_e[t * d + i] + w.w_pos[j * d + i]) as f64)
                    .collect()
            })
            .collect();
        let head_proj = |x: &[f64], weight: &[f64], bias: &[f32], head: usize| -> Vec<f64> {
            (0..dh)
                .map(|c| {
                    bias[head * dh + c] as f64
                        + (0..d)
                            .map(|i| x[i] * weight[(head * d + i) * dh + c])
                            .sum::<f64>()
                })
                .collect()
        };
        let last = &resid[n_ctx - 1];
        let mut mid: Vec<f64> = (0..d).map(|i| last[i] + w.b_o[i] as f64).collect();
        for head in 0..h {
            let q = head_proj(last, &w_q, w.b_q, head);
            let scores: Vec<f64> = resid
                .iter()
                .map(|x| {
                    let k = head_proj(x, &w_k, w.b_k, head);
                    q.iter().zip(&k).map(|(a, b)| a * b).sum::<f64>() / (dh as f64).sqrt()
                })
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            let mut z = vec![0.0; dh];
            for (x, s) in resid.iter().zip(&scores) {
                let a = (s - max).exp() / sum;
                for (z, v) in z.iter_mut().zip(head_proj(x, &w_v, w.b_v, head)) {
                    *z += a * v;
                }
            }
            for i in 0..d {
                mid[i] += (0..dh)
                    .map(|c| z[c] * w_o[(head * dh + c) * d + i])
                    .sum::<f64>();
            }
        }
        let hidden: Vec<f64> = (0..m)
            .map(|k| {
                let pre = w.b_in[k] as f64 + (0..d).map(|i| mid[i] * w_in[i * m + k]).sum::<f64>();
                pre.max(0.0)
            })
            .collect();
        let post: Vec<f64> = (0..d)
            .map(|i| {
                mid[i]
                    + w.b_out[i] as f64
                    + (0..m).map(|k| hidden[k] * w_out[k * d + i]).sum::<f64>()
            })
            .collect();
        let logits: Vec<f64> = (0..o)
            .map(|c| w.b_u[c] as f64 + (0..d).map(|i| post[i] * w_u[i * o + c]).sum::<f64>())
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = logits.iter().map(|z| (z - max).exp()).sum();
        total += sum.ln() + max - logits[rows.label_of(b)];
    }
    Ok(total / rows.len() as f64)
}
