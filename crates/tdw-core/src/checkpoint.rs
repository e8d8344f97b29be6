//! Checkpoint files: a model's state dict as safetensors (spec §1.8, §2.2), in the [`Layout`] its
//! family declares.
//!
//! A transformer checkpoint holds every parameter under its TransformerLens name plus the attention buffers
//! TransformerLens registers (`blocks.{l}.attn.mask`, bool lower-triangular, and
//! `blocks.{l}.attn.IGNORE`, f32 −inf), so a file written here loads into
//! `HookedTransformer.load_state_dict` (strict) and a file written by MIScope loads here.
//! Reading validates names, dtypes and shapes against the model config and names the tensor that
//! does not fit; it never guesses.

use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::model::config::TransformerConfig;
use crate::model::state::{HostTensor, StateDict};

/// File name of the checkpoint for `epoch` (`checkpoint_epoch_00100.safetensors`).
pub fn file_name(epoch: u64) -> String {
    format!("checkpoint_epoch_{epoch:05}.safetensors")
}

/// Parses the epoch out of a checkpoint file name; `None` for other files.
pub fn epoch_of(file_name: &str) -> Option<u64> {
    file_name
        .strip_prefix("checkpoint_epoch_")?
        .strip_suffix(".safetensors")?
        .parse()
        .ok()
}

/// What a family's checkpoint holds: the parameters with their shapes, and for a transformer
/// the attention buffers TransformerLens registers.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Parameter names (as the family's Python model names them) and shapes.
    pub parameters: Vec<(String, Vec<usize>)>,
    /// `(n_layers, n_ctx)` of a TransformerLens model, whose files also carry
    /// `blocks.{l}.attn.mask` and `blocks.{l}.attn.IGNORE`; `None` for plain torch modules.
    pub attention_buffers: Option<(usize, usize)>,
}

impl Layout {
    /// A TransformerLens `HookedTransformer` of `config`.
    pub fn transformer(config: &TransformerConfig) -> Self {
        Layout {
            parameters: config.parameter_shapes(),
            attention_buffers: Some((config.n_layers, config.n_ctx)),
        }
    }

    /// A plain torch module with exactly these parameters and no buffers.
    pub fn plain(parameters: Vec<(String, Vec<usize>)>) -> Self {
        Layout {
            parameters,
            attention_buffers: None,
        }
    }

    fn buffer_names(&self) -> Vec<String> {
        let layers = self.attention_buffers.map_or(0, |(layers, _)| layers);
        (0..layers)
            .flat_map(|l| {
                [
                    format!("blocks.{l}.attn.mask"),
                    format!("blocks.{l}.attn.IGNORE"),
                ]
            })
            .collect()
    }
}

/// Serialises a state dict with TransformerLens' buffers, in safetensors format.
pub fn to_bytes(config: &TransformerConfig, state: &StateDict) -> Result<Vec<u8>> {
    layout_to_bytes(&Layout::transformer(config), state)
}

/// Serialises a state dict with the buffers of `layout`, in safetensors format.
pub fn layout_to_bytes(layout: &Layout, state: &StateDict) -> Result<Vec<u8>> {
    let (layers, n) = layout.attention_buffers.unwrap_or((0, 0));
    let mask: Vec<u8> = (0..n * n).map(|i| u8::from(i % n <= i / n)).collect();
    let ignore = f32::NEG_INFINITY.to_le_bytes();
    let mut buffers: Vec<(String, Vec<u8>)> = Vec::with_capacity(state.len());
    for (name, tensor) in state {
        buffers.push((name.clone(), f32_bytes(&tensor.data)));
    }
    let mut views: Vec<(String, TensorView<'_>)> = Vec::with_capacity(state.len() + 2 * layers);
    for ((name, tensor), (_, bytes)) in state.iter().zip(&buffers) {
        let view = TensorView::new(Dtype::F32, tensor.shape.clone(), bytes)
            .expect("the byte length is derived from the shape just above");
        views.push((name.clone(), view));
    }
    for layer in 0..layers {
        views.push((
            format!("blocks.{layer}.attn.mask"),
            TensorView::new(Dtype::BOOL, vec![n, n], &mask).expect("n*n bools"),
        ));
        views.push((
            format!("blocks.{layer}.attn.IGNORE"),
            TensorView::new(Dtype::F32, vec![], &ignore).expect("one f32"),
        ));
    }
    safetensors::tensor::serialize(views, None).map_err(|e| Error::Safetensors {
        path: "<memory>".into(),
        reason: e.to_string(),
    })
}

/// Writes a transformer checkpoint atomically.
pub fn save(path: &Path, config: &TransformerConfig, state: &StateDict) -> Result<()> {
    save_layout(path, &Layout::transformer(config), state)
}

/// Writes a checkpoint of `layout` atomically.
pub fn save_layout(path: &Path, layout: &Layout, state: &StateDict) -> Result<()> {
    let bytes = layout_to_bytes(layout, state).map_err(|e| match e {
        Error::Safetensors { reason, .. } => Error::Safetensors {
            path: path.to_path_buf(),
            reason,
        },
        other => other,
    })?;
    atomic_file::write(path, &bytes)
}

/// Reads and validates a checkpoint for a model of `config`.
pub fn load(path: &Path, config: &TransformerConfig) -> Result<StateDict> {
    load_layout(path, &Layout::transformer(config))
}

/// Reads and validates a checkpoint of `layout`.
pub fn load_layout(path: &Path, layout: &Layout) -> Result<StateDict> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    layout_from_bytes(&bytes, path, layout)
}

/// Parses checkpoint bytes; `path` only names the file in errors.
pub fn from_bytes(bytes: &[u8], path: &Path, config: &TransformerConfig) -> Result<StateDict> {
    layout_from_bytes(bytes, path, &Layout::transformer(config))
}

/// Parses checkpoint bytes of `layout`; `path` only names the file in errors.
pub fn layout_from_bytes(bytes: &[u8], path: &Path, layout: &Layout) -> Result<StateDict> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| Error::Safetensors {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let expected = layout.parameters.clone();
    let buffer_names = layout.buffer_names();
    let mut unexpected: Vec<String> = file
        .names()
        .into_iter()
        .filter(|name| {
            !expected.iter().any(|(e, _)| e == *name) && !buffer_names.iter().any(|b| b == *name)
        })
        .map(|name| name.to_string())
        .collect();
    if !unexpected.is_empty() {
        unexpected.sort();
        return Err(Error::TensorMismatch {
            path: path.to_path_buf(),
            key: unexpected.join(", "),
            expected: "no such tensor in this model".into(),
            found: "unexpected key(s)".into(),
        });
    }
    let mut state = StateDict::new();
    for (name, shape) in expected {
        let view = file.tensor(&name).map_err(|_| Error::MissingTensor {
            path: path.to_path_buf(),
            key: name.clone(),
        })?;
        if view.shape() != shape.as_slice() {
            return Err(Error::TensorMismatch {
                path: path.to_path_buf(),
                key: name,
                expected: format!("shape {shape:?}"),
                found: format!("shape {:?}", view.shape()),
            });
        }
        let data = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            // Files written in double precision are narrowed to the model's f32 (burn-store would
            // silently keep them as f64 parameters).
            Dtype::F64 => view
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8")) as f32)
                .collect(),
            other => {
                return Err(Error::TensorMismatch {
                    path: path.to_path_buf(),
                    key: name,
                    expected: "dtype F32".into(),
                    found: format!("dtype {other:?}"),
                });
            }
        };
        state.insert(name, HostTensor { shape, data });
    }
    Ok(state)
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::init::init_state;

    fn tiny() -> TransformerConfig {
        let arch = serde_json::json!({"d_model": 8, "d_head": 2, "n_heads": 4, "d_mlp": 16});
        TransformerConfig::from_architecture(arch.as_object().unwrap(), 5).unwrap()
    }

    #[test]
    fn round_trip_is_bit_identical_and_carries_buffers() {
        let config = tiny();
        let state = init_state(&config, 3);
        let bytes = to_bytes(&config, &state).unwrap();
        let back = from_bytes(&bytes, Path::new("x"), &config).unwrap();
        assert_eq!(back, state);
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let mask = file.tensor("blocks.0.attn.mask").unwrap();
        assert_eq!(mask.dtype(), Dtype::BOOL);
        assert_eq!(mask.data(), &[1, 0, 0, 1, 1, 0, 1, 1, 1]);
        let ignore = file.tensor("blocks.0.attn.IGNORE").unwrap();
        assert_eq!(ignore.shape(), &[] as &[usize]);
        assert_eq!(ignore.data(), f32::NEG_INFINITY.to_le_bytes());
        assert_eq!(file.names().len(), 18);
    }

    #[test]
    fn wrong_shape_names_the_tensor() {
        let config = tiny();
        let bytes = to_bytes(&config, &init_state(&config, 3)).unwrap();
        let mut other = config.clone();
        other.d_mlp = 32;
        let err = from_bytes(&bytes, Path::new("ck.safetensors"), &other).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("ck.safetensors") && msg.contains("blocks.0.mlp.W_in"),
            "{msg}"
        );
    }

    #[test]
    fn truncated_file_is_an_error_not_a_panic() {
        let config = tiny();
        let bytes = to_bytes(&config, &init_state(&config, 3)).unwrap();
        for cut in [0, 7, 100, bytes.len() - 1] {
            assert!(from_bytes(&bytes[..cut], Path::new("t"), &config).is_err());
        }
    }

    #[test]
    fn names_parse_back() {
        assert_eq!(file_name(100), "checkpoint_epoch_00100.safetensors");
        assert_eq!(epoch_of("checkpoint_epoch_24999.safetensors"), Some(24999));
        assert_eq!(
            epoch_of("checkpoint_epoch_123456.safetensors"),
            Some(123456)
        );
        assert_eq!(epoch_of("checkpoint_epoch_x.safetensors"), None);
    }
}
