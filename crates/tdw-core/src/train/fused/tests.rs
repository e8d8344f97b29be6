//! Each stage of the fused engine against its plain-loop [`reference`]: the same input handed to
//! both, what they write compared. Inputs of a stage are the fast engine's outputs of the stage
//! before, so a failure names the stage that is wrong. The reference itself is checked against
//! the dense model and against finite differences of it.

use super::params::{Grads, TRAINABLE, Weights};
use super::rows::{self, Activations, Rows};
use super::tables::{TableGrads, Tables};
use super::{Dims, FusedTrainer, reference};
use crate::dataset::Dataset;
use crate::model::config::{ActFn, TransformerConfig, is_bias};
use crate::model::init::init_state;
use crate::model::state::StateDict;
use crate::train::HostAdamW;
use crate::train::adamw::AdamWConfig;

const P: usize = 23;

fn config(d_vocab: usize) -> TransformerConfig {
    TransformerConfig {
        n_layers: 1,
        n_heads: 4,
        d_model: 32,
        d_head: 8,
        d_mlp: 64,
        act_fn: ActFn::Relu,
        d_vocab,
        d_vocab_out: P,
        n_ctx: 3,
    }
}

/// Seeded initial weights with every frozen bias set to small non-zero values (so their terms
/// are exercised), and the embeddings scaled up so that attention is far from uniform and the
/// ReLU cuts a good share of the MLP.
fn state(config: &TransformerConfig) -> StateDict {
    let mut state = init_state(config, 7);
    for (name, tensor) in state.iter_mut() {
        let boost = if is_bias(name) { 0.0 } else { 3.0 };
        for (i, x) in tensor.data.iter_mut().enumerate() {
            if is_bias(name) {
                *x = 0.05 * ((i as f32) * 0.7 + name.len() as f32).sin();
            } else {
                *x *= boost;
            }
        }
    }
    state
}

/// The modular-addition rows `(a, b, =)` with `(a + b) mod P`, 60% of them (two blocks of
/// rows), or with `constant_last == false` rows `(a, b, c)` over five last tokens (five query
/// slots) and `(a + b + c) mod P`.
fn data(constant_last: bool) -> (TransformerConfig, Dataset) {
    let (mut tokens, mut labels) = (Vec::new(), Vec::new());
    for a in 0..P {
        for b in 0..P {
            if (a * 7 + b * 3) % 5 >= 3 {
                continue;
            }
            let c = if constant_last { P } else { (a + 2 * b) % 5 };
            tokens.extend([a as i64, b as i64, c as i64]);
            labels.push(((a + b + if constant_last { 0 } else { c }) % P) as i64);
        }
    }
    let d_vocab = if constant_last { P + 1 } else { P };
    let data = Dataset {
        tokens,
        n_ctx: 3,
        labels,
    };
    (config(d_vocab), data)
}

/// One problem set up for both engines.
struct Problem {
    dims: Dims,
    config: TransformerConfig,
    state: StateDict,
    data: Dataset,
    rows: Rows,
}

impl Problem {
    fn new(constant_last: bool) -> Self {
        let (config, data) = data(constant_last);
        let dims = Dims::of(&config);
        let rows = Rows::new(&data, &dims).unwrap();
        assert!(rows.len() > 256, "the rows span more than one block");
        Problem {
            dims,
            state: state(&config),
            config,
            data,
            rows,
        }
    }

    fn weights(&self) -> Weights<'_> {
        Weights::from_state(&self.state, &self.dims).unwrap()
    }

    fn tables(&self) -> Tables {
        Tables::build(
            &self.dims,
            &self.weights(),
            &rows::reads(&self.dims, &[&self.rows]),
        )
    }

    /// The fast forward with gradients, its loss and activations.
    fn forward(&self, tables: &Tables) -> (f64, Activations) {
        let mut acts = Activations::default();
        let loss = rows::forward(&self.dims, tables, &self.rows, &mut acts, true);
        (loss, acts)
    }
}

/// Asserts `fast` equals `slow` to `tolerance` relative to the largest entry of `slow`, naming
/// the stage and buffer; returns the relative error.
fn assert_close(what: &str, fast: &[f32], slow: &[f32], tolerance: f64) -> f64 {
    assert_eq!(fast.len(), slow.len(), "{what}: lengths differ");
    let scale = slow.iter().map(|x| x.abs() as f64).fold(0.0, f64::max);
    assert!(
        scale > 0.0,
        "{what}: the reference is all zeros (nothing tested)"
    );
    let (worst, at) = fast
        .iter()
        .zip(slow)
        .map(|(a, b)| (*a as f64 - *b as f64).abs())
        .enumerate()
        .fold(
            (0.0, 0),
            |(w, at), (i, e)| if e > w { (e, i) } else { (w, at) },
        );
    let relative = worst / scale;
    eprintln!("{what}: {relative:.1e} of the largest entry");
    assert!(
        relative <= tolerance,
        "{what}: entry {at} is {} (fast) against {} (reference): {relative:.2e} of the largest \
         entry {scale:.3e}, tolerance {tolerance:.0e}",
        fast[at],
        slow[at]
    );
    relative
}

fn for_both_problems(check: impl Fn(&Problem)) {
    for constant_last in [true, false] {
        check(&Problem::new(constant_last));
    }
}

#[test]
fn tables_match_the_reference() {
    for_both_problems(|problem| {
        let fast = problem.tables();
        let read = rows::reads(&problem.dims, &[&problem.rows]);
        let slow = reference::build_tables(&problem.dims, &problem.weights(), &read);
        assert_eq!(fast.slot, slow.slot);
        for (name, fast, slow) in [
            ("resid", &fast.resid, &slow.resid),
            ("q", &fast.q, &slow.q),
            ("k", &fast.k, &slow.k),
            ("v", &fast.v, &slow.v),
            ("own", &fast.own, &slow.own),
            ("o_in", &fast.o_in, &slow.o_in),
            ("o_u", &fast.o_u, &slow.o_u),
            ("w_ou", &fast.w_ou, &slow.w_ou),
            ("scores", &fast.scores, &slow.scores),
            ("pre", &fast.pre, &slow.pre),
            ("logit", &fast.logit, &slow.logit),
        ] {
            assert_close(&format!("tables.{name}"), fast, slow, 2e-6);
        }
    });
}

#[test]
fn forward_matches_the_reference() {
    for_both_problems(|problem| {
        let tables = problem.tables();
        let (loss, fast) = problem.forward(&tables);
        let mut slow = Activations::default();
        let slow_loss = reference::forward(&problem.dims, &tables, &problem.rows, &mut slow, true);
        assert!(
            (loss - slow_loss).abs() <= 1e-6 * slow_loss,
            "forward loss {loss} against the reference's {slow_loss}"
        );
        assert_close("forward.pattern", &fast.pattern, &slow.pattern, 2e-6);
        assert_close("forward.hidden", &fast.hidden, &slow.hidden, 2e-6);
        assert_close("forward.logits", &fast.logits, &slow.logits, 2e-6);
        assert_close("forward.d_logits", &fast.d_logits, &slow.d_logits, 3e-5);
        // Without gradients the loss is the same computation.
        let mut acts = Activations::default();
        let no_grad = rows::forward(&problem.dims, &tables, &problem.rows, &mut acts, false);
        assert_eq!(no_grad.to_bits(), loss.to_bits());
    });
}

#[test]
fn row_backward_matches_the_reference() {
    for_both_problems(|problem| {
        let (dims, tables) = (&problem.dims, problem.tables());
        let read = rows::reads(dims, &[&problem.rows]);
        let (_, mut acts) = problem.forward(&tables);
        let mut slow = TableGrads::zeros(dims, &read);
        reference::backward(dims, &tables, &problem.rows, &acts, &mut slow);
        // The fast scatter overwrites every entry: start it from garbage to prove it.
        let mut fast = TableGrads::zeros(dims, &read);
        for buffer in [
            &mut fast.pre,
            &mut fast.logit,
            &mut fast.w_ou_t,
            &mut fast.scores,
        ] {
            buffer.fill(f32::NAN);
        }
        rows::backward(dims, &tables, &problem.rows, &mut acts, &mut fast);
        // The table rows no data row reads get no gradient: compare the rows read.
        let read_rows = |width: usize, table: &[f32]| -> Vec<f32> {
            let own = read.queries.iter().copied();
            let heads = read
                .keys
                .iter()
                .flat_map(|keys| keys.clone())
                .flat_map(|key| {
                    (0..dims.n_heads).map(move |head| {
                        dims.head_row(key / dims.d_vocab, key % dims.d_vocab, head)
                    })
                });
            own.chain(heads)
                .flat_map(|row| table[row * width..(row + 1) * width].to_vec())
                .collect()
        };
        let (m, o) = (dims.d_mlp, dims.d_vocab_out);
        assert_close(
            "scatter.pre",
            &read_rows(m, &fast.pre),
            &read_rows(m, &slow.pre),
            1e-5,
        );
        assert_close(
            "scatter.logit",
            &read_rows(o, &fast.logit),
            &read_rows(o, &slow.logit),
            1e-5,
        );
        assert_close("scatter.w_ou_t", &fast.w_ou_t, &slow.w_ou_t, 2e-6);
        assert_close("scatter.scores", &fast.scores, &slow.scores, 2e-6);
    });
}

#[test]
fn table_backward_matches_the_reference() {
    for_both_problems(|problem| {
        let (dims, tables, w) = (&problem.dims, problem.tables(), problem.weights());
        let read = rows::reads(dims, &[&problem.rows]);
        let (_, mut acts) = problem.forward(&tables);
        let mut dt = TableGrads::zeros(dims, &read);
        rows::backward(dims, &tables, &problem.rows, &mut acts, &mut dt);
        let (mut fast, mut slow) = (Grads::zeros(dims), Grads::zeros(dims));
        tables.backward(dims, &w, &dt, &mut fast);
        reference::tables_backward(dims, &tables, &w, &dt, &mut slow);
        for ((name, fast), (_, slow)) in fast.named().into_iter().zip(slow.named()) {
            assert_close(&format!("tables backward {name}"), fast, slow, 2e-6);
        }
    });
}

#[test]
fn the_fused_gradients_are_the_references_end_to_end() {
    for_both_problems(|problem| {
        let (slow_loss, slow) =
            reference::loss_and_gradients(&problem.config, &problem.state, &problem.data).unwrap();
        let adamw = HostAdamW::new(AdamWConfig {
            lr: 1e-3,
            weight_decay: 1.0,
            beta1: 0.9,
            beta2: 0.98,
            eps: 1e-8,
        });
        let mut fused = FusedTrainer::new(
            &problem.config,
            problem.state.clone(),
            adamw,
            &problem.data,
            &problem.data,
        )
        .unwrap();
        let loss = fused.train_loss();
        assert!(
            (loss - slow_loss).abs() <= 1e-6 * slow_loss,
            "{loss} against {slow_loss}"
        );
        for ((name, fast), (_, slow)) in fused.gradients().iter().zip(&slow) {
            assert_close(&format!("gradient of {name}"), fast, slow, 1e-5);
        }
    });
}

#[test]
fn the_reference_is_the_dense_model_and_its_gradients_are_the_derivatives() {
    for_both_problems(|problem| {
        let (config, data) = (&problem.config, &problem.data);
        let (loss, grads) = reference::loss_and_gradients(config, &problem.state, data).unwrap();
        let dense = reference::dense_loss(config, &problem.state, data).unwrap();
        assert!(
            (loss - dense).abs() <= 1e-6 * dense,
            "tables {loss} against dense {dense}"
        );
        // Central differences of the dense loss (f64 throughout) at a spread of entries of
        // every trainable weight.
        let eps = 1e-3f32;
        for (name, grad) in &grads {
            assert!(TRAINABLE.contains(name));
            let scale = grad.iter().map(|g| g.abs()).fold(0.0, f32::max) as f64;
            let len = grad.len();
            for i in [0, len / 3, len / 2, len - 1, 7 * len / 11] {
                let at = |delta: f32| {
                    let mut state = problem.state.clone();
                    state.get_mut(*name).unwrap().data[i] += delta;
                    reference::dense_loss(config, &state, data).unwrap()
                };
                let numeric = (at(eps) - at(-eps)) / (2.0 * eps as f64);
                let error = (numeric - grad[i] as f64).abs();
                assert!(
                    error <= 1e-3 * scale + 1e-7,
                    "d loss / d {name}[{i}]: {} analytic against {numeric} by differences \
                     (largest entry {scale:.3e})",
                    grad[i]
                );
            }
        }
    });
}
