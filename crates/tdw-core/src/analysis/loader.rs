//! Reading artifacts back (MIScope's `ArtifactLoader`, spec §4.5): one epoch, epochs stacked
//! (optionally only some keys, so a chart of one field never loads 26 MB activation grids),
//! summaries and cross-epoch results. Every error names the path it looked for.

use std::path::{Path, PathBuf};

use crate::analysis::summary;
use crate::error::{Error, Result};
use crate::formats::{Array, Artifact, npz};

/// File name of a per-epoch artifact (`epoch_00100.npz`).
pub fn epoch_file_name(epoch: u64) -> String {
    format!("epoch_{epoch:05}.npz")
}

/// The epoch of a per-epoch artifact file name.
pub fn epoch_of(file_name: &str) -> Option<u64> {
    file_name
        .strip_prefix("epoch_")?
        .strip_suffix(".npz")?
        .parse()
        .ok()
}

/// Reads an artifact file, or a `MissingArtifact` error naming the analyzer, epoch and path.
fn read_existing(
    analyzer: &str,
    epoch: Option<u64>,
    path: PathBuf,
    fields: Option<&[&str]>,
) -> Result<Artifact> {
    if !path.is_file() {
        return Err(Error::MissingArtifact {
            analyzer: analyzer.to_string(),
            epoch,
            path,
        });
    }
    npz::read(&path, fields)
}

/// Reads the artifacts of one variant (`results/{family}/{variant}/artifacts`).
#[derive(Debug, Clone)]
pub struct ArtifactLoader {
    dir: PathBuf,
}

impl ArtifactLoader {
    /// A loader of the artifacts under `artifacts_dir` (a variant's `artifacts/`).
    pub fn new(artifacts_dir: impl Into<PathBuf>) -> Self {
        ArtifactLoader {
            dir: artifacts_dir.into(),
        }
    }

    /// The artifacts directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of one analyzer's per-epoch file.
    pub fn epoch_path(&self, analyzer: &str, epoch: u64) -> PathBuf {
        self.dir.join(analyzer).join(epoch_file_name(epoch))
    }

    /// Path of an analyzer's `summary.npz`.
    pub fn summary_path(&self, analyzer: &str) -> PathBuf {
        self.dir.join(analyzer).join("summary.npz")
    }

    /// Path of an analyzer's `cross_epoch.npz`.
    pub fn cross_epoch_path(&self, analyzer: &str) -> PathBuf {
        self.dir.join(analyzer).join("cross_epoch.npz")
    }

    /// One epoch's artifact.
    pub fn load_epoch(&self, analyzer: &str, epoch: u64) -> Result<Artifact> {
        self.load_epoch_fields(analyzer, epoch, None)
    }

    /// One epoch's artifact, only `fields` when given.
    pub fn load_epoch_fields(
        &self,
        analyzer: &str,
        epoch: u64,
        fields: Option<&[&str]>,
    ) -> Result<Artifact> {
        read_existing(
            analyzer,
            Some(epoch),
            self.epoch_path(analyzer, epoch),
            fields,
        )
    }

    /// One row `a[i]` (first axis) of one array of an epoch's artifact, read without
    /// decompressing the rest (see [`npz::read_leading_slice`]); `choose` sees the whole shape.
    pub fn load_epoch_row(
        &self,
        analyzer: &str,
        epoch: u64,
        key: &str,
        choose: impl FnOnce(&[usize]) -> Result<usize>,
    ) -> Result<(Vec<usize>, crate::formats::Array)> {
        let path = self.epoch_path(analyzer, epoch);
        if !path.is_file() {
            return Err(Error::MissingArtifact {
                analyzer: analyzer.to_string(),
                epoch: Some(epoch),
                path,
            });
        }
        npz::read_leading_slice(&path, key, choose)
    }

    /// Epochs with a per-epoch file, sorted (none when the directory is absent).
    pub fn epochs(&self, analyzer: &str) -> Vec<u64> {
        let Ok(entries) = std::fs::read_dir(self.dir.join(analyzer)) else {
            return Vec::new();
        };
        let mut epochs: Vec<u64> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| epoch_of(&e.file_name().to_string_lossy()))
            .collect();
        epochs.sort_unstable();
        epochs
    }

    /// Per-epoch arrays stacked along a new leading axis, with `epochs` (i64) first.
    /// `epochs = None` takes every epoch on disk; `fields` restricts the keys.
    pub fn load_epochs(
        &self,
        analyzer: &str,
        epochs: Option<&[u64]>,
        fields: Option<&[&str]>,
    ) -> Result<Artifact> {
        let epochs = match epochs {
            Some(e) => e.to_vec(),
            None => self.epochs(analyzer),
        };
        if epochs.is_empty() {
            return Err(Error::MissingArtifact {
                analyzer: analyzer.to_string(),
                epoch: None,
                path: self.dir.join(analyzer),
            });
        }
        let mut collector = summary::SummaryCollector::default();
        let mut keys: Vec<String> = Vec::new();
        for &epoch in &epochs {
            let artifact = self.load_epoch_fields(analyzer, epoch, fields)?;
            if keys.is_empty() {
                keys = artifact.keys().map(str::to_string).collect();
            }
            collector.push(epoch, artifact);
        }
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        collector.stack(&key_refs).map_err(|cause| Error::Summary {
            path: self.dir.join(analyzer),
            cause,
        })
    }

    /// Sorted names of analyzers with at least one per-epoch file.
    pub fn available_analyzers(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !self.epochs(name).is_empty())
            .collect();
        names.sort();
        names
    }

    /// Whether `summary.npz` exists.
    pub fn has_summary(&self, analyzer: &str) -> bool {
        self.summary_path(analyzer).is_file()
    }

    /// An analyzer's `summary.npz`.
    pub fn load_summary(&self, analyzer: &str) -> Result<Artifact> {
        read_existing(analyzer, None, self.summary_path(analyzer), None)
    }

    /// Whether `cross_epoch.npz` exists.
    pub fn has_cross_epoch(&self, analyzer: &str) -> bool {
        self.cross_epoch_path(analyzer).is_file()
    }

    /// An analyzer's `cross_epoch.npz`.
    pub fn load_cross_epoch(&self, analyzer: &str) -> Result<Artifact> {
        read_existing(analyzer, None, self.cross_epoch_path(analyzer), None)
    }

    /// The number of epochs a cross-epoch artifact covers (`None` without an `epochs` key).
    pub fn cross_epoch_coverage(&self, analyzer: &str) -> Option<usize> {
        let artifact = npz::read(&self.cross_epoch_path(analyzer), Some(&["epochs"])).ok()?;
        artifact
            .get("epochs")
            .map(|e: &Array| e.shape().first().copied().unwrap_or(0))
    }
}
