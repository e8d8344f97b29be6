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
//! Where every row has the same token at some position ("=" in modular addition), that
//! position's terms are folded away: a head's attention weights sum to one, so its weighted sum
//! is `T_c + Σ_{j≠c} w_j·(T_j − T_c)` with `T_c` the constant position's row. The tables then
//! hold `T_j − T_c` in the other positions' rows and add `Σ_h T_c` to the own rows, and a row
//! reads `1 + n_heads · (n_ctx − 1)` = 9 rows instead of 13 (the constant rows keep `T_c`, which
//! the backward pass needs).
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
    /// The last-position tokens present (sorted): their own rows are read, and their queries
    /// meet every key (one slot of the score table each).
    pub queries: Vec<usize>,
    /// Runs of the (position, token) keys present, `j · d_vocab + t` (sorted, disjoint): their
    /// `n_heads` rows are read.
    pub keys: Vec<Range<usize>>,
    /// The (position, token) that every row has, if any (the last such position): "=" in
    /// modular addition. Its terms are folded into the own rows ([`Tables`]).
    pub constant: Option<(usize, usize)>,
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
    View::strided(&table[first..], keys.len(), width, dims.h * width)
}

fn head_rows_mut<'a>(
    table: &'a mut [f32],
    dims: &Dims,
    keys: &Range<usize>,
    head: usize,
    width: usize,
) -> ViewMut<'a> {
    let first = dims.head_row(0, keys.start, head) * width;
    ViewMut::strided(&mut table[first..], keys.len(), width, dims.h * width)
}

/// Folds the constant key's rows `T_c` (one per head) of a stacked `table` into the rest: `Σ_h
/// T_c` onto every own row read, `− T_c` from every other position's rows of that head (see the
/// module docs). The constant rows themselves are left as they are.
fn fold(table: &mut [f32], dims: &Dims, read: &Reads, (j, c): (usize, usize), width: usize) {
    let first = dims.head_row(j, c, 0) * width;
    let constant = table[first..first + dims.h * width].to_vec();
    for &t in &read.queries {
        for row in constant.chunks(width) {
            axpy(1.0, row, &mut table[t * width..(t + 1) * width]);
        }
    }
    for key in read.keys.iter().flat_map(|keys| keys.clone()) {
        if key / dims.v == j {
            continue;
        }
        for (head, row) in constant.chunks(width).enumerate() {
            let at = dims.head_row(key / dims.v, key % dims.v, head) * width;
            axpy(-1.0, row, &mut table[at..at + width]);
        }
    }
}

/// A per-head projection `[n_heads, d_model, d_head]` as one `[d_model, n_heads · d_head]`
/// matrix (head h in columns `h · d_head..`), so that all heads project in one product.
fn side_by_side(weight: &[f32], dims: &Dims) -> Vec<f32> {
    let (d, dh, hd) = (dims.d, dims.dh, dims.h * dims.dh);
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
    let (d, dh, hd) = (dims.d, dims.dh, dims.h * dims.dh);
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
            v,
            o,
            p,
            h,
            dh,
            d,
            m,
        } = *dims;
        let (hd, pv, n) = (h * dh, p * v, dims.table_rows());
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

        let project = |out: &mut [f32], x: &[f32], weight: &[f32], bias: &[f32]| {
            let rows = x.len() / d;
            let weight = side_by_side(weight, dims);
            matmul(
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
        project(q, last, w.w_q, w.b_q);
        project(k, resid, w.w_k, w.b_k);
        project(values, resid, w.w_v, w.b_v);
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
        // W_O is [n_heads · d_head, d_model]: every head's write-out read in at once.
        let w_o = View::new(w.w_o, hd, d);
        matmul(
            ViewMut::new(o_in, hd, m),
            w_o,
            View::new(w.w_in, d, m),
            false,
        );
        matmul(ViewMut::new(o_u, hd, o), w_o, View::new(w.w_u, d, o), false);

        // The constant terms ride on the own rows, which every data row reads exactly once.
        let mut out_bias = w.b_u.to_vec();
        matmul(
            ViewMut::new(&mut out_bias, 1, o),
            View::new(w.b_out, 1, d),
            View::new(w.w_u, d, o),
            true,
        );
        // Own rows `x` (`[len, d_model]`) through a weight `[d_model, width]`, plus a bias row.
        let through = |into: &mut [f32], x: &[f32], weight: &[f32], bias: &[f32]| {
            let (len, width) = (x.len() / d, bias.len());
            let (x, weight) = (View::new(x, len, d), View::new(weight, d, width));
            matmul(ViewMut::new(into, len, width), x, weight, false);
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
        for keys in &read.keys {
            for head in 0..h {
                let x = View::strided(&values[keys.start * hd + head * dh..], keys.len(), dh, hd);
                let (o_in, o_u) = (
                    &o_in[head * dh * m..][..dh * m],
                    &o_u[head * dh * o..][..dh * o],
                );
                let into_pre = head_rows_mut(pre, dims, keys, head, m);
                matmul(into_pre, x, View::new(o_in, dh, m), false);
                let into_logit = head_rows_mut(logit, dims, keys, head, o);
                matmul(into_logit, x, View::new(o_u, dh, o), false);
            }
        }
        if let Some(constant) = read.constant {
            fold(pre, dims, read, constant, m);
            fold(logit, dims, read, constant, o);
        }
        matmul(
            ViewMut::new(w_ou, m, o),
            View::new(w.w_out, m, d),
            View::new(w.w_u, d, o),
            false,
        );
    }

    /// The key every row has, if any: its terms are folded into the own rows.
    pub fn constant(&self) -> Option<(usize, usize)> {
        self.read.constant
    }

    /// Distinct last tokens, each a slot of `scores`.
    pub fn query_slots(&self) -> usize {
        self.read.queries.len()
    }

    /// Carries the tables' gradients back to every trainable weight.
    pub fn backward(&self, dims: &Dims, w: &Weights<'_>, dt: &TableGrads, grads: &mut Grads) {
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
        let last = (p - 1) * v * d;

        // Own rows: pre = own·W_in (+ b_in), logit = own·W_U (+ b_out·W_U + b_U), and
        // own = R_L + b_O, so their input gradient is the last position's dR.
        let mut d_resid = vec![0.0; pv * d];
        grads.w_in.fill(0.0);
        grads.w_u.fill(0.0);
        for rows in self.read.own_runs() {
            let len = rows.len();
            let x = View::new(&self.own[rows.start * d..rows.end * d], len, d);
            let d_pre = View::new(&dt.pre[rows.start * m..rows.end * m], len, m);
            let d_logit = View::new(&dt.logit[rows.start * o..rows.end * o], len, o);
            let d_x = &mut d_resid[last + rows.start * d..last + rows.end * d];
            matmul(
                ViewMut::new(d_x, len, d),
                d_pre,
                View::new(w.w_in, d, m).t(),
                true,
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

        // Head rows: pre = V_h·(W_O[h]·W_in), logit = V_h·(W_O[h]·W_U).
        let mut d_values = vec![0.0; pv * hd];
        let mut d_o_in = vec![0.0; hd * m];
        let mut d_o_u = vec![0.0; hd * o];
        for keys in &self.read.keys {
            for head in 0..h {
                let len = keys.len();
                let x = View::strided(&self.v[keys.start * hd + head * dh..], len, dh, hd);
                let d_pre = head_rows(&dt.pre, dims, keys, head, m);
                let d_logit = head_rows(&dt.logit, dims, keys, head, o);
                let (o_in, o_u) = (
                    View::new(&self.o_in[head * dh * m..][..dh * m], dh, m),
                    View::new(&self.o_u[head * dh * o..][..dh * o], dh, o),
                );
                let d_x = &mut d_values[keys.start * hd + head * dh..];
                matmul(ViewMut::strided(d_x, len, dh, hd), d_pre, o_in.t(), false);
                matmul(ViewMut::strided(d_x, len, dh, hd), d_logit, o_u.t(), true);
                let d_o_in = &mut d_o_in[head * dh * m..][..dh * m];
                matmul(ViewMut::new(d_o_in, dh, m), x.t(), d_pre, true);
                let d_o_u = &mut d_o_u[head * dh * o..][..dh * o];
                matmul(ViewMut::new(d_o_u, dh, o), x.t(), d_logit, true);
            }
        }
        // o_in = W_O·W_in and o_u = W_O·W_U, all heads at once.
        let (d_o_in, d_o_u) = (View::new(&d_o_in, hd, m), View::new(&d_o_u, hd, o));
        let w_o = View::new(w.w_o, hd, d);
        let (w_in, w_u) = (View::new(w.w_in, d, m), View::new(w.w_u, d, o));
        matmul(ViewMut::new(&mut grads.w_o, hd, d), d_o_in, w_in.t(), false);
        matmul(ViewMut::new(&mut grads.w_o, hd, d), d_o_u, w_u.t(), true);
        matmul(ViewMut::new(&mut grads.w_in, d, m), w_o.t(), d_o_in, true);
        matmul(ViewMut::new(&mut grads.w_u, d, o), w_o.t(), d_o_u, true);

        // w_ou = W_out·W_U.
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

        // Projections x·W[h] + b[h] of the residual tables: keys and values over all positions,
        // the query over the last one.
        let project_back = |x: &[f32],
                            rows: usize,
                            d_out: &[f32],
                            weight: &[f32],
                            d_weight: &mut [f32],
                            d_x: &mut [f32]| {
            let d_out = View::new(d_out, rows, hd);
            let mut d_side = vec![0.0; d * hd];
            matmul(
                ViewMut::new(&mut d_side, d, hd),
                View::new(x, rows, d).t(),
                d_out,
                false,
            );
            stack_heads(&d_side, d_weight, dims);
            let weight = side_by_side(weight, dims);
            matmul(
                ViewMut::new(d_x, rows, d),
                d_out,
                View::new(&weight, d, hd).t(),
                true,
            );
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
