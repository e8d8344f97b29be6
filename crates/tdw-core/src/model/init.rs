//! TransformerLens' "gpt2" initialisation, drawn from torch's generator so that a seed gives
//! MIScope's exact initial weights (spec §2.4).
//!
//! TransformerLens seeds torch once (`torch.manual_seed(seed)`) and then fills every parameter
//! whose name contains `W_`, in `named_parameters()` order, with `normal_(0, 0.8/sqrt(d_model))`
//! from one continuing stream; biases are zeros. The draw happens on the CPU before any device
//! move, so the initial weights are the same for every backend.

use crate::model::config::{TransformerConfig, is_bias};
use crate::model::state::{HostTensor, StateDict};
use crate::torch_rng::Mt19937;

/// The initial parameters of a model for `seed`.
pub fn init_state(config: &TransformerConfig, seed: u64) -> StateDict {
    let mut rng = Mt19937::new(seed);
    let std = config.initializer_range();
    config
        .parameter_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let mut tensor = HostTensor::zeros(shape);
            if !is_bias(&name) {
                rng.fill_normal(&mut tensor.data, 0.0, std);
            }
            (name, tensor)
        })
        .collect()
}

#[cfg(test)]
// Reference values are quoted verbatim from the spec, with the digits it gives.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    /// spec §2.4: first values and f64 sums of every matrix for seed 999, p = 113.
    #[test]
    fn seed_999_reproduces_transformerlens_init() {
        let config = TransformerConfig::from_architecture(&Default::default(), 113).unwrap();
        let state = init_state(&config, 999);
        let expected: [(&str, [f32; 4], f64); 9] = [
            (
                "embed.W_E",
                [-0.0178755708, 0.0995050147, 0.0205803141, 0.0732893422],
                -1.5830780,
            ),
            (
                "pos_embed.W_pos",
                [-0.0676153004, 0.0636378527, -0.0615452752, -0.0758729950],
                -0.2907220,
            ),
            (
                "blocks.0.attn.W_Q",
                [-0.0549599119, 0.1049796417, -0.0204348788, -0.0637446344],
                -0.5472034,
            ),
            (
                "blocks.0.attn.W_O",
                [0.0801575407, 0.0739747137, 0.0513229668, 0.0416932479],
                -4.8545859,
            ),
            (
                "blocks.0.attn.W_K",
                [0.0597231053, 0.0177768413, 0.0204252694, -0.0153388139],
                -2.2361879,
            ),
            (
                "blocks.0.attn.W_V",
                [-0.0794754848, 0.0031649482, -0.0416005887, 0.0561605170],
                -10.2478440,
            ),
            (
                "blocks.0.mlp.W_in",
                [0.0902821198, -0.0616086125, -0.0826083049, 0.0107235629],
                -10.0112743,
            ),
            (
                "blocks.0.mlp.W_out",
                [-0.0204810016, 0.0840232968, 0.0999227539, -0.0700094029],
                3.8267662,
            ),
            (
                "unembed.W_U",
                [0.0136837540, 0.0169768892, -0.0745753795, 0.0636616349],
                0.6071603,
            ),
        ];
        for (name, first, sum) in expected {
            let tensor = &state[name];
            for (got, want) in tensor.data.iter().zip(first) {
                assert!((got - want).abs() < 1e-6, "{name}: {got} vs {want}");
            }
            let total: f64 = tensor.data.iter().map(|&v| v as f64).sum();
            // ULP-level differences in log/sin/cos add up to ~1e-6 over 65k values.
            assert!((total - sum).abs() < 2e-6, "{name}: sum {total} vs {sum}");
        }
        assert!(state["blocks.0.attn.b_Q"].data.iter().all(|&b| b == 0.0));
        assert_eq!(state.len(), 16);
    }
}
