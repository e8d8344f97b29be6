//! What can stop the kernel itself (cell errors are not these: they go to the notebook).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("connection file {path}: {source}")]
    ConnectionFile {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("all {max} build slots under {root} are in use by running kernels; stop one")]
    NoFreeSlot { root: PathBuf, max: usize },
    #[error("copying the warm build {from} into {to} failed ({status})")]
    SeedFailed {
        from: PathBuf,
        to: PathBuf,
        status: String,
    },
    #[error("jupyter channel: {0}")]
    Channel(#[from] jupyter_zmq_client::RuntimeError),
    #[error("usage: tdw-kernel --connection-file FILE (as a kernel spec's argv runs it)")]
    Usage,
}

impl KernelError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        KernelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
