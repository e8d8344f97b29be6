//! What analyzers see of a model: activations at the analysis positions, named weights and
//! logits, as host arrays (MIScope's `ActivationBundle`, spec §2.5).
//!
//! Analyzers never touch the model type. A family without a site (an MLP family has no attention
//! pattern) simply has no such entry, and the analyzer that needs it is skipped with that reason.

use indexmap::IndexMap;
use ndarray::{Array2, Array4, ArrayD};

use crate::model::cache::HookName;
use crate::model::transformer::Transformer;

/// A residual-stream site at the last position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResidualSite {
    /// `blocks.0.hook_resid_pre`
    ResidPre,
    /// `blocks.0.hook_attn_out`
    AttnOut,
    /// `blocks.0.hook_resid_post`
    ResidPost,
}

/// One forward pass of the probe, reduced to what analyzers read.
#[derive(Debug, Clone, Default)]
pub struct ActivationBundle {
    /// Weights of block 0 and the embeddings by TransformerLens short name (`W_E`, `W_in`, ...).
    pub weights: IndexMap<String, ArrayD<f32>>,
    /// `blocks.0.mlp.hook_post` at the last position: `[batch, d_mlp]`.
    pub mlp_post: Option<Array2<f32>>,
    /// Residual-stream sites at the last position: `[batch, d_model]`.
    pub residual: IndexMap<&'static str, Array2<f32>>,
    /// `blocks.0.attn.hook_pattern`: `[batch, head_index, query_pos, key_pos]`.
    pub attention_pattern: Option<Array4<f32>>,
    /// Logits at the last position: `[batch, d_vocab_out]`.
    pub logits: Option<Array2<f32>>,
    /// The model itself, for analyzers that perturb weights (landscape flatness).
    pub model: Option<Transformer>,
    /// The checkpoint's epoch, where the bundle was made from one (analyzers whose result
    /// depends on when, such as an intervention's check at its ramp factor).
    pub epoch: Option<u64>,
    /// MLP activations as (d_mlp, p, p) grids, computed once for the analyzers that share them.
    pub(crate) neuron_grids: std::sync::OnceLock<ndarray::Array3<f32>>,
    /// Per-frequency variance fractions of the neurons, computed once (neuron_freq_norm, coarseness).
    pub(crate) neuron_fractions: std::sync::OnceLock<Array2<f32>>,
    /// How to compute `resid_post` and the logits from `mlp_post` when first asked for, where the
    /// forward pass left them out.
    pub(crate) tail: Option<DeferredTail>,
    pub(crate) tail_sites: std::sync::OnceLock<(Array2<f32>, Array2<f32>)>,
}

/// The MLP's write-out and the unembedding, run on first use: as many multiply-adds as all the
/// rest of the grid forward, and most analyzers (the seven of the reference run among them)
/// never read the residual stream after the MLP or the logits.
#[derive(Clone)]
pub(crate) struct DeferredTail(pub(crate) std::sync::Arc<TailFn>);

/// `mlp_post ↦ (resid_post, logits)`.
pub(crate) type TailFn = dyn Fn(&Array2<f32>) -> (Array2<f32>, Array2<f32>) + Send + Sync;

impl std::fmt::Debug for DeferredTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeferredTail")
    }
}

/// Why a bundle cannot serve an analyzer (defined with the crate's errors).
pub use crate::error::MissingSite;

impl ActivationBundle {
    /// A weight by short name.
    pub fn weight(&self, name: &str) -> Result<&ArrayD<f32>, MissingSite> {
        self.weights
            .get(name)
            .ok_or_else(|| MissingSite(format!("weight {name}")))
    }

    /// MLP activations at the last position.
    pub fn mlp_post(&self) -> Result<&Array2<f32>, MissingSite> {
        self.mlp_post
            .as_ref()
            .ok_or_else(|| MissingSite("MLP activation site".into()))
    }

    /// A residual-stream site at the last position.
    pub fn residual(&self, site: ResidualSite) -> Result<&Array2<f32>, MissingSite> {
        let key = match site {
            ResidualSite::ResidPre => "resid_pre",
            ResidualSite::AttnOut => "attn_out",
            ResidualSite::ResidPost => "resid_post",
        };
        if let Some(array) = self.residual.get(key) {
            return Ok(array);
        }
        match (site, self.deferred_tail()) {
            (ResidualSite::ResidPost, Some((resid_post, _))) => Ok(resid_post),
            _ => Err(MissingSite(format!("residual site {key}"))),
        }
    }

    /// `(resid_post, logits)` from the deferred tail, computed on the first call.
    fn deferred_tail(&self) -> Option<&(Array2<f32>, Array2<f32>)> {
        let tail = self.tail.as_ref()?;
        let post = self.mlp_post.as_ref()?;
        Some(self.tail_sites.get_or_init(|| (tail.0)(post)))
    }

    /// The attention pattern of block 0.
    pub fn attention_pattern(&self) -> Result<&Array4<f32>, MissingSite> {
        self.attention_pattern
            .as_ref()
            .ok_or_else(|| MissingSite("attention pattern".into()))
    }

    /// Logits at the last position.
    pub fn logits(&self) -> Result<&Array2<f32>, MissingSite> {
        match (&self.logits, self.deferred_tail()) {
            (Some(logits), _) => Ok(logits),
            (None, Some((_, logits))) => Ok(logits),
            (None, None) => Err(MissingSite("logits".into())),
        }
    }

    /// The model, for weight perturbations.
    pub fn model(&self) -> Result<&Transformer, MissingSite> {
        self.model
            .as_ref()
            .ok_or_else(|| MissingSite("model handle".into()))
    }

    /// Runs the probe through a transformer and keeps what analyzers read.
    pub fn from_transformer(
        model: &Transformer,
        tokens: burn_tensor::Tensor<2, burn_tensor::Int>,
    ) -> Self {
        let [batch, n_pos] = tokens.dims();
        let (logits, cache) = model.forward(tokens, true);
        let cache = cache.expect("forward was asked for a cache");
        let last3 = |hook: HookName| -> Array2<f32> {
            let t = cache
                .rank3(hook)
                .expect("one-layer forward fills every rank-3 hook")
                .clone();
            let d = t.dims()[2];
            to_array2(t.slice([0..batch, n_pos - 1..n_pos]).reshape([batch, d]))
        };
        let mut residual = IndexMap::new();
        residual.insert("resid_pre", last3(HookName::ResidPre { layer: 0 }));
        residual.insert("attn_out", last3(HookName::AttnOut { layer: 0 }));
        residual.insert("resid_post", last3(HookName::ResidPost { layer: 0 }));
        let mlp_post = last3(HookName::MlpPost { layer: 0 });
        let pattern = cache
            .rank4(HookName::AttnPattern { layer: 0 })
            .expect("pattern hook")
            .clone();
        let pattern_dims = pattern.dims();
        let pattern = Array4::from_shape_vec(pattern_dims, tensor_values(pattern.into_data()))
            .expect("shape from the tensor");
        let d_out = logits.dims()[2];
        let logits = to_array2(
            logits
                .slice([0..batch, n_pos - 1..n_pos])
                .reshape([batch, d_out]),
        );
        drop(cache);
        ActivationBundle {
            weights: transformer_weights(model),
            mlp_post: Some(mlp_post),
            residual,
            attention_pattern: Some(pattern),
            logits: Some(logits),
            model: Some(model.clone()),
            ..Default::default()
        }
    }
}

/// The weight matrices of a transformer (block 0) by short name, in MIScope's
/// `WEIGHT_MATRIX_NAMES` order.
pub fn transformer_weights(model: &Transformer) -> IndexMap<String, ArrayD<f32>> {
    let state = model.to_state();
    let mut out = IndexMap::new();
    for (short, full) in [
        ("W_E", "embed.W_E"),
        ("W_pos", "pos_embed.W_pos"),
        ("W_Q", "blocks.0.attn.W_Q"),
        ("W_K", "blocks.0.attn.W_K"),
        ("W_V", "blocks.0.attn.W_V"),
        ("W_O", "blocks.0.attn.W_O"),
        ("W_in", "blocks.0.mlp.W_in"),
        ("W_out", "blocks.0.mlp.W_out"),
        ("W_U", "unembed.W_U"),
    ] {
        if let Some(t) = state.get(full) {
            let array = ArrayD::from_shape_vec(t.shape.clone(), t.data.clone())
                .expect("state shapes are consistent");
            out.insert(short.to_string(), array);
        }
    }
    out
}

fn tensor_values(data: burn_tensor::TensorData) -> Vec<f32> {
    data.convert::<f32>()
        .as_slice::<f32>()
        .expect("converted to f32")
        .to_vec()
}

fn to_array2(t: burn_tensor::Tensor<2>) -> Array2<f32> {
    let dims = t.dims();
    Array2::from_shape_vec(dims, tensor_values(t.into_data())).expect("shape from the tensor")
}
