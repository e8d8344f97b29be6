//! The optimizer state saved beside the checkpoints, so that an interrupted run continues exactly
//! where it stopped: `checkpoints/optimizer_state.safetensors`, one rolling file holding the AdamW
//! moments (`exp_avg.{param}`, `exp_avg_sq.{param}`, PyTorch's names), the step count and the
//! epoch whose checkpoint it belongs to.
//!
//! Written after that epoch's checkpoint and metadata.json, so whenever the file names epoch E,
//! checkpoint E and the losses of epochs 0..=E are on disk too.

use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::atomic_file;
use crate::error::{Error, Result};

/// File name of the optimizer state, inside `checkpoints/`.
pub const FILE_NAME: &str = "optimizer_state.safetensors";

/// Each trainable weight's (name, first moment, second moment), sorted by name.
pub type Moments = Vec<(String, Vec<f32>, Vec<f32>)>;

/// AdamW state at the end of an epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState {
    /// The epoch whose checkpoint holds the matching weights.
    pub epoch: u64,
    /// Optimizer steps taken (= epoch + 1).
    pub step: u64,
    /// (parameter name, first moment, second moment), sorted by name.
    pub moments: Moments,
}

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::Safetensors {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl OptimizerState {
    /// Writes the state atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes_of = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let mut buffers: Vec<(String, Vec<u8>, usize)> = Vec::new();
        for (name, m, v) in &self.moments {
            buffers.push((format!("exp_avg.{name}"), bytes_of(m), m.len()));
            buffers.push((format!("exp_avg_sq.{name}"), bytes_of(v), v.len()));
        }
        let step = (self.step as i64).to_le_bytes();
        let epoch = (self.epoch as i64).to_le_bytes();
        let mut views: Vec<(String, TensorView<'_>)> = buffers
            .iter()
            .map(|(name, bytes, n)| {
                (
                    name.clone(),
                    TensorView::new(Dtype::F32, vec![*n], bytes).expect("n f32 values"),
                )
            })
            .collect();
        views.push((
            "step".into(),
            TensorView::new(Dtype::I64, vec![], &step).expect("one i64"),
        ));
        views.push((
            "epoch".into(),
            TensorView::new(Dtype::I64, vec![], &epoch).expect("one i64"),
        ));
        let bytes = safetensors::tensor::serialize(views, None)
            .map_err(|e| invalid(path, e.to_string()))?;
        atomic_file::write(path, &bytes)
    }

    /// Reads a saved state; `None` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        Self::from_bytes(&bytes, path).map(Some)
    }

    /// Parses the state from bytes; `path` names the file in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let file = SafeTensors::deserialize(bytes).map_err(|e| invalid(path, e.to_string()))?;
        let scalar = |key: &str| -> Result<u64> {
            let view = file
                .tensor(key)
                .map_err(|_| invalid(path, format!("no `{key}`")))?;
            let data: [u8; 8] = view
                .data()
                .try_into()
                .map_err(|_| invalid(path, format!("`{key}` is not one i64")))?;
            u64::try_from(i64::from_le_bytes(data))
                .map_err(|_| invalid(path, format!("`{key}` is negative")))
        };
        let floats = |key: &str| -> Result<Vec<f32>> {
            let view = file
                .tensor(key)
                .map_err(|_| invalid(path, format!("no `{key}`")))?;
            if view.dtype() != Dtype::F32 {
                return Err(invalid(path, format!("`{key}` is not F32")));
            }
            Ok(view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        let mut names: Vec<String> = file
            .names()
            .into_iter()
            .filter_map(|n| n.strip_prefix("exp_avg.").map(str::to_string))
            .collect();
        names.sort();
        let mut moments = Vec::with_capacity(names.len());
        for name in names {
            let m = floats(&format!("exp_avg.{name}"))?;
            let v = floats(&format!("exp_avg_sq.{name}"))?;
            if m.len() != v.len() {
                return Err(invalid(path, format!("moments of `{name}` differ in size")));
            }
            moments.push((name, m, v));
        }
        Ok(OptimizerState {
            epoch: scalar("epoch")?,
            step: scalar("step")?,
            moments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        assert_eq!(OptimizerState::load(&path).unwrap(), None);
        let state = OptimizerState {
            epoch: 99,
            step: 100,
            moments: vec![("embed.W_E".into(), vec![0.5, -1.0], vec![0.25, 1e-9])],
        };
        state.save(&path).unwrap();
        assert_eq!(OptimizerState::load(&path).unwrap(), Some(state));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = OptimizerState::load(&path).unwrap_err();
        assert!(err.to_string().contains(FILE_NAME), "{err}");
    }
}
