//! The fused training engine of the one-layer model: forward, backward and AdamW written out by
//! hand on host arrays, computing only what the loss at the "=" position needs.
//!
//! Same model, optimizer and data as the burn engine (and MIScope); what differs is the work
//! done. The residual stream at a position is a function of one token (no LayerNorm, one layer),
//! so keys, values, the last query and each head's write-out through `W_O` are tables of
//! `d_vocab` rows ([`tables`]); a row's attention is `n_heads · n_ctx` dot products and its
//! residual stream a weighted sum of as many table rows, with no per-row projection. What remains
//! dense is the MLP and the unembedding over all rows ([`rows`]), done by `gemm` on all cores.
//! The backward pass mirrors it: the dense products' gradients, then each row's gradient
//! scattered onto the table rows it read, then the tables' gradients carried to the weights by
//! small products.
//!
//! The losses are f64 (log-softmax of f32 logits in f64), as MIScope's. The gradients agree with
//! burn's autodiff to f32 rounding (`tests/engines.rs`), and the 300-epoch fidelity check
//! against the Python reference holds with this engine.

mod gemm;
mod optimizer;
mod params;
mod rows;
mod simd;
mod tables;

use crate::error::Result;
use crate::family::Dataset;
use crate::model::config::{ActFn, TransformerConfig};
use crate::model::state::StateDict;
use crate::train::state::Moments;

pub use optimizer::HostAdamW;
use params::{Grads, Weights};
use rows::{Activations, Rows};
use tables::Tables;

/// Sizes, with short names for the index arithmetic.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    /// Input vocabulary (d_vocab).
    pub v: usize,
    /// Output classes (d_vocab_out).
    pub o: usize,
    /// Positions (n_ctx).
    pub p: usize,
    /// Heads.
    pub h: usize,
    /// Head width.
    pub dh: usize,
    /// Residual width (d_model).
    pub d: usize,
    /// MLP width (d_mlp).
    pub m: usize,
}

impl Dims {
    fn of(config: &TransformerConfig) -> Self {
        Dims {
            v: config.d_vocab,
            o: config.d_vocab_out,
            p: config.n_ctx,
            h: config.n_heads,
            dh: config.d_head,
            d: config.d_model,
            m: config.d_mlp,
        }
    }

    /// Rows of the stacked residual / pre-activation tables.
    fn table_rows(&self) -> usize {
        self.v + self.p * self.v * self.h
    }
}

/// Whether the fused engine computes this model: one layer, ReLU, no LayerNorm (the config type
/// admits no other normalisation).
pub fn supports(config: &TransformerConfig) -> bool {
    config.n_layers == 1 && config.act_fn == ActFn::Relu && config.n_ctx >= 1
}

/// Floating-point operations of one epoch as this engine executes it (a multiply-add counts 2;
/// exponentials, the softmaxes and AdamW's elementwise work are left out, all under 1%): the
/// tables once, the forward pass over train and test rows, the backward pass over train rows.
pub fn flops_per_epoch(config: &TransformerConfig, n_train: usize, n_test: usize) -> f64 {
    let Dims {
        v,
        o,
        p,
        h,
        dh,
        d,
        m,
    } = Dims::of(config);
    let (v, o, p, h, dh, d, m) = (
        v as f64, o as f64, p as f64, h as f64, dh as f64, d as f64, m as f64,
    );
    let tables = v * d * h * dh + 2.0 * p * v * d * h * dh + p * v * h * dh * d;
    let forward_row = h * p * dh + h * p * d + d * m + m * d + d * o;
    let backward_row = 2.0 * d * o + 4.0 * m * d + h * p * d + h * p * (d + 2.0 * dh);
    let tables_backward =
        2.0 * p * v * h * dh * d + 4.0 * p * v * d * h * dh + 2.0 * v * d * h * dh;
    2.0 * (tables
        + forward_row * (n_train + n_test) as f64
        + backward_row * n_train as f64
        + tables_backward)
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
        gemm::matmul(
            gemm::ViewMut::new(&mut c, n, n),
            gemm::View::new(&a, n, n),
            gemm::View::new(&b, n, n),
            false,
        );
        best = best.min(started.elapsed().as_secs_f64());
    }
    2.0 * (n * n * n) as f64 / best / 1e9
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
    /// Tables of the current weights, kept from the test loss for the next step.
    tables: Option<Tables>,
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
            return Err(crate::error::Error::InvalidSetting {
                setting: "engine".into(),
                value: "fused".into(),
                reason: format!(
                    "the fused engine computes one-layer ReLU models; this one has {} layers",
                    config.n_layers
                ),
            });
        }
        let dims = Dims::of(config);
        Weights::from_state(&state, &dims)?;
        Ok(FusedTrainer {
            dims,
            train: Rows::new(train, &dims)?,
            test: Rows::new(test, &dims)?,
            state,
            optimizer,
            train_acts: Activations::default(),
            test_acts: Activations::default(),
            tables: None,
        })
    }

    fn current_tables(&mut self) -> Tables {
        match self.tables.take() {
            Some(tables) => tables,
            None => Tables::build(
                &self.dims,
                &Weights::from_state(&self.state, &self.dims).expect("sizes checked in new"),
            ),
        }
    }

    /// The training loss at the current weights and its gradients.
    fn loss_and_gradients(&mut self, tables: &Tables) -> (f64, Grads) {
        let dims = self.dims;
        let w = Weights::from_state(&self.state, &dims).expect("sizes checked in new");
        let mut grads = Grads::zeros(&dims);
        rows::forward(&dims, &w, tables, &self.train, &mut self.train_acts);
        let loss = rows::loss(&dims, &self.train, &mut self.train_acts, true);
        let dt = rows::backward(
            &dims,
            &w,
            tables,
            &self.train,
            &mut self.train_acts,
            &mut grads,
        );
        tables.backward(&dims, &w, dt, &mut grads);
        (loss, grads)
    }

    /// Mean loss on the training (`train`) or the test rows at the current weights; keeps the
    /// tables for the next step, which uses the same weights.
    fn mean_loss(&mut self, train: bool) -> f64 {
        let tables = self.current_tables();
        let dims = self.dims;
        let w = Weights::from_state(&self.state, &dims).expect("sizes checked in new");
        let (rows, acts) = if train {
            (&self.train, &mut self.train_acts)
        } else {
            (&self.test, &mut self.test_acts)
        };
        rows::forward(&dims, &w, &tables, rows, acts);
        let loss = rows::loss(&dims, rows, acts, false);
        self.tables = Some(tables);
        loss
    }

    /// One full-batch AdamW step; returns the training loss before it.
    pub fn step(&mut self) -> f64 {
        let tables = self.current_tables();
        let (loss, grads) = self.loss_and_gradients(&tables);
        self.optimizer.step(&mut self.state, grads.named());
        loss
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
    pub fn gradients(&mut self) -> Vec<(&'static str, Vec<f32>)> {
        let tables = self.current_tables();
        let (_, grads) = self.loss_and_gradients(&tables);
        self.tables = Some(tables);
        grads
            .named()
            .into_iter()
            .map(|(name, g)| (name, g.to_vec()))
            .collect()
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
