//! The command line: clap's types for every subcommand and option, and every conversion of
//! what the user typed into the library's options (done here once, so the subcommands get typed
//! values).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tdw_core::train::engine::Engine;
use tdw_core::train::schedule;
use tdw_core::{AnalyzeOptions, Result, TrainOptions};

#[derive(Parser)]
#[command(
    name = "tdw",
    version,
    about = "Training Dynamics Workbench: train and study small transformers"
)]
pub(crate) struct Cli {
    /// Where variants are written (default: <project>/results).
    #[arg(long, global = true, env = "TDW_RESULTS_DIR")]
    pub(crate) results_dir: Option<PathBuf>,
    /// Where family.json files are found (default: <project>/model_families).
    #[arg(long, global = true, env = "TDW_MODEL_FAMILIES_DIR")]
    pub(crate) families_dir: Option<PathBuf>,
    /// Where burn computes: cpu (default; training uses the fused engine), cuda[:N] (an NVIDIA
    /// GPU through libtorch) or tch (libtorch on the CPU); both need a build with --features tch.
    #[arg(long, global = true, env = "TDW_DEVICE", default_value = "cpu")]
    pub(crate) device: String,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How long a run is, where it saves, on what share of the data and with which AdamW settings:
/// options of `train`, and of `sweep`, which passes them on to each variant's `train`.
#[derive(clap::Args)]
pub(crate) struct RunLength {
    /// Number of epochs (full-batch steps); default from the family.
    #[arg(long)]
    pub(crate) epochs: Option<u64>,
    /// Checkpoint epochs, comma-separated (the final epoch is always saved).
    #[arg(long)]
    pub(crate) checkpoints: Option<String>,
    /// Fraction of all pairs used for training, in (0, 1).
    #[arg(long)]
    pub(crate) fraction: Option<f64>,
    /// AdamW learning rate; default from the family (recorded in config.json when it differs).
    #[arg(long)]
    pub(crate) lr: Option<f64>,
    /// AdamW weight decay; default from the family (recorded in config.json when it differs).
    #[arg(long)]
    pub(crate) weight_decay: Option<f64>,
}

impl RunLength {
    /// The training options of `tdw train`: these, and the flags that only `train` has.
    pub(crate) fn train_options(
        &self,
        force: bool,
        resume: bool,
        stop_after: Option<u64>,
        engine: Engine,
    ) -> Result<TrainOptions> {
        Ok(TrainOptions {
            num_epochs: self.epochs,
            checkpoint_epochs: self
                .checkpoints
                .as_deref()
                .map(schedule::parse_list)
                .transpose()?,
            training_fraction: self.fraction,
            learning_rate: self.lr,
            weight_decay: self.weight_decay,
            overwrite: force,
            resume,
            stop_after_epoch: stop_after,
            engine,
        })
    }

    /// The same options as `tdw train` arguments.
    pub(crate) fn train_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(e) = self.epochs {
            args.extend(["--epochs".to_string(), e.to_string()]);
        }
        if let Some(c) = &self.checkpoints {
            args.extend(["--checkpoints".to_string(), c.clone()]);
        }
        if let Some(f) = self.fraction {
            args.extend(["--fraction".to_string(), f.to_string()]);
        }
        if let Some(lr) = self.lr {
            args.extend(["--lr".to_string(), lr.to_string()]);
        }
        if let Some(wd) = self.weight_decay {
            args.extend(["--weight-decay".to_string(), wd.to_string()]);
        }
        args
    }
}

/// `--param`/`--option` values (`NAME=VALUE`) as (name, value) pairs, split by the library's
/// one parser of assignments.
pub(crate) fn pairs(assignments: &[String]) -> Result<Vec<(&str, &str)>> {
    assignments
        .iter()
        .map(|p| tdw_core::family::split_assignment(p, "--param"))
        .collect()
}

/// The prime of `--param prime=P`, the only parameter `tdw viability` and `tdw init-sweep` take.
pub(crate) fn prime_param(params: &[String]) -> Result<Option<u64>> {
    let mut prime = None;
    for (name, value) in pairs(params)? {
        if name != "prime" {
            return Err(tdw_core::Error::invalid_parameter(
                name,
                value,
                "only prime=P is taken here",
            ));
        }
        prime = Some(value.parse::<u64>().map_err(|_| {
            tdw_core::Error::invalid_parameter("prime", value, "expected an odd prime")
        })?);
    }
    Ok(prime)
}

/// The options of `tdw analyze`.
pub(crate) fn analyze_options(
    analyzers: Option<Vec<String>>,
    epochs: Option<&str>,
    force: bool,
) -> Result<AnalyzeOptions> {
    Ok(AnalyzeOptions {
        analyzers,
        epochs: epochs.map(schedule::parse_list).transpose()?,
        force,
        ..Default::default()
    })
}

/// `--param name=v1,v2` axes of `tdw sweep`.
pub(crate) fn sweep_axes(params: &[String]) -> Result<Vec<tdw_core::sweep::Axis>> {
    params
        .iter()
        .map(|p| tdw_core::sweep::Axis::parse(p))
        .collect()
}

/// The Python of the peer: `--python`, else the project's `.venv-peer` if it exists.
pub(crate) fn peer_python(python: Option<PathBuf>) -> Option<PathBuf> {
    python.or_else(|| {
        let candidate = tdw_core::paths::project_root().join(".venv-peer/bin/python");
        candidate.exists().then_some(candidate)
    })
}

/// `tdw bench analyze`'s variant: `--variant-dir`, else the Python reference's canonical run.
pub(crate) fn reference_variant_dir(variant_dir: Option<PathBuf>) -> PathBuf {
    variant_dir.unwrap_or_else(|| {
        tdw_core::paths::project_root().join(
            "../shared/reference/modulo_addition_1layer/modulo_addition_1layer_p113_seed999_dseed598",
        )
    })
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// List the model families.
    Families,
    /// List the variants on disk, with their state and checkpoint count.
    Variants {
        /// Only this family.
        #[arg(long)]
        family: Option<String>,
    },
    /// Train a variant (full batch, AdamW), writing checkpoints, metadata.json and config.json.
    Train {
        /// Family name (see `tdw families`).
        #[arg(long, default_value = "modulo_addition_1layer")]
        family: String,
        /// A domain parameter, `name=value` (repeatable); omitted ones take their defaults.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[command(flatten)]
        length: RunLength,
        /// Retrain a variant that already has checkpoints (deletes them and its artifacts).
        #[arg(long, conflicts_with = "resume")]
        force: bool,
        /// Continue an interrupted run from its last checkpoint (or extend a finished one with
        /// more --epochs); bit-identical to an uninterrupted run.
        #[arg(long)]
        resume: bool,
        /// Stop after this epoch (e.g. a cluster time limit); resume later with --resume.
        #[arg(long)]
        stop_after: Option<u64>,
        /// With --resume: succeed without training when the run already reached its last epoch
        /// (what sweeps and cluster array tasks want on a rerun).
        #[arg(long, requires = "resume")]
        skip_finished: bool,
        /// Training engine: auto (fused on the CPU for one-layer models, else burn), fused or burn.
        #[arg(long, default_value = "auto")]
        engine: Engine,
    },
    /// Run the family's analyzers over a variant's checkpoints (resumable; skips what is on disk).
    Analyze {
        /// Variant directory name.
        variant: String,
        /// Only these analyzers, comma-separated (any kind).
        #[arg(long, value_delimiter = ',')]
        analyzers: Option<Vec<String>>,
        /// Only these checkpoint epochs, comma-separated.
        #[arg(long)]
        epochs: Option<String>,
        /// Recompute artifacts that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Time the training loop, ours and (where its venv exists) the Python reference side by side.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// List the views (charts): all of them, or those a variant has the data for.
    Views {
        /// Variant directory name; marks which views it can show.
        variant: Option<String>,
    },
    /// Render one view of a variant to an SVG or PNG file.
    View {
        /// View name (see `tdw views`), e.g. parameters.embeddings.fourier_coefficients.
        name: String,
        /// Variant directory name.
        variant: String,
        /// Epoch cursor: the checkpoint of per-epoch views, the red indicator of time-axis views.
        #[arg(long)]
        epoch: Option<u64>,
        /// A view option, `name=value` (repeatable), e.g. `--option neuron=12`.
        #[arg(long = "option", value_name = "NAME=VALUE")]
        options: Vec<String>,
        /// Output file, .svg or .png (default: results/exports/{variant}__{view}[__epochE].svg).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write one self-contained HTML page with every available view of a variant.
    Report {
        /// Variant directory name.
        variant: String,
        /// Output file (default: results/{family}/{variant}/report.html).
        #[arg(long)]
        out: Option<PathBuf>,
        /// A per-epoch view to add as a scrubber: every analyzed epoch and a slider, readable
        /// offline (repeatable; `tdw views VARIANT` lists the views).
        #[arg(long = "scrub", value_name = "VIEW")]
        scrub: Vec<String>,
    },
    /// Train every combination of parameter values (`--param prime=59,97 --param seed=1,2,3`),
    /// several variants at once; finished variants are skipped, interrupted ones resumed.
    Sweep {
        /// Family name.
        #[arg(long, default_value = "modulo_addition_1layer")]
        family: String,
        /// A parameter and its values, `name=v1,v2,...` (repeatable; omitted ones take defaults).
        #[arg(long = "param", value_name = "NAME=V1,V2")]
        params: Vec<String>,
        #[command(flatten)]
        length: RunLength,
        /// Variants trained at once (each gets cores / jobs threads).
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// Also run every analyzer on each variant once it is trained.
        #[arg(long)]
        analyze: bool,
        /// Write a Slurm job-array script (one variant per task) to this file instead of running.
        #[arg(long)]
        slurm: Option<PathBuf>,
        /// Slurm time limit per task.
        #[arg(long, default_value = "24:00:00")]
        time: String,
    },
    /// Compare trained variants: grokking epoch, final losses, key frequencies, and all loss
    /// curves on one chart.
    Compare {
        /// Variant directory names (default: every trained variant, of --family if given).
        variants: Vec<String>,
        /// Only this family's variants (when none are named).
        #[arg(long)]
        family: Option<String>,
        /// Test loss below which a variant counts as grokked.
        #[arg(long, default_value_t = 0.01)]
        threshold: f64,
        /// Also write the loss-curve chart (.svg or .png); with --peers, a directory for the
        /// loss, divergence and per-matrix charts.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Peer comparison (MIScope's page): the variants equal to this one but for one seed,
        /// their losses and their weights' distance from it at every shared checkpoint.
        #[arg(long, value_name = "VARIANT", conflicts_with_all = ["variants", "family"])]
        peers: Option<String>,
        /// The seed peers differ in: data_seed (default) or seed.
        #[arg(long, default_value = "data_seed", requires = "peers")]
        by: String,
    },
    /// The viability certificate of a frequency set (MIScope's REQ_086): how far apart its
    /// residues lie in all and in the embedding's ⌈PR⌉ coordinates, its alias ratios, the ideal
    /// set of its size, hard pairs and the regime (viable, aliasing_failure, compression_risk,
    /// coverage_concern). Of a trained, analysed variant (its learned frequencies and W_E PR at
    /// the effective-dimensionality crossover), or by hand:
    /// `tdw viability --param prime=59 --frequencies 5,15,21 --pr 18.3`.
    Viability {
        /// Variant directory name (optional with --param prime=P, --frequencies and --pr).
        variant: Option<String>,
        /// The prime, `prime=P` (the variant's when one is named).
        #[arg(long = "param", value_name = "prime=P")]
        params: Vec<String>,
        /// Frequencies (1-based k), comma-separated; replace the variant's learned ones.
        #[arg(long, value_delimiter = ',', value_name = "K,K,...")]
        frequencies: Option<Vec<usize>>,
        /// W_E participation ratio; replaces the variant's.
        #[arg(long)]
        pr: Option<f64>,
        /// Write the three charts into this directory.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Chart format with --out: svg or png.
        #[arg(long, default_value = "svg", value_parser = ["svg", "png"])]
        format: String,
    },
    /// Add checkpoint epochs to a trained variant (MIScope's Checkpoint Schedule): retrains it
    /// from epoch 0 with the same seeds, split and settings, saving the merged schedule, and keeps
    /// the result only if every old checkpoint is reproduced byte for byte; artifacts are kept, so
    /// the next `tdw analyze` computes only the new epochs.
    Densify {
        /// Variant directory name.
        variant: String,
        /// Epochs START:END:STEP (END inclusive; repeatable), e.g. --range 9000:13000:50.
        #[arg(long = "range", value_name = "START:END:STEP")]
        ranges: Vec<String>,
        /// Add a window from the end of memorisation to the grokking epoch, read off the run's
        /// own losses, with at most --budget checkpoints.
        #[arg(long)]
        around_grokking: bool,
        /// Checkpoints in the --around-grokking window.
        #[arg(long, default_value_t = 50, requires = "around_grokking")]
        budget: u64,
        /// Show the plan (new epochs) and stop.
        #[arg(long)]
        dry_run: bool,
        /// Training engine of the retrain: it must be the one the variant was trained with.
        #[arg(long, default_value = "auto")]
        engine: Engine,
    },
    /// A view over training as an animation (MIScope's export_animation): one frame per
    /// analysed epoch of a per-epoch view, or the epoch cursor swept over the checkpoints of a
    /// view over all epochs; .gif (looping, --fps) or .html (a slider over the SVG frames).
    Animate {
        /// View name (see `tdw views`).
        view: String,
        /// Variant directory name.
        variant: String,
        /// Epochs of the frames, comma-separated (default: every epoch the view can show).
        #[arg(long)]
        epochs: Option<String>,
        /// View options, NAME=VALUE (repeatable).
        #[arg(long = "option", value_name = "NAME=VALUE")]
        options: Vec<String>,
        /// Frames a second of a GIF.
        #[arg(long, default_value_t = 5.0)]
        fps: f64,
        /// Output file, .gif or .html.
        #[arg(long)]
        out: PathBuf,
    },
    /// Regression checksums of a variant's artifacts (MIScope's regression scaffold): --write
    /// records the SHA-256 of every .npz under artifacts/ (landscape_flatness excluded) in FILE;
    /// --check re-runs the analysis in a scratch copy and fails on any artifact MISSING, MISMATCH
    /// or EXTRA against FILE.
    Checksums {
        /// Variant directory name.
        variant: String,
        /// Record the checksums of the artifacts on disk in FILE (its entry replaced).
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with = "check",
            required_unless_present = "check"
        )]
        write: Option<PathBuf>,
        /// Re-run the analysis and compare with FILE.
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
        /// What the variant stands for, recorded with --write.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Train an intervention of a variant (MIScope's frequency-gain intervention): retrains it
    /// from epoch 0 with its seeds and split while the training forward scales the attention
    /// output along the target frequencies' embedding directions over the config's epoch
    /// window; written under {variant}/interventions/{label or hash} as a variant of its own.
    Intervene {
        /// The parent variant's directory name.
        variant: String,
        /// The intervention block, JSON: {"type": "frequency_gain", "target_frequencies": [...],
        /// "gain": {"k": g, ...}, "epoch_start": E, "epoch_end": E, "ramp_epochs": R, "label": ...}.
        #[arg(long)]
        config: PathBuf,
        /// Number of epochs (default: the parent's).
        #[arg(long)]
        epochs: Option<u64>,
        /// Checkpoint epochs, comma-separated (default: the parent's, plus epoch_start).
        #[arg(long)]
        checkpoints: Option<String>,
        /// Training engine.
        #[arg(long, default_value = "auto")]
        engine: Engine,
    },
    /// The initialization gradient sweep (MIScope's REQ_085): for every model seed × data seed,
    /// the per-frequency energy of the first gradient at the embedding, attention and MLP sites,
    /// and how far the sites agree (cosines). In memory: nothing is trained or written.
    InitSweep {
        /// The prime, `prime=P` (default 113).
        #[arg(long = "param", value_name = "prime=P")]
        params: Vec<String>,
        /// Family (a one-layer transformer).
        #[arg(long, default_value = "modulo_addition_1layer")]
        family: String,
        /// Model seeds, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "485,999")]
        seeds: Vec<i64>,
        /// Data seeds, comma-separated.
        #[arg(long = "data-seeds", value_delimiter = ',', default_value = "598")]
        data_seeds: Vec<i64>,
        /// Training fraction of each candidate's split.
        #[arg(long, default_value_t = 0.3)]
        fraction: f64,
        /// Frequencies to mark (default: the learned ones of an analysed variant with this prime).
        #[arg(long = "key-frequencies", value_delimiter = ',')]
        key_frequencies: Option<Vec<usize>>,
        /// Write the charts into this directory.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Chart format with --out: svg or png.
        #[arg(long, default_value = "svg", value_parser = ["svg", "png"])]
        format: String,
    },
    /// Show a variant: parameters, state, checkpoints and final losses.
    Info {
        /// Variant directory name, e.g. modulo_addition_1layer_p113_seed999_dseed598.
        variant: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// Seconds per training epoch (one AdamW step + the test loss), canonical variant by default.
    Train {
        /// Family name.
        #[arg(long, default_value = "modulo_addition_1layer")]
        family: String,
        /// A domain parameter, `name=value` (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Timed epochs per run.
        #[arg(long, default_value_t = 20)]
        epochs: usize,
        /// Runs of each implementation, interleaved; medians are reported.
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Python with torch + transformer-lens (default: .venv-peer/bin/python if present).
        #[arg(long)]
        python: Option<PathBuf>,
        /// Threads for torch.
        #[arg(long, default_value_t = 2)]
        torch_threads: usize,
    },
    /// Milliseconds to load and draw each view of an analyzed variant at one checkpoint.
    Views {
        /// Variant directory name.
        variant: String,
        /// Epoch cursor (default: each per-epoch view's first analyzed epoch).
        #[arg(long)]
        epoch: Option<u64>,
        /// Renders of each view; the median is reported.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
    },
    /// Seconds per checkpoint for MIScope's seven reference analyzers, ours and the Python peer,
    /// on copies of a trained variant's checkpoints (default: the reference variant).
    Analyze {
        /// Trained variant directory (default: ../shared/reference/.../p113_seed999_dseed598).
        #[arg(long)]
        variant_dir: Option<PathBuf>,
        /// Runs of each implementation, interleaved; medians are reported.
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Python with torch + transformer-lens (default: .venv-peer/bin/python if present).
        #[arg(long)]
        python: Option<PathBuf>,
        /// Threads for torch.
        #[arg(long, default_value_t = 2)]
        torch_threads: usize,
    },
}
