//! The fused training engine of the one-layer model: forward, backward and AdamW written out by
//! hand on host arrays, computing only what the loss at the "=" position needs.
//!
//! Same model, optimizer and data as the burn engine (and MIScope); what differs is the work
//! done. The residual stream at a position is a function of one token (no LayerNorm, one layer),
//! so keys, values, the last query, each head's write-out through `W_O`, and that write-out seen
//! through `W_in` and `W_U`, are tables of `d_vocab` rows ([`tables`]); so are the attention
//! scores of the last token's query against each key; a row's attention is `n_heads · n_ctx`
//! looked-up scores through a softmax, and its MLP pre-activation and direct logits weighted sums of
//! as many table rows. What remains dense per row is `ReLU(pre)·(W_out·W_U)`, done by `gemm`
//! per block of rows on all cores ([`rows`]). The backward pass mirrors it: the block products'
//! gradients, then each row's gradient scattered onto the table rows it read, then the tables'
//! gradients carried to the weights by small products. At p = 113 this executes 2.99
//! GFLOP an epoch, against 6.14 for the dense MLP and unembedding over every row.
//!
//! [`reference`] computes each of these stages in plain loops, with every gradient formula
//! written out in its docs; the tests beside it hand both versions the same input, stage by
//! stage (tables, gather and forward, loss, scatter, table backward).
//!
//! The analysis side's [`grid_forward`](crate::model::grid_forward) uses the same observation
//! (per-token keys, values and queries) for another computation: it forms the activations a
//! probe's hooks expose (every query position's pattern, `z`, the MLP's activations and the
//! residual stream for p² rows), which this engine never forms, and it runs once per checkpoint
//! without gradients: the same idea, not the same computation, so there are two.
//!
//! The losses are f64 (log-softmax of f32 logits in f64), as MIScope's. The gradients agree with
//! burn's autodiff to f32 rounding (`tests/engines.rs`), and the 300-epoch fidelity check
//! against the Python reference holds with this engine.

mod params;
pub mod reference;
mod rows;
mod tables;
#[cfg(test)]
mod tests;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::model::config::{ActFn, TransformerConfig};
use crate::model::state::StateDict;
use crate::train::state::Moments;

use crate::train::HostAdamW;
use params::{Grads, Weights};
use rows::{Activations, Rows};
use tables::{Reads, TableGrads, Tables};

/// Gradients by parameter name, in `named_parameters()` order.
pub type NamedGradients = Vec<(&'static str, Vec<f32>)>;

/// Sizes, by their TransformerLens names; the kernels bind them to one- and two-letter locals
/// (`v`, `o`, `h`, `dh`, `d`, `m`) for the index arithmetic, as the module docs write the math.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    /// Input vocabulary (`v` in the kernels' index math).
    pub d_vocab: usize,
    /// Output classes (`o`).
    pub d_vocab_out: usize,
    /// Positions (for this family 3: a, b, "="; not the prime p).
    pub n_ctx: usize,
    /// Heads (`h`).
    pub n_heads: usize,
    /// Head width (`dh`).
    pub d_head: usize,
    /// Residual width (`d`).
    pub d_model: usize,
    /// MLP width (`m`).
    pub d_mlp: usize,
}

impl Dims {
    fn of(config: &TransformerConfig) -> Self {
        Dims {
            d_vocab: config.d_vocab,
            d_vocab_out: config.d_vocab_out,
            n_ctx: config.n_ctx,
            n_heads: config.n_heads,
            d_head: config.d_head,
            d_model: config.d_model,
            d_mlp: config.d_mlp,
        }
    }

    /// Rows of the stacked tables (see [`tables`]).
    fn table_rows(&self) -> usize {
        self.d_vocab + self.n_ctx * self.d_vocab * self.n_heads
    }

    /// The stacked-table row of head `head`'s term for token `t` at position `j` (the first
    /// `d_vocab` rows are the last position's own terms; see [`tables`]).
    fn head_row(&self, j: usize, t: usize, head: usize) -> usize {
        self.d_vocab + (j * self.d_vocab + t) * self.n_heads + head
    }
}

/// Whether the fused engine computes this model: one layer, ReLU, no LayerNorm (the config type
/// admits no other normalisation).
pub fn supports(config: &TransformerConfig) -> bool {
    config.n_layers == 1 && config.act_fn == ActFn::Relu && config.n_ctx >= 1
}

/// Best f32 throughput, in GFLOP/s, of `repeats` square `n`³ products through the same `gemm`
/// path the engine uses: the machine's measured peak for its FLOP figures.
pub fn gemm_peak_gflops(n: usize, repeats: usize) -> f64 {
    let a = vec![0.5f32; n * n];
    let b = vec![0.25f32; n * n];
    let mut c = vec![0.0f32; n * n];
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let started = std::time::Instant::now();
        crate::kernels::linalg::matmul(
            crate::kernels::linalg::ViewMut::new(&mut c, n, n),
            crate::kernels::linalg::View::new(&a, n, n),
            crate::kernels::linalg::View::new(&b, n, n),
            false,
        );
        best = best.min(started.elapsed().as_secs_f64());
    }
    2.0 * (n * n * n) as f64 / best / 1e9
}

/// Runs `work` on a thread of rayon's pool: an epoch has ~60 parallel regions, and each one
/// entered from outside the pool hands its work to the pool and puts the caller to sleep, while
/// one entered from a worker runs there and only wakes the others to steal.
fn on_worker<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| work())
}

/// `x · M` for `x` of `rows × d` (row-major) and `M` of `d × d`: the folding of an
/// attention-output hook into `W_O` (`n_heads·d_head` rows) and `b_O` (one row).
fn right_multiply(x: &[f32], m: &[f32], d: usize) -> Vec<f32> {
    let rows = x.len() / d;
    let mut out = vec![0.0f32; x.len()];
    crate::kernels::linalg::matmul(
        crate::kernels::linalg::ViewMut::new(&mut out, rows, d),
        crate::kernels::linalg::View::new(x, rows, d),
        crate::kernels::linalg::View::new(m, d, d),
        false,
    );
    out
}

/// A model, its optimizer and the two data splits, stepping one epoch at a time.
pub struct FusedTrainer {
    dims: Dims,
    state: StateDict,
    optimizer: HostAdamW,
    train: Rows,
    test: Rows,
    train_acts: Activations,
    test_acts: Activations,
    /// What the train and test rows read of the tables.
    read: Reads,
    /// Tables of the current weights where `fresh`, else stale ones to rebuild in place
    /// (the test loss after a step builds them, the next step uses them).
    tables: Option<Tables>,
    fresh: bool,
    /// The table gradients' buffers, reused across steps.
    table_grads: TableGrads,
    /// `M` of an attention-output hook on the training forward (`d_model²`, row-major), folded
    /// into `W_O` and `b_O` for the step; see [`crate::model::hook`].
    attn_out_map: Option<Vec<f32>>,
}

impl FusedTrainer {
    /// Sets up training of `state` (a model of `config`) on `train`, with `test` for the test
    /// loss. Fails on a model the engine does not support or data that does not fit it.
    pub fn new(
        config: &TransformerConfig,
        state: StateDict,
        optimizer: HostAdamW,
        train: &Dataset,
        test: &Dataset,
    ) -> Result<Self> {
        if !supports(config) {
            return Err(crate::error::Error::UnsupportedEngine {
                engine: "fused".into(),
                reason: format!(
                    "the fused engine computes one-layer ReLU models; this one has {} layers",
                    config.n_layers
                ),
            });
        }
        let dims = Dims::of(config);
        Weights::from_state(&state, &dims)?;
        let (train, test) = (Rows::new(train, &dims)?, Rows::new(test, &dims)?);
        let read = rows::reads(&dims, &[&train, &test]);
        Ok(FusedTrainer {
            dims,
            read: read.clone(),
            train,
            test,
            state,
            optimizer,
            train_acts: Activations::default(),
            test_acts: Activations::default(),
            tables: None,
            fresh: false,
            table_grads: TableGrads::zeros(&dims, &read),
            attn_out_map: None,
        })
    }

    /// Edits `blocks.0.hook_attn_out` in the training forward of the following steps (`None`
    /// or an identity hook: no edit). The test and train losses without a step stay unhooked.
    ///
    /// The hooked output `a·M` is `Σ_h z_h (W_O[h]·M) + b_O·M`, so a hooked step is an ordinary
    /// step of the weights `W_O' = W_O·M`, `b_O' = b_O·M` (everything else unchanged), and since
    /// `M` is symmetric the chain rule carries the gradient back as `∂L/∂W_O[h] =
    /// (∂L/∂W_O'[h])·M`.
    pub fn set_attn_out_hook(&mut self, hook: Option<crate::model::hook::AttnOutHook>) {
        self.attn_out_map = hook.filter(|h| !h.is_identity()).map(|h| h.matrix());
    }

    /// The current weights with `M` folded into `W_O` and `b_O`.
    fn hooked_state(&self, m: &[f32]) -> StateDict {
        let d = self.dims.d_model;
        let mut state = self.state.clone();
        for name in ["blocks.0.attn.W_O", "blocks.0.attn.b_O"] {
            if let Some(tensor) = state.get_mut(name) {
                tensor.data = right_multiply(&tensor.data, m, d);
            }
        }
        state
    }

    /// The tables of the current weights, built or brought up to date; callers put them back.
    fn current_tables(&mut self) -> Tables {
        let weights =
            || Weights::from_state(&self.state, &self.dims).expect("sizes checked in new");
        let tables = match self.tables.take() {
            Some(tables) if self.fresh => tables,
            Some(mut stale) => {
                stale.rebuild(&self.dims, &weights());
                stale
            }
            None => Tables::build(&self.dims, &weights(), &self.read),
        };
        self.fresh = true;
        tables
    }

    /// The training loss at the current weights and its gradients.
    fn loss_and_gradients(&mut self, tables: &Tables) -> (f64, Grads) {
        // The weights are read while the activations' buffers are written: lend them out.
        let state = std::mem::take(&mut self.state);
        let w = Weights::from_state(&state, &self.dims).expect("sizes checked in new");
        let out = self.loss_and_gradients_of(tables, &w);
        self.state = state;
        out
    }

    /// The training loss and gradients of `w`, whose tables are `tables`.
    fn loss_and_gradients_of(&mut self, tables: &Tables, w: &Weights<'_>) -> (f64, Grads) {
        let dims = self.dims;
        let mut grads = Grads::zeros(&dims);
        let loss = rows::forward(&dims, tables, &self.train, &mut self.train_acts, true);
        let dt = &mut self.table_grads;
        rows::backward(&dims, tables, &self.train, &mut self.train_acts, dt);
        tables.backward(&dims, w, dt, &mut grads);
        (loss, grads)
    }

    /// A step whose training forward goes through the hook `m`: tables of the folded weights,
    /// their gradients, `W_O`'s carried back through `M`.
    fn hooked_step(&mut self, m: &[f32]) -> f64 {
        let dims = self.dims;
        let hooked = self.hooked_state(m);
        let w = Weights::from_state(&hooked, &dims).expect("sizes checked in new");
        let tables = match self.tables.take() {
            Some(mut stale) => {
                stale.rebuild(&dims, &w);
                stale
            }
            None => Tables::build(&dims, &w, &self.read),
        };
        let (loss, mut grads) = self.loss_and_gradients_of(&tables, &w);
        grads.w_o = right_multiply(&grads.w_o, m, dims.d_model);
        self.optimizer.step(&mut self.state, grads.named());
        self.tables = Some(tables);
        self.fresh = false;
        loss
    }

    /// Mean loss on the training (`train`) or the test rows at the current weights; keeps the
    /// tables for the next step, which uses the same weights.
    fn mean_loss(&mut self, train: bool) -> f64 {
        on_worker(|| {
            let tables = self.current_tables();
            let (rows, acts) = if train {
                (&self.train, &mut self.train_acts)
            } else {
                (&self.test, &mut self.test_acts)
            };
            let loss = rows::forward(&self.dims, &tables, rows, acts, false);
            self.tables = Some(tables);
            loss
        })
    }

    /// One full-batch AdamW step; returns the training loss before it.
    pub fn step(&mut self) -> f64 {
        if let Some(m) = self.attn_out_map.take() {
            let loss = on_worker(|| self.hooked_step(&m));
            self.attn_out_map = Some(m);
            return loss;
        }
        on_worker(|| {
            let tables = self.current_tables();
            let (loss, grads) = self.loss_and_gradients(&tables);
            self.optimizer.step(&mut self.state, grads.named());
            self.tables = Some(tables);
            self.fresh = false;
            loss
        })
    }

    /// Mean loss on the test rows under the current weights.
    pub fn test_loss(&mut self) -> f64 {
        self.mean_loss(false)
    }

    /// Mean loss on the training rows under the current weights, without a step.
    pub fn train_loss(&mut self) -> f64 {
        self.mean_loss(true)
    }

    /// The gradients of the training loss at the current weights, by parameter name (for
    /// checking against autodiff).
    pub fn gradients(&mut self) -> NamedGradients {
        self.loss_and_named_gradients().1
    }

    /// The training loss at the current weights and its gradients by parameter name, from one
    /// forward and backward pass.
    pub fn loss_and_named_gradients(&mut self) -> (f64, NamedGradients) {
        let tables = self.current_tables();
        let (loss, grads) = self.loss_and_gradients(&tables);
        self.tables = Some(tables);
        let named = grads
            .named()
            .into_iter()
            .map(|(name, g)| (name, g.to_vec()))
            .collect();
        (loss, named)
    }

    /// Floating-point operations of one epoch (a step and the test loss) as this engine executes
    /// them, a multiply-add counting 2. Exponentials, softmaxes, ReLU and AdamW's elementwise
    /// work are left out (under 1%).
    pub fn flops_per_epoch(&self) -> f64 {
        let Dims {
            d_vocab: v,
            d_vocab_out: o,
            n_ctx,
            n_heads: h,
            d_head: dh,
            d_model: d,
            d_mlp: m,
        } = self.dims;
        let own = self.read.queries.len();
        let keys = (self.read.table_rows(h) - own) / h;
        let scores = own * n_ctx * v * h * dh;
        let (n_train, n_test) = (self.train.len(), self.test.len());
        // Multiply-adds. Tables: q, k and v projections, the scores, each head's write-out
        // through W_in and W_U, the own rows and the heads' value rows through them, and
        // W_out·W_U.
        let write_out = h * dh * d * (m + o);
        let table_rows = own * d * (m + o) + keys * h * dh * (m + o);
        let tables = v * d * h * dh
            + 2 * n_ctx * v * d * h * dh
            + scores
            + write_out
            + table_rows
            + m * d * o;
        // Per row forward: the gathered pre-activation and direct logits (own row included),
        // the block product.
        let read = n_ctx;
        let forward_row = (h * read + 1) * (m + o) + m * o;
        // Per train row backward: dpre and the W_out·W_U gradient, the dots into the pattern,
        // the scatter onto the table rows.
        let backward_row = 2 * m * o + h * read * (m + o) + (h * n_ctx + 1) * (m + o);
        // Tables backward: the scores to the keys and queries, the table rows back (input and
        // weight gradients), the write-outs to W_O, W_in and W_U, W_out·W_U to W_out and W_U,
        // then the key, value and query projections as in the forward.
        let tables_backward = 2 * scores
            + 2 * table_rows
            + 2 * write_out
            + 2 * m * o * d
            + 4 * n_ctx * v * d * h * dh
            + 2 * v * d * h * dh;
        2.0 * (tables + forward_row * (n_train + n_test) + backward_row * n_train + tables_backward)
            as f64
    }

    /// The current weights.
    pub fn state(&self) -> &StateDict {
        &self.state
    }

    /// The optimizer's step count and moments.
    pub fn optimizer_state(&self) -> (u64, Moments) {
        self.optimizer.export()
    }
}
