//! Are a variant's artifacts up to date with its checkpoints? (spec §4.6)
//!
//! Per-epoch analyzers are fresh when every checkpoint has its file; cross-epoch results when
//! their `epochs` cover every checkpoint. The report is derived from disk on each call.

use std::fmt;

use crate::analysis::loader::ArtifactLoader;
use crate::analysis::trained::TrainedRun;
use crate::error::Result;

/// State of one analyzer's artifacts.
#[derive(Debug, Clone, PartialEq)]
pub enum Freshness {
    /// Every checkpoint has its artifact, and a cross-epoch result covers them all.
    Fresh,
    /// No file at all.
    Absent,
    /// Per-epoch files missing for this many checkpoints.
    Incomplete {
        /// Checkpoints without an artifact.
        missing: usize,
    },
    /// A cross-epoch result without an `epochs` key.
    StaleNoEpochs,
    /// A cross-epoch result that predates this many checkpoints.
    Stale {
        /// Checkpoints newer than the result.
        new_epochs: usize,
    },
}

impl Freshness {
    /// Whether nothing needs computing.
    pub fn is_fresh(&self) -> bool {
        *self == Freshness::Fresh
    }
}

impl fmt::Display for Freshness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Freshness::Fresh => f.write_str("fresh"),
            Freshness::Absent => f.write_str("absent"),
            Freshness::Incomplete { missing } => write!(f, "incomplete ({missing} missing)"),
            Freshness::StaleNoEpochs => f.write_str("stale (no epoch metadata)"),
            Freshness::Stale { new_epochs } => write!(f, "stale ({new_epochs} new epoch(s))"),
        }
    }
}

/// Freshness of every analyzer with artifacts on disk.
#[derive(Debug, Clone)]
pub struct FreshnessReport {
    /// The variant's name.
    pub variant_name: String,
    /// Checkpoints on disk.
    pub total_checkpoints: usize,
    /// (analyzer, state) for per-epoch analyzers, sorted by name.
    pub per_epoch: Vec<(String, Freshness)>,
    /// (analyzer, state) for cross-epoch analyzers, sorted by name.
    pub cross_epoch: Vec<(String, Freshness)>,
}

impl FreshnessReport {
    /// Checks every analyzer directory under the variant's artifacts.
    pub fn check(variant: &dyn TrainedRun) -> Result<Self> {
        let checkpoints = variant.checkpoints()?;
        let loader = ArtifactLoader::new(variant.artifacts_dir());
        let mut per_epoch = Vec::new();
        let mut cross_epoch = Vec::new();
        let mut names: Vec<String> = std::fs::read_dir(loader.dir())
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        for name in names {
            let epochs = loader.epochs(&name);
            if !epochs.is_empty() {
                let missing = checkpoints.iter().filter(|e| !epochs.contains(e)).count();
                let state = if missing == 0 {
                    Freshness::Fresh
                } else {
                    Freshness::Incomplete { missing }
                };
                per_epoch.push((name.clone(), state));
            }
            if loader.has_cross_epoch(&name) {
                let state = match loader.cross_epoch_coverage(&name) {
                    None => Freshness::StaleNoEpochs,
                    Some(covered) if covered >= checkpoints.len() => Freshness::Fresh,
                    Some(covered) => Freshness::Stale {
                        new_epochs: checkpoints.len() - covered,
                    },
                };
                cross_epoch.push((name, state));
            }
        }
        Ok(FreshnessReport {
            variant_name: variant.name().to_string(),
            total_checkpoints: checkpoints.len(),
            per_epoch,
            cross_epoch,
        })
    }

    /// Whether anything needs recomputing.
    pub fn any_stale(&self) -> bool {
        self.per_epoch
            .iter()
            .chain(&self.cross_epoch)
            .any(|(_, s)| !s.is_fresh())
    }
}

impl fmt::Display for FreshnessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "artifacts of {} ({} checkpoints)",
            self.variant_name, self.total_checkpoints
        )?;
        if self.per_epoch.is_empty() && self.cross_epoch.is_empty() {
            return writeln!(f, "  none (run `tdw analyze {}`)", self.variant_name);
        }
        for (kind, rows) in [
            ("per-epoch", &self.per_epoch),
            ("cross-epoch", &self.cross_epoch),
        ] {
            for (name, state) in rows {
                let mark = if state.is_fresh() { '✓' } else { '✗' };
                writeln!(f, "  {mark} {name:<40} {kind:<12} {state}")?;
            }
        }
        if !self.any_stale() {
            writeln!(f, "  All artifacts are fresh.")?;
        }
        Ok(())
    }
}
