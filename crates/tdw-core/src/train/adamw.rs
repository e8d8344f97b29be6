//! AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019) exactly as
//! PyTorch's single-tensor CPU path computes it, so that our loss curves follow MIScope's.
//!
//! burn ships an AdamW too, but its defaults differ from PyTorch's (ε 1e-5, β2 0.999, wd 1e-4)
//! and it forms the bias corrections in f32 and in a different order. Here every
//! hyper-parameter is explicit and the update is PyTorch's, step for step:
//!
//! ```text
//! θ ← θ·(1 − lr·wd)
//! m ← m + (1 − β1)·(g − m)            (torch: exp_avg.lerp_(grad, 1 − β1))
//! v ← β2·v + (1 − β2)·g²
//! θ ← θ − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
//! ```
//! Parameters without a gradient (the frozen biases) are skipped entirely, weight decay
//! included, as torch skips parameters whose `.grad` is `None`.

use std::collections::HashMap;

use burn_tensor::{Gradients, Tensor};

use crate::model::config::is_bias;
use crate::model::transformer::{Transformer, WeightMapper};
use crate::train::state::Moments;

/// AdamW hyper-parameters. There are no defaults on purpose: see the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate (MIScope: 1e-3).
    pub lr: f64,
    /// Decoupled weight decay (MIScope: 1.0).
    pub weight_decay: f64,
    /// First-moment decay β1 (MIScope: 0.9).
    pub beta1: f64,
    /// Second-moment decay β2 (MIScope: 0.98).
    pub beta2: f64,
    /// Denominator guard ε (torch's default 1e-8).
    pub eps: f64,
}

/// The optimizer: hyper-parameters, step count and the moments of every trainable weight.
pub struct AdamW {
    config: AdamWConfig,
    step: u64,
    /// (m, v) per weight name, flattened.
    moments: HashMap<String, (Tensor<1>, Tensor<1>)>,
}

impl AdamW {
    /// A fresh optimizer (step 0, no moments) with these settings.
    pub fn new(config: AdamWConfig) -> Self {
        AdamW {
            config,
            step: 0,
            moments: HashMap::new(),
        }
    }

    /// Number of steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The step count and each weight's moments (m, v) on the host, for saving.
    pub fn export(&self) -> (u64, Moments) {
        let host = |t: &Tensor<1>| {
            t.to_data()
                .convert::<f32>()
                .as_slice::<f32>()
                .expect("f32")
                .to_vec()
        };
        let mut moments: Moments = self
            .moments
            .iter()
            .map(|(name, (m, v))| (name.clone(), host(m), host(v)))
            .collect();
        moments.sort_by(|a, b| a.0.cmp(&b.0));
        (self.step, moments)
    }

    /// Restores a saved state (bit-exact: the moments are f32 values copied verbatim).
    pub fn restore(
        config: AdamWConfig,
        step: u64,
        moments: Moments,
        device: &burn_tensor::Device,
    ) -> Self {
        let tensor = |values: Vec<f32>| {
            let n = values.len();
            Tensor::<1>::from_data(burn_tensor::TensorData::new(values, [n]), device)
        };
        AdamW {
            config,
            step,
            moments: moments
                .into_iter()
                .map(|(name, m, v)| (name, (tensor(m), tensor(v))))
                .collect(),
        }
    }

    /// One update of `model` with the gradients that `grads` holds for the leaves of `leaves`
    /// (the copy of `model` made by [`Transformer::with_trainable_leaves`]).
    pub fn step(
        &mut self,
        model: Transformer,
        leaves: &Transformer,
        grads: &Gradients,
    ) -> Transformer {
        struct CollectGrads<'a> {
            grads: &'a Gradients,
            found: HashMap<String, Tensor<1>>,
        }
        impl WeightMapper for CollectGrads<'_> {
            fn map<const D: usize>(&mut self, name: &str, weight: Tensor<D>) -> Tensor<D> {
                if !is_bias(name)
                    && let Some(grad) = weight.grad(self.grads)
                {
                    let n = grad.shape().num_elements();
                    self.found.insert(name.to_string(), grad.reshape([n]));
                }
                weight
            }
        }
        let mut collect = CollectGrads {
            grads,
            found: HashMap::new(),
        };
        let _leaves = leaves.clone().map_weights(&mut collect);

        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let mut update = Update {
            grads: collect.found,
            moments: &mut self.moments,
            decay: 1.0 - c.lr * c.weight_decay,
            beta1: c.beta1,
            beta2: c.beta2,
            step_size: c.lr / (1.0 - c.beta1.powi(t)),
            bias_correction2_sqrt: (1.0 - c.beta2.powi(t)).sqrt(),
            eps: c.eps,
        };
        model.map_weights(&mut update)
    }
}

struct Update<'a> {
    grads: HashMap<String, Tensor<1>>,
    moments: &'a mut HashMap<String, (Tensor<1>, Tensor<1>)>,
    decay: f64,
    beta1: f64,
    beta2: f64,
    step_size: f64,
    bias_correction2_sqrt: f64,
    eps: f64,
}

impl WeightMapper for Update<'_> {
    fn map<const D: usize>(&mut self, name: &str, weight: Tensor<D>) -> Tensor<D> {
        let Some(grad) = self.grads.remove(name) else {
            return weight;
        };
        let dims = weight.dims();
        let n = grad.dims()[0];
        let (m, v) = self.moments.remove(name).unwrap_or_else(|| {
            // In the gradient's dtype: an f64 model (the reference runs) keeps f64 moments.
            let zeros = || Tensor::<1>::zeros([n], &grad.device()).cast(grad.dtype());
            (zeros(), zeros())
        });
        let theta = weight.reshape([n]).mul_scalar(self.decay);
        let m = m.clone() + (grad.clone() - m).mul_scalar(1.0 - self.beta1);
        let v = v.mul_scalar(self.beta2) + grad.square().mul_scalar(1.0 - self.beta2);
        let denom = v
            .clone()
            .sqrt()
            .div_scalar(self.bias_correction2_sqrt)
            .add_scalar(self.eps);
        let theta = theta - (m.clone() / denom).mul_scalar(self.step_size);
        self.moments.insert(name.to_string(), (m, v));
        theta.reshape(dims)
    }
}
