//! JSON files of a run (`config.json`, `metadata.json`, manifests): read with the file named in
//! every error, written atomically through [`crate::atomic_file`].

use std::path::Path;

use serde::Serialize;

use crate::atomic_file;
use crate::error::{Error, Result};

/// Reads and parses `path`; a missing file is [`Error::MissingFile`] naming `what`.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str) -> Result<T> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::MissingFile {
                what,
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    serde_json::from_str(&text).map_err(|cause| Error::Json {
        path: path.to_path_buf(),
        cause,
    })
}

/// Writes JSON atomically; `pretty` gives Python's `indent=2` layout.
pub fn write_json<T: Serialize>(path: &Path, value: &T, pretty: bool) -> Result<()> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(|cause| Error::Json {
        path: path.to_path_buf(),
        cause,
    })?;
    atomic_file::write(path, text.as_bytes())
}
