//! The one-layer grokking transformer of Nanda et al., "Progress measures for grokking via
//! mechanistic interpretability" (ICLR 2023), written as TransformerLens' `HookedTransformer`
//! computes it (components `Embed`, `PosEmbed`, `Attention`, `MLP`, `Unembed`; no LayerNorm).
//!
//! Fields carry TransformerLens parameter names (`embed.W_E`, `blocks.0.attn.W_Q`, ...), which
//! are also the checkpoint keys. All products are `x @ W` with TransformerLens' right-multiplying
//! layouts. Two forward passes: [`Transformer::forward`] computes every position and can fill an
//! [`ActivationCache`] (analysis); [`Transformer::forward_last`] computes only what the logits at
//! the last ("=") position need (training). Initialisation and checkpoint I/O live in
//! `model::init` and `checkpoint`.
//!
//! The weights are plain burn tensors. Training wraps the trainable ones as autodiff leaves for one
//! step ([`Transformer::with_trainable_leaves`]); the frozen `b_*` biases stay constants, so they
//! get no gradient and the optimizer never touches them, exactly as in MIScope.

#![allow(non_snake_case)]
// burn slices take one range per sliced axis; `[0..n]` is a one-axis slice, not a mistaken range.
#![allow(clippy::single_range_in_vec_init)]

use burn_tensor::activation::{relu, softmax};
use burn_tensor::{Device, Int, Tensor, TensorData};

use crate::model::cache::{ActivationCache, HookName};
use crate::model::config::{TransformerConfig, is_bias};
use crate::model::hook::AttnOutHook;
use crate::model::state::{HostTensor, StateDict};

/// Token embedding (`Embed`).
#[derive(Debug, Clone)]
pub struct Embed {
    /// `[d_vocab, d_model]`, N(0, 0.8/√d_model).
    pub W_E: Tensor<2>,
}

/// Learned absolute positional embedding (`PosEmbed`).
#[derive(Debug, Clone)]
pub struct PosEmbed {
    /// `[n_ctx, d_model]`, N(0, 0.8/√d_model).
    pub W_pos: Tensor<2>,
}

/// Causal multi-head attention (`Attention`).
#[derive(Debug, Clone)]
pub struct Attention {
    /// `[head_index, d_model, d_head]`
    pub W_Q: Tensor<3>,
    /// `[head_index, d_head, d_model]`
    pub W_O: Tensor<3>,
    /// `[head_index, d_head]`, frozen at 0.
    pub b_Q: Tensor<2>,
    /// `[d_model]`, frozen at 0.
    pub b_O: Tensor<1>,
    /// `[head_index, d_model, d_head]`
    pub W_K: Tensor<3>,
    /// `[head_index, d_model, d_head]`
    pub W_V: Tensor<3>,
    /// `[head_index, d_head]`, frozen at 0.
    pub b_K: Tensor<2>,
    /// `[head_index, d_head]`, frozen at 0.
    pub b_V: Tensor<2>,
}

/// The MLP (`MLP`): `W_out · act(W_in · x + b_in) + b_out`.
#[derive(Debug, Clone)]
pub struct Mlp {
    /// `[d_model, d_mlp]`
    pub W_in: Tensor<2>,
    /// `[d_mlp]`, frozen at 0.
    pub b_in: Tensor<1>,
    /// `[d_mlp, d_model]`
    pub W_out: Tensor<2>,
    /// `[d_model]`, frozen at 0.
    pub b_out: Tensor<1>,
}

/// One transformer block: attention then MLP, each added to the residual stream.
#[derive(Debug, Clone)]
pub struct Block {
    /// Attention (`blocks.{l}.attn`).
    pub attn: Attention,
    /// MLP (`blocks.{l}.mlp`).
    pub mlp: Mlp,
}

/// Unembedding (`Unembed`).
#[derive(Debug, Clone)]
pub struct Unembed {
    /// `[d_model, d_vocab_out]`
    pub W_U: Tensor<2>,
    /// `[d_vocab_out]`, frozen at 0.
    pub b_U: Tensor<1>,
}

/// A HookedTransformer without LayerNorm.
#[derive(Debug, Clone)]
pub struct Transformer {
    config: TransformerConfig,
    /// Token embedding (`embed`).
    pub embed: Embed,
    /// Positional embedding (`pos_embed`).
    pub pos_embed: PosEmbed,
    /// The blocks (`blocks.{l}`).
    pub blocks: Vec<Block>,
    /// Unembedding (`unembed`).
    pub unembed: Unembed,
}

/// Transforms every parameter of a model, by state-dict name, keeping its rank.
pub trait WeightMapper {
    /// The new value of parameter `name` (its state-dict name) from its current `weight`.
    fn map<const D: usize>(&mut self, name: &str, weight: Tensor<D>) -> Tensor<D>;
}

/// Reads one parameter from a state dict (shapes are checked by the caller, see `checkpoint`).
struct StateLoader<'a> {
    state: &'a StateDict,
    device: &'a Device,
}

impl StateLoader<'_> {
    fn get<const D: usize>(&self, name: &str) -> Tensor<D> {
        let tensor = self
            .state
            .get(name)
            .unwrap_or_else(|| panic!("state dict was validated to hold `{name}`"));
        let shape: [usize; D] = tensor
            .shape
            .clone()
            .try_into()
            .unwrap_or_else(|_| panic!("state dict was validated: `{name}` has rank {D}"));
        Tensor::from_data(TensorData::new(tensor.data.clone(), shape), self.device)
    }
}

impl Transformer {
    /// Builds the model from host parameters. `state` must hold every name of
    /// [`TransformerConfig::parameter_shapes`] with those shapes (the seeded initialiser and the
    /// checkpoint reader guarantee it).
    pub fn from_state(config: &TransformerConfig, state: &StateDict, device: &Device) -> Self {
        let load = StateLoader { state, device };
        let blocks = (0..config.n_layers)
            .map(|l| Block {
                attn: Attention {
                    W_Q: load.get(&format!("blocks.{l}.attn.W_Q")),
                    W_O: load.get(&format!("blocks.{l}.attn.W_O")),
                    b_Q: load.get(&format!("blocks.{l}.attn.b_Q")),
                    b_O: load.get(&format!("blocks.{l}.attn.b_O")),
                    W_K: load.get(&format!("blocks.{l}.attn.W_K")),
                    W_V: load.get(&format!("blocks.{l}.attn.W_V")),
                    b_K: load.get(&format!("blocks.{l}.attn.b_K")),
                    b_V: load.get(&format!("blocks.{l}.attn.b_V")),
                },
                mlp: Mlp {
                    W_in: load.get(&format!("blocks.{l}.mlp.W_in")),
                    b_in: load.get(&format!("blocks.{l}.mlp.b_in")),
                    W_out: load.get(&format!("blocks.{l}.mlp.W_out")),
                    b_out: load.get(&format!("blocks.{l}.mlp.b_out")),
                },
            })
            .collect();
        Transformer {
            config: config.clone(),
            embed: Embed {
                W_E: load.get("embed.W_E"),
            },
            pos_embed: PosEmbed {
                W_pos: load.get("pos_embed.W_pos"),
            },
            blocks,
            unembed: Unembed {
                W_U: load.get("unembed.W_U"),
                b_U: load.get("unembed.b_U"),
            },
        }
    }

    /// The sizes this model was built with.
    pub fn config(&self) -> &TransformerConfig {
        &self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.embed.W_E.device()
    }

    /// The same model with every weight cast to `dtype`: `DType::F64` gives the f64 reference
    /// that the f32 engines are measured against (forward, autodiff and AdamW follow the
    /// weights' dtype); `DType::F32` brings it back.
    pub fn with_dtype(self, dtype: burn_tensor::DType) -> Self {
        struct Cast(burn_tensor::DType);
        impl WeightMapper for Cast {
            fn map<const D: usize>(&mut self, _name: &str, weight: Tensor<D>) -> Tensor<D> {
                weight.cast(self.0)
            }
        }
        self.map_weights(&mut Cast(dtype))
    }

    /// Applies `mapper` to every parameter in `named_parameters()` order.
    pub fn map_weights(self, mapper: &mut impl WeightMapper) -> Self {
        let Transformer {
            config,
            embed,
            pos_embed,
            blocks,
            unembed,
        } = self;
        let embed = Embed {
            W_E: mapper.map("embed.W_E", embed.W_E),
        };
        let pos_embed = PosEmbed {
            W_pos: mapper.map("pos_embed.W_pos", pos_embed.W_pos),
        };
        let blocks = blocks
            .into_iter()
            .enumerate()
            .map(|(l, Block { attn, mlp })| {
                let a = format!("blocks.{l}.attn");
                let m = format!("blocks.{l}.mlp");
                Block {
                    attn: Attention {
                        W_Q: mapper.map(&format!("{a}.W_Q"), attn.W_Q),
                        W_O: mapper.map(&format!("{a}.W_O"), attn.W_O),
                        b_Q: mapper.map(&format!("{a}.b_Q"), attn.b_Q),
                        b_O: mapper.map(&format!("{a}.b_O"), attn.b_O),
                        W_K: mapper.map(&format!("{a}.W_K"), attn.W_K),
                        W_V: mapper.map(&format!("{a}.W_V"), attn.W_V),
                        b_K: mapper.map(&format!("{a}.b_K"), attn.b_K),
                        b_V: mapper.map(&format!("{a}.b_V"), attn.b_V),
                    },
                    mlp: Mlp {
                        W_in: mapper.map(&format!("{m}.W_in"), mlp.W_in),
                        b_in: mapper.map(&format!("{m}.b_in"), mlp.b_in),
                        W_out: mapper.map(&format!("{m}.W_out"), mlp.W_out),
                        b_out: mapper.map(&format!("{m}.b_out"), mlp.b_out),
                    },
                }
            })
            .collect();
        let unembed = Unembed {
            W_U: mapper.map("unembed.W_U", unembed.W_U),
            b_U: mapper.map("unembed.b_U", unembed.b_U),
        };
        Transformer {
            config,
            embed,
            pos_embed,
            blocks,
            unembed,
        }
    }

    /// Copies every parameter to the host, by state-dict name.
    pub fn to_state(&self) -> StateDict {
        struct ToHost(StateDict);
        impl WeightMapper for ToHost {
            fn map<const D: usize>(&mut self, name: &str, weight: Tensor<D>) -> Tensor<D> {
                let data = weight.to_data().convert::<f32>();
                let values = data
                    .as_slice::<f32>()
                    .expect("converted to f32 just above")
                    .to_vec();
                self.0.insert(
                    name.to_string(),
                    HostTensor {
                        shape: weight.dims().to_vec(),
                        data: values,
                    },
                );
                weight
            }
        }
        let mut host = ToHost(StateDict::new());
        let _unchanged = self.clone().map_weights(&mut host);
        host.0
    }

    /// A copy whose trainable weights (all but the frozen `b_*` biases) are autodiff leaves that
    /// retain their gradient, for one training step.
    pub fn with_trainable_leaves(&self) -> Self {
        struct Leaves;
        impl WeightMapper for Leaves {
            fn map<const D: usize>(&mut self, name: &str, weight: Tensor<D>) -> Tensor<D> {
                if is_bias(name) {
                    weight
                } else {
                    weight.autodiff().require_grad()
                }
            }
        }
        self.clone().map_weights(&mut Leaves)
    }

    /// All-position forward pass, as `HookedTransformer.forward` / `run_with_cache`.
    ///
    /// # Shapes
    /// - `tokens`: `[batch, pos]` token ids (`[a, b, p]` rows for the grokking task)
    /// - returns logits `[batch, pos, d_vocab_out]` and, when `cache` is true, the 15 hooks of a
    ///   one-layer model under their TransformerLens names.
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        cache: bool,
    ) -> (Tensor<3>, Option<ActivationCache>) {
        self.forward_hooked(tokens, cache, None)
    }

    /// [`Transformer::forward`] with `hook` editing `blocks.0.hook_attn_out` at every position
    /// (the cache records the edited output, as TransformerLens' `run_with_hooks` would).
    pub fn forward_hooked(
        &self,
        tokens: Tensor<2, Int>,
        cache: bool,
        hook: Option<&AttnOutHook>,
    ) -> (Tensor<3>, Option<ActivationCache>) {
        self.forward_edited(tokens, cache, hook, None)
    }

    /// Logits `[batch, pos, d_vocab_out]` with one head of block 0 ablated at
    /// `blocks.0.attn.hook_z`: its `z` replaced at every position by zeros, or by `mean` (its mean
    /// over a probe, `[pos, d_head]` row-major, as TransformerLens' mean ablation uses).
    pub fn forward_ablating_head(
        &self,
        tokens: Tensor<2, Int>,
        head: usize,
        mean: Option<&[f32]>,
    ) -> Tensor<3> {
        let edit = HeadAblation { head, mean };
        self.forward_edited(tokens, false, None, Some(&edit)).0
    }

    fn forward_edited(
        &self,
        tokens: Tensor<2, Int>,
        cache: bool,
        hook: Option<&AttnOutHook>,
        ablation: Option<&HeadAblation<'_>>,
    ) -> (Tensor<3>, Option<ActivationCache>) {
        let mut store = cache.then(ActivationCache::default);
        let [batch, n_pos] = tokens.dims();
        let d_model = self.config.d_model;

        // hook_embed: W_E[tokens]
        let embed = self
            .embed
            .W_E
            .clone()
            .select(0, tokens.reshape([batch * n_pos]))
            .reshape([batch, n_pos, d_model]);
        record3(&mut store, HookName::Embed, &embed);
        // hook_pos_embed: W_pos[0..n_pos], broadcast over the batch
        let pos_embed = self
            .pos_embed
            .W_pos
            .clone()
            .slice([0..n_pos])
            .unsqueeze::<3>()
            .expand([batch, n_pos, d_model]);
        record3(&mut store, HookName::PosEmbed, &pos_embed);

        let mut resid = embed + pos_embed;
        for (layer, block) in self.blocks.iter().enumerate() {
            record3(&mut store, HookName::ResidPre { layer }, &resid);
            let attn = match ablation.filter(|_| layer == 0) {
                Some(ablation) => block.attn.forward_ablated(&resid, &self.config, ablation),
                None => block.attn.forward(&resid, &self.config),
            };
            if let Some(c) = store.as_mut() {
                c.insert4(HookName::AttnQ { layer }, &attn.q);
                c.insert4(HookName::AttnK { layer }, &attn.k);
                c.insert4(HookName::AttnV { layer }, &attn.v);
                c.insert4(HookName::AttnScores { layer }, &attn.scores);
                c.insert4(HookName::AttnPattern { layer }, &attn.pattern);
                c.insert4(HookName::AttnZ { layer }, &attn.z);
            }
            let attn_out = match hook {
                Some(hook) if layer == 0 => {
                    let [b, n, d] = attn.out.dims();
                    apply_hook(attn.out.reshape([b * n, d]), hook).reshape([b, n, d])
                }
                _ => attn.out,
            };
            record3(&mut store, HookName::AttnOut { layer }, &attn_out);
            let resid_mid = resid + attn_out;
            record3(&mut store, HookName::ResidMid { layer }, &resid_mid);
            let (pre, post, mlp_out) = block.mlp.forward(resid_mid.clone());
            record3(&mut store, HookName::MlpPre { layer }, &pre);
            record3(&mut store, HookName::MlpPost { layer }, &post);
            record3(&mut store, HookName::MlpOut { layer }, &mlp_out);
            resid = resid_mid + mlp_out;
            record3(&mut store, HookName::ResidPost { layer }, &resid);
        }
        let logits = self.unembed.forward(resid);
        (logits, store)
    }

    /// `blocks.0.hook_attn_out` at every position, without the rest of the forward pass (what
    /// an intervention's check projects).
    ///
    /// # Shapes
    /// - `tokens`: `[batch, pos]`; returns `[batch, pos, d_model]`
    pub fn attn_out(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let [batch, n_pos] = tokens.dims();
        let d_model = self.config.d_model;
        let embed = self
            .embed
            .W_E
            .clone()
            .select(0, tokens.reshape([batch * n_pos]))
            .reshape([batch, n_pos, d_model]);
        let pos_embed = self
            .pos_embed
            .W_pos
            .clone()
            .slice([0..n_pos])
            .unsqueeze::<3>()
            .expand([batch, n_pos, d_model]);
        self.blocks[0]
            .attn
            .forward(&(embed + pos_embed), &self.config)
            .out
    }

    /// Logits at the last position only, for the training loss.
    ///
    /// In a one-layer model the last position's output depends on the other positions only
    /// through their keys and values, so computing keys and values for all positions and
    /// everything else (query, attention output, MLP, unembedding) for the last position gives
    /// exactly the loss and gradients of the full forward. Keys, values and the query come from
    /// per-token tables (d_vocab rows) gathered per row, since at a fixed position they depend on
    /// one token only. Deeper models fall back to the full forward.
    ///
    /// # Shapes
    /// - `tokens`: `[batch, pos]`
    /// - returns `[batch, d_vocab_out]`
    pub fn forward_last(&self, tokens: Tensor<2, Int>) -> Tensor<2> {
        self.forward_last_hooked(tokens, None)
    }

    /// [`Transformer::forward_last`] with `hook` editing `blocks.0.hook_attn_out` (only the last
    /// position's output reaches its logits in a one-layer model, so only it is edited there).
    pub fn forward_last_hooked(
        &self,
        tokens: Tensor<2, Int>,
        hook: Option<&AttnOutHook>,
    ) -> Tensor<2> {
        let [batch, n_pos] = tokens.dims();
        if self.blocks.len() != 1 {
            let (logits, _) = self.forward_hooked(tokens, false, hook);
            let d_out = self.config.d_vocab_out;
            return logits
                .slice([0..batch, n_pos - 1..n_pos])
                .reshape([batch, d_out]);
        }
        let c = &self.config;
        let (h, dh, d) = (c.n_heads, c.d_head, c.d_model);
        let block = &self.blocks[0];

        let a = &block.attn;
        // Position j's residual stream depends on one token only: W_E[t] + W_pos[j]. So keys,
        // values and the last query are computed once per vocabulary entry (d_vocab rows) and
        // gathered per row, instead of projecting batch × pos rows.
        let table =
            |j: usize| self.embed.W_E.clone() + self.pos_embed.W_pos.clone().slice([j..j + 1]);
        let token = |j: usize| tokens.clone().slice([0..batch, j..j + 1]).reshape([batch]);
        let last = n_pos - 1;
        let last_table = table(last);
        let resid_last = last_table.clone().select(0, token(last));
        // q at the last position: [batch, head_index, d_head]
        let q = project(last_table, &a.W_Q, &a.b_Q)
            .select(0, token(last))
            .reshape([batch, h, dh]);
        let mut scores = Vec::with_capacity(n_pos);
        let mut values = Vec::with_capacity(n_pos);
        for j in 0..n_pos {
            let resid_j = table(j);
            let k = project(resid_j.clone(), &a.W_K, &a.b_K)
                .select(0, token(j))
                .reshape([batch, h, dh]);
            let v = project(resid_j, &a.W_V, &a.b_V)
                .select(0, token(j))
                .reshape([batch, h, dh]);
            // q·k_j / √d_head per head: [batch, head_index, 1]. The last query attends to every
            // key, so this row needs no causal mask.
            scores.push((q.clone() * k).sum_dim(2).div_scalar(c.attn_scale()));
            values.push(v);
        }
        let pattern = softmax(Tensor::cat(scores, 2), 2);
        let z = values
            .into_iter()
            .enumerate()
            .map(|(j, v)| pattern.clone().slice([0..batch, 0..h, j..j + 1]) * v)
            .reduce(|acc, term| acc + term)
            .expect("n_pos >= 1")
            .reshape([batch, h * dh]);
        let attn_out =
            z.matmul(a.W_O.clone().reshape([h * dh, d])) + a.b_O.clone().unsqueeze::<2>();
        let attn_out = match hook {
            Some(hook) => apply_hook(attn_out, hook),
            None => attn_out,
        };
        let resid_mid = resid_last + attn_out;

        let m = &block.mlp;
        let post = relu(resid_mid.clone().matmul(m.W_in.clone()) + m.b_in.clone().unsqueeze::<2>());
        let resid_post =
            resid_mid + post.matmul(m.W_out.clone()) + m.b_out.clone().unsqueeze::<2>();
        resid_post.matmul(self.unembed.W_U.clone()) + self.unembed.b_U.clone().unsqueeze::<2>()
    }
}

/// `a + Σ_i c_i (a·D_i) D_i` on every row of `a` (`[rows, d_model]`), as
/// [`AttnOutHook::apply`]: the projections `a·Dᵀ` scaled by `c`, mapped back through `D`.
fn apply_hook(a: Tensor<2>, hook: &AttnOutHook) -> Tensor<2> {
    let device = a.device();
    let n = hook.directions.len();
    if n == 0 {
        return a;
    }
    let flat: Vec<f32> = hook.directions.iter().flatten().copied().collect();
    let directions: Tensor<2> =
        Tensor::<2>::from_data(TensorData::new(flat, [n, hook.d_model]), &device).cast(a.dtype());
    let coefficients: Tensor<2> =
        Tensor::<2>::from_data(TensorData::new(hook.coefficients.clone(), [1, n]), &device)
            .cast(a.dtype());
    let projections = a.clone().matmul(directions.clone().transpose()) * coefficients;
    a + projections.matmul(directions)
}

fn record3(store: &mut Option<ActivationCache>, hook: HookName, tensor: &Tensor<3>) {
    if let Some(cache) = store.as_mut() {
        cache.insert3(hook, tensor);
    }
}

/// `x @ W[h] + b[h]` for every head at once, heads concatenated along the last axis.
///
/// # Shapes
/// - `x`: `[rows, d_model]`, `w`: `[head_index, d_model, d_head]`, `b`: `[head_index, d_head]`
/// - returns `[rows, head_index * d_head]`
fn project(x: Tensor<2>, w: &Tensor<3>, b: &Tensor<2>) -> Tensor<2> {
    let [h, d, dh] = w.dims();
    let w = w.clone().swap_dims(0, 1).reshape([d, h * dh]);
    x.matmul(w) + b.clone().reshape([1, h * dh])
}

/// One head's `z` replaced: by zeros (`mean: None`) or by its mean over a probe (`[pos,
/// d_head]`).
struct HeadAblation<'a> {
    head: usize,
    mean: Option<&'a [f32]>,
}

impl HeadAblation<'_> {
    /// `z` (`[batch, pos, head_index, d_head]`) with head `head`'s slice replaced.
    fn apply(&self, z: Tensor<4>, h: usize, dh: usize) -> Tensor<4> {
        let [_, n_pos, _, _] = z.dims();
        let device = z.device();
        let keep: Vec<f32> = (0..h)
            .map(|i| if i == self.head { 0.0 } else { 1.0 })
            .collect();
        let keep: Tensor<4> =
            Tensor::<4>::from_data(TensorData::new(keep, [1, 1, h, 1]), &device).cast(z.dtype());
        let kept = z * keep;
        match self.mean {
            None => kept,
            Some(mean) => {
                let mut fill = vec![0.0f32; n_pos * h * dh];
                for pos in 0..n_pos {
                    for j in 0..dh {
                        fill[(pos * h + self.head) * dh + j] = mean[pos * dh + j];
                    }
                }
                let fill: Tensor<4> =
                    Tensor::<4>::from_data(TensorData::new(fill, [1, n_pos, h, dh]), &device)
                        .cast(kept.dtype());
                kept + fill
            }
        }
    }
}

/// Intermediate values of one attention layer.
struct AttentionOutput {
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    scores: Tensor<4>,
    pattern: Tensor<4>,
    z: Tensor<4>,
    out: Tensor<3>,
}

impl Attention {
    /// # Shapes
    /// - `resid`: `[batch, pos, d_model]`
    /// - q/k/v/z: `[batch, pos, head_index, d_head]`; scores/pattern: `[batch, head_index,
    ///   query_pos, key_pos]`; out (`hook_attn_out`): `[batch, pos, d_model]`
    fn forward(&self, resid: &Tensor<3>, c: &TransformerConfig) -> AttentionOutput {
        self.forward_with(resid, c, None)
    }

    /// [`Attention::forward`] with one head's `z` replaced (zero or mean ablation).
    fn forward_ablated(
        &self,
        resid: &Tensor<3>,
        c: &TransformerConfig,
        ablation: &HeadAblation<'_>,
    ) -> AttentionOutput {
        self.forward_with(resid, c, Some(ablation))
    }

    fn forward_with(
        &self,
        resid: &Tensor<3>,
        c: &TransformerConfig,
        ablation: Option<&HeadAblation<'_>>,
    ) -> AttentionOutput {
        let [batch, n_pos, d] = resid.dims();
        let (h, dh) = (c.n_heads, c.d_head);
        let flat = resid.clone().reshape([batch * n_pos, d]);
        // hook_q, hook_k, hook_v: [batch, pos, head_index, d_head]
        let q = project(flat.clone(), &self.W_Q, &self.b_Q).reshape([batch, n_pos, h, dh]);
        let k = project(flat.clone(), &self.W_K, &self.b_K).reshape([batch, n_pos, h, dh]);
        let v = project(flat, &self.W_V, &self.b_V).reshape([batch, n_pos, h, dh]);
        // hook_attn_scores: q·k / sqrt(d_head), causal entries (key_pos > query_pos) set to −inf
        let scores = q
            .clone()
            .swap_dims(1, 2)
            .matmul(k.clone().swap_dims(1, 2).swap_dims(2, 3))
            .div_scalar(c.attn_scale())
            + causal_mask(n_pos, &resid.device()).cast(resid.dtype());
        // hook_pattern: softmax over key_pos
        let pattern = softmax(scores.clone(), 3);
        // hook_z: [batch, pos, head_index, d_head]
        let z = pattern
            .clone()
            .matmul(v.clone().swap_dims(1, 2))
            .swap_dims(1, 2);
        let z = match ablation {
            Some(ablation) => ablation.apply(z, h, dh),
            None => z,
        };
        // hook_attn_out: Σ_h z_h @ W_O[h] + b_O
        let out = z
            .clone()
            .reshape([batch * n_pos, h * dh])
            .matmul(self.W_O.clone().reshape([h * dh, d]))
            + self.b_O.clone().unsqueeze::<2>();
        AttentionOutput {
            q,
            k,
            v,
            scores,
            pattern,
            z,
            out: out.reshape([batch, n_pos, d]),
        }
    }
}

/// Additive causal mask `[1, 1, query_pos, key_pos]`: 0 where key_pos <= query_pos, −inf above
/// the diagonal, so the cached scores hold −inf exactly where TransformerLens writes `IGNORE`.
fn causal_mask(n_pos: usize, device: &Device) -> Tensor<4> {
    let values: Vec<f32> = (0..n_pos * n_pos)
        .map(|i| {
            if i % n_pos > i / n_pos {
                f32::NEG_INFINITY
            } else {
                0.0
            }
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [1, 1, n_pos, n_pos]), device)
}

impl Mlp {
    /// Returns (`mlp.hook_pre`, `mlp.hook_post`, `hook_mlp_out`), each `[batch, pos, ·]`.
    fn forward(&self, resid_mid: Tensor<3>) -> (Tensor<3>, Tensor<3>, Tensor<3>) {
        let [batch, n_pos, d] = resid_mid.dims();
        let m = self.W_in.dims()[1];
        let flat = resid_mid.reshape([batch * n_pos, d]);
        let pre = flat.matmul(self.W_in.clone()) + self.b_in.clone().unsqueeze::<2>();
        let post = relu(pre.clone());
        let out = post.clone().matmul(self.W_out.clone()) + self.b_out.clone().unsqueeze::<2>();
        (
            pre.reshape([batch, n_pos, m]),
            post.reshape([batch, n_pos, m]),
            out.reshape([batch, n_pos, d]),
        )
    }
}

impl Unembed {
    /// `[batch, pos, d_model]` → `[batch, pos, d_vocab_out]`.
    fn forward(&self, resid: Tensor<3>) -> Tensor<3> {
        let [batch, n_pos, d] = resid.dims();
        let n_out = self.W_U.dims()[1];
        let logits = resid.reshape([batch * n_pos, d]).matmul(self.W_U.clone())
            + self.b_U.clone().unsqueeze::<2>();
        logits.reshape([batch, n_pos, n_out])
    }
}
