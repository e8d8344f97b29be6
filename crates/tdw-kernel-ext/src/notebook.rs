//! Notebook entry points: plain functions and small result types, so cells only call into code
//! compiled once with this crate (a generic call in a cell would recompile burn's generics).

use std::path::PathBuf;

use tdw_core::analysis::analyzer::ForAnalyzer;
use tdw_core::analysis::freshness::FreshnessReport;
use tdw_core::analysis::{AnalysisReport, Artifact, ArtifactLoader};
use tdw_core::init_sweep::InitSweep;
use tdw_core::intervention::FrequencyGain;
use tdw_core::variant::{DensifyResult, EpochRange};
use tdw_core::views::{Animation, PeerAxis, PeerComparison};
use tdw_core::{
    AnalyzeOptions, Certificate, CertificateInput, FamilyRegistry, Report, Result, TrainOptions,
    TrainingResult, Variant, default_device, paths,
};

use crate::display::{self, EvcxrDisplay, emit};
use crate::html;
use crate::live::{AnalysisDisplay, TrainingDisplay};
use crate::progress::{AnalysisLines, TrainingLines};

/// The project's families and results (`model_families/`, `results/`; env `TDW_RESULTS_DIR`).
pub fn registry() -> Result<FamilyRegistry> {
    FamilyRegistry::open(&paths::model_families_dir(), &paths::results_dir())
}

/// The model families, shown as a table.
pub fn families() -> Result<FamilyTable> {
    let registry = registry()?;
    let rows = registry
        .families()
        .map(|family| {
            let spec = family.spec();
            let params = spec
                .domain_parameters
                .iter()
                .map(|(name, p)| match &p.default {
                    Some(value) => format!("{name}={value}"),
                    None => format!("{name}=(required)"),
                })
                .collect::<Vec<_>>()
                .join(" ");
            let variants = registry.variants(family.name()).map_or(0, |v| v.len());
            vec![
                family.name().to_string(),
                spec.description.clone(),
                params,
                variants.to_string(),
            ]
        })
        .collect();
    Ok(FamilyTable { rows })
}

/// Every variant on disk (all families).
pub fn variants() -> Result<VariantTable> {
    let registry = registry()?;
    let mut all = Vec::new();
    for name in registry.names() {
        all.extend(registry.variants(&name)?);
    }
    Ok(VariantTable { variants: all })
}

/// A variant of `family` from `name=value` pairs separated by spaces or commas
/// (`"prime=59 seed=999"`); omitted parameters take the family's defaults.
pub fn variant(family: &str, params: &str) -> Result<Variant> {
    let pairs = params
        .split([' ', ','])
        .filter(|p| !p.is_empty())
        .map(|p| tdw_core::family::split_assignment(p, "variant parameters"))
        .collect::<Result<Vec<_>>>()?;
    registry()?.create_variant_from_text(family, pairs)
}

/// A variant on disk, by directory name.
pub fn find_variant(name: &str) -> Result<Variant> {
    registry()?.find_variant(name)
}

/// Training settings, built up fluently: `Training::epochs(1500).fraction(0.5).checkpoint_every(50)`.
#[derive(Debug, Clone, Default)]
pub struct Training {
    options: TrainOptions,
}

impl Training {
    /// The family's defaults (25,000 epochs for the one-layer transformer).
    pub fn defaults() -> Self {
        Training::default()
    }

    /// The family's defaults with `epochs` epochs.
    pub fn epochs(epochs: u64) -> Self {
        Training::default().with_epochs(epochs)
    }

    /// Sets the number of epochs.
    pub fn with_epochs(mut self, epochs: u64) -> Self {
        self.options.num_epochs = Some(epochs);
        self
    }

    /// Fraction of all (a, b) pairs used for training.
    pub fn fraction(mut self, fraction: f64) -> Self {
        self.options.training_fraction = Some(fraction);
        self
    }

    /// A checkpoint every `every` epochs (the final epoch is always saved).
    pub fn checkpoint_every(mut self, every: u64) -> Self {
        let total = self.options.num_epochs.unwrap_or(25_000);
        self.options.checkpoint_epochs = Some((0..total).step_by(every.max(1) as usize).collect());
        self
    }

    /// AdamW learning rate (default: the family's); recorded in config.json when it differs.
    pub fn learning_rate(mut self, lr: f64) -> Self {
        self.options.learning_rate = Some(lr);
        self
    }

    /// AdamW weight decay (default: the family's); recorded in config.json when it differs.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.options.weight_decay = Some(weight_decay);
        self
    }

    /// Retrain even if the variant already has checkpoints.
    pub fn force(mut self) -> Self {
        self.options.overwrite = true;
        self
    }

    /// Continue an interrupted run.
    pub fn resume(mut self) -> Self {
        self.options.resume = true;
        self
    }

    /// The options as the library takes them.
    pub fn options(&self) -> &TrainOptions {
        &self.options
    }
}

/// A finished training run: its result, or the run already on disk.
#[derive(Debug, Clone)]
pub struct TrainingRun {
    /// The variant trained.
    pub variant: Variant,
    /// Its losses and checkpoints.
    pub result: TrainingResult,
    /// False when the variant was already trained and nothing ran.
    pub trained_now: bool,
}

impl EvcxrDisplay for TrainingRun {
    fn evcxr_display(&self) {
        self.result.evcxr_display();
    }
}

/// Trains `variant` with progress (one display updated in place under tdw-kernel, else a few
/// lines; the kernel's interrupt stops it after the current epoch, resumable); a variant that is already trained (and not forced or
/// resumed) is not retrained: its run on disk is returned, so re-running a notebook is cheap.
pub fn train(variant: &Variant, training: &Training) -> Result<TrainingRun> {
    let options = training.options();
    if !options.overwrite && !options.resume && variant.metadata_path().is_file() {
        let metadata = variant.metadata()?;
        println!(
            "{} is already trained ({} epochs); showing the run on disk (use .force() to retrain)",
            variant.name(),
            metadata.num_epochs
        );
        let result = TrainingResult {
            final_train_loss: metadata.train_losses.last().copied().unwrap_or(f64::NAN),
            final_test_loss: metadata.test_losses.last().copied().unwrap_or(f64::NAN),
            train_losses: metadata.train_losses,
            test_losses: metadata.test_losses,
            checkpoint_epochs: metadata.checkpoint_epochs,
            variant_dir: variant.dir().to_path_buf(),
        };
        return Ok(TrainingRun {
            variant: variant.clone(),
            result,
            trained_now: false,
        });
    }
    let result = match TrainingDisplay::new() {
        Some(mut live) => variant.train(options, &default_device(), &mut live)?,
        None => variant.train(options, &default_device(), &mut TrainingLines::default())?,
    };
    Ok(TrainingRun {
        variant: variant.clone(),
        result,
        trained_now: true,
    })
}

/// The result of [`analyze`].
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Which analyzers ran on which epochs, and what was skipped.
    pub report: AnalysisReport,
}

impl EvcxrDisplay for Analysis {
    fn evcxr_display(&self) {
        self.report.evcxr_display();
    }
}

/// Runs every analyzer of the variant's family over its checkpoints (resumable: what is on disk
/// is skipped), with progress shown as for [`train`]; an interrupt stops it before the next
/// checkpoint, keeping what was written.
pub fn analyze(variant: &Variant) -> Result<Analysis> {
    let options = AnalyzeOptions::default();
    let report = match AnalysisDisplay::new() {
        Some(mut live) => variant.analyze(&options, &mut live)?,
        None => variant.analyze(&options, &mut AnalysisLines::default())?,
    };
    Ok(Analysis { report })
}

/// Which analyzers are up to date with the checkpoints.
pub fn freshness(variant: &Variant) -> Result<FreshnessReport> {
    variant.freshness()
}

/// One analyzer's artifact at one epoch (keys, dtypes, shapes and value ranges when shown).
pub fn artifact(variant: &Variant, analyzer: &str, epoch: u64) -> Result<ArtifactSummary> {
    let loader = ArtifactLoader::new(variant.artifacts_dir());
    Ok(ArtifactSummary {
        analyzer: analyzer.to_string(),
        artifact: loader.load_epoch(analyzer, epoch)?,
    })
}

/// A loaded artifact; `.artifact` holds the arrays, [`ArtifactSummary::values`] one as numbers.
#[derive(Debug, Clone)]
pub struct ArtifactSummary {
    /// The analyzer whose artifact this is.
    pub analyzer: String,
    /// The arrays.
    pub artifact: Artifact,
}

impl ArtifactSummary {
    /// The values of one key, flattened in row-major order and widened to f64.
    pub fn values(&self, key: &str) -> Result<Vec<f64>> {
        self.artifact
            .as_f64(key)
            .map(|array| array.iter().copied().collect())
            .for_analyzer(&self.analyzer)
    }
}

impl EvcxrDisplay for ArtifactSummary {
    fn evcxr_display(&self) {
        self.artifact.evcxr_display();
    }
}

/// Writes the variant's HTML report (every available chart) and shows where.
pub fn report(variant: &Variant) -> Result<ReportFile> {
    let report = Report::build(variant)?;
    let path = report.write(&Report::default_path(variant))?;
    Ok(ReportFile { report, path })
}

/// A written report.
#[derive(Debug, Clone)]
pub struct ReportFile {
    /// The report's charts.
    pub report: Report,
    /// Where report.html was written.
    pub path: PathBuf,
}

impl EvcxrDisplay for ReportFile {
    fn evcxr_display(&self) {
        let charts = self.report.entries().len() - self.report.failures().len();
        let size = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        let rows = vec![
            vec!["file".into(), self.path.display().to_string()],
            vec!["charts".into(), charts.to_string()],
            vec!["size".into(), format!("{:.1} MB", size as f64 / 1e6)],
            vec![
                "epochs shown".into(),
                self.report
                    .moments()
                    .iter()
                    .map(|m| format!("{} ({})", m.epoch, m.label))
                    .collect::<Vec<_>>()
                    .join(", "),
            ],
        ];
        emit(&[
            ("text/html", &html::table(&["report", ""], &rows)),
            ("text/plain", &html::text_table(&["report", ""], &rows)),
        ]);
    }
}

/// The families, as shown by [`families`].
#[derive(Debug, Clone)]
pub struct FamilyTable {
    /// One row per family: name, description, parameters with defaults, variants.
    pub rows: Vec<Vec<String>>,
}

const FAMILY_HEADER: [&str; 4] = ["family", "description", "parameters (defaults)", "variants"];

impl EvcxrDisplay for FamilyTable {
    fn evcxr_display(&self) {
        emit(&[
            ("text/html", &html::table(&FAMILY_HEADER, &self.rows)),
            ("text/plain", &html::text_table(&FAMILY_HEADER, &self.rows)),
        ]);
    }
}

/// The variants, as shown by [`variants`].
#[derive(Debug, Clone)]
pub struct VariantTable {
    /// The variants, in name order.
    pub variants: Vec<Variant>,
}

impl EvcxrDisplay for VariantTable {
    fn evcxr_display(&self) {
        let rows: Vec<Vec<String>> = self.variants.iter().map(display::variant_row).collect();
        emit(&[
            ("text/html", &html::table(&display::VARIANT_HEADER, &rows)),
            (
                "text/plain",
                &html::text_table(&display::VARIANT_HEADER, &rows),
            ),
        ]);
    }
}

/// The viability certificate of a trained, analysed variant: its learned frequencies and W_E's
/// participation ratio at the effective-dimensionality crossover (from `variant_summary.json`,
/// else from its `neuron_dynamics` and `effective_dimensionality` artifacts). Shows the summary,
/// the hard pairs and the three charts.
pub fn viability(variant: &Variant) -> Result<Certificate> {
    Certificate::of(CertificateInput::of_variant(variant)?)
}

/// The viability certificate of any frequency set: `viability_of(59, &[5, 15, 21], 18.3)` (the
/// prime, the frequencies as 1-based k, the embedding's W_E participation ratio).
pub fn viability_of(prime: u64, frequencies: &[usize], w_e_pr: f64) -> Result<Certificate> {
    Certificate::of(CertificateInput::new(prime, frequencies.to_vec(), w_e_pr)?)
}

/// Adds checkpoint epochs to a trained variant by a verified retrain (see `tdw densify`):
/// `densify(&v, &["300:600:10"])` (START:END:STEP, END inclusive). Every old checkpoint must be
/// reproduced byte for byte before anything changes; artifacts stay, so `analyze(&v)` then
/// computes only the new epochs. Progress as for [`train`].
pub fn densify(variant: &Variant, ranges: &[&str]) -> Result<DensifyResult> {
    let ranges = ranges
        .iter()
        .map(|r| EpochRange::parse(r))
        .collect::<Result<Vec<_>>>()?;
    let engine = tdw_core::train::engine::Engine::default();
    match TrainingDisplay::new() {
        Some(mut live) => variant.densify(&ranges, engine, &default_device(), &mut live),
        None => variant.densify(
            &ranges,
            engine,
            &default_device(),
            &mut TrainingLines::default(),
        ),
    }
}

/// Trains an intervention of `variant` (see `tdw intervene`): `config` is the intervention block
/// as JSON, e.g. `{"type": "frequency_gain", "target_frequencies": [15, 21], "gain": {"15": 0.3,
/// "21": 0.3}, "epoch_start": 200, "epoch_end": 1000, "ramp_epochs": 50, "label": "damp"}`.
/// Settings are the parent's unless `training` sets them. An intervention of that name that is
/// already trained with the same block is returned as it is on disk (re-running a notebook is
/// cheap; `.force()` retrains it); one with another block under the same name is refused. The
/// result's `variant` is the intervened variant: analyze it, and look at `intervention.check`.
pub fn intervene(variant: &Variant, config: &str, training: &Training) -> Result<TrainingRun> {
    let origin = std::path::Path::new("(notebook cell)");
    let value: serde_json::Value =
        serde_json::from_str(config).map_err(|e| tdw_core::Error::InterventionField {
            origin: origin.to_path_buf(),
            field: "intervention".into(),
            reason: format!("not valid JSON: {e}"),
        })?;
    let block = FrequencyGain::from_json(&value, origin)?;
    if let Ok(existing) = variant.open_intervention(&block.name()) {
        let same = existing.intervention().map(|b| &b.raw) == Some(&block.raw);
        if !same {
            return Err(tdw_core::Error::InterventionExists {
                parent: variant.name().to_string(),
                name: block.name(),
                dir: existing.dir().to_path_buf(),
            });
        }
        if !training.options().overwrite && existing.metadata_path().is_file() {
            return train(&existing, training);
        }
        // Retrained (forced), or a start that never reached its first checkpoint (no
        // metadata.json: nothing of it is kept anywhere else).
        std::fs::remove_dir_all(existing.dir())
            .map_err(|e| tdw_core::Error::io(existing.dir(), e))?;
    }
    let child = variant.create_intervention(block, origin)?;
    let options = variant.intervention_training(&child, training.options())?;
    println!(
        "{}: {}",
        child.name(),
        child
            .intervention()
            .map(|b| b.summary())
            .unwrap_or_default()
    );
    train(&child, &Training { options })
}

/// `view` of `variant` over training (see `tdw animate`): every epoch the view can show (a
/// per-epoch view's analysed epochs, or the cursor swept over the checkpoints of a view over all
/// of training). Shown as a slider; `.save(Path::new("x.gif"), 5.0)` writes a GIF (or `.html`).
pub fn animate(variant: &Variant, view: &str) -> Result<Animation> {
    Animation::build(variant, view, &[], None)
}

/// MIScope's Peer Comparison of `variant`: the trained variants of its family that differ from
/// it only in the data seed, their losses, and their weights' distance from it at every shared
/// checkpoint (per matrix and normalised). `peer_comparison_by(&v, "seed")` takes model-seed
/// peers instead.
pub fn peer_comparison(variant: &Variant) -> Result<PeerComparison> {
    peer_comparison_by(variant, "data_seed")
}

/// [`peer_comparison`] along `by`: `"data_seed"` or `"seed"`.
pub fn peer_comparison_by(variant: &Variant, by: &str) -> Result<PeerComparison> {
    let candidates = registry()?.variants(variant.family().name())?;
    PeerComparison::of(variant, &candidates, PeerAxis::parse(by)?)
}

/// The initialization gradient sweep of the one-layer family (see `tdw init-sweep`):
/// `init_sweep(113, &[485, 999], &[598])` shows, per model seed × data seed, which frequencies
/// the first gradient pushes at the embedding, attention and MLP sites, and how the sites agree.
/// Key frequencies are those of an analysed variant with this prime, if there is one.
pub fn init_sweep(prime: u64, seeds: &[i64], data_seeds: &[i64]) -> Result<InitSweep> {
    InitSweep::run(
        &registry()?,
        "modulo_addition_1layer",
        prime,
        seeds,
        data_seeds,
        tdw_core::init_sweep::DEFAULT_FRACTION,
        None,
    )
}
