//! The per-row work: each row's attention pattern and residual stream gathered from the
//! [`Tables`], the MLP and unembedding as three matrix products over all rows, the f64 loss, and
//! the way back: the products' gradients, then each row's gradient scattered onto the table rows
//! it read.
//!
//! The scatter runs per table row (per (position, token) group of rows), never per data row, so
//! threads never write the same memory and every sum is taken in one fixed order: a step gives
//! the same bits whatever the thread count.

use rayon::prelude::*;

use super::Dims;
use super::gemm::{View, ViewMut, matmul};
use super::params::{Grads, Weights};
use super::simd::{axpy, dot};
use super::tables::{TableGrads, Tables};
use crate::error::{Error, Result};
use crate::family::Dataset;

/// Rows processed by one task of the row loops.
const CHUNK: usize = 32;

/// A fixed set of rows (the train or the test split) with its rows grouped by (position, token).
pub struct Rows {
    n: usize,
    tokens: Vec<u32>,
    labels: Vec<u32>,
    /// Rows whose token at position j is t: `members[offsets[j·d_vocab + t]..offsets[.. + 1]]`.
    offsets: Vec<usize>,
    members: Vec<u32>,
}

impl Rows {
    pub fn new(data: &Dataset, dims: &Dims) -> Result<Self> {
        let n = data.len();
        let bad = |what: &str, value: i64, limit: usize| Error::InvalidSetting {
            setting: format!("dataset {what}"),
            value: value.to_string(),
            reason: format!("must lie in 0..{limit} for this model"),
        };
        if data.n_ctx != dims.p || data.tokens.len() != n * dims.p {
            return Err(Error::InvalidSetting {
                setting: "dataset n_ctx".into(),
                value: data.n_ctx.to_string(),
                reason: format!("the model's n_ctx is {}", dims.p),
            });
        }
        let tokens = data
            .tokens
            .iter()
            .map(|&t| u32::try_from(t).ok().filter(|&t| (t as usize) < dims.v))
            .zip(&data.tokens)
            .map(|(ok, &t)| ok.ok_or_else(|| bad("token", t, dims.v)))
            .collect::<Result<Vec<u32>>>()?;
        let labels = data
            .labels
            .iter()
            .map(|&l| {
                u32::try_from(l)
                    .ok()
                    .filter(|&l| (l as usize) < dims.o)
                    .ok_or_else(|| bad("label", l, dims.o))
            })
            .collect::<Result<Vec<u32>>>()?;
        // Counting sort of (position, token) keys; rows stay in order within a group.
        let keys = dims.p * dims.v;
        let mut offsets = vec![0usize; keys + 1];
        for b in 0..n {
            for j in 0..dims.p {
                offsets[j * dims.v + tokens[b * dims.p + j] as usize + 1] += 1;
            }
        }
        for k in 0..keys {
            offsets[k + 1] += offsets[k];
        }
        let mut next = offsets.clone();
        let mut members = vec![0u32; n * dims.p];
        for b in 0..n {
            for j in 0..dims.p {
                let key = j * dims.v + tokens[b * dims.p + j] as usize;
                members[next[key]] = b as u32;
                next[key] += 1;
            }
        }
        Ok(Rows {
            n,
            tokens,
            labels,
            offsets,
            members,
        })
    }

    fn group(&self, key: usize) -> &[u32] {
        &self.members[self.offsets[key]..self.offsets[key + 1]]
    }
}

/// What the forward pass keeps for the backward pass (buffers reused across epochs).
#[derive(Default)]
pub struct Activations {
    /// Attention pattern of the last query: `[n, n_heads · n_ctx]`.
    pattern: Vec<f32>,
    /// Residual stream after attention: `[n, d_model]`.
    resid_mid: Vec<f32>,
    /// MLP activations (post-ReLU): `[n, d_mlp]`.
    post: Vec<f32>,
    /// Residual stream after the MLP: `[n, d_model]`.
    resid_post: Vec<f32>,
    /// Logits at the last position: `[n, d_vocab_out]`.
    logits: Vec<f32>,
    /// Backward scratch: dLoss/dlogits, /dresid_post, /dpre, /dscores.
    d_logits: Vec<f32>,
    d_resid: Vec<f32>,
    d_pre: Vec<f32>,
    d_scores: Vec<f32>,
}

fn sized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buffer.resize(len, 0.0);
    buffer
}

/// The last position's logits of every row, kept in `acts`.
pub fn forward(dims: &Dims, w: &Weights<'_>, tables: &Tables, rows: &Rows, acts: &mut Activations) {
    let Dims {
        v,
        o,
        p,
        h,
        dh,
        d,
        m,
    } = *dims;
    let n = rows.n;
    let hp = h * p;
    let last = p - 1;
    let inv_scale = 1.0 / (dh as f32).sqrt();
    let (rtab, q, k) = (&tables.rtab, &tables.q, &tables.k);

    sized(&mut acts.pattern, n * hp)
        .par_chunks_mut(CHUNK * hp)
        .zip(sized(&mut acts.resid_mid, n * d).par_chunks_mut(CHUNK * d))
        .enumerate()
        .for_each(|(chunk, (pattern, resid))| {
            let rows_here = pattern.chunks_mut(hp).zip(resid.chunks_mut(d));
            for (i, (pattern, resid)) in rows_here.enumerate() {
                let b = chunk * CHUNK + i;
                let t = &rows.tokens[b * p..(b + 1) * p];
                let tl = t[last] as usize;
                for head in 0..h {
                    let query = &q[(tl * h + head) * dh..][..dh];
                    let scores = &mut pattern[head * p..(head + 1) * p];
                    for (j, s) in scores.iter_mut().enumerate() {
                        let key = &k[((j * v + t[j] as usize) * h + head) * dh..][..dh];
                        *s = dot(query, key) * inv_scale;
                    }
                    softmax(scores);
                }
                resid.copy_from_slice(&rtab[tl * d..(tl + 1) * d]);
                for head in 0..h {
                    for j in 0..p {
                        let weight = pattern[head * p + j];
                        let row = v + (j * v + t[j] as usize) * h + head;
                        axpy(weight, &rtab[row * d..(row + 1) * d], resid);
                    }
                }
            }
        });

    // post = ReLU(resid_mid·W_in + b_in); resid_post = resid_mid + post·W_out + b_out;
    // logits = resid_post·W_U + b_U.
    let post = sized(&mut acts.post, n * m);
    matmul(
        ViewMut::new(post, n, m),
        View::new(&acts.resid_mid, n, d),
        View::new(w.w_in, d, m),
        false,
    );
    // The bias joins the ReLU's pass (not a copy before the product: 26 MB of memory traffic).
    post.par_chunks_mut(m).with_min_len(CHUNK).for_each(|row| {
        for (x, b) in row.iter_mut().zip(w.b_in) {
            *x = (*x + b).max(0.0);
        }
    });
    let resid_post = sized(&mut acts.resid_post, n * d);
    for (out, mid) in resid_post.chunks_mut(d).zip(acts.resid_mid.chunks(d)) {
        for ((o, x), b) in out.iter_mut().zip(mid).zip(w.b_out) {
            *o = x + b;
        }
    }
    matmul(
        ViewMut::new(resid_post, n, d),
        View::new(&acts.post, n, m),
        View::new(w.w_out, m, d),
        true,
    );
    let logits = sized(&mut acts.logits, n * o);
    matmul(
        ViewMut::new(logits, n, o),
        View::new(&acts.resid_post, n, d),
        View::new(w.w_u, d, o),
        false,
    );
    if w.b_u.iter().any(|&b| b != 0.0) {
        logits
            .par_chunks_mut(o)
            .with_min_len(CHUNK)
            .for_each(|row| {
                for (x, b) in row.iter_mut().zip(w.b_u) {
                    *x += b;
                }
            });
    }
}

/// Softmax in place, in f32 as TransformerLens computes the attention pattern.
fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}

/// Mean cross-entropy of the labels under the logits, with the log-softmax in f64 (MIScope's
/// `compute_loss`); with `want_grad`, also leaves dLoss/dlogits (f64, cast to f32) in `acts`.
pub fn loss(dims: &Dims, rows: &Rows, acts: &mut Activations, want_grad: bool) -> f64 {
    let o = dims.o;
    let n = rows.n;
    let mut per_row = vec![0.0f64; n];
    let scale = 1.0 / n as f64;
    let logits = &acts.logits;
    // -log softmax(z)[label] for row b; with `grad`, also (softmax(z) - onehot(label)) / n, from
    // the same exponentials (kept in f64 in `exps`: in f32 the label's p - 1 would cancel).
    let row_loss = |b: usize, exps: &mut [f64], grad: Option<&mut [f32]>| -> f64 {
        let z = &logits[b * o..(b + 1) * o];
        let max = z.iter().fold(f64::NEG_INFINITY, |a, &x| a.max(x as f64));
        let mut sum = 0.0;
        for (e, &x) in exps.iter_mut().zip(z) {
            *e = (x as f64 - max).exp();
            sum += *e;
        }
        let label = rows.labels[b] as usize;
        if let Some(grad) = grad {
            for (c, (g, e)) in grad.iter_mut().zip(exps.iter()).enumerate() {
                let target = if c == label { 1.0 } else { 0.0 };
                *g = ((e / sum - target) * scale) as f32;
            }
        }
        sum.ln() + max - z[label] as f64
    };
    let grads = want_grad.then(|| sized(&mut acts.d_logits, n * o));
    match grads {
        Some(grads) => per_row
            .par_chunks_mut(CHUNK)
            .zip(grads.par_chunks_mut(CHUNK * o))
            .enumerate()
            .for_each(|(chunk, (losses, grads))| {
                let mut exps = vec![0.0; o];
                for (i, (l, g)) in losses.iter_mut().zip(grads.chunks_mut(o)).enumerate() {
                    *l = row_loss(chunk * CHUNK + i, &mut exps, Some(g));
                }
            }),
        None => per_row
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(chunk, losses)| {
                let mut exps = vec![0.0; o];
                for (i, l) in losses.iter_mut().enumerate() {
                    *l = row_loss(chunk * CHUNK + i, &mut exps, None);
                }
            }),
    }
    // Summed in row order on one thread: the same bits for any thread count.
    per_row.iter().sum::<f64>() * scale
}

/// Gradients of the loss left by [`loss`]: `W_U`, `W_out` and `W_in` into `grads`, the rest onto
/// the tables' rows (returned), which [`Tables::backward`] carries to the remaining weights.
pub fn backward(
    dims: &Dims,
    w: &Weights<'_>,
    tables: &Tables,
    rows: &Rows,
    acts: &mut Activations,
    grads: &mut Grads,
) -> TableGrads {
    let Dims {
        v,
        o,
        p,
        h,
        dh,
        d,
        m,
    } = *dims;
    let n = rows.n;
    let hp = h * p;
    let last = p - 1;
    let inv_scale = 1.0 / (dh as f32).sqrt();

    let d_logits = View::new(&acts.d_logits, n, o);
    matmul(
        ViewMut::new(&mut grads.w_u, d, o),
        View::new(&acts.resid_post, n, d).t(),
        d_logits,
        false,
    );
    let d_resid = sized(&mut acts.d_resid, n * d);
    matmul(
        ViewMut::new(d_resid, n, d),
        d_logits,
        View::new(w.w_u, d, o).t(),
        false,
    );
    matmul(
        ViewMut::new(&mut grads.w_out, m, d),
        View::new(&acts.post, n, m).t(),
        View::new(&acts.d_resid, n, d),
        false,
    );
    let d_pre = sized(&mut acts.d_pre, n * m);
    matmul(
        ViewMut::new(d_pre, n, m),
        View::new(&acts.d_resid, n, d),
        View::new(w.w_out, m, d).t(),
        false,
    );
    let post = &acts.post;
    d_pre
        .par_chunks_mut(CHUNK * m)
        .zip(post.par_chunks(CHUNK * m))
        .for_each(|(g, x)| {
            for (g, &x) in g.iter_mut().zip(x) {
                if x <= 0.0 {
                    *g = 0.0;
                }
            }
        });
    // pre = resid_mid·W_in + b_in; resid_mid also feeds resid_post directly.
    matmul(
        ViewMut::new(&mut grads.w_in, d, m),
        View::new(&acts.resid_mid, n, d).t(),
        View::new(&acts.d_pre, n, m),
        false,
    );
    matmul(
        ViewMut::new(&mut acts.d_resid, n, d),
        View::new(&acts.d_pre, n, m),
        View::new(w.w_in, d, m).t(),
        true,
    );

    // Per row: dLoss/dpattern through the gathered sum and the softmax, scaled by 1/√d_head for
    // the scores' q·k.
    let rtab = &tables.rtab;
    let (pattern, d_resid) = (&acts.pattern, &acts.d_resid);
    sized(&mut acts.d_scores, n * hp)
        .par_chunks_mut(hp)
        .enumerate()
        .with_min_len(CHUNK)
        .for_each(|(b, d_scores)| {
            let d_res = &d_resid[b * d..(b + 1) * d];
            let t = &rows.tokens[b * p..(b + 1) * p];
            for head in 0..h {
                let weights = &pattern[b * hp + head * p..][..p];
                let ds = &mut d_scores[head * p..(head + 1) * p];
                for (j, g) in ds.iter_mut().enumerate() {
                    let row = v + (j * v + t[j] as usize) * h + head;
                    *g = dot(d_res, &rtab[row * d..(row + 1) * d]);
                }
                let mean: f32 = weights.iter().zip(ds.iter()).map(|(a, g)| a * g).sum();
                for (g, a) in ds.iter_mut().zip(weights) {
                    *g = a * (*g - mean) * inv_scale;
                }
            }
        });

    // Scatter onto table rows, one task per (position, token) group.
    let mut dt = TableGrads::zeros(dims);
    let d_scores = &acts.d_scores;
    let (q, k) = (&tables.q, &tables.k);
    let hd = h * dh;
    let (own_r, heads_r) = dt.rtab.split_at_mut(v * d);
    heads_r
        .par_chunks_mut(h * d)
        .zip(dt.k.par_chunks_mut(hd))
        .enumerate()
        .for_each(|(key, (gr, gk))| {
            let j = key / v;
            for &b in rows.group(key) {
                let b = b as usize;
                let tl = rows.tokens[b * p + last] as usize;
                for head in 0..h {
                    let a = pattern[b * hp + head * p + j];
                    axpy(a, &d_resid[b * d..(b + 1) * d], &mut gr[head * d..][..d]);
                    let ds = d_scores[b * hp + head * p + j];
                    axpy(
                        ds,
                        &q[(tl * h + head) * dh..][..dh],
                        &mut gk[head * dh..][..dh],
                    );
                }
            }
        });
    own_r
        .par_chunks_mut(d)
        .zip(dt.q.par_chunks_mut(hd))
        .enumerate()
        .for_each(|(tl, (gr, gq))| {
            for &b in rows.group(last * v + tl) {
                let b = b as usize;
                axpy(1.0, &d_resid[b * d..(b + 1) * d], gr);
                let t = &rows.tokens[b * p..(b + 1) * p];
                for head in 0..h {
                    for j in 0..p {
                        let ds = d_scores[b * hp + head * p + j];
                        let key = &k[((j * v + t[j] as usize) * h + head) * dh..][..dh];
                        axpy(ds, key, &mut gq[head * dh..][..dh]);
                    }
                }
            }
        });
    dt
}
