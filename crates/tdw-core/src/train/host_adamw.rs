//! AdamW on host arrays, with the arithmetic of [`crate::train::AdamW`] (PyTorch's single-tensor
//! update, every scalar rounded to f32 as the tensor version does), so the engines that keep
//! their weights in host memory (the fused one-layer engine, the MLP families' engine in
//! [`crate::train::mlp`]) follow burn's curve and share one optimizer-state file format.
//!
//! Per entry, with step t, learning rate η, weight decay λ and `g` the gradient:
//! `θ ← θ·(1 − ηλ)`, `m ← m + (g − m)(1 − β₁)`, `v ← β₂v + (1 − β₂)g²`,
//! `θ ← θ − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)`.

use std::collections::HashMap;

use crate::model::state::StateDict;
use crate::train::AdamWConfig;
use crate::train::state::Moments;

/// AdamW on host arrays, the same update as [`crate::train::AdamW`]: the optimizer of the
/// fused and MLP engines.
pub struct HostAdamW {
    config: AdamWConfig,
    step: u64,
    moments: HashMap<String, (Vec<f32>, Vec<f32>)>,
}

impl HostAdamW {
    /// A fresh optimizer (step 0, no moments) with these settings.
    pub fn new(config: AdamWConfig) -> Self {
        HostAdamW {
            config,
            step: 0,
            moments: HashMap::new(),
        }
    }

    /// Continues from a saved step count and moments.
    pub fn restore(config: AdamWConfig, step: u64, moments: Moments) -> Self {
        HostAdamW {
            config,
            step,
            moments: moments.into_iter().map(|(n, m, v)| (n, (m, v))).collect(),
        }
    }

    /// The step count and moments, sorted by name (the optimizer-state file's order).
    pub fn export(&self) -> (u64, Moments) {
        let mut moments: Moments = self
            .moments
            .iter()
            .map(|(name, (m, v))| (name.clone(), m.clone(), v.clone()))
            .collect();
        moments.sort_by(|a, b| a.0.cmp(&b.0));
        (self.step, moments)
    }

    /// One update of the named weights of `state` by their gradients.
    pub fn step<'a>(
        &mut self,
        state: &mut StateDict,
        grads: impl IntoIterator<Item = (&'a str, &'a [f32])>,
    ) {
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let decay = (1.0 - c.lr * c.weight_decay) as f32;
        let keep1 = (1.0 - c.beta1) as f32;
        let beta2 = c.beta2 as f32;
        let keep2 = (1.0 - c.beta2) as f32;
        let step_size = (c.lr / (1.0 - c.beta1.powi(t))) as f32;
        let correction2 = (1.0 - c.beta2.powi(t)).sqrt() as f32;
        let eps = c.eps as f32;
        for (name, grad) in grads {
            let Some(weight) = state.get_mut(name) else {
                continue;
            };
            let (m, v) = self
                .moments
                .entry(name.to_string())
                .or_insert_with(|| (vec![0.0; grad.len()], vec![0.0; grad.len()]));
            for (((theta, &g), m), v) in weight
                .data
                .iter_mut()
                .zip(grad)
                .zip(m.iter_mut())
                .zip(v.iter_mut())
            {
                let decayed = *theta * decay;
                *m += (g - *m) * keep1;
                *v = *v * beta2 + g * g * keep2;
                let denom = v.sqrt() / correction2 + eps;
                *theta = decayed - (*m / denom) * step_size;
            }
        }
    }
}
