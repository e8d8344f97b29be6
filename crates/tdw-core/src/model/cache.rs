//! Activation cache keyed by TransformerLens hook names.
//!
//! [`HookName`] is the one spelling of a hook: its `Display` is TransformerLens' string and its
//! `FromStr` accepts only that string (no shorthand, no aliases), so artifact code and notebooks
//! cannot disagree about names.

use std::fmt;
use std::str::FromStr;

use burn_tensor::Tensor;
use indexmap::IndexMap;

/// A TransformerLens hook point of a model without LayerNorm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookName {
    /// `hook_embed` `[batch, pos, d_model]`
    Embed,
    /// `hook_pos_embed` `[batch, pos, d_model]`
    PosEmbed,
    /// `blocks.{l}.hook_resid_pre` `[batch, pos, d_model]`
    ResidPre {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.attn.hook_q` `[batch, pos, head_index, d_head]`
    AttnQ {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.attn.hook_k` `[batch, pos, head_index, d_head]`
    AttnK {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.attn.hook_v` `[batch, pos, head_index, d_head]`
    AttnV {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.attn.hook_attn_scores` `[batch, head_index, query_pos, key_pos]`, masked with −inf
    AttnScores {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.attn.hook_pattern` `[batch, head_index, query_pos, key_pos]`
    AttnPattern {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.attn.hook_z` `[batch, pos, head_index, d_head]`
    AttnZ {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.hook_attn_out` `[batch, pos, d_model]`
    AttnOut {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.hook_resid_mid` `[batch, pos, d_model]`
    ResidMid {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.mlp.hook_pre` `[batch, pos, d_mlp]`
    MlpPre {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.mlp.hook_post` `[batch, pos, d_mlp]`
    MlpPost {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.hook_mlp_out` `[batch, pos, d_model]`
    MlpOut {
        /// The block's index.
        layer: usize,
    },
    /// `blocks.{l}.hook_resid_post` `[batch, pos, d_model]`
    ResidPost {
        /// The block's index.
        layer: usize,
    },
}

impl HookName {
    /// Every hook of an `n_layers` model in the order TransformerLens fills its cache.
    pub fn all(n_layers: usize) -> Vec<HookName> {
        let mut hooks = vec![HookName::Embed, HookName::PosEmbed];
        for layer in 0..n_layers {
            hooks.extend([
                HookName::ResidPre { layer },
                HookName::AttnQ { layer },
                HookName::AttnK { layer },
                HookName::AttnV { layer },
                HookName::AttnScores { layer },
                HookName::AttnPattern { layer },
                HookName::AttnZ { layer },
                HookName::AttnOut { layer },
                HookName::ResidMid { layer },
                HookName::MlpPre { layer },
                HookName::MlpPost { layer },
                HookName::MlpOut { layer },
                HookName::ResidPost { layer },
            ]);
        }
        hooks
    }
}

impl fmt::Display for HookName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HookName::Embed => f.write_str("hook_embed"),
            HookName::PosEmbed => f.write_str("hook_pos_embed"),
            HookName::ResidPre { layer } => write!(f, "blocks.{layer}.hook_resid_pre"),
            HookName::AttnQ { layer } => write!(f, "blocks.{layer}.attn.hook_q"),
            HookName::AttnK { layer } => write!(f, "blocks.{layer}.attn.hook_k"),
            HookName::AttnV { layer } => write!(f, "blocks.{layer}.attn.hook_v"),
            HookName::AttnScores { layer } => write!(f, "blocks.{layer}.attn.hook_attn_scores"),
            HookName::AttnPattern { layer } => write!(f, "blocks.{layer}.attn.hook_pattern"),
            HookName::AttnZ { layer } => write!(f, "blocks.{layer}.attn.hook_z"),
            HookName::AttnOut { layer } => write!(f, "blocks.{layer}.hook_attn_out"),
            HookName::ResidMid { layer } => write!(f, "blocks.{layer}.hook_resid_mid"),
            HookName::MlpPre { layer } => write!(f, "blocks.{layer}.mlp.hook_pre"),
            HookName::MlpPost { layer } => write!(f, "blocks.{layer}.mlp.hook_post"),
            HookName::MlpOut { layer } => write!(f, "blocks.{layer}.hook_mlp_out"),
            HookName::ResidPost { layer } => write!(f, "blocks.{layer}.hook_resid_post"),
        }
    }
}

/// A string that is not a canonical TransformerLens hook name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a TransformerLens hook name (e.g. blocks.0.mlp.hook_post)")]
pub struct UnknownHook(pub String);

impl FromStr for HookName {
    type Err = UnknownHook;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownHook(s.to_string());
        match s {
            "hook_embed" => return Ok(HookName::Embed),
            "hook_pos_embed" => return Ok(HookName::PosEmbed),
            _ => {}
        }
        let rest = s.strip_prefix("blocks.").ok_or_else(unknown)?;
        let (layer, hook) = rest.split_once('.').ok_or_else(unknown)?;
        if layer.len() > 1 && layer.starts_with('0') {
            return Err(unknown());
        }
        let layer: usize = layer.parse().map_err(|_| unknown())?;
        let name = match hook {
            "hook_resid_pre" => HookName::ResidPre { layer },
            "attn.hook_q" => HookName::AttnQ { layer },
            "attn.hook_k" => HookName::AttnK { layer },
            "attn.hook_v" => HookName::AttnV { layer },
            "attn.hook_attn_scores" => HookName::AttnScores { layer },
            "attn.hook_pattern" => HookName::AttnPattern { layer },
            "attn.hook_z" => HookName::AttnZ { layer },
            "hook_attn_out" => HookName::AttnOut { layer },
            "hook_resid_mid" => HookName::ResidMid { layer },
            "mlp.hook_pre" => HookName::MlpPre { layer },
            "mlp.hook_post" => HookName::MlpPost { layer },
            "hook_mlp_out" => HookName::MlpOut { layer },
            "hook_resid_post" => HookName::ResidPost { layer },
            _ => return Err(unknown()),
        };
        Ok(name)
    }
}

/// One cached activation; its rank depends on the hook.
#[derive(Debug, Clone)]
pub enum Activation {
    /// `[batch, pos, d]` activations (embeddings, residual stream, MLP).
    Rank3(Tensor<3>),
    /// `[batch, pos, head_index, d_head]` or `[batch, head_index, query_pos, key_pos]`.
    Rank4(Tensor<4>),
}

impl Activation {
    /// The shape of the activation.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Activation::Rank3(t) => t.dims().to_vec(),
            Activation::Rank4(t) => t.dims().to_vec(),
        }
    }
}

/// Activations of one forward pass, by hook, in the order they were produced.
#[derive(Debug, Clone, Default)]
pub struct ActivationCache {
    entries: IndexMap<HookName, Activation>,
}

impl ActivationCache {
    pub(crate) fn insert3(&mut self, hook: HookName, tensor: &Tensor<3>) {
        self.entries.insert(hook, Activation::Rank3(tensor.clone()));
    }

    pub(crate) fn insert4(&mut self, hook: HookName, tensor: &Tensor<4>) {
        self.entries.insert(hook, Activation::Rank4(tensor.clone()));
    }

    /// The activation at a hook, if the forward pass produced it.
    pub fn get(&self, hook: HookName) -> Option<&Activation> {
        self.entries.get(&hook)
    }

    /// A `[batch, pos, d]` activation (embeddings, residual stream, MLP).
    pub fn rank3(&self, hook: HookName) -> Option<&Tensor<3>> {
        match self.entries.get(&hook) {
            Some(Activation::Rank3(t)) => Some(t),
            _ => None,
        }
    }

    /// A rank-4 activation (q/k/v/z, attention scores and pattern).
    pub fn rank4(&self, hook: HookName) -> Option<&Tensor<4>> {
        match self.entries.get(&hook) {
            Some(Activation::Rank4(t)) => Some(t),
            _ => None,
        }
    }

    /// The hooks present, in production order.
    pub fn hooks(&self) -> impl Iterator<Item = HookName> + '_ {
        self.entries.keys().copied()
    }

    /// Number of cached activations.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_names_round_trip_and_reject_shorthand() {
        let all = HookName::all(2);
        assert_eq!(all.len(), 2 + 2 * 13);
        for hook in all {
            assert_eq!(hook.to_string().parse::<HookName>(), Ok(hook));
        }
        for bad in [
            "post",
            "blocks.00.hook_resid_pre",
            "blocks.0.hook_post",
            "blocks.x.attn.hook_q",
        ] {
            assert!(bad.parse::<HookName>().is_err(), "{bad}");
        }
    }
}
