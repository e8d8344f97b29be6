//! Per-token tables: everything a row's forward needs that depends on one token only.
//!
//! With one layer and no LayerNorm, the residual stream at position j is `R_j[t] = W_E[t] +
//! W_pos[j]`, a function of one token. So keys, values and the query are per-token tables
//! (`d_vocab` rows each), and so is each head's value written out through `W_O`. A row's
//! residual stream after attention is then a weighted sum of `n_heads · n_ctx` table rows: no
//! per-row projection at all.
//!
//! The residual terms are stacked in one table (`N = d_vocab + n_ctx · d_vocab · n_heads` rows):
//! - row `t` (`t < d_vocab`): the last position's own term, `R_L[t] + b_O`;
//! - row `d_vocab + (j · d_vocab + t) · n_heads + h`: head h's value of token t at position j
//!   written out, `(R_j[t]·W_V[h] + b_V[h])·W_O[h]`.
//!
//! (Pushing these rows through `W_in` as well, so the pre-activation is a gather too, saves
//! multiply-adds but was slower here: the gathered 512-wide rows miss the cache, while `gemm`
//! runs the dense `resid_mid·W_in` at ~250 GFLOP/s on AVX-512.)

use super::Dims;
use super::gemm::{View, ViewMut, matmul};
use super::params::{Grads, Weights};

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
}

/// Gradients of the loss with respect to the tables, filled by the row backward pass.
pub struct TableGrads {
    pub rtab: Vec<f32>,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
}

impl TableGrads {
    pub fn zeros(dims: &Dims) -> Self {
        TableGrads {
            rtab: vec![0.0; dims.table_rows() * dims.d],
            q: vec![0.0; dims.v * dims.h * dims.dh],
            k: vec![0.0; dims.p * dims.v * dims.h * dims.dh],
        }
    }
}

impl Tables {
    pub fn build(dims: &Dims, w: &Weights<'_>) -> Self {
        let Dims { v, p, h, dh, d, .. } = *dims;
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
        Tables {
            resid,
            q,
            k,
            v: values,
            rtab,
        }
    }

    /// Carries the tables' gradients back to the weights that built them (the attention
    /// weights and the embeddings; the row pass fills the MLP's and `W_U`).
    pub fn backward(&self, dims: &Dims, w: &Weights<'_>, dt: TableGrads, grads: &mut Grads) {
        let Dims { v, p, h, dh, d, .. } = *dims;
        let hd = h * dh;
        let pv = p * v;

        // dR_j for every (position, token); the last position's block also collects its own
        // residual term and the query's gradient.
        let mut d_resid = vec![0.0; pv * d];
        let last = (p - 1) * v * d;
        for (o, g) in d_resid[last..].iter_mut().zip(&dt.rtab[..v * d]) {
            *o += g;
        }

        // VO rows = values·W_O per head.
        let mut d_values = vec![0.0; pv * hd];
        for head in 0..h {
            let d_vo = View::strided(&dt.rtab[(v + head) * d..], pv, d, h * d);
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
        project_back(&self.resid, pv, &dt.k, w.w_k, &mut grads.w_k, &mut d_resid);
        project_back(
            &self.resid[last..],
            v,
            &dt.q,
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
                for (o, g) in grads.w_e[t * d..(t + 1) * d].iter_mut().zip(row) {
                    *o += g;
                }
                for (o, g) in grads.w_pos[j * d..(j + 1) * d].iter_mut().zip(row) {
                    *o += g;
                }
            }
        }
    }
}
