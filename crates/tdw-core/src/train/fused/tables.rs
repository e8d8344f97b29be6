//! Per-token tables: everything a row's forward needs that depends on one token only.
//!
//! With one layer and no LayerNorm, the residual stream at position j is `R_j[t] = W_E[t] +
//! W_pos[j]`, a function of one token. So keys, values and the query are per-token tables
//! (`d_vocab` rows each). A row's residual stream after attention is the last position's own
//! term `R_L[t] + b_O` plus, per head h and position j, the attention-weighted value
//! `V_h[j, t]·W_O[h]`.
//!
//! Both places the residual stream is read are linear, so what a row needs of them is tables
//! too, stacked in `N = d_vocab + n_ctx · d_vocab · n_heads` rows:
//! - row `t` (`t < d_vocab`): the own term through the MLP's input, `(R_L[t] + b_O)·W_in +
//!   b_in`, and straight to the logits, `(R_L[t] + b_O)·W_U + b_out·W_U + b_U`;
//! - row `d_vocab + (j · d_vocab + t) · n_heads + h`: head h's value of token t at position j
//!   through `W_O[h]·W_in` and through `W_O[h]·W_U` (d_head-wide products: the write-out is
//!   folded into the read-in once per step instead of being 128 wide on every row).
//!
//! A row's pre-activation and direct logits are then weighted sums of table rows instead of
//! 128×512 and 128×113 products, and the only dense work left per row is
//! `ReLU(pre)·(W_out·W_U)`. Only the table rows some row reads are computed ([`Reads`]): at
//! p = 113, 909 of the 1,482.
//!
//! A row reads `1 + n_heads · n_ctx` table rows, the constant "=" position's included, and
//! weights them by its f32 attention pattern, `Σ_j w_j·T_j`, as the dense model does. (An earlier
//! version folded a position whose token every row shares into the own rows, `T_c + Σ_{j≠c}
//! w_j·(T_j − T_c)`, exact when the weights sum to one and 4 reads a row cheaper. Its gradients
//! matched burn's as closely at every checkpoint tried, yet trained that way the p = 59,
//! fraction 0.5 variant climbed back after grokking in 18 of 18 perturbed runs, against 3 of 8
//! unfolded, 3 of 7 burn, 3 of 5 PyTorch; see BENCHMARKS.md, "Fidelity of the cleanup phase".)
//!
//! The attention scores are a table as well: a score is the last token's query against one
//! (position, token)'s key, so with few distinct last tokens (one, "=", in modular addition)
//! there are `queries · n_ctx · d_vocab · n_heads` scores in all, computed once per set of
//! weights instead of `n_heads · n_ctx` dot products per row.

use std::ops::Range;

use super::Dims;
use super::params::{Grads, Weights};
use rayon::prelude::*;

use crate::kernels::linalg::{View, ViewMut, matmul_here};
use crate::kernels::simd::{axpy, dot};

/// What the data reads of the tables, fixed by the train and test rows.
#[derive(Debug, Clone)]
pub struct Reads {
    /// The last-position tokens present (sorted): their own rows are read, and their queries
    /// meet every key (one slot of the score table each).
    pub queries: Vec<usize>,
    /// Runs of the (position, token) keys present, `j · d_vocab + t` (sorted, disjoint): their
    /// `n_heads` rows are read.
    pub keys: Vec<Range<usize>>,
}

impl Reads {
    /// The score-table slot of each token as a last token (`usize::MAX` where absent).
    fn slots(&self, v: usize) -> Vec<usize> {
        let mut slot = vec![usize::MAX; v];
        for (i, &t) in self.queries.iter().enumerate() {
            slot[t] = i;
        }
        slot
    }

    /// The own rows read, as runs.
    fn own_runs(&self) -> Vec<Range<usize>> {
        runs(self.queries.iter().map(|&t| t..t + 1))
    }

    /// Stacked-table rows read (the own rows and `n_heads` per key).
    pub fn table_rows(&self, h: usize) -> usize {
        self.queries.len() + h * self.keys.iter().map(|keys| keys.len()).sum::<usize>()
    }
}

/// Adjacent ranges merged.
pub fn runs(ranges: impl IntoIterator<Item = Range<usize>>) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    for range in ranges {
        match runs.last_mut() {
            Some(run) if run.end == range.start => run.end = range.end,
            _ => runs.push(range),
        }
    }
    runs
}

/// The tables of one set of weights.
pub struct Tables {
    /// `R_j[t]` for every position j and token t: `[n_ctx · d_vocab, d_model]`.
    pub resid: Vec<f32>,
    /// The last position's query per token: `[d_vocab, n_heads · d_head]`.
    pub q: Vec<f32>,
    /// Keys per (position, token): `[n_ctx · d_vocab, n_heads · d_head]`.
    pub k: Vec<f32>,
    /// Values per (position, token): `[n_ctx · d_vocab, n_heads · d_head]`.
    pub v: Vec<f32>,
    /// The last position's own term `R_L[t] + b_O`: `[d_vocab, d_model]`.
    pub own: Vec<f32>,
    /// Each head's write-out seen by the MLP, `W_O[h]·W_in`: `[n_heads · d_head, d_mlp]`.
    pub o_in: Vec<f32>,
    /// Each head's write-out seen by the logits, `W_O[h]·W_U`: `[n_heads · d_head, d_vocab_out]`.
    pub o_u: Vec<f32>,
    /// The stacked terms through the MLP's input: `[N, d_mlp]` (layout in the module docs).
    pub pre: Vec<f32>,
    /// The stacked terms straight to the logits: `[N, d_vocab_out]`.
    pub logit: Vec<f32>,
    /// `W_out·W_U`, the MLP's write-out seen by the logits: `[d_mlp, d_vocab_out]`.
    pub w_ou: Vec<f32>,
    /// Attention scores `q·k/√d_head` of each query slot against each (position, token)'s key:
    /// `[n_ctx · d_vocab, queries, n_heads]`.
    pub scores: Vec<f32>,
    /// Each token's query slot as a last token (`usize::MAX` where no row ends in it).
    pub slot: Vec<usize>,
    /// What the data reads of them.
    pub(super) read: Reads,
}

/// Gradients of the loss with respect to the tables, filled by the row backward pass.
pub struct TableGrads {
    /// dLoss/d`pre` table rows: `[N, d_mlp]`.
    pub pre: Vec<f32>,
    /// dLoss/d`logit` table rows: `[N, d_vocab_out]`.
    pub logit: Vec<f32>,
    /// dLoss/d`w_ou`, transposed (`Σ_rows dlogitsᵀ·ReLU(pre)`): `[d_vocab_out, d_mlp]`.
    pub w_ou_t: Vec<f32>,
    /// dLoss/d`scores`, laid out as the scores.
    pub scores: Vec<f32>,
}

impl TableGrads {
    pub fn zeros(dims: &Dims, read: &Reads) -> Self {
        let n = dims.table_rows();
        TableGrads {
            pre: vec![0.0; n * dims.d_mlp],
            logit: vec![0.0; n * dims.d_vocab_out],
            w_ou_t: vec![0.0; dims.d_vocab_out * dims.d_mlp],
            scores: vec![0.0; dims.n_ctx * dims.d_vocab * read.queries.len() * dims.n_heads],
        }
    }
}

/// What the own rows pass back: the last position's residual gradient `[d_vocab, d_model]`,
/// and their terms of W_in's and W_U's.
struct OwnBack {
    d_last: Vec<f32>,
    w_in: Vec<f32>,
    w_u: Vec<f32>,
}

/// One head's stacked rows for a run of keys: `[keys, width]` with a row stride of
/// `n_heads · width`.
fn head_rows<'a>(
    table: &'a [f32],
    dims: &Dims,
    keys: &Range<usize>,
    head: usize,
    width: usize,
) -> View<'a> {
    let first = dims.head_row(0, keys.start, head) * width;
    View::strided(&table[first..], keys.len(), width, dims.n_heads * width)
}

/// Disjoint mutable pieces of `table` at `stretches` (sorted, non-overlapping).
fn carve<'a>(mut table: &'a mut [f32], stretches: &[Range<usize>]) -> Vec<&'a mut [f32]> {
    let mut pieces = Vec::with_capacity(stretches.len());
    let mut at = 0;
    for stretch in stretches {
        let (_, rest) = std::mem::take(&mut table).split_at_mut(stretch.start - at);
        let (piece, rest) = rest.split_at_mut(stretch.len());
        pieces.push(piece);
        table = rest;
        at = stretch.end;
    }
    pieces
}

/// A per-head projection `[n_heads, d_model, d_head]` as one `[d_model, n_heads · d_head]`
/// matrix (head h in columns `h · d_head..`), so that all heads project in one product.
fn side_by_side(weight: &[f32], dims: &Dims) -> Vec<f32> {
    let (d, dh, hd) = (dims.d_model, dims.d_head, dims.n_heads * dims.d_head);
    let mut side = vec![0.0; d * hd];
    for (head, block) in weight.chunks(d * dh).enumerate() {
        for (row, w) in side.chunks_mut(hd).zip(block.chunks(dh)) {
            row[head * dh..(head + 1) * dh].copy_from_slice(w);
        }
    }
    side
}

/// The inverse of [`side_by_side`], into `stacked`.
fn stack_heads(side: &[f32], stacked: &mut [f32], dims: &Dims) {
    let (d, dh, hd) = (dims.d_model, dims.d_head, dims.n_heads * dims.d_head);
    for (head, block) in stacked.chunks_mut(d * dh).enumerate() {
        for (row, w) in side.chunks(hd).zip(block.chunks_mut(dh)) {
            w.copy_from_slice(&row[head * dh..(head + 1) * dh]);
        }
    }
}

impl Tables {
    /// The tables of `w`; `pre` and `logit` only on the rows in `read`, scores only for its
    /// queries.
    pub fn build(dims: &Dims, w: &Weights<'_>, read: &Reads) -> Self {
        let Dims {
            d_vocab: v,
            d_vocab_out: o,
            n_ctx,
            n_heads: h,
            d_head: dh,
            d_model: d,
            d_mlp: m,
        } = *dims;
        let (hd, pv, n) = (h * dh, n_ctx * v, dims.table_rows());
        let mut tables = Tables {
            resid: vec![0.0; pv * d],
            q: vec![0.0; v * hd],
            k: vec![0.0; pv * hd],
            v: vec![0.0; pv * hd],
            own: vec![0.0; v * d],
            o_in: vec![0.0; hd * m],
            o_u: vec![0.0; hd * o],
            pre: vec![0.0; n * m],
            logit: vec![0.0; n * o],
            w_ou: vec![0.0; m * o],
            scores: vec![0.0; pv * read.queries.len() * h],
            slot: read.slots(v),
            read: read.clone(),
        };
        tables.rebuild(dims, w);
        tables
    }

    /// Rewrites the tables for new weights `w`, in place: every entry the data reads is
    /// overwritten, and the rows it never reads stay zero, so no buffer is allocated or cleared
    /// again (each step would otherwise zero ~8 MB).
    pub fn rebuild(&mut self, dims: &Dims, w: &Weights<'_>) {
        let Dims {
            d_vocab: v,
            d_vocab_out: o,
            n_ctx,
            n_heads: h,
            d_head: dh,
            d_model: d,
            d_mlp: m,
        } = *dims;
        let hd = h * dh;
        let pv = n_ctx * v;
        let Tables {
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
            slot: _,
            read,
        } = self;
        for j in 0..n_ctx {
            let pos = &w.w_pos[j * d..(j + 1) * d];
            for t in 0..v {
                let row = &mut resid[(j * v + t) * d..][..d];
                for ((r, e), q) in row.iter_mut().zip(&w.w_e[t * d..(t + 1) * d]).zip(pos) {
                    *r = e + q;
                }
            }
        }
        let last = &resid[(n_ctx - 1) * v * d..pv * d];

        let project = |out: &mut [f32], x: &[f32], weight: &[f32], bias: &[f32]| {
            let rows = x.len() / d;
            let weight = side_by_side(weight, dims);
            matmul_here(
                ViewMut::new(out, rows, hd),
                View::new(x, rows, d),
                View::new(&weight, d, hd),
                false,
            );
            for row in out.chunks_mut(hd) {
                for (o, b) in row.iter_mut().zip(bias) {
                    *o += b;
                }
            }
        };
        // Independent products side by side, each on one thread (see `backward`).
        let w_o = View::new(w.w_o, hd, d);
        rayon::join(
            || {
                rayon::join(
                    || project(q, last, w.w_q, w.b_q),
                    || project(k, resid, w.w_k, w.b_k),
                )
            },
            || {
                rayon::join(
                    || project(values, resid, w.w_v, w.b_v),
                    || {
                        // W_O is [n_heads · d_head, d_model]: every head's write-out read in
                        // at once; and the MLP's write-out seen by the logits.
                        let (w_in, w_u) = (View::new(w.w_in, d, m), View::new(w.w_u, d, o));
                        matmul_here(ViewMut::new(o_in, hd, m), w_o, w_in, false);
                        matmul_here(ViewMut::new(o_u, hd, o), w_o, w_u, false);
                        let w_out = View::new(w.w_out, m, d);
                        matmul_here(ViewMut::new(w_ou, m, o), w_out, w_u, false);
                    },
                )
            },
        );
        let inv_scale = 1.0 / (dh as f32).sqrt();
        let mut score = scores.iter_mut();
        for key in 0..pv {
            for &tl in &read.queries {
                for head in 0..h {
                    let query = &q[(tl * h + head) * dh..][..dh];
                    let s = score.next().expect("sized for every key, query and head");
                    *s = dot(query, &k[(key * h + head) * dh..][..dh]) * inv_scale;
                }
            }
        }

        for (row, r) in own.chunks_mut(d).zip(last.chunks(d)) {
            for ((o, x), b) in row.iter_mut().zip(r).zip(w.b_o) {
                *o = x + b;
            }
        }

        // The constant terms ride on the own rows, which every data row reads exactly once.
        let mut out_bias = w.b_u.to_vec();
        matmul_here(
            ViewMut::new(&mut out_bias, 1, o),
            View::new(w.b_out, 1, d),
            View::new(w.w_u, d, o),
            true,
        );
        // Own rows `x` (`[len, d_model]`) through a weight `[d_model, width]`, plus a bias row.
        let through = |into: &mut [f32], x: &[f32], weight: &[f32], bias: &[f32]| {
            let (len, width) = (x.len() / d, bias.len());
            let (x, weight) = (View::new(x, len, d), View::new(weight, d, width));
            matmul_here(ViewMut::new(into, len, width), x, weight, false);
            for row in into.chunks_mut(width) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
        };
        for rows in read.own_runs() {
            let x = &own[rows.start * d..rows.end * d];
            through(&mut pre[rows.start * m..rows.end * m], x, w.w_in, w.b_in);
            through(
                &mut logit[rows.start * o..rows.end * o],
                x,
                w.w_u,
                &out_bias,
            );
        }
        // The head rows, in pieces of up to 32 keys (each piece's rows of all heads are one
        // stretch of the stacked tables) side by side.
        let pieces: Vec<Range<usize>> = read
            .keys
            .iter()
            .flat_map(|keys| keys.clone().step_by(32).map(|s| s..(s + 32).min(keys.end)))
            .collect();
        let stretches = |width: usize| {
            pieces
                .iter()
                .map(|keys| {
                    dims.head_row(0, keys.start, 0) * width..dims.head_row(0, keys.end, 0) * width
                })
                .collect::<Vec<_>>()
        };
        let (pre_pieces, logit_pieces) = (carve(pre, &stretches(m)), carve(logit, &stretches(o)));
        pieces
            .par_iter()
            .zip(pre_pieces)
            .zip(logit_pieces)
            .for_each(|((keys, pre), logit)| {
                for head in 0..h {
                    let len = keys.len();
                    let x = View::strided(&values[keys.start * hd + head * dh..], len, dh, hd);
                    let (o_in, o_u) = (
                        View::new(&o_in[head * dh * m..][..dh * m], dh, m),
                        View::new(&o_u[head * dh * o..][..dh * o], dh, o),
                    );
                    let into_pre = ViewMut::strided(&mut pre[head * m..], len, m, h * m);
                    matmul_here(into_pre, x, o_in, false);
                    let into_logit = ViewMut::strided(&mut logit[head * o..], len, o, h * o);
                    matmul_here(into_logit, x, o_u, false);
                }
            });
    }

    /// Distinct last tokens, each a slot of `scores`.
    pub fn query_slots(&self) -> usize {
        self.read.queries.len()
    }

    /// Carries the tables' gradients back to every trainable weight.
    ///
    /// The work is ~40 small products (the largest 342×625×32). Split across threads each ran
    /// slower than on one, so each runs on one thread and independent ones run side by side:
    /// first the own rows, the heads' rows (one task per head), the scores and `W_out·W_U`;
    /// then the write-outs and the three projections.
    pub fn backward(&self, dims: &Dims, w: &Weights<'_>, dt: &TableGrads, grads: &mut Grads) {
        let Dims {
            d_vocab: v,
            d_vocab_out: o,
            n_ctx,
            n_heads: h,
            d_head: dh,
            d_model: d,
            d_mlp: m,
        } = *dims;
        let hd = h * dh;
        let last = (n_ctx - 1) * v * d;
        let Grads {
            w_e,
            w_pos,
            w_q,
            w_o: grad_w_o,
            w_k,
            w_v,
            w_in: grad_w_in,
            w_out: grad_w_out,
            w_u: grad_w_u,
        } = grads;

        let ((own, (d_values, d_o_in, d_o_u)), ((d_q, d_k), w_ou_u)) = rayon::join(
            || rayon::join(|| self.own_back(dims, w, dt), || self.heads_back(dims, dt)),
            || {
                rayon::join(
                    || self.scores_back(dims, dt),
                    || {
                        // w_ou = W_out·W_U.
                        let d_w_ou = View::new(&dt.w_ou_t, o, m).t();
                        let (w_out, w_u) = (View::new(w.w_out, m, d), View::new(w.w_u, d, o));
                        let mut into_u = vec![0.0; d * o];
                        matmul_here(ViewMut::new(&mut into_u, d, o), w_out.t(), d_w_ou, false);
                        matmul_here(ViewMut::new(grad_w_out, m, d), d_w_ou, w_u.t(), false);
                        into_u
                    },
                )
            },
        );

        let write_outs = || {
            // o_in = W_O·W_in and o_u = W_O·W_U, all heads at once; the own rows' W_in and
            // W_U terms, W_out·W_U's, and b_out·W_U's, which reached every row once through
            // the own rows.
            let (d_o_in, d_o_u) = (View::new(&d_o_in, hd, m), View::new(&d_o_u, hd, o));
            let w_o = View::new(w.w_o, hd, d);
            let (w_in, w_u) = (View::new(w.w_in, d, m), View::new(w.w_u, d, o));
            matmul_here(ViewMut::new(grad_w_o, hd, d), d_o_in, w_in.t(), false);
            matmul_here(ViewMut::new(grad_w_o, hd, d), d_o_u, w_u.t(), true);
            grad_w_in.copy_from_slice(&own.w_in);
            matmul_here(ViewMut::new(grad_w_in, d, m), w_o.t(), d_o_in, true);
            grad_w_u.copy_from_slice(&own.w_u);
            axpy(1.0, &w_ou_u, grad_w_u);
            matmul_here(ViewMut::new(grad_w_u, d, o), w_o.t(), d_o_u, true);
            let mut d_out_bias = vec![0.0; o];
            for row in dt.logit[..v * o].chunks(o) {
                axpy(1.0, row, &mut d_out_bias);
            }
            matmul_here(
                ViewMut::new(grad_w_u, d, o),
                View::new(w.b_out, d, 1),
                View::new(&d_out_bias, 1, o),
                true,
            );
        };
        // Projections x·W[h] + b[h] of the residual tables: values and keys over all
        // positions, the query over the last one; each returns its input gradient.
        let project_back = |x: &[f32], d_out: &[f32], weight: &[f32], d_weight: &mut [f32]| {
            let rows = x.len() / d;
            let d_out = View::new(d_out, rows, hd);
            let mut d_side = vec![0.0; d * hd];
            let x = View::new(x, rows, d);
            matmul_here(ViewMut::new(&mut d_side, d, hd), x.t(), d_out, false);
            stack_heads(&d_side, d_weight, dims);
            let weight = side_by_side(weight, dims);
            let mut d_x = vec![0.0; rows * d];
            let weight = View::new(&weight, d, hd);
            matmul_here(ViewMut::new(&mut d_x, rows, d), d_out, weight.t(), false);
            d_x
        };
        let ((_, d_from_values), (d_from_keys, d_from_query)) = rayon::join(
            || {
                rayon::join(write_outs, || {
                    project_back(&self.resid, &d_values, w.w_v, w_v)
                })
            },
            || {
                rayon::join(
                    || project_back(&self.resid, &d_k, w.w_k, w_k),
                    || project_back(&self.resid[last..], &d_q, w.w_q, w_q),
                )
            },
        );

        // R_j[t] = W_E[t] + W_pos[j]: the residual gradient is the values', the keys', and at
        // the last position the query's and the own rows'.
        let mut d_resid = d_from_values;
        axpy(1.0, &d_from_keys, &mut d_resid);
        axpy(1.0, &d_from_query, &mut d_resid[last..]);
        axpy(1.0, &own.d_last, &mut d_resid[last..]);
        w_e.fill(0.0);
        w_pos.fill(0.0);
        for j in 0..n_ctx {
            for t in 0..v {
                let row = &d_resid[(j * v + t) * d..][..d];
                axpy(1.0, row, &mut w_e[t * d..(t + 1) * d]);
                axpy(1.0, row, &mut w_pos[j * d..(j + 1) * d]);
            }
        }
    }

    /// The own rows' gradients: pre = own·W_in (+ b_in), logit = own·W_U (+ b_out·W_U + b_U),
    /// and own = R_L + b_O, so their input gradient is the last position's dR.
    fn own_back(&self, dims: &Dims, w: &Weights<'_>, dt: &TableGrads) -> OwnBack {
        let Dims {
            d_vocab: v,
            d_vocab_out: o,
            d_model: d,
            d_mlp: m,
            ..
        } = *dims;
        let mut out = OwnBack {
            d_last: vec![0.0; v * d],
            w_in: vec![0.0; d * m],
            w_u: vec![0.0; d * o],
        };
        for rows in self.read.own_runs() {
            let len = rows.len();
            let x = View::new(&self.own[rows.start * d..rows.end * d], len, d);
            let d_pre = View::new(&dt.pre[rows.start * m..rows.end * m], len, m);
            let d_logit = View::new(&dt.logit[rows.start * o..rows.end * o], len, o);
            let d_x = &mut out.d_last[rows.start * d..rows.end * d];
            let (w_in, w_u) = (View::new(w.w_in, d, m), View::new(w.w_u, d, o));
            matmul_here(ViewMut::new(d_x, len, d), d_pre, w_in.t(), true);
            matmul_here(ViewMut::new(d_x, len, d), d_logit, w_u.t(), true);
            matmul_here(ViewMut::new(&mut out.w_in, d, m), x.t(), d_pre, true);
            matmul_here(ViewMut::new(&mut out.w_u, d, o), x.t(), d_logit, true);
        }
        out
    }

    /// The head rows' gradients, pre = V_h·(W_O[h]·W_in) and logit = V_h·(W_O[h]·W_U), one
    /// task per head: the values' gradients `[n_ctx · d_vocab, n_heads · d_head]` and the
    /// write-outs' (`o_in`, `o_u` layouts).
    fn heads_back(&self, dims: &Dims, dt: &TableGrads) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let Dims {
            d_vocab: v,
            d_vocab_out: o,
            n_ctx,
            n_heads: h,
            d_head: dh,
            d_mlp: m,
            ..
        } = *dims;
        let (hd, pv) = (h * dh, n_ctx * v);
        let mut d_o_in = vec![0.0; hd * m];
        let mut d_o_u = vec![0.0; hd * o];
        let per_head: Vec<Vec<f32>> = d_o_in
            .par_chunks_mut(dh * m)
            .zip(d_o_u.par_chunks_mut(dh * o))
            .enumerate()
            .map(|(head, (d_o_in, d_o_u))| {
                let (o_in, o_u) = (
                    View::new(&self.o_in[head * dh * m..][..dh * m], dh, m),
                    View::new(&self.o_u[head * dh * o..][..dh * o], dh, o),
                );
                let mut d_values = vec![0.0; pv * dh];
                for keys in &self.read.keys {
                    let len = keys.len();
                    let x = View::strided(&self.v[keys.start * hd + head * dh..], len, dh, hd);
                    let d_pre = head_rows(&dt.pre, dims, keys, head, m);
                    let d_logit = head_rows(&dt.logit, dims, keys, head, o);
                    let d_x = &mut d_values[keys.start * dh..keys.end * dh];
                    matmul_here(ViewMut::new(d_x, len, dh), d_pre, o_in.t(), false);
                    matmul_here(ViewMut::new(d_x, len, dh), d_logit, o_u.t(), true);
                    matmul_here(ViewMut::new(d_o_in, dh, m), x.t(), d_pre, true);
                    matmul_here(ViewMut::new(d_o_u, dh, o), x.t(), d_logit, true);
                }
                d_values
            })
            .collect();
        let mut d_values = vec![0.0; pv * hd];
        for (head, part) in per_head.iter().enumerate() {
            for (row, from) in d_values.chunks_mut(hd).zip(part.chunks(dh)) {
                row[head * dh..(head + 1) * dh].copy_from_slice(from);
            }
        }
        (d_values, d_o_in, d_o_u)
    }

    /// scores = q·k/√d_head (the scale is in dt.scores): the queries' and the keys' gradients.
    fn scores_back(&self, dims: &Dims, dt: &TableGrads) -> (Vec<f32>, Vec<f32>) {
        let Dims {
            d_vocab: v,
            n_ctx,
            n_heads: h,
            d_head: dh,
            ..
        } = *dims;
        let (hd, pv) = (h * dh, n_ctx * v);
        let queries = &self.read.queries;
        let (mut d_q, mut d_k) = (vec![0.0; v * hd], vec![0.0; pv * hd]);
        for (key, g) in dt.scores.chunks(queries.len() * h).enumerate() {
            let pairs = queries
                .iter()
                .flat_map(|tl| (0..h).map(move |head| (tl, head)));
            for (g, (&tl, head)) in g.iter().zip(pairs) {
                let (qi, ki) = ((tl * h + head) * dh, (key * h + head) * dh);
                axpy(*g, &self.q[qi..qi + dh], &mut d_k[ki..ki + dh]);
                axpy(*g, &self.k[ki..ki + dh], &mut d_q[qi..qi + dh]);
            }
        }
        (d_q, d_k)
    }
}
