//! The one-layer model's parameters as host slices, by TransformerLens name, and their gradients.

use crate::error::Result;
use crate::model::state::StateDict;

use super::Dims;

/// The trainable weights in `named_parameters()` order; biases are frozen (spec §3.3).
pub const TRAINABLE: [&str; 9] = [
    "embed.W_E",
    "pos_embed.W_pos",
    "blocks.0.attn.W_Q",
    "blocks.0.attn.W_O",
    "blocks.0.attn.W_K",
    "blocks.0.attn.W_V",
    "blocks.0.mlp.W_in",
    "blocks.0.mlp.W_out",
    "unembed.W_U",
];

/// Read-only views of every parameter, weights and frozen biases.
pub struct Weights<'a> {
    pub w_e: &'a [f32],
    pub w_pos: &'a [f32],
    pub w_q: &'a [f32],
    pub w_o: &'a [f32],
    pub b_q: &'a [f32],
    pub b_o: &'a [f32],
    pub w_k: &'a [f32],
    pub w_v: &'a [f32],
    pub b_k: &'a [f32],
    pub b_v: &'a [f32],
    pub w_in: &'a [f32],
    pub b_in: &'a [f32],
    pub w_out: &'a [f32],
    pub b_out: &'a [f32],
    pub w_u: &'a [f32],
    pub b_u: &'a [f32],
}

impl<'a> Weights<'a> {
    /// Borrows a state dict, checking every parameter's size against `dims`.
    pub fn from_state(state: &'a StateDict, dims: &Dims) -> Result<Self> {
        let Dims {
            d_vocab: v,
            d_vocab_out: o,
            n_ctx,
            n_heads: h,
            d_head: dh,
            d_model: d,
            d_mlp: m,
        } = *dims;
        let get = |name: &str, len: usize| crate::model::state::values(state, name, len);
        Ok(Weights {
            w_e: get("embed.W_E", v * d)?,
            w_pos: get("pos_embed.W_pos", n_ctx * d)?,
            w_q: get("blocks.0.attn.W_Q", h * d * dh)?,
            w_o: get("blocks.0.attn.W_O", h * dh * d)?,
            b_q: get("blocks.0.attn.b_Q", h * dh)?,
            b_o: get("blocks.0.attn.b_O", d)?,
            w_k: get("blocks.0.attn.W_K", h * d * dh)?,
            w_v: get("blocks.0.attn.W_V", h * d * dh)?,
            b_k: get("blocks.0.attn.b_K", h * dh)?,
            b_v: get("blocks.0.attn.b_V", h * dh)?,
            w_in: get("blocks.0.mlp.W_in", d * m)?,
            b_in: get("blocks.0.mlp.b_in", m)?,
            w_out: get("blocks.0.mlp.W_out", m * d)?,
            b_out: get("blocks.0.mlp.b_out", d)?,
            w_u: get("unembed.W_U", d * o)?,
            b_u: get("unembed.b_U", o)?,
        })
    }
}

/// Gradients of the trainable weights, same layouts.
pub struct Grads {
    pub w_e: Vec<f32>,
    pub w_pos: Vec<f32>,
    pub w_q: Vec<f32>,
    pub w_o: Vec<f32>,
    pub w_k: Vec<f32>,
    pub w_v: Vec<f32>,
    pub w_in: Vec<f32>,
    pub w_out: Vec<f32>,
    pub w_u: Vec<f32>,
}

impl Grads {
    pub fn zeros(dims: &Dims) -> Self {
        let Dims {
            d_vocab: v,
            d_vocab_out: o,
            n_ctx,
            n_heads: h,
            d_head: dh,
            d_model: d,
            d_mlp: m,
        } = *dims;
        Grads {
            w_e: vec![0.0; v * d],
            w_pos: vec![0.0; n_ctx * d],
            w_q: vec![0.0; h * d * dh],
            w_o: vec![0.0; h * dh * d],
            w_k: vec![0.0; h * d * dh],
            w_v: vec![0.0; h * d * dh],
            w_in: vec![0.0; d * m],
            w_out: vec![0.0; m * d],
            w_u: vec![0.0; d * o],
        }
    }

    /// Each gradient with its parameter's name, in [`TRAINABLE`] order.
    pub fn named(&self) -> [(&'static str, &[f32]); 9] {
        [
            (TRAINABLE[0], &self.w_e),
            (TRAINABLE[1], &self.w_pos),
            (TRAINABLE[2], &self.w_q),
            (TRAINABLE[3], &self.w_o),
            (TRAINABLE[4], &self.w_k),
            (TRAINABLE[5], &self.w_v),
            (TRAINABLE[6], &self.w_in),
            (TRAINABLE[7], &self.w_out),
            (TRAINABLE[8], &self.w_u),
        ]
    }
}
