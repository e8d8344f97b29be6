//! An analysis run over a variant's checkpoints (MIScope's `AnalysisPipeline`, spec §4.3).
//!
//! Phase 1 loads each checkpoint that some per-epoch analyzer still needs, runs ONE forward pass
//! of the probe (the full p² grid) and hands the same [`ActivationBundle`] to every such
//! analyzer; checkpoints are independent and run in parallel (rayon), each writing its files as
//! soon as they are computed, so only the checkpoints in flight are held in memory. Phase 1.5
//! runs secondary analyzers on the artifacts they read, phase 2 the cross-epoch analyzers.
//!
//! Resumable by construction: "done" means the `.npz` is on disk, every file is written
//! atomically, and summaries are re-derived for epochs whose artifacts exist but whose summary
//! row was lost (a run killed before it wrote `summary.npz`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use burn_tensor::Device;
use rayon::prelude::*;

use crate::analysis::analyzer::{AnalysisContext, AnalyzerError, CrossEpochInput};
use crate::analysis::loader::ArtifactLoader;
use crate::analysis::manifest::Manifest;
use crate::analysis::registry::{AnalysisPlan, AnalyzerRegistry};
use crate::analysis::summary::{self, SummaryCollector};
use crate::analysis::trained::TrainedRun;
use crate::error::{Error, Result};
use crate::formats::npz;
use crate::formats::{Array, Artifact, DType};

/// Keys, shapes and dtypes of the first artifact each analyzer wrote in this run.
type Layouts = Mutex<HashMap<&'static str, Vec<(String, Vec<usize>, DType)>>>;

/// What one checkpoint produced: (analyzer index, epoch, summary values or why not).
type CheckpointRows = Vec<(usize, u64, std::result::Result<Artifact, AnalyzerError>)>;

/// The state the three phases share.
struct Phase<'p, 'q> {
    plan: &'p AnalysisPlan,
    loader: &'p ArtifactLoader,
    context: &'p AnalysisContext,
    progress: &'p Mutex<&'q mut dyn AnalysisProgress>,
}

/// What an analysis run reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalysisEvent {
    /// Phase 1 starts: `total` checkpoints need a forward pass.
    Started {
        /// The variant analyzed.
        variant: String,
        /// Checkpoints that need a forward pass.
        total: usize,
    },
    /// One checkpoint's per-epoch artifacts are written.
    Checkpoint {
        /// The checkpoint's epoch.
        epoch: u64,
        /// Checkpoints done so far.
        done: usize,
        /// Checkpoints in this phase.
        total: usize,
    },
    /// A secondary analyzer finished an epoch.
    Secondary {
        /// The secondary analyzer.
        analyzer: String,
        /// The epoch it finished.
        epoch: u64,
    },
    /// A cross-epoch analyzer is running.
    CrossEpoch {
        /// The cross-epoch analyzer.
        analyzer: String,
    },
    /// Everything is written.
    Finished,
}

/// A receiver of analysis events (called from worker threads, hence `Send`).
pub trait AnalysisProgress: Send {
    /// Receives one event (in the order the run reaches them).
    fn event(&mut self, event: &AnalysisEvent);

    /// Asked before each checkpoint: true ends the run with [`Error::Interrupted`]; the files
    /// written so far stay, so the next run continues from them.
    fn should_stop(&mut self) -> bool {
        false
    }
}

impl<F: FnMut(&AnalysisEvent) + Send> AnalysisProgress for F {
    fn event(&mut self, event: &AnalysisEvent) {
        self(event)
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct AnalysisReport {
    /// Checkpoints that got a forward pass.
    pub epochs_analyzed: Vec<u64>,
    /// Per-epoch (primary + secondary) files written.
    pub files_written: usize,
    /// Cross-epoch analyzers that ran.
    pub cross_epoch_run: Vec<String>,
    /// (analyzer, reason) of analyzers skipped because the model lacks a site they need.
    pub skipped: Vec<(String, String)>,
    /// Names in the family's lists that this build does not implement.
    pub not_implemented: Vec<String>,
    /// Wall time of the whole run.
    pub seconds: f64,
}

/// Builder and executor of one analysis run.
pub struct AnalysisRun<'a> {
    variant: &'a dyn TrainedRun,
    registry: &'a AnalyzerRegistry,
    only: Option<Vec<String>>,
    checkpoints: Option<Vec<u64>>,
    force: bool,
    device: Device,
}

impl<'a> AnalysisRun<'a> {
    /// A run of the family's analyzers over all checkpoints of `variant` (a [`crate::Variant`]).
    pub fn new(variant: &'a dyn TrainedRun, registry: &'a AnalyzerRegistry) -> Self {
        AnalysisRun {
            variant,
            registry,
            only: None,
            checkpoints: None,
            force: false,
            device: crate::default_device(),
        }
    }

    /// Only these analyzers (any kind), in the family's order.
    pub fn analyzers(mut self, names: Vec<String>) -> Self {
        self.only = Some(names);
        self
    }

    /// Only these checkpoint epochs (others on disk are left alone).
    pub fn checkpoints(mut self, epochs: Vec<u64>) -> Self {
        self.checkpoints = Some(epochs);
        self
    }

    /// Recompute artifacts that already exist.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// The device for forward passes.
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Runs the three phases and writes the manifest.
    pub fn run(self, progress: &mut dyn AnalysisProgress) -> Result<AnalysisReport> {
        let started = Instant::now();
        let variant = self.variant;
        let plan = self.registry.plan(variant.spec(), self.only.as_deref())?;
        let mut report = AnalysisReport {
            not_implemented: plan.not_implemented.clone(),
            ..Default::default()
        };
        let available = variant.checkpoints()?;
        if let Some(wanted) = &self.checkpoints {
            let never: Vec<String> = wanted
                .iter()
                .filter(|e| !available.contains(e))
                .map(u64::to_string)
                .collect();
            if !never.is_empty() {
                return Err(Error::InvalidSetting {
                    setting: "epochs".into(),
                    value: never.join(","),
                    reason: format!(
                        "never saved as checkpoints of {}; saved: {}",
                        variant.name(),
                        summarize_epochs(&available)
                    ),
                });
            }
        }
        let target: Vec<u64> = match &self.checkpoints {
            Some(wanted) => available
                .iter()
                .copied()
                .filter(|e| wanted.contains(e))
                .collect(),
            None => available.clone(),
        };
        if target.is_empty()
            || (plan.primary.is_empty() && plan.secondary.is_empty() && plan.cross_epoch.is_empty())
        {
            report.seconds = started.elapsed().as_secs_f64();
            return Ok(report);
        }
        let _lock = crate::lock::VariantLock::acquire(variant.dir(), variant.name(), "analyze")?;
        let artifacts_dir = variant.artifacts_dir();
        std::fs::create_dir_all(&artifacts_dir).map_err(|e| Error::io(&artifacts_dir, e))?;
        let loader = ArtifactLoader::new(&artifacts_dir);
        // Files half-written by a killed run are never read; clear them away.
        crate::atomic_file::remove_stale_temporaries(&artifacts_dir);
        for name in plan.names() {
            crate::atomic_file::remove_stale_temporaries(&artifacts_dir.join(name));
        }
        let manifest_path = artifacts_dir.join("manifest.json");
        let mut manifest = Manifest::load(&manifest_path)?;
        let context = variant.analysis_context()?;
        let progress = Mutex::new(progress);

        let layouts = Layouts::default();
        let phase = Phase {
            plan: &plan,
            loader: &loader,
            context: &context,
            progress: &progress,
        };
        let queue = self.primary_phase(&phase, &target, &layouts, &mut report)?;
        self.secondary_phase(&phase, &mut report)?;
        self.cross_epoch_phase(&phase, &available, &mut report)?;

        for name in &queue {
            let epochs = loader.epochs(name);
            if let Some(&first) = epochs.first() {
                // The layout of an artifact computed in this run, else of the first file on disk.
                let layout = match layouts.lock().unwrap_or_else(|p| p.into_inner()).get(*name) {
                    Some(layout) => layout.clone(),
                    None => loader.load_epoch(name, first)?.layout(),
                };
                manifest.update_analyzer(name, &epochs, &layout);
            }
        }
        manifest.set_variant(&variant.spec().name, variant.params());
        manifest.save(&manifest_path)?;
        emit(&progress, AnalysisEvent::Finished);
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Phase 1; returns the names of primary analyzers that had work.
    fn primary_phase(
        &self,
        phase: &Phase<'_, '_>,
        target: &[u64],
        layouts: &Layouts,
        report: &mut AnalysisReport,
    ) -> Result<Vec<&'static str>> {
        let Phase {
            plan,
            loader,
            context,
            progress,
        } = *phase;
        // Which epochs each analyzer still needs.
        let mut work: Vec<(usize, Vec<u64>)> = Vec::new();
        for (i, analyzer) in plan.primary.iter().enumerate() {
            let done: BTreeSet<u64> = if self.force {
                BTreeSet::new()
            } else {
                loader.epochs(analyzer.name()).into_iter().collect()
            };
            // A file that is present but unreadable is not silently trusted: it is reported, and
            // only --force recomputes it.
            for &epoch in target.iter().filter(|e| done.contains(e)) {
                npz::check(&loader.epoch_path(analyzer.name(), epoch))?;
            }
            let missing: Vec<u64> = target
                .iter()
                .copied()
                .filter(|e| !done.contains(e))
                .collect();
            if !missing.is_empty() {
                work.push((i, missing));
            }
        }
        let queue: Vec<&'static str> = work.iter().map(|(i, _)| plan.primary[*i].name()).collect();
        let epochs: Vec<u64> = work
            .iter()
            .flat_map(|(_, e)| e.iter().copied())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let total = epochs.len();
        if total > 0 {
            emit(
                progress,
                AnalysisEvent::Started {
                    variant: self.variant.name().to_string(),
                    total,
                },
            );
        }
        let done_count = Mutex::new(0usize);

        let results: Vec<Result<CheckpointRows>> = epochs
            .par_iter()
            .map(|&epoch| {
                if progress
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .should_stop()
                {
                    return Err(Error::Interrupted {
                        what: "analysis",
                        at: format!("before checkpoint {epoch}"),
                        resume: "the artifacts written so far are kept; analyzing again continues from them".into(),
                    });
                }
                let bundle = self.variant.bundle(epoch, context, &self.device)?;
                let mut out = Vec::new();
                for (i, needed) in &work {
                    if !needed.contains(&epoch) {
                        continue;
                    }
                    let analyzer = &plan.primary[*i];
                    match analyzer.analyze(&bundle, context) {
                        Ok(artifact) => {
                            npz::write(&loader.epoch_path(analyzer.name(), epoch), &artifact)?;
                            layouts
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .entry(analyzer.name())
                                .or_insert_with(|| artifact.layout());
                            let summary = if analyzer.summary_keys().is_empty() {
                                Ok(Artifact::new())
                            } else {
                                analyzer.summary(&artifact, context)
                            };
                            out.push((*i, epoch, summary));
                        }
                        Err(AnalyzerError::Skipped(site)) => {
                            out.push((*i, epoch, Err(AnalyzerError::Skipped(site))))
                        }
                        Err(other) => return Err(other.into_error(analyzer.name())),
                    }
                }
                let mut done = done_count.lock().unwrap_or_else(|p| p.into_inner());
                *done += 1;
                emit(
                    progress,
                    AnalysisEvent::Checkpoint {
                        epoch,
                        done: *done,
                        total,
                    },
                );
                Ok(out)
            })
            .collect();

        let mut collectors: Vec<SummaryCollector> = plan
            .primary
            .iter()
            .map(|_| SummaryCollector::default())
            .collect();
        let mut first_error = None;
        for result in results {
            match result {
                Ok(rows) => {
                    for (i, epoch, summary) in rows {
                        match summary {
                            Ok(values) => {
                                report.files_written += 1;
                                if !plan.primary[i].summary_keys().is_empty() {
                                    collectors[i].push(epoch, values);
                                }
                            }
                            Err(AnalyzerError::Skipped(site)) => {
                                let entry = (plan.primary[i].name().to_string(), site.to_string());
                                if !report.skipped.contains(&entry) {
                                    report.skipped.push(entry);
                                }
                            }
                            Err(other) => {
                                first_error.get_or_insert(other.into_error(plan.primary[i].name()));
                            }
                        }
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        report.epochs_analyzed = epochs;
        // Summaries: this run's rows, plus rows re-derived for artifacts on disk that the
        // summary lacks (a run killed before writing it).
        for (i, analyzer) in plan.primary.iter().enumerate() {
            let keys = analyzer.summary_keys();
            if keys.is_empty() {
                continue;
            }
            let mut collector = std::mem::take(&mut collectors[i]);
            let path = loader.summary_path(analyzer.name());
            let old = self.existing_summary(&path)?;
            let mut covered: BTreeSet<u64> = old.as_ref().map(summary_epochs).unwrap_or_default();
            covered.extend(collector.epochs());
            for epoch in loader.epochs(analyzer.name()) {
                if !covered.contains(&epoch) {
                    let artifact = loader.load_epoch(analyzer.name(), epoch)?;
                    let values = analyzer
                        .summary(&artifact, context)
                        .map_err(|e| e.into_error(analyzer.name()))?;
                    collector.push(epoch, values);
                }
            }
            if collector.is_empty() {
                continue;
            }
            write_summary(&path, collector, keys, old.as_ref())?;
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(queue),
        }
    }

    /// The summary.npz to merge new rows into; none when forced (the rerun replaces it).
    fn existing_summary(&self, path: &std::path::Path) -> Result<Option<Artifact>> {
        if path.is_file() && !self.force {
            npz::read(path, None).map(Some)
        } else {
            Ok(None)
        }
    }

    fn secondary_phase(&self, phase: &Phase<'_, '_>, report: &mut AnalysisReport) -> Result<()> {
        let Phase {
            plan,
            loader,
            context,
            progress,
        } = *phase;
        for analyzer in &plan.secondary {
            let source = analyzer.depends_on();
            let available = loader.epochs(source);
            if let Some(reason) = skipped_reason(report, source) {
                report.skipped.push((analyzer.name().to_string(), reason));
                continue;
            }
            if available.is_empty() {
                return Err(Error::MissingDependency {
                    analyzer: analyzer.name().to_string(),
                    requires: source.to_string(),
                });
            }
            let done: BTreeSet<u64> = if self.force {
                BTreeSet::new()
            } else {
                loader.epochs(analyzer.name()).into_iter().collect()
            };
            let todo: Vec<u64> = available
                .into_iter()
                .filter(|e| !done.contains(e))
                .collect();
            let rows: Vec<Result<(u64, Artifact)>> = todo
                .par_iter()
                .map(|&epoch| {
                    let input = loader.load_epoch(source, epoch)?;
                    let artifact = analyzer
                        .analyze(&input, context)
                        .map_err(|e| e.into_error(analyzer.name()))?;
                    npz::write(&loader.epoch_path(analyzer.name(), epoch), &artifact)?;
                    let values = if analyzer.summary_keys().is_empty() {
                        Artifact::new()
                    } else {
                        analyzer
                            .summary(&artifact, context)
                            .map_err(|e| e.into_error(analyzer.name()))?
                    };
                    emit(
                        progress,
                        AnalysisEvent::Secondary {
                            analyzer: analyzer.name().to_string(),
                            epoch,
                        },
                    );
                    Ok((epoch, values))
                })
                .collect();
            let mut collector = SummaryCollector::default();
            for row in rows {
                let (epoch, values) = row?;
                report.files_written += 1;
                collector.push(epoch, values);
            }
            let keys = analyzer.summary_keys();
            if !keys.is_empty() && !collector.is_empty() {
                let path = loader.summary_path(analyzer.name());
                let old = self.existing_summary(&path)?;
                write_summary(&path, collector, keys, old.as_ref())?;
            }
        }
        Ok(())
    }

    fn cross_epoch_phase(
        &self,
        phase: &Phase<'_, '_>,
        available: &[u64],
        report: &mut AnalysisReport,
    ) -> Result<()> {
        let Phase {
            plan,
            loader,
            context,
            progress,
        } = *phase;
        for analyzer in &plan.cross_epoch {
            let name = analyzer.name();
            if loader.has_cross_epoch(name)
                && !self.force
                && !is_stale(loader, name, analyzer.requires())
            {
                continue;
            }
            let skipped = analyzer
                .requires()
                .iter()
                .find_map(|required| skipped_reason(report, required));
            if let Some(reason) = skipped {
                report.skipped.push((name.to_string(), reason));
                continue;
            }
            for required in analyzer.requires() {
                if loader.epochs(required).is_empty() && !loader.has_cross_epoch(required) {
                    return Err(Error::MissingDependency {
                        analyzer: name.to_string(),
                        requires: required.to_string(),
                    });
                }
            }
            emit(
                progress,
                AnalysisEvent::CrossEpoch {
                    analyzer: name.to_string(),
                },
            );
            // The checkpoints every per-epoch input covers (all of them after a full run; a
            // partial run gives a partial, and then stale, cross-epoch result instead of an error).
            let inputs: Vec<Vec<u64>> = analyzer
                .requires()
                .iter()
                .map(|r| loader.epochs(r))
                .filter(|done| !done.is_empty())
                .collect();
            let epochs: Vec<u64> = available
                .iter()
                .copied()
                .filter(|e| inputs.iter().all(|done| done.contains(e)))
                .collect();
            let input = CrossEpochInput {
                loader,
                epochs: &epochs,
                context,
                run: self.variant,
                device: &self.device,
            };
            let artifact = analyzer.analyze(&input)?;
            npz::write(&loader.cross_epoch_path(name), &artifact)?;
            report.cross_epoch_run.push(name.to_string());
        }
        Ok(())
    }
}

/// A cross-epoch artifact is stale when it has no `epochs` key or covers fewer epochs than the
/// most complete of its inputs: a per-epoch input's files, or a cross-epoch input's own
/// coverage (transient_frequency reads neuron_dynamics, which has no per-epoch files).
pub fn is_stale(loader: &ArtifactLoader, name: &str, requires: &[&str]) -> bool {
    let Some(covered) = loader.cross_epoch_coverage(name) else {
        return true;
    };
    let inputs = requires
        .iter()
        .map(|r| {
            let per_epoch = loader.epochs(r).len();
            per_epoch.max(loader.cross_epoch_coverage(r).unwrap_or(0))
        })
        .max()
        .unwrap_or(0);
    inputs > covered
}

fn emit(progress: &Mutex<&mut dyn AnalysisProgress>, event: AnalysisEvent) {
    let mut guard = progress.lock().unwrap_or_else(|p| p.into_inner());
    guard.event(&event);
}

fn summary_epochs(artifact: &Artifact) -> BTreeSet<u64> {
    match artifact.get("epochs") {
        Some(Array::I64(e)) => e.iter().map(|&v| v as u64).collect(),
        _ => BTreeSet::new(),
    }
}

/// Why `dependency` was skipped in this run (the model lacks a site it needs), as the reason
/// for skipping what depends on it.
fn skipped_reason(report: &AnalysisReport, dependency: &str) -> Option<String> {
    report
        .skipped
        .iter()
        .find(|(name, _)| name == dependency)
        .map(|(name, reason)| format!("{reason} (needed by {name})"))
}

fn write_summary(
    path: &std::path::Path,
    collector: SummaryCollector,
    keys: &[&str],
    old: Option<&Artifact>,
) -> Result<()> {
    let invalid = |cause| Error::Summary {
        path: path.to_path_buf(),
        cause,
    };
    // Keys no row has belong to weights this family's model lacks (an MLP has no W_Q).
    let keys: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|key| collector.has_key(key))
        .collect();
    let new = collector.stack(&keys).map_err(invalid)?;
    let merged = match old {
        Some(old) => summary::merge(old, &new, &keys).map_err(invalid)?,
        None => new,
    };
    npz::write(path, &merged)
}

/// A list of epochs for a message: all of them when few, else the first and last few.
fn summarize_epochs(epochs: &[u64]) -> String {
    let text = |es: &[u64]| es.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    if epochs.is_empty() {
        "none".into()
    } else if epochs.len() <= 12 {
        format!("[{}]", text(epochs))
    } else {
        format!(
            "[{}, … {}] ({} in all)",
            text(&epochs[..5]),
            text(&epochs[epochs.len() - 3..]),
            epochs.len()
        )
    }
}
