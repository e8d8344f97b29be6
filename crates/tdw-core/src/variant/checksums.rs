//! Regression checksums of a variant's artifacts (MIScope's regression scaffold, spec:
//! miscope-dashboard.md §7): the SHA-256 of every `.npz` under `artifacts/`, so that a release
//! can prove it still writes the same bytes for reference variants.
//!
//! The file is MIScope's `reference_checksums.json`:
//! `{"family": F, "variants": [{"variant_id": "{p}_{seed}_{dseed}", "prime", "model_seed",
//! "data_seed", "description", "artifact_count", "artifacts": [{"artifact_path", "sha256",
//! "size_bytes"}]}]}`, artifacts sorted by path, relative to `artifacts/`, every `.npz` except
//! those of `landscape_flatness` (random perturbations). The check re-runs the family's analyzers
//! on the variant's checkpoints in a scratch copy (checkpoints, config.json and metadata.json
//! hard-linked, so nothing of the variant is touched) and compares what they write now with the
//! file: MISSING (in the file, not written), MISMATCH (other bytes), EXTRA (written, not in the
//! file).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analysis::AnalysisProgress;
use crate::error::{Error, Result};
use crate::variant::{AnalyzeOptions, Variant};

/// Analyzers whose artifacts are not reproducible by design (MIScope excludes the same).
pub const EXCLUDED: &[&str] = &["landscape_flatness"];

/// One artifact file's checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactChecksum {
    /// Path relative to `artifacts/`, `/`-separated.
    pub artifact_path: String,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub sha256: String,
    /// The file's size.
    pub size_bytes: u64,
}

/// The checksums of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantChecksums {
    /// `{prime}_{model_seed}_{data_seed}`.
    pub variant_id: String,
    /// The modulus.
    pub prime: i64,
    /// The model seed.
    pub model_seed: i64,
    /// The data seed.
    pub data_seed: i64,
    /// What the variant stands for ("canon model", "late grokker", …).
    pub description: String,
    /// Number of artifacts.
    pub artifact_count: usize,
    /// The artifacts, sorted by path.
    pub artifacts: Vec<ArtifactChecksum>,
}

/// A checksum file: one family, several variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecksumFile {
    /// The family.
    pub family: String,
    /// Its reference variants.
    pub variants: Vec<VariantChecksums>,
}

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChecksumReport {
    /// Artifacts compared and equal.
    pub matching: usize,
    /// In the file, not written by the analysis.
    pub missing: Vec<String>,
    /// Written with other bytes.
    pub mismatch: Vec<String>,
    /// Written, not in the file.
    pub extra: Vec<String>,
}

impl ChecksumReport {
    /// Whether every artifact matched and none is missing or extra.
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.mismatch.is_empty() && self.extra.is_empty()
    }
}

impl ChecksumFile {
    /// Reads a checksum file.
    pub fn read(path: &Path) -> Result<Self> {
        crate::json_file::read_json(path, "checksum file")
    }

    /// Writes the file atomically (indented, as MIScope's).
    pub fn write(&self, path: &Path) -> Result<()> {
        crate::json_file::write_json(path, self, true)
    }

    /// The entry of `variant_id`.
    pub fn variant(&self, variant_id: &str) -> Option<&VariantChecksums> {
        self.variants.iter().find(|v| v.variant_id == variant_id)
    }

    /// Adds `entry`, replacing an entry with the same id; entries stay sorted by id.
    pub fn put(&mut self, entry: VariantChecksums) {
        self.variants.retain(|v| v.variant_id != entry.variant_id);
        self.variants.push(entry);
        self.variants
            .sort_by(|a, b| a.variant_id.cmp(&b.variant_id));
    }
}

/// SHA-256 of a file, lower-case hex.
fn sha256_of(path: &Path) -> Result<(String, u64)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let digest = Sha256::digest(&bytes);
    Ok((
        digest.iter().map(|b| format!("{b:02x}")).collect(),
        bytes.len() as u64,
    ))
}

/// Every `.npz` under `root` (recursively), as paths relative to it, sorted.
fn npz_files(root: &Path) -> Result<Vec<String>> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) -> Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(dir, e)),
        };
        for entry in entries {
            let path = entry.map_err(|e| Error::io(dir, e))?.path();
            if path.is_dir() {
                walk(&path, root, out)?;
            } else if path.extension().is_some_and(|e| e == "npz") {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.retain(|p| !EXCLUDED.iter().any(|x| p.starts_with(&format!("{x}/"))));
    out.sort();
    Ok(out)
}

/// The checksums of the artifacts under `artifacts_dir`.
pub fn artifact_checksums(artifacts_dir: &Path) -> Result<Vec<ArtifactChecksum>> {
    npz_files(artifacts_dir)?
        .into_iter()
        .map(|artifact_path| {
            let (sha256, size_bytes) = sha256_of(&artifacts_dir.join(&artifact_path))?;
            Ok(ArtifactChecksum {
                artifact_path,
                sha256,
                size_bytes,
            })
        })
        .collect()
}

/// Compares `written` with `reference`.
pub fn compare(reference: &[ArtifactChecksum], written: &[ArtifactChecksum]) -> ChecksumReport {
    let mut report = ChecksumReport::default();
    for expected in reference {
        match written
            .iter()
            .find(|w| w.artifact_path == expected.artifact_path)
        {
            None => report.missing.push(expected.artifact_path.clone()),
            Some(w) if w.sha256 != expected.sha256 => {
                report.mismatch.push(expected.artifact_path.clone())
            }
            Some(_) => report.matching += 1,
        }
    }
    for w in written {
        if !reference.iter().any(|r| r.artifact_path == w.artifact_path) {
            report.extra.push(w.artifact_path.clone());
        }
    }
    report
}

impl Variant {
    /// `{prime}_{seed}_{data_seed}`, the id of MIScope's registry and checksum files.
    pub fn variant_id(&self) -> Result<String> {
        Ok(format!(
            "{}_{}_{}",
            self.params.int("prime")?,
            self.params.int("seed")?,
            self.params.int("data_seed")?
        ))
    }

    /// The checksums of the artifacts on disk now.
    pub fn checksums(&self, description: &str) -> Result<VariantChecksums> {
        let artifacts = artifact_checksums(&self.artifacts_dir())?;
        Ok(VariantChecksums {
            variant_id: self.variant_id()?,
            prime: self.params.int("prime")?,
            model_seed: self.params.int("seed")?,
            data_seed: self.params.int("data_seed")?,
            description: description.to_string(),
            artifact_count: artifacts.len(),
            artifacts,
        })
    }

    /// Re-runs the family's analyzers on this variant's checkpoints in a scratch copy under
    /// `scratch_root` (removed afterwards) and compares what they write with `reference`.
    pub fn check_checksums(
        &self,
        reference: &VariantChecksums,
        scratch_root: &Path,
        options: &AnalyzeOptions,
        progress: &mut dyn AnalysisProgress,
    ) -> Result<ChecksumReport> {
        let scratch_dir = scratch_root.join(format!(".tdw-checksums-{}", std::process::id()));
        let outcome = (|| {
            let mut scratch = Variant::new(self.family.clone(), self.params.clone(), &scratch_dir)?;
            scratch.intervention = self.intervention.clone();
            link_run(self, &scratch)?;
            let options = AnalyzeOptions {
                force: true,
                ..options.clone()
            };
            scratch.analyze(&options, progress)?;
            let written = artifact_checksums(&scratch.artifacts_dir())?;
            Ok(compare(&reference.artifacts, &written))
        })();
        let _ignored = std::fs::remove_dir_all(&scratch_dir);
        outcome
    }
}

/// The run's inputs (checkpoints, config.json, metadata.json) in `scratch`, hard-linked where
/// the file system allows, else copied.
fn link_run(from: &Variant, to: &Variant) -> Result<()> {
    let checkpoints = to.checkpoints_dir();
    std::fs::create_dir_all(&checkpoints).map_err(|e| Error::io(&checkpoints, e))?;
    let mut pairs: Vec<(PathBuf, PathBuf)> = vec![
        (from.config_path(), to.config_path()),
        (from.metadata_path(), to.metadata_path()),
    ];
    for epoch in from.checkpoints()? {
        pairs.push((from.checkpoint_path(epoch), to.checkpoint_path(epoch)));
    }
    for (source, target) in pairs {
        if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target).map_err(|e| Error::io(&source, e))?;
        }
    }
    Ok(())
}
