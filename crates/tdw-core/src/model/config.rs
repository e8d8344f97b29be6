//! Hyper-parameters of the HookedTransformer, as TransformerLens' `HookedTransformerConfig` names them.
//!
//! The config is built from a family's `architecture` object (each key with MIScope's fallback
//! default, spec §2.1) plus the task size. It holds only sizes; [`TransformerConfig::init`] builds
//! the model. Derived sizes are methods, never stored twice.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Activation function of the MLP. Only ReLU is used by the grokking families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActFn {
    /// `max(0, x)`, TransformerLens' `"relu"`.
    Relu,
}

/// Sizes of a HookedTransformer without LayerNorm.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformerConfig {
    /// Number of transformer blocks (1 for the grokking model).
    pub n_layers: usize,
    /// Attention heads per block.
    pub n_heads: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Width of one attention head.
    pub d_head: usize,
    /// Hidden width of the MLP.
    pub d_mlp: usize,
    /// MLP activation.
    pub act_fn: ActFn,
    /// Input vocabulary: the p residues plus the "=" token.
    pub d_vocab: usize,
    /// Output classes: the p residues.
    pub d_vocab_out: usize,
    /// Sequence length: `[a, b, =]`.
    pub n_ctx: usize,
}

impl TransformerConfig {
    /// The grokking configuration for modulus `p` from a family's `architecture` object, with
    /// MIScope's defaults for absent keys (n_layers 1, n_heads 4, d_model 128, d_head 32,
    /// d_mlp 512, act_fn relu, normalization_type null, n_ctx 3).
    pub fn from_architecture(architecture: &Map<String, Value>, p: usize) -> Result<Self> {
        let size = |key: &str, default: usize| -> Result<usize> {
            match architecture.get(key) {
                None => Ok(default),
                Some(value) => match value.as_u64() {
                    Some(n) if n >= 1 => Ok(n as usize),
                    _ => Err(Error::Architecture {
                        field: key.into(),
                        value: value.to_string(),
                        reason: "must be a positive integer".into(),
                    }),
                },
            }
        };
        let act_fn = match architecture.get("act_fn") {
            None => ActFn::Relu,
            Some(Value::String(s)) if s == "relu" => ActFn::Relu,
            Some(other) => {
                return Err(Error::Architecture {
                    field: "act_fn".into(),
                    value: other.to_string(),
                    reason: "only \"relu\" is implemented".into(),
                });
            }
        };
        match architecture.get("normalization_type") {
            None | Some(Value::Null) => {}
            Some(other) => {
                return Err(Error::Architecture {
                    field: "normalization_type".into(),
                    value: other.to_string(),
                    reason: "only null (no LayerNorm) is implemented".into(),
                });
            }
        }
        let config = TransformerConfig {
            n_layers: size("n_layers", 1)?,
            n_heads: size("n_heads", 4)?,
            d_model: size("d_model", 128)?,
            d_head: size("d_head", 32)?,
            d_mlp: size("d_mlp", 512)?,
            act_fn,
            d_vocab: p + 1,
            d_vocab_out: p,
            n_ctx: size("n_ctx", 3)?,
        };
        Ok(config)
    }

    /// TransformerLens' `initializer_range` for `init_mode="gpt2"`: 0.8 / sqrt(d_model).
    pub fn initializer_range(&self) -> f64 {
        0.8 / (self.d_model as f64).sqrt()
    }

    /// The attention scale sqrt(d_head) that divides the QK scores.
    pub fn attn_scale(&self) -> f64 {
        (self.d_head as f64).sqrt()
    }

    /// The architecture keys of `config.json`, in TransformerLens order (spec §1.8).
    pub fn to_config_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("n_layers".into(), self.n_layers.into());
        map.insert("n_heads".into(), self.n_heads.into());
        map.insert("d_model".into(), self.d_model.into());
        map.insert("d_head".into(), self.d_head.into());
        map.insert("d_mlp".into(), self.d_mlp.into());
        map.insert("act_fn".into(), "relu".into());
        map.insert("normalization_type".into(), Value::Null);
        map.insert("d_vocab".into(), self.d_vocab.into());
        map.insert("d_vocab_out".into(), self.d_vocab_out.into());
        map.insert("n_ctx".into(), self.n_ctx.into());
        map
    }

    /// Every parameter of the model with its TransformerLens state-dict name and shape, in
    /// `named_parameters()` order (spec §2.2). This order is also the order of the seeded init.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (h, d, dh, m) = (self.n_heads, self.d_model, self.d_head, self.d_mlp);
        let mut shapes = vec![
            ("embed.W_E".to_string(), vec![self.d_vocab, d]),
            ("pos_embed.W_pos".to_string(), vec![self.n_ctx, d]),
        ];
        for layer in 0..self.n_layers {
            let attn = format!("blocks.{layer}.attn");
            let mlp = format!("blocks.{layer}.mlp");
            shapes.extend([
                (format!("{attn}.W_Q"), vec![h, d, dh]),
                (format!("{attn}.W_O"), vec![h, dh, d]),
                (format!("{attn}.b_Q"), vec![h, dh]),
                (format!("{attn}.b_O"), vec![d]),
                (format!("{attn}.W_K"), vec![h, d, dh]),
                (format!("{attn}.W_V"), vec![h, d, dh]),
                (format!("{attn}.b_K"), vec![h, dh]),
                (format!("{attn}.b_V"), vec![h, dh]),
                (format!("{mlp}.W_in"), vec![d, m]),
                (format!("{mlp}.b_in"), vec![m]),
                (format!("{mlp}.W_out"), vec![m, d]),
                (format!("{mlp}.b_out"), vec![d]),
            ]);
        }
        shapes.extend([
            ("unembed.W_U".to_string(), vec![d, self.d_vocab_out]),
            ("unembed.b_U".to_string(), vec![self.d_vocab_out]),
        ]);
        shapes
    }
}

/// Whether a state-dict name is a bias (TransformerLens `b_*`), which the grokking families freeze.
pub fn is_bias(name: &str) -> bool {
    name.rsplit('.')
        .next()
        .is_some_and(|leaf| leaf.starts_with("b_"))
}
