//! The two MLP models of the modular-addition MLP families (spec §1.2), on host arrays.
//!
//! - one-hot input: `one_hot(a) ++ one_hot(b)` (size 2p) → `W_in` → ReLU → `W_out` → p logits;
//! - learned embeddings: `embed_a[a] + embed_b[b]` (size d_embed) → `W_in` → ReLU → `W_out`.
//!
//! No biases. Weights are stored as the torch modules hold them (`nn.Linear.weight` is
//! `[out, in]`, `nn.Embedding.weight` is `[p, d_embed]`), under the modules' state-dict names, so
//! checkpoints move between MIScope and here. A one-hot input times `W_in` is two columns of
//! `W_in` added: the forward pass gathers instead of multiplying by a 2p-wide sparse vector.

use crate::error::{Error, Result};
use crate::kernels::linalg::{View, ViewMut, matmul};
use crate::model::state::{HostTensor, StateDict};
use crate::torch_rng::Mt19937;

/// How `(a, b)` enters the hidden layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlpInput {
    /// `one_hot(a) ++ one_hot(b)`, 2p wide.
    OneHot,
    /// `embed_a[a] + embed_b[b]`, `d_embed` wide.
    Embedding {
        /// Width of each embedding.
        d_embed: usize,
    },
}

/// Sizes of an MLP family's model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MlpConfig {
    /// The modulus: inputs and outputs range over 0..p.
    pub p: usize,
    /// Hidden width.
    pub d_hidden: usize,
    /// How a and b enter.
    pub input: MlpInput,
}

/// State-dict name of the hidden layer's weight.
pub const W_IN: &str = "W_in.weight";
/// State-dict name of the output layer's weight.
pub const W_OUT: &str = "W_out.weight";
/// State-dict name of a's embedding.
pub const EMBED_A: &str = "embed_a.weight";
/// State-dict name of b's embedding.
pub const EMBED_B: &str = "embed_b.weight";

impl MlpConfig {
    /// Reads `d_hidden` (and `d_embed` for the embedding model) from a family's architecture.
    pub fn from_architecture(
        architecture: &serde_json::Map<String, serde_json::Value>,
        p: usize,
        embedding: bool,
    ) -> Result<Self> {
        let size = |key: &str| -> Result<usize> {
            architecture
                .get(key)
                .and_then(serde_json::Value::as_u64)
                .filter(|&n| n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| Error::Architecture {
                    field: key.into(),
                    value: architecture
                        .get(key)
                        .map_or("missing".into(), |v| v.to_string()),
                    reason: "must be a positive integer".into(),
                })
        };
        if p < 2 {
            return Err(Error::invalid_parameter(
                "prime",
                p as i64,
                "must be at least 2",
            ));
        }
        let input = if embedding {
            MlpInput::Embedding {
                d_embed: size("d_embed")?,
            }
        } else {
            MlpInput::OneHot
        };
        Ok(MlpConfig {
            p,
            d_hidden: size("d_hidden")?,
            input,
        })
    }

    /// Width of the input to `W_in`.
    pub fn d_input(&self) -> usize {
        match self.input {
            MlpInput::OneHot => 2 * self.p,
            MlpInput::Embedding { d_embed } => d_embed,
        }
    }

    /// Parameter names and shapes, in the torch module's registration order.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut shapes = Vec::new();
        if let MlpInput::Embedding { d_embed } = self.input {
            shapes.push((EMBED_A.to_string(), vec![self.p, d_embed]));
            shapes.push((EMBED_B.to_string(), vec![self.p, d_embed]));
        }
        shapes.push((W_IN.to_string(), vec![self.d_hidden, self.d_input()]));
        shapes.push((W_OUT.to_string(), vec![self.p, self.d_hidden]));
        shapes
    }

    /// The weights `torch.manual_seed(seed)` and the module's constructor give: embeddings
    /// `normal_(0, 1)`, then each `Linear` `kaiming_uniform_(a = √5)`, in registration order.
    pub fn init_state(&self, seed: u64) -> StateDict {
        let mut rng = Mt19937::new(seed);
        let mut state = StateDict::new();
        for (name, shape) in self.parameter_shapes() {
            let mut data = vec![0.0f32; shape.iter().product()];
            if name == W_IN || name == W_OUT {
                rng.fill_linear_weight(&mut data, shape[1]);
            } else {
                rng.fill_normal(&mut data, 0.0, 1.0);
            }
            state.insert(name, HostTensor { shape, data });
        }
        state
    }
}

/// The weights of one model as slices, checked against the config.
pub struct MlpWeights<'a> {
    /// The hidden layer's weight, `[d_hidden, input width]` (torch `Linear` layout).
    pub w_in: &'a [f32],
    /// The output layer's weight, `[p, d_hidden]`.
    pub w_out: &'a [f32],
    /// a's and b's embeddings, `[p, d_embed]` each, for the learned-embedding input.
    pub embed: Option<(&'a [f32], &'a [f32])>,
}

impl<'a> MlpWeights<'a> {
    /// Borrows `state`'s weights, checking each size against `config`.
    pub fn of(config: &MlpConfig, state: &'a StateDict) -> Result<Self> {
        let get = |name: &str, len: usize| crate::model::state::values(state, name, len);
        let (p, h) = (config.p, config.d_hidden);
        let embed = match config.input {
            MlpInput::OneHot => None,
            MlpInput::Embedding { d_embed } => {
                Some((get(EMBED_A, p * d_embed)?, get(EMBED_B, p * d_embed)?))
            }
        };
        Ok(MlpWeights {
            w_in: get(W_IN, h * config.d_input())?,
            w_out: get(W_OUT, p * h)?,
            embed,
        })
    }
}

/// Activations of a batch of `(a, b)` rows.
#[derive(Debug, Default)]
pub struct MlpActivations {
    /// Input to `W_in` per row (embedding model only): `[n, d_embed]`.
    pub input: Vec<f32>,
    /// ReLU outputs: `[n, d_hidden]`.
    pub hidden: Vec<f32>,
    /// Logits: `[n, p]`.
    pub logits: Vec<f32>,
}

/// The forward pass of rows `(a, b)` (`pairs` flattened, two tokens per row).
pub fn forward(config: &MlpConfig, w: &MlpWeights<'_>, pairs: &[i64]) -> MlpActivations {
    let (p, h) = (config.p, config.d_hidden);
    let n = pairs.len() / 2;
    let mut hidden = vec![0.0f32; n * h];
    let mut input = Vec::new();
    match (config.input, w.embed) {
        (MlpInput::Embedding { d_embed }, Some((embed_a, embed_b))) => {
            input = vec![0.0f32; n * d_embed];
            for (row, pair) in input.chunks_mut(d_embed).zip(pairs.chunks(2)) {
                let (a, b) = (pair[0] as usize, pair[1] as usize);
                let (ea, eb) = (
                    &embed_a[a * d_embed..][..d_embed],
                    &embed_b[b * d_embed..][..d_embed],
                );
                for ((x, u), v) in row.iter_mut().zip(ea).zip(eb) {
                    *x = u + v;
                }
            }
            // pre = x · W_inᵀ (W_in is [d_hidden, d_embed]).
            matmul(
                ViewMut::new(&mut hidden, n, h),
                View::new(&input, n, d_embed),
                View::new(w.w_in, h, d_embed).t(),
                false,
            );
        }
        _ => {
            // pre = W_in[:, a] + W_in[:, p + b]: two columns of the [d_hidden, 2p] weight, read
            // as rows of its transpose.
            let w_in_t = crate::kernels::linalg::transpose(
                &ndarray::ArrayView2::from_shape((h, 2 * p), w.w_in).expect("h × 2p values"),
            );
            let columns = w_in_t.as_slice().expect("standard layout");
            for (row, pair) in hidden.chunks_mut(h).zip(pairs.chunks(2)) {
                let (a, b) = (pair[0] as usize, p + pair[1] as usize);
                let (u, v) = (&columns[a * h..][..h], &columns[b * h..][..h]);
                for ((x, u), v) in row.iter_mut().zip(u).zip(v) {
                    *x = u + v;
                }
            }
        }
    }
    for x in hidden.iter_mut() {
        *x = x.max(0.0);
    }
    let mut logits = vec![0.0f32; n * p];
    matmul(
        ViewMut::new(&mut logits, n, p),
        View::new(&hidden, n, h),
        View::new(w.w_out, p, h).t(),
        false,
    );
    MlpActivations {
        input,
        hidden,
        logits,
    }
}

/// Gradients of `Σ_rows d_logits · logits` with respect to every weight, by state-dict name.
pub fn backward(
    config: &MlpConfig,
    w: &MlpWeights<'_>,
    pairs: &[i64],
    acts: &MlpActivations,
    d_logits: &[f32],
) -> Vec<(&'static str, Vec<f32>)> {
    let (p, h) = (config.p, config.d_hidden);
    let n = pairs.len() / 2;
    let mut d_w_out = vec![0.0f32; p * h];
    matmul(
        ViewMut::new(&mut d_w_out, p, h),
        View::new(d_logits, n, p).t(),
        View::new(&acts.hidden, n, h),
        false,
    );
    let mut d_pre = vec![0.0f32; n * h];
    matmul(
        ViewMut::new(&mut d_pre, n, h),
        View::new(d_logits, n, p),
        View::new(w.w_out, p, h),
        false,
    );
    for (g, &x) in d_pre.iter_mut().zip(&acts.hidden) {
        if x <= 0.0 {
            *g = 0.0;
        }
    }
    let mut grads = Vec::with_capacity(4);
    match config.input {
        MlpInput::Embedding { d_embed } => {
            let mut d_w_in = vec![0.0f32; h * d_embed];
            matmul(
                ViewMut::new(&mut d_w_in, h, d_embed),
                View::new(&d_pre, n, h).t(),
                View::new(&acts.input, n, d_embed),
                false,
            );
            let mut d_input = vec![0.0f32; n * d_embed];
            matmul(
                ViewMut::new(&mut d_input, n, d_embed),
                View::new(&d_pre, n, h),
                View::new(w.w_in, h, d_embed),
                false,
            );
            let (mut d_a, mut d_b) = (vec![0.0f32; p * d_embed], vec![0.0f32; p * d_embed]);
            for (row, pair) in d_input.chunks(d_embed).zip(pairs.chunks(2)) {
                let (a, b) = (pair[0] as usize, pair[1] as usize);
                for (g, x) in d_a[a * d_embed..][..d_embed].iter_mut().zip(row) {
                    *g += x;
                }
                for (g, x) in d_b[b * d_embed..][..d_embed].iter_mut().zip(row) {
                    *g += x;
                }
            }
            grads.push((EMBED_A, d_a));
            grads.push((EMBED_B, d_b));
            grads.push((W_IN, d_w_in));
        }
        MlpInput::OneHot => {
            // Column a and column p + b of W_in receive the row's dpre.
            let d = 2 * p;
            let mut d_w_in_t = vec![0.0f32; d * h];
            for (row, pair) in d_pre.chunks(h).zip(pairs.chunks(2)) {
                for column in [pair[0] as usize, p + pair[1] as usize] {
                    for (g, x) in d_w_in_t[column * h..][..h].iter_mut().zip(row) {
                        *g += x;
                    }
                }
            }
            let d_w_in = crate::kernels::linalg::transpose(
                &ndarray::ArrayView2::from_shape((d, h), &d_w_in_t).expect("d × h values"),
            );
            grads.push((W_IN, d_w_in.into_raw_vec_and_offset().0));
        }
    }
    grads.push((W_OUT, d_w_out));
    grads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(ours: &[f32], torch: &[f32]) {
        for (a, b) in ours.iter().zip(torch) {
            assert!((a - b).abs() <= 1e-7, "{a} vs torch {b}");
        }
    }

    /// Values printed by torch 2.9.1 (the Python peer): `torch.manual_seed(5)`, then
    /// `nn.Linear(14, 6, bias=False)` and `nn.Linear(6, 7, bias=False)` (a one-hot MLP with p = 7,
    /// d_hidden = 6); `torch.manual_seed(3)`, then two `nn.Embedding(7, 4)`.
    #[test]
    fn seeded_initialisation_is_torchs() {
        let one_hot = MlpConfig {
            p: 7,
            d_hidden: 6,
            input: MlpInput::OneHot,
        };
        let state = one_hot.init_state(5);
        let w_in = &state[W_IN].data;
        close(
            &w_in[..6],
            &[
                0.176527,
                -0.19985212,
                0.2178017,
                0.17100818,
                0.22455473,
                -0.20491175,
            ],
        );
        close(
            &w_in[w_in.len() - 3..],
            &[-0.019643264, -0.032497317, 0.14279105],
        );
        close(
            &state[W_OUT].data[..4],
            &[0.2806065, -0.29398498, -0.2254345, -0.1255585],
        );

        let embedded = MlpConfig {
            p: 7,
            d_hidden: 6,
            input: MlpInput::Embedding { d_embed: 4 },
        };
        let state = embedded.init_state(3);
        close(
            &state[EMBED_A].data[..4],
            &[-0.076644294, 0.35988152, -0.7820168, 0.071527734],
        );
        close(
            &state[EMBED_B].data[..4],
            &[-1.5158845, 0.9125172, 0.2538871, -0.6923636],
        );
    }

    /// The backward pass against central differences of the summed logits, for both inputs.
    #[test]
    fn gradients_match_finite_differences() {
        for input in [MlpInput::OneHot, MlpInput::Embedding { d_embed: 4 }] {
            let config = MlpConfig {
                p: 5,
                d_hidden: 8,
                input,
            };
            let mut state = config.init_state(11);
            let pairs: Vec<i64> = vec![0, 1, 2, 3, 4, 4, 1, 0, 3, 2];
            let n = pairs.len() / 2;
            // d(loss)/d(logits): a fixed pattern, so loss = Σ c · logits.
            let c: Vec<f32> = (0..n * config.p)
                .map(|i| ((i * 7) % 5) as f32 - 2.0)
                .collect();
            let loss = |state: &StateDict| -> f64 {
                let w = MlpWeights::of(&config, state).unwrap();
                let acts = forward(&config, &w, &pairs);
                acts.logits
                    .iter()
                    .zip(&c)
                    .map(|(l, c)| (*l * *c) as f64)
                    .sum()
            };
            let grads = {
                let w = MlpWeights::of(&config, &state).unwrap();
                let acts = forward(&config, &w, &pairs);
                backward(&config, &w, &pairs, &acts, &c)
            };
            for (name, grad) in grads {
                for i in [0, grad.len() / 2, grad.len() - 1] {
                    let h = 1e-2f32;
                    let original = state[name].data[i];
                    state.get_mut(name).unwrap().data[i] = original + h;
                    let up = loss(&state);
                    state.get_mut(name).unwrap().data[i] = original - h;
                    let down = loss(&state);
                    state.get_mut(name).unwrap().data[i] = original;
                    let numeric = (up - down) / (2.0 * h as f64);
                    assert!(
                        (numeric - grad[i] as f64).abs() < 2e-2 * (1.0 + numeric.abs()),
                        "{input:?} {name}[{i}]: numeric {numeric}, backward {}",
                        grad[i]
                    );
                }
            }
        }
    }
}
