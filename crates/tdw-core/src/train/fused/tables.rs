//! Per-token tables: everything a row's forward needs that depends on one token only.
//!
//! With one layer and no LayerNorm, the residual stream at position j is `R_j[t] = W_E[t] +
//! W_pos[j]`, a function of one token. So keys, values and the query are per-token tables
//! (`d_vocab` rows each), and so is each head's value written out through `W_O`. A row's
//! residual stream after attention is then a weighted sum of `n_heads · n_ctx` table rows.
//!
//! The residual terms are stacked in one table (`N = d_vocab + n_ctx · d_vocab · n_heads` rows):
//! - row `t` (`t < d_vocab`): the last position's own term, `R_L[t] + b_O`;
//! - row `d_vocab + (j · d_vocab + t) · n_heads + h`: head h's value of token t at position j
//!   written out, `(R_j[t]·W_V[h] + b_V[h])·W_O[h]`.
//!
//! Both places the residual stream is read are linear, so they are tables too: the MLP's
//! pre-activation (`rtab·W_in`, `b_in` on the own rows) and the residual stream's direct path to
//! the logits (`rtab·W_U`, with `b_out·W_U + b_U` on the own rows). A row's pre-activation is
//! then a weighted sum of 13 table rows instead of a 128×512 product, and the only dense work
//! left per row is `ReLU(pre)·(W_out·W_U)`. Only the table rows some row reads are computed
//! ([`Tables::build`]'s `read`): at p = 113, 909 of the 1,482.
//!
//! The attention scores are a table as well: a score is the last token's query against one
//! (position, token)'s key, so with few distinct last tokens (one, "=", in modular addition)
//! there are `queries · n_ctx · d_vocab · n_heads` scores in all, computed once per set of
//! weights instead of `n_heads · n_ctx` dot products per row.

use std::ops::Range;

use super::Dims;
use super::params::{Grads, Weights};
use super::simd::{axpy, dot};
use crate::linalg::{View, ViewMut, matmul};

/// What the data reads of the tables, fixed by the train and test rows.
#[derive(Debug, Clone)]
pub struct Reads {
    /// Runs of stacked-table rows (sorted, disjoint); the rest of `pre` and `logit` stay zero.
    pub table_rows: Vec<Range<usize>>,
    /// The last-position tokens present: one slot of the score table each.
    pub queries: Vec<usize>,
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
    /// Residual terms: `[N, d_model]` (layout in the module docs).
    pub rtab: Vec<f32>,
    /// The residual terms through the MLP's input: `[N, d_mlp]`.
    pub pre: Vec<f32>,
    /// The residual terms straight to the logits: `[N, d_vocab_out]`.
    pub logit: Vec<f32>,
    /// `W_out·W_U`, the MLP's write-out seen by the logits: `[d_mlp, d_vocab_out]`.
    pub w_ou: Vec<f32>,
    /// Attention scores `q·k/√d_head` of each query slot against each (position, token)'s key:
    /// `[n_ctx · d_vocab, queries, n_heads]`.
    pub scores: Vec<f32>,
    /// Each token's query slot as a last token (`usize::MAX` where no row ends in it).
    pub slot: Vec<usize>,
    read: Reads,
}

/// Gradients of the loss with respect to the tables, filled by the row backward pass.
pub struct TableGrads {
    /// dLoss/d`pre` table rows: `[N, d_mlp]`.
    pub pre: Vec<f32>,
    /// dLoss/d`logit` table rows: `[N, d_vocab_out]`.
    pub logit: Vec<f32>,
    /// dLoss/d`w_ou` (`Σ_rows ReLU(pre)ᵀ·dlogits`): `[d_mlp, d_vocab_out]`.
    pub w_ou: Vec<f32>,
    /// dLoss/d`scores`, laid out as the scores.
    pub scores: Vec<f32>,
}

impl TableGrads {
    pub fn zeros(dims: &Dims, read: &Reads) -> Self {
        let n = dims.table_rows();
        TableGrads {
            pre: vec![0.0; n * dims.m],
            logit: vec![0.0; n * dims.o],
            w_ou: vec![0.0; dims.m * dims.o],
            scores: vec![0.0; dims.p * dims.v * read.queries.len() * dims.h],
        }
    }
}

impl Tables {
    /// The tables of `w`; `pre` and `logit` only on the rows in `read`, scores only for its
    /// queries.
    pub fn build(dims: &Dims, w: &Weights<'_>, read: &Reads) -> Self {
        let Dims {
            v,
            o,
            p,
            h,
            dh,
            d,
            m,
        } = *dims;
        let hd = h * dh;
        let pv = p * v;
        let mut resid = vec![0.0; pv * d];
        for j in 0..p {
            let pos = &w.w_pos[j * d..(j + 1) * d];
            for t in 0..v {
                let row = &mut resid[(j * v + t) * d..][..d];
                for ((r, e), q) in row.iter_mut().zip(&w.w_e[t * d..(t + 1) * d]).zip(pos) {
                    *r = e + q;
                }
            }
        }
        let last = &resid[(p - 1) * v * d..pv * d];

        let project = |x: &[f32], rows: usize, weight: &[f32], bias: &[f32]| {
            let mut out = vec![0.0; rows * hd];
            for head in 0..h {
                matmul(
                    ViewMut::strided(&mut out[head * dh..], rows, dh, hd),
                    View::new(x, rows, d),
                    View::new(&weight[head * d * dh..(head + 1) * d * dh], d, dh),
                    false,
                );
            }
            for row in out.chunks_mut(hd) {
                for (o, b) in row.iter_mut().zip(bias) {
                    *o += b;
                }
            }
            out
        };
        let q = project(last, v, w.w_q, w.b_q);
        let k = project(&resid, pv, w.w_k, w.b_k);
        let values = project(&resid, pv, w.w_v, w.b_v);
        let inv_scale = 1.0 / (dh as f32).sqrt();
        let mut scores = Vec::with_capacity(pv * read.queries.len() * h);
        for key in 0..pv {
            for &tl in &read.queries {
                for head in 0..h {
                    let query = &q[(tl * h + head) * dh..][..dh];
                    scores.push(dot(query, &k[(key * h + head) * dh..][..dh]) * inv_scale);
                }
            }
        }

        let n = dims.table_rows();
        let mut rtab = vec![0.0; n * d];
        for (row, r) in rtab.chunks_mut(d).zip(last.chunks(d)) {
            for ((o, x), b) in row.iter_mut().zip(r).zip(w.b_o) {
                *o = x + b;
            }
        }
        for head in 0..h {
            matmul(
                ViewMut::strided(&mut rtab[(v + head) * d..], pv, d, h * d),
                View::strided(&values[head * dh..], pv, dh, hd),
                View::new(&w.w_o[head * dh * d..(head + 1) * dh * d], dh, d),
                false,
            );
        }

        let mut pre = vec![0.0; n * m];
        let mut logit = vec![0.0; n * o];
        for rows in &read.table_rows {
            let len = rows.len();
            let x = View::new(&rtab[rows.start * d..rows.end * d], len, d);
            let into_pre = ViewMut::new(&mut pre[rows.start * m..rows.end * m], len, m);
            matmul(into_pre, x, View::new(w.w_in, d, m), false);
            let into_logit = ViewMut::new(&mut logit[rows.start * o..rows.end * o], len, o);
            matmul(into_logit, x, View::new(w.w_u, d, o), false);
        }
        // The constant terms ride on the own rows, which every data row reads exactly once.
        let mut out_bias = w.b_u.to_vec();
        matmul(
            ViewMut::new(&mut out_bias, 1, o),
            View::new(w.b_out, 1, d),
            View::new(w.w_u, d, o),
            true,
        );
        for row in pre[..v * m].chunks_mut(m) {
            for (x, b) in row.iter_mut().zip(w.b_in) {
                *x += b;
            }
        }
        for row in logit[..v * o].chunks_mut(o) {
            for (x, b) in row.iter_mut().zip(&out_bias) {
                *x += b;
            }
        }
        let mut w_ou = vec![0.0; m * o];
        matmul(
            ViewMut::new(&mut w_ou, m, o),
            View::new(w.w_out, m, d),
            View::new(w.w_u, d, o),
            false,
        );
        Tables {
            resid,
            q,
            k,
            v: values,
            rtab,
            pre,
            logit,
            w_ou,
            scores,
            slot: read.slots(v),
            read: read.clone(),
        }
    }

    /// Distinct last tokens, each a slot of `scores`.
    pub fn query_slots(&self) -> usize {
        self.read.queries.len()
    }

    /// Carries the tables' gradients back to every trainable weight.
    pub fn backward(&self, dims: &Dims, w: &Weights<'_>, dt: TableGrads, grads: &mut Grads) {
        let Dims {
            v,
            o,
            p,
            h,
            dh,
            d,
            m,
        } = *dims;
        let hd = h * dh;
        let pv = p * v;

        // pre = rtab·W_in (+ b_in), logit = rtab·W_U (+ b_out·W_U + b_U), w_ou = W_out·W_U.
        let mut d_rtab = vec![0.0; dims.table_rows() * d];
        grads.w_in.fill(0.0);
        grads.w_u.fill(0.0);
        for rows in &self.read.table_rows {
            let len = rows.len();
            let x = View::new(&self.rtab[rows.start * d..rows.end * d], len, d);
            let d_pre = View::new(&dt.pre[rows.start * m..rows.end * m], len, m);
            let d_logit = View::new(&dt.logit[rows.start * o..rows.end * o], len, o);
            let d_x = &mut d_rtab[rows.start * d..rows.end * d];
            matmul(
                ViewMut::new(d_x, len, d),
                d_pre,
                View::new(w.w_in, d, m).t(),
                false,
            );
            matmul(
                ViewMut::new(d_x, len, d),
                d_logit,
                View::new(w.w_u, d, o).t(),
                true,
            );
            matmul(ViewMut::new(&mut grads.w_in, d, m), x.t(), d_pre, true);
            matmul(ViewMut::new(&mut grads.w_u, d, o), x.t(), d_logit, true);
        }
        let d_w_ou = View::new(&dt.w_ou, m, o);
        matmul(
            ViewMut::new(&mut grads.w_u, d, o),
            View::new(w.w_out, m, d).t(),
            d_w_ou,
            true,
        );
        matmul(
            ViewMut::new(&mut grads.w_out, m, d),
            d_w_ou,
            View::new(w.w_u, d, o).t(),
            false,
        );
        // b_out·W_U reached every row once, through the own rows.
        let mut d_out_bias = vec![0.0; o];
        for row in dt.logit[..v * o].chunks(o) {
            for (s, g) in d_out_bias.iter_mut().zip(row) {
                *s += g;
            }
        }
        matmul(
            ViewMut::new(&mut grads.w_u, d, o),
            View::new(w.b_out, d, 1),
            View::new(&d_out_bias, 1, o),
            true,
        );

        // dR_j for every (position, token); the last position's block also collects its own
        // residual term and the query's gradient.
        let mut d_resid = vec![0.0; pv * d];
        let last = (p - 1) * v * d;
        for (x, g) in d_resid[last..].iter_mut().zip(&d_rtab[..v * d]) {
            *x += g;
        }

        // VO rows = values·W_O per head.
        let mut d_values = vec![0.0; pv * hd];
        for head in 0..h {
            let d_vo = View::strided(&d_rtab[(v + head) * d..], pv, d, h * d);
            let w_o = &w.w_o[head * dh * d..(head + 1) * dh * d];
            matmul(
                ViewMut::new(&mut grads.w_o[head * dh * d..(head + 1) * dh * d], dh, d),
                View::strided(&self.v[head * dh..], pv, dh, hd).t(),
                d_vo,
                false,
            );
            matmul(
                ViewMut::strided(&mut d_values[head * dh..], pv, dh, hd),
                d_vo,
                View::new(w_o, dh, d).t(),
                false,
            );
        }

        // Projections x·W[h] + b[h] of the residual tables: keys and values over all positions,
        // the query over the last one.
        let project_back = |x: &[f32],
                            rows: usize,
                            d_out: &[f32],
                            weight: &[f32],
                            d_weight: &mut [f32],
                            d_x: &mut [f32]| {
            for head in 0..h {
                let block = head * d * dh..(head + 1) * d * dh;
                let d_head = View::strided(&d_out[head * dh..], rows, dh, hd);
                matmul(
                    ViewMut::new(&mut d_weight[block.clone()], d, dh),
                    View::new(x, rows, d).t(),
                    d_head,
                    false,
                );
                matmul(
                    ViewMut::new(d_x, rows, d),
                    d_head,
                    View::new(&weight[block], d, dh).t(),
                    true,
                );
            }
        };
        project_back(
            &self.resid,
            pv,
            &d_values,
            w.w_v,
            &mut grads.w_v,
            &mut d_resid,
        );
        // scores = q·k/√d_head (the scale is in dt.scores): to the keys and the queries.
        let queries = &self.read.queries;
        let (mut d_q, mut d_k) = (vec![0.0; v * hd], vec![0.0; pv * hd]);
        for (key, g) in dt.scores.chunks(queries.len() * h).enumerate() {
            for (g, (&tl, head)) in g.iter().zip(
                queries
                    .iter()
                    .flat_map(|tl| (0..h).map(move |head| (tl, head))),
            ) {
                let (qi, ki) = ((tl * h + head) * dh, (key * h + head) * dh);
                axpy(*g, &self.q[qi..qi + dh], &mut d_k[ki..ki + dh]);
                axpy(*g, &self.k[ki..ki + dh], &mut d_q[qi..qi + dh]);
            }
        }
        project_back(&self.resid, pv, &d_k, w.w_k, &mut grads.w_k, &mut d_resid);
        project_back(
            &self.resid[last..],
            v,
            &d_q,
            w.w_q,
            &mut grads.w_q,
            &mut d_resid[last..],
        );

        // R_j[t] = W_E[t] + W_pos[j].
        grads.w_e.fill(0.0);
        grads.w_pos.fill(0.0);
        for j in 0..p {
            for t in 0..v {
                let row = &d_resid[(j * v + t) * d..][..d];
                for (x, g) in grads.w_e[t * d..(t + 1) * d].iter_mut().zip(row) {
                    *x += g;
                }
                for (x, g) in grads.w_pos[j * d..(j + 1) * d].iter_mut().zip(row) {
                    *x += g;
                }
            }
        }
    }
}
