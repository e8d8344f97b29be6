//! The per-row work: each row's attention pattern, MLP pre-activation and direct logits
//! gathered from the [`Tables`], then `ReLU(pre)·(W_out·W_U)` per block of rows, the f64 loss,
//! and the way back: the block products' gradients, then each row's gradient scattered onto the
//! table rows it read.
//!
//! Rows go in blocks of [`CHUNK`], one block per task, each block's product on its own thread:
//! the block's activations stay in cache between the gather, the product and the loss.
//! The scatter runs per table row (per (position, token) group of rows), never per data row, so
//! threads never write the same memory and every sum is taken in one fixed order: a step gives
//! the same bits whatever the thread count. It also takes the dot products of each row's
//! gradients with the table rows it read (dLoss/dpattern), while those rows sit in L1.

use rayon::prelude::*;

use super::Dims;
use super::tables::{Reads, TableGrads, Tables, runs};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::kernels::linalg::{View, ViewMut, matmul_here};
use crate::kernels::simd::{axpy, axpy_dot, cross_entropy_rows, drain_into_f64, gather, relu_back};

/// Rows processed by one task of the row loops.
const CHUNK: usize = 256;
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
        let bad = |what: &'static str, value: i64, limit: usize| Error::DataMismatch {
            what,
            value,
            reason: format!("must lie in 0..{limit} for this model"),
        };
        if data.n_ctx != dims.n_ctx || data.tokens.len() != n * dims.n_ctx {
            return Err(Error::DataMismatch {
                what: "n_ctx",
                value: data.n_ctx as i64,
                reason: format!("the model's n_ctx is {}", dims.n_ctx),
            });
        }
        let tokens = data
            .tokens
            .iter()
            .map(|&t| {
                u32::try_from(t)
                    .ok()
                    .filter(|&t| (t as usize) < dims.d_vocab)
            })
            .zip(&data.tokens)
            .map(|(ok, &t)| ok.ok_or_else(|| bad("token", t, dims.d_vocab)))
            .collect::<Result<Vec<u32>>>()?;
        let labels = data
            .labels
            .iter()
            .map(|&l| {
                u32::try_from(l)
                    .ok()
                    .filter(|&l| (l as usize) < dims.d_vocab_out)
                    .ok_or_else(|| bad("label", l, dims.d_vocab_out))
            })
            .collect::<Result<Vec<u32>>>()?;
        // Rows sorted in tiles of the token grid (by each position's token / TILE, then by the
        // tokens): a block of rows then reads the table rows of a few tokens per position, which
        // stay in cache across the block's gathers. (A loss is a sum over rows; only its f64
        // summation order changes.)
        const TILE: u32 = 16;
        let key = |b: usize| {
            let t = &tokens[b * dims.n_ctx..][..dims.n_ctx];
            (t.iter().map(|t| t / TILE).collect::<Vec<_>>(), t)
        };
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_cached_key(|&b| key(b));
        let tokens: Vec<u32> = order
            .iter()
            .flat_map(|&b| tokens[b * dims.n_ctx..][..dims.n_ctx].iter().copied())
            .collect();
        let labels: Vec<u32> = order.iter().map(|&b| labels[b]).collect();
        // Counting sort of (position, token) keys; rows stay in order within a group.
        let keys = dims.n_ctx * dims.d_vocab;
        let mut offsets = vec![0usize; keys + 1];
        for b in 0..n {
            for j in 0..dims.n_ctx {
                offsets[j * dims.d_vocab + tokens[b * dims.n_ctx + j] as usize + 1] += 1;
            }
        }
        for k in 0..keys {
            offsets[k + 1] += offsets[k];
        }
        let mut next = offsets.clone();
        let mut members = vec![0u32; n * dims.n_ctx];
        for b in 0..n {
            for j in 0..dims.n_ctx {
                let key = j * dims.d_vocab + tokens[b * dims.n_ctx + j] as usize;
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

    pub fn len(&self) -> usize {
        self.n
    }

    /// Row `b`'s tokens (rows are stored in their gather order, not the dataset's).
    pub fn tokens_of(&self, b: usize) -> &[u32] {
        let n_ctx = self.tokens.len() / self.n.max(1);
        &self.tokens[b * n_ctx..(b + 1) * n_ctx]
    }

    /// Row `b`'s label.
    pub fn label_of(&self, b: usize) -> usize {
        self.labels[b] as usize
    }

    fn group(&self, key: usize) -> &[u32] {
        &self.members[self.offsets[key]..self.offsets[key + 1]]
    }
}

/// What any of `sets` reads of the [`Tables`]: the last-position tokens present (own rows and
/// queries) and the (position, token) keys present.
pub fn reads(dims: &Dims, sets: &[&Rows]) -> Reads {
    let present = |key: usize| sets.iter().any(|rows| !rows.group(key).is_empty());
    let (v, last) = (dims.d_vocab, dims.n_ctx - 1);
    let keys = (0..dims.n_ctx * v).filter(|&key| present(key));
    Reads {
        queries: (0..v).filter(|&t| present(last * v + t)).collect(),
        keys: runs(keys.map(|key| key..key + 1)),
    }
}

/// What the forward pass keeps for the backward pass (buffers reused across epochs).
#[derive(Default)]
pub struct Activations {
    /// Attention pattern of the last query: `[n, n_heads · n_ctx]`.
    pub(super) pattern: Vec<f32>,
    /// MLP activations (post-ReLU): `[n, d_mlp]`.
    pub(super) hidden: Vec<f32>,
    /// Logits at the last position: `[n, d_vocab_out]`.
    pub(super) logits: Vec<f32>,
    /// dLoss/dlogits (left by [`forward`] when asked for), /dpre, /dscores.
    pub(super) d_logits: Vec<f32>,
    d_pre: Vec<f32>,
    d_scores: Vec<f32>,
    /// Each block's part of dLoss/dW_OU (transposed): `[blocks, d_vocab_out, d_mlp]`.
    d_w_ou_parts: Vec<f32>,
}

fn sized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buffer.resize(len, 0.0);
    buffer
}

/// A sum of many f32 vectors with close to f64 accuracy at f32 speed: blocks of
/// [`BlockSum::BLOCK`] rows are summed in f32, the block sums in f64.
#[derive(Default)]
struct BlockSum {
    block: Vec<f32>,
    total: Vec<f64>,
    rows: usize,
}

impl BlockSum {
    const BLOCK: usize = 32;

    /// Starts a sum of vectors of `len` elements.
    fn start(&mut self, len: usize) {
        self.block.clear();
        self.block.resize(len, 0.0);
        self.total.clear();
        self.total.resize(len, 0.0);
        self.rows = 0;
    }

    /// Adds `a · x` at `offset` of the current row.
    fn add(&mut self, offset: usize, a: f32, x: &[f32]) {
        axpy(a, x, &mut self.block[offset..offset + x.len()]);
    }

    /// Adds `a · x` at `offset` of the current row, and returns `x·y`.
    fn add_dot(&mut self, offset: usize, a: f32, x: &[f32], y: &[f32]) -> f32 {
        axpy_dot(a, x, &mut self.block[offset..offset + x.len()], y)
    }

    fn row_done(&mut self) {
        self.rows += 1;
        if self.rows.is_multiple_of(Self::BLOCK) {
            self.flush();
        }
    }

    fn flush(&mut self) {
        drain_into_f64(&mut self.block, &mut self.total);
    }

    /// The sum, rounded to f32, into `out`.
    fn finish(&mut self, out: &mut [f32]) {
        self.flush();
        for (o, &t) in out.iter_mut().zip(&self.total) {
            *o = t as f32;
        }
    }
}

/// The mean loss of `rows` under the weights the tables were built from, with the log-softmax
/// in f64 (MIScope's `compute_loss`); with `want_grad`, also leaves what [`backward`] needs.
pub fn forward(
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
    let n = rows.n;
    let hp = h * n_ctx;
    let last = n_ctx - 1;
    let (pre_tab, logit_tab) = (&tables.pre, &tables.logit);
    let slots = tables.query_slots();
    let scale = 1.0 / n as f64;

    let block = |chunk: usize,
                 pattern: &mut [f32],
                 hidden: &mut [f32],
                 logits: &mut [f32],
                 losses: &mut [f64],
                 d_logits: Option<&mut [f32]>| {
        let len = losses.len();
        let mut pre_terms = Vec::with_capacity(hp);
        let mut logit_terms = Vec::with_capacity(hp);
        let rows_here = pattern
            .chunks_mut(hp)
            .zip(hidden.chunks_mut(m))
            .zip(logits.chunks_mut(o));
        for (i, ((pattern, hidden), logits)) in rows_here.enumerate() {
            let b = chunk * CHUNK + i;
            let t = &rows.tokens[b * n_ctx..(b + 1) * n_ctx];
            let tl = t[last] as usize;
            let slot = tables.slot[tl];
            for head in 0..h {
                let scores = &mut pattern[head * n_ctx..(head + 1) * n_ctx];
                for (j, s) in scores.iter_mut().enumerate() {
                    *s = tables.scores[((j * v + t[j] as usize) * slots + slot) * h + head];
                }
                softmax(scores);
            }
            let terms = (0..h).flat_map(|head| (0..n_ctx).map(move |j| (head, j)));
            let read = terms.map(|(head, j)| {
                (
                    pattern[head * n_ctx + j],
                    dims.head_row(j, t[j] as usize, head),
                )
            });
            pre_terms.clear();
            logit_terms.clear();
            for (weight, row) in read {
                pre_terms.push((weight, &pre_tab[row * m..(row + 1) * m]));
                logit_terms.push((weight, &logit_tab[row * o..(row + 1) * o]));
            }
            gather(hidden, &pre_tab[tl * m..(tl + 1) * m], &pre_terms, true);
            gather(
                logits,
                &logit_tab[tl * o..(tl + 1) * o],
                &logit_terms,
                false,
            );
        }
        matmul_here(
            ViewMut::new(logits, len, o),
            View::new(hidden, len, m),
            View::new(&tables.w_ou, m, o),
            true,
        );
        let first = chunk * CHUNK;
        cross_entropy_rows(
            logits,
            o,
            |i| rows.labels[first + i] as usize,
            scale,
            losses,
            d_logits,
        );
    };

    let mut per_row = vec![0.0f64; n];
    let pattern = sized(&mut acts.pattern, n * hp);
    let logits = sized(&mut acts.logits, n * o);
    let blocks = pattern
        .par_chunks_mut(CHUNK * hp)
        .zip(logits.par_chunks_mut(CHUNK * o))
        .zip(per_row.par_chunks_mut(CHUNK))
        .enumerate();
    if want_grad {
        // The backward pass reads the activations and the loss gradient of every row.
        let hidden = sized(&mut acts.hidden, n * m);
        let d_logits = sized(&mut acts.d_logits, n * o);
        blocks
            .zip(hidden.par_chunks_mut(CHUNK * m))
            .zip(d_logits.par_chunks_mut(CHUNK * o))
            .for_each(|(((chunk, ((pa, lo), ls)), hi), dl)| block(chunk, pa, hi, lo, ls, Some(dl)));
    } else {
        // Only the loss: a block's activations live in a per-thread scratch that stays cached.
        blocks.for_each_init(
            || vec![0.0; CHUNK * m],
            |scratch, (chunk, ((pa, lo), ls))| {
                let hi = &mut scratch[..ls.len() * m];
                block(chunk, pa, hi, lo, ls, None)
            },
        );
    }
    // Summed in row order on one thread: the same bits for any thread count.
    per_row.iter().sum::<f64>() * scale
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

/// Gradients of the loss left by [`forward`] (with `want_grad`) with respect to the tables, which
/// [`Tables::backward`] carries to the weights: every entry of `dt` is overwritten (its buffers
/// are reused from step to step).
pub fn backward(
    dims: &Dims,
    tables: &Tables,
    rows: &Rows,
    acts: &mut Activations,
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
    let n = rows.n;
    let hp = h * n_ctx;
    let last = n_ctx - 1;
    let (pattern, hidden, d_logits) = (&acts.pattern, &acts.hidden, &acts.d_logits);

    // Per block: dpre = (dlogits·(W_out·W_U)ᵀ) where the ReLU passed, and the block's part of
    // dW_OU (transposed, `dlogitsᵀ·hidden`) while its activations are in cache: one product
    // over all rows ran at half the speed of these 15 on the same cores.
    let blocks = n.div_ceil(CHUNK);
    let parts = sized(&mut acts.d_w_ou_parts, blocks * o * m);
    sized(&mut acts.d_pre, n * m)
        .par_chunks_mut(CHUNK * m)
        .zip(parts.par_chunks_mut(o * m))
        .enumerate()
        .for_each(|(chunk, (d_pre, part))| {
            let first = chunk * CHUNK;
            let len = d_pre.len() / m;
            let d_logits = View::new(&d_logits[first * o..(first + len) * o], len, o);
            let hidden = &hidden[first * m..(first + len) * m];
            matmul_here(
                ViewMut::new(d_pre, len, m),
                d_logits,
                View::new(&tables.w_ou, m, o).t(),
                false,
            );
            relu_back(d_pre, hidden);
            matmul_here(
                ViewMut::new(part, o, m),
                d_logits.t(),
                View::new(hidden, len, m),
                false,
            );
        });
    // The parts summed in block order: the same bits for any thread count.
    let parts = &acts.d_w_ou_parts;
    dt.w_ou_t
        .par_chunks_mut(4096)
        .enumerate()
        .for_each(|(i, total)| {
            let at = i * 4096;
            total.copy_from_slice(&parts[at..at + total.len()]);
            for part in parts.chunks(o * m).skip(1) {
                axpy(1.0, &part[at..at + total.len()], total);
            }
        });

    // Scatter onto table rows, one task per (position, token) group, whose tables rows stay in
    // cache while its data rows stream by once: each row's gradients are added to the rows it
    // read, weighted by its attention, and dotted with them (dLoss/dpattern). The last
    // position's groups also sum the own rows. The "=" and own rows sum every data row, and the
    // weight gradients derived from them (W_in, W_U, W_out) cancel heavily, so the sums are
    // [`BlockSum`]s.
    let d_pre = &acts.d_pre;
    let (pre_tab, logit_tab) = (&tables.pre, &tables.logit);
    let (own_pre, heads_pre) = dt.pre.split_at_mut(v * m);
    let (own_logit, heads_logit) = dt.logit.split_at_mut(v * o);
    let mut own: Vec<Option<(&mut [f32], &mut [f32])>> = (0..n_ctx * v).map(|_| None).collect();
    for (t, own_rows) in own_pre
        .chunks_mut(m)
        .zip(own_logit.chunks_mut(o))
        .enumerate()
    {
        own[last * v + t] = Some(own_rows);
    }
    // The largest groups first (the "=" key's holds every row): a large group started last
    // would leave the other threads idle while it runs.
    let mut tasks: Vec<_> = heads_pre
        .chunks_mut(h * m)
        .zip(heads_logit.chunks_mut(h * o))
        .zip(own)
        .enumerate()
        .collect();
    tasks.sort_by_key(|(key, _)| std::cmp::Reverse(rows.group(*key).len()));
    let scratch = || std::array::from_fn::<BlockSum, 4, _>(|_| BlockSum::default());
    let d_pattern: Vec<(usize, Vec<f32>)> = tasks
        .into_par_iter()
        .map_init(scratch, |sums, (key, ((gp, gl), mut own))| {
            let [sum_pre, sum_logit, own_pre, own_logit] = sums;
            let first = dims.head_row(key / v, key % v, 0);
            let tab_pre = &pre_tab[first * m..(first + h) * m];
            let tab_logit = &logit_tab[first * o..(first + h) * o];
            let members = rows.group(key);
            let mut dots = vec![0.0f32; members.len() * h];
            sum_pre.start(h * m);
            sum_logit.start(h * o);
            own_pre.start(m);
            own_logit.start(o);
            for (&b, dots) in members.iter().zip(dots.chunks_mut(h)) {
                let b = b as usize;
                let (dp, dl) = (&d_pre[b * m..(b + 1) * m], &d_logits[b * o..(b + 1) * o]);
                let weights = pattern[b * hp..(b + 1) * hp]
                    .iter()
                    .skip(key / v)
                    .step_by(n_ctx);
                for ((head, a), dot) in weights.enumerate().zip(dots.iter_mut()) {
                    *dot = sum_pre.add_dot(head * m, *a, dp, &tab_pre[head * m..][..m])
                        + sum_logit.add_dot(head * o, *a, dl, &tab_logit[head * o..][..o]);
                }
                sum_pre.row_done();
                sum_logit.row_done();
                if own.is_some() {
                    own_pre.add(0, 1.0, dp);
                    own_logit.add(0, 1.0, dl);
                    own_pre.row_done();
                    own_logit.row_done();
                }
            }
            sum_pre.finish(gp);
            sum_logit.finish(gl);
            if let Some((gp, gl)) = own.as_mut() {
                own_pre.finish(gp);
                own_logit.finish(gl);
            }
            (key, dots)
        })
        .collect();

    // dLoss/dpattern back through each head's softmax, scaled by 1/√d_head for the scores' q·k.
    let d_scores = sized(&mut acts.d_scores, n * hp);
    for (key, dots) in &d_pattern {
        let key = *key;
        let j = key / v;
        for (&b, dots) in rows.group(key).iter().zip(dots.chunks(h)) {
            for (head, &dot) in dots.iter().enumerate() {
                d_scores[b as usize * hp + head * n_ctx + j] = dot;
            }
        }
    }
    let inv_scale = 1.0 / (dh as f32).sqrt();
    for (ds, weights) in d_scores.chunks_mut(n_ctx).zip(pattern.chunks(n_ctx)) {
        let mean: f32 = weights.iter().zip(ds.iter()).map(|(a, g)| a * g).sum();
        for (g, a) in ds.iter_mut().zip(weights) {
            *g = a * (*g - mean) * inv_scale;
        }
    }

    // The scores' gradients, summed per (key, query slot, head) in f64.
    let slots = tables.query_slots();
    let mut sums = vec![0.0f64; slots * h];
    for (key, gs) in dt.scores.chunks_mut(slots * h).enumerate() {
        let j = key / v;
        sums.fill(0.0);
        for &b in rows.group(key) {
            let b = b as usize;
            let slot = tables.slot[rows.tokens[b * n_ctx + last] as usize];
            for head in 0..h {
                sums[slot * h + head] += d_scores[b * hp + head * n_ctx + j] as f64;
            }
        }
        for (g, s) in gs.iter_mut().zip(&sums) {
            *g = *s as f32;
        }
    }
}
