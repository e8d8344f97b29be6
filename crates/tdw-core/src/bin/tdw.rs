//! `tdw`: the Training Dynamics Workbench from the command line.
//!
//! A thin layer over `tdw_core`: it parses arguments, shows progress and prints one-line errors.
//! `main` calls `run`, prints the error chain once and exits non-zero; user errors never show a
//! backtrace.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tdw_core::train::schedule;
use tdw_core::{FamilyRegistry, Result, TrainEvent, TrainOptions, Variant};

#[derive(Parser)]
#[command(
    name = "tdw",
    version,
    about = "Training Dynamics Workbench: train and study small transformers"
)]
struct Cli {
    /// Where variants are written (default: <project>/results).
    #[arg(long, global = true, env = "TDW_RESULTS_DIR")]
    results_dir: Option<PathBuf>,
    /// Where family.json files are found (default: <project>/model_families).
    #[arg(long, global = true, env = "TDW_MODEL_FAMILIES_DIR")]
    families_dir: Option<PathBuf>,
    /// Where burn computes: cpu (default; training uses the fused engine), cuda[:N] (an NVIDIA
    /// GPU through libtorch) or tch (libtorch on the CPU); both need a build with --features tch.
    #[arg(long, global = true, env = "TDW_DEVICE", default_value = "cpu")]
    device: String,
    #[command(subcommand)]
    command: Command,
}

/// How long a run is, where it saves, on what share of the data and with which AdamW settings:
/// options of `train`, and of `sweep`, which passes them on to each variant's `train`.
#[derive(clap::Args)]
struct RunLength {
    /// Number of epochs (full-batch steps); default from the family.
    #[arg(long)]
    epochs: Option<u64>,
    /// Checkpoint epochs, comma-separated (the final epoch is always saved).
    #[arg(long)]
    checkpoints: Option<String>,
    /// Fraction of all pairs used for training, in (0, 1).
    #[arg(long)]
    fraction: Option<f64>,
    /// AdamW learning rate; default from the family (recorded in config.json when it differs).
    #[arg(long)]
    lr: Option<f64>,
    /// AdamW weight decay; default from the family (recorded in config.json when it differs).
    #[arg(long)]
    weight_decay: Option<f64>,
}

impl RunLength {
    /// The same options as `tdw train` arguments.
    fn train_args(&self) -> Vec<String> {
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

#[derive(Subcommand)]
enum Command {
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
        engine: tdw_core::train::engine::Engine,
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
        /// Also write the loss-curve chart (.svg or .png).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show a variant: parameters, state, checkpoints and final losses.
    Info {
        /// Variant directory name, e.g. modulo_addition_1layer_p113_seed999_dseed598.
        variant: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
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

/// The last resort for a bug: a panic prints one `error:` line (no backtrace) and exits 101.
/// With RUST_BACKTRACE set, Rust's own report instead, which the tests use to prove that every
/// bad input they try is handled before it gets here.
fn install_panic_line() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error in tdw ({what}{place}); please report it with the command that caused it"
        );
    }));
}

fn main() -> ExitCode {
    tdw_core::memory::keep_freed_memory();
    install_panic_line();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut message = format!("error: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                let text = cause.to_string();
                if !message.contains(&text) {
                    message.push_str(&format!(": {text}"));
                }
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let results_dir = cli.results_dir.unwrap_or_else(tdw_core::paths::results_dir);
    let families_dir = cli
        .families_dir
        .unwrap_or_else(tdw_core::paths::model_families_dir);
    let device = tdw_core::device::parse(&cli.device)?;
    let registry = FamilyRegistry::open(&families_dir, &results_dir)?;
    for err in registry.load_errors() {
        eprintln!("warning: skipped a family: {err}");
    }
    match cli.command {
        Command::Families => {
            if registry.names().is_empty() {
                println!("no families under {}", families_dir.display());
            }
            for family in registry.families() {
                let spec = family.spec();
                let params: Vec<String> = spec
                    .domain_parameters
                    .iter()
                    .map(|(name, p)| match &p.default {
                        Some(d) => format!("{name}={d}"),
                        None => name.clone(),
                    })
                    .collect();
                let implemented = if family.is_implemented() {
                    ""
                } else {
                    "  (no implementation in this build)"
                };
                println!(
                    "{:<34} {}  [{}]{implemented}",
                    spec.name,
                    spec.display_name,
                    params.join(", ")
                );
            }
        }
        Command::Variants { family } => {
            let names = match family {
                Some(name) => vec![registry.family(&name)?.name().to_string()],
                None => registry.names(),
            };
            let mut any = false;
            for name in names {
                for variant in registry.variants(&name)? {
                    any = true;
                    let checkpoints = variant.checkpoints()?.len();
                    println!(
                        "{:<52} {:<10} {checkpoints:>4} checkpoints",
                        variant.name(),
                        variant.state().to_string()
                    );
                }
            }
            if !any {
                println!("no variants under {}", results_dir.display());
            }
        }
        Command::Train {
            family,
            params,
            length,
            force,
            resume,
            stop_after,
            skip_finished,
            engine,
        } => {
            let pairs = parse_pairs(&params)?;
            let variant = registry.create_variant_from_text(&family, pairs)?;
            if skip_finished && tdw_core::sweep::is_finished(&variant, length.epochs) {
                println!("{}: already trained", variant.name());
                return Ok(());
            }
            let options = TrainOptions {
                num_epochs: length.epochs,
                checkpoint_epochs: length
                    .checkpoints
                    .as_deref()
                    .map(schedule::parse_list)
                    .transpose()?,
                training_fraction: length.fraction,
                learning_rate: length.lr,
                weight_decay: length.weight_decay,
                overwrite: force,
                resume,
                stop_after_epoch: stop_after,
                engine,
            };
            train(&variant, &options, &device)?;
        }
        Command::Info { variant } => info(&registry.find_variant(&variant)?)?,
        Command::Views { variant } => {
            let variant = variant.map(|v| registry.find_variant(&v)).transpose()?;
            list_views(variant.as_ref());
        }
        Command::View {
            name,
            variant,
            epoch,
            options,
            out,
        } => {
            let variant = registry.find_variant(&variant)?;
            let mut view = match epoch {
                Some(e) => variant.at(e).view(&name)?,
                None => variant.view(&name)?,
            };
            for (key, value) in parse_pairs(&options)? {
                view = view.with(key, value);
            }
            let started = Instant::now();
            let path = view.export(out)?;
            println!(
                "wrote {} ({:.2} s)",
                path.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Sweep {
            family,
            params,
            length,
            jobs,
            analyze,
            slurm,
            time,
        } => {
            let axes = params
                .iter()
                .map(|p| tdw_core::sweep::Axis::parse(p))
                .collect::<Result<Vec<_>>>()?;
            let members = tdw_core::sweep::plan(&registry, &family, &axes)?;
            let extra = length.train_args();
            let sweep = Sweep {
                family: &family,
                members: &members,
                extra: &extra,
                results_dir: &results_dir,
                families_dir: &families_dir,
                device: &cli.device,
            };
            match slurm {
                Some(path) => sweep.write_slurm(&path, &time)?,
                None => sweep.run(jobs.max(1), analyze)?,
            }
        }
        Command::Compare {
            variants,
            family,
            threshold,
            out,
        } => {
            let chosen = if variants.is_empty() {
                let families = match family {
                    Some(f) => vec![f],
                    None => registry.names(),
                };
                let mut all = Vec::new();
                for f in families {
                    all.extend(
                        registry
                            .variants(&f)?
                            .into_iter()
                            .filter(|v| v.metadata_path().is_file()),
                    );
                }
                all
            } else {
                variants
                    .iter()
                    .map(|v| registry.find_variant(v))
                    .collect::<Result<Vec<_>>>()?
            };
            let comparison = tdw_core::views::Comparison::of(&chosen, threshold)?;
            println!("{}", comparison.table_text());
            if let Some(path) = out {
                let path = comparison.loss_chart()?.save(path)?;
                println!("chart: {}", path.display());
            }
        }
        Command::Report {
            variant,
            out,
            scrub,
        } => {
            let variant = registry.find_variant(&variant)?;
            report(&variant, out, &scrub)?;
        }
        Command::Analyze {
            variant,
            analyzers,
            epochs,
            force,
        } => {
            let variant = registry.find_variant(&variant)?;
            let analyzer_registry =
                tdw_core::analysis::AnalyzerRegistry::open(&tdw_core::paths::analyzers_dir())?;
            let mut run =
                tdw_core::analysis::AnalysisRun::new(&variant, &analyzer_registry).force(force);
            if let Some(names) = analyzers {
                run = run.analyzers(names);
            }
            if let Some(list) = epochs {
                run = run.checkpoints(schedule::parse_list(&list)?);
            }
            analyze(run)?;
        }
        Command::Bench {
            what:
                BenchCommand::Views {
                    variant,
                    epoch,
                    repeats,
                },
        } => {
            let variant = registry.find_variant(&variant)?;
            let timings = tdw_core::bench::time_views(&variant, epoch, repeats)?;
            println!("{:<48} {:>9} {:>9}", "view", "ms", "SVG KB");
            for t in &timings {
                println!(
                    "{:<48} {:>9.1} {:>9.1}",
                    t.view,
                    1e3 * t.median_s,
                    t.svg_bytes as f64 / 1e3
                );
            }
            let slowest = timings.iter().map(|t| t.median_s).fold(0.0, f64::max);
            let total: f64 = timings.iter().map(|t| t.median_s).sum();
            println!(
                "{} views of {}: slowest {:.1} ms, all together {:.1} ms (median of {repeats})",
                timings.len(),
                variant.name(),
                1e3 * slowest,
                1e3 * total
            );
        }
        Command::Bench {
            what:
                BenchCommand::Analyze {
                    variant_dir,
                    repeats,
                    python,
                    torch_threads,
                },
        } => {
            let root = tdw_core::paths::project_root();
            let source = variant_dir.unwrap_or_else(|| {
                root.join("../shared/reference/modulo_addition_1layer/modulo_addition_1layer_p113_seed999_dseed598")
            });
            let python = python.or_else(|| {
                let candidate = root.join(".venv-peer/bin/python");
                candidate.exists().then_some(candidate)
            });
            bench_analyze(
                &families_dir,
                &source,
                repeats.max(1),
                python.as_deref(),
                torch_threads,
            )?;
        }
        Command::Bench {
            what:
                BenchCommand::Train {
                    family,
                    params,
                    epochs,
                    repeats,
                    python,
                    torch_threads,
                },
        } => {
            let pairs = parse_pairs(&params)?;
            let variant = registry.create_variant_from_text(&family, pairs)?;
            let python = python.or_else(|| {
                let candidate = tdw_core::paths::project_root().join(".venv-peer/bin/python");
                candidate.exists().then_some(candidate)
            });
            bench_train(
                &variant,
                epochs,
                repeats.max(1),
                python.as_deref(),
                torch_threads,
                &cli.device,
            )?;
        }
    }
    Ok(())
}

/// A planned sweep and where its children read and write.
struct Sweep<'a> {
    family: &'a str,
    members: &'a [tdw_core::sweep::Member],
    extra: &'a [String],
    results_dir: &'a std::path::Path,
    families_dir: &'a std::path::Path,
    device: &'a str,
}

impl Sweep<'_> {
    fn tdw() -> Result<PathBuf> {
        std::env::current_exe().map_err(|e| tdw_core::Error::io("tdw executable", e))
    }

    fn write_slurm(&self, path: &std::path::Path, time: &str) -> Result<()> {
        let tasks: Vec<Vec<String>> = self
            .members
            .iter()
            .map(|m| tdw_core::sweep::train_args(self.family, m, self.extra))
            .collect();
        let script = tdw_core::sweep::slurm_script(
            &Self::tdw()?,
            self.results_dir,
            self.families_dir,
            &tasks,
            time,
        );
        tdw_core::atomic_file::write(path, script.as_bytes())?;
        println!(
            "wrote {} ({} tasks); submit with: sbatch {}",
            path.display(),
            tasks.len(),
            path.display()
        );
        Ok(())
    }

    /// Trains (and optionally analyzes) every unfinished member, `jobs` at a time, each in its
    /// own `tdw` process; a line per start and finish.
    fn run(&self, jobs: usize, analyze: bool) -> Result<()> {
        let logs = self.results_dir.join("sweeps").join(self.family);
        std::fs::create_dir_all(&logs).map_err(|e| tdw_core::Error::io(&logs, e))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (cores / jobs).max(1).to_string();
        let total = self.members.len();
        let mut queue: std::collections::VecDeque<(usize, Vec<Vec<String>>)> = Default::default();
        for (i, member) in self.members.iter().enumerate() {
            // A finished variant's child returns at once (--skip-finished).
            let mut steps = vec![tdw_core::sweep::train_args(self.family, member, self.extra)];
            if analyze {
                steps.push(vec!["analyze".into(), member.variant.name().to_string()]);
            }
            queue.push_back((i, steps));
        }
        let log_of = |name: &str| logs.join(format!("{name}.log"));
        let started = Instant::now();
        let mut running: Vec<(usize, String, std::process::Child, Vec<Vec<String>>)> = Vec::new();
        let mut failed = Vec::new();
        while !queue.is_empty() || !running.is_empty() {
            while running.len() < jobs {
                let Some((i, mut steps)) = queue.pop_front() else {
                    break;
                };
                let args = steps.remove(0);
                let name = self.members[i].variant.name();
                let log_path = log_of(name);
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log_path)
                    .map_err(|e| tdw_core::Error::io(&log_path, e))?;
                let err = log
                    .try_clone()
                    .map_err(|e| tdw_core::Error::io(&log_path, e))?;
                let child = std::process::Command::new(Self::tdw()?)
                    .args(&args)
                    .env("TDW_RESULTS_DIR", self.results_dir)
                    .env("TDW_MODEL_FAMILIES_DIR", self.families_dir)
                    .env("TDW_DEVICE", self.device)
                    .env("RAYON_NUM_THREADS", &threads)
                    .stdout(log)
                    .stderr(err)
                    .spawn()
                    .map_err(|e| tdw_core::Error::io("tdw child process", e))?;
                println!("[{}/{total}] {name}: {} started", i + 1, args[0]);
                running.push((i, args[0].clone(), child, steps));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            let mut still = Vec::new();
            for (i, step, mut child, steps) in running {
                let name = self.members[i].variant.name();
                match child
                    .try_wait()
                    .map_err(|e| tdw_core::Error::io("tdw child", e))?
                {
                    None => still.push((i, step, child, steps)),
                    Some(status) if status.success() => {
                        let log = std::fs::read_to_string(log_of(name)).unwrap_or_default();
                        let last = log.lines().rev().find(|l| !l.trim().is_empty());
                        println!(
                            "[{}/{total}] {name}: {step} done ({:.0} s into the sweep): {}",
                            i + 1,
                            started.elapsed().as_secs_f64(),
                            last.unwrap_or("")
                        );
                        if !steps.is_empty() {
                            queue.push_front((i, steps));
                        }
                    }
                    Some(status) => {
                        println!(
                            "[{}/{total}] {name}: FAILED ({status}); see {}",
                            i + 1,
                            log_of(name).display()
                        );
                        failed.push(name.to_string());
                    }
                }
            }
            running = still;
        }
        println!(
            "sweep of {total} variants finished in {:.1} s; {} failed",
            started.elapsed().as_secs_f64(),
            failed.len()
        );
        if failed.is_empty() {
            let variants: Vec<Variant> = self.members.iter().map(|m| m.variant.clone()).collect();
            let comparison = tdw_core::views::Comparison::of(&variants, 0.01)?;
            println!("{}", comparison.table_text());
            println!(
                "(loss curves on one chart: tdw compare --family {} --out curves.png)",
                self.family
            );
            Ok(())
        } else {
            Err(tdw_core::Error::InvalidSetting {
                setting: "sweep".into(),
                value: failed.join(", "),
                reason: "these variants failed; rerun the same command to retry them".into(),
            })
        }
    }
}

fn parse_pairs(params: &[String]) -> Result<Vec<(&str, &str)>> {
    params
        .iter()
        .map(|p| tdw_core::family::params::split_assignment(p, "--param"))
        .collect()
}

/// Runs a Python peer script; its last line of stdout is a JSON object. Prints why and returns
/// `None` when the script fails, so a broken peer does not stop our own measurement.
fn run_python_peer(
    python: &std::path::Path,
    script: &std::path::Path,
    args: &[String],
) -> Result<Option<serde_json::Value>> {
    let output = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| tdw_core::Error::io(python, e))?;
    if !output.status.success() {
        eprintln!(
            "python peer failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return Ok(None);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line)
        .map(Some)
        .map_err(|source| tdw_core::Error::Json {
            path: script.to_path_buf(),
            source,
        })
}

/// The numbers of a JSON array field.
fn json_numbers(value: &serde_json::Value, key: &str) -> Vec<f64> {
    value[key]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
        .unwrap_or_default()
}

/// Medians of both sides and their ratio.
fn print_comparison(
    ours_label: &str,
    ours: &[f64],
    theirs: &[f64],
    torch_threads: usize,
    unit: &str,
) {
    let ours_median = tdw_core::bench::median(ours);
    println!("  {ours_label}  {ours_median:.4} {unit}");
    if theirs.is_empty() {
        println!(
            "  PyTorch + TransformerLens: not run (install it with scripts/python-peer/setup.sh)"
        );
    } else {
        let theirs_median = tdw_core::bench::median(theirs);
        println!(
            "  PyTorch + TransformerLens ({torch_threads} threads)  {theirs_median:.4} {unit}"
        );
        println!(
            "  ratio (reference / tdw): {:.2}x",
            theirs_median / ours_median
        );
    }
}

/// Runs ours and the Python reference alternately so both see the same machine load.
fn bench_train(
    variant: &Variant,
    epochs: usize,
    repeats: usize,
    python: Option<&std::path::Path>,
    torch_threads: usize,
    device_name: &str,
) -> Result<()> {
    let device = &tdw_core::device::parse(device_name)?;
    let on_cpu = *device == tdw_core::default_device();
    let script = tdw_core::paths::project_root().join("scripts/python-peer/bench_train.py");
    let param = |name: &str| variant.params().int(name).map(|v| v.to_string());
    let args: Vec<String> = vec![
        "--prime".into(),
        param("prime")?,
        "--seed".into(),
        param("seed")?,
        "--data-seed".into(),
        param("data_seed")?,
        "--epochs".into(),
        epochs.to_string(),
        "--threads".into(),
        torch_threads.to_string(),
    ];
    let torch_device = match device_name.split_once(':') {
        Some(("cuda" | "tch-cuda", index)) => format!("cuda:{index}"),
        None if device_name == "cuda" || device_name == "tch-cuda" => "cuda".to_string(),
        _ => "cpu".to_string(),
    };
    let args = [args, vec!["--device".into(), torch_device.clone()]].concat();
    let plain_script =
        tdw_core::paths::project_root().join("scripts/python-peer/bench_train_plain.py");
    use tdw_core::train::engine::Engine;
    // On the CPU both engines run; elsewhere burn's autodiff on that device (the fused engine
    // is CPU code).
    let engines: Vec<(Engine, String)> = if on_cpu {
        vec![
            (Engine::Fused, "tdw, fused engine".to_string()),
            (Engine::Burn, "tdw, burn engine (flex)".to_string()),
        ]
    } else {
        vec![(Engine::Burn, format!("tdw, burn on {device_name}"))]
    };
    let mut ours: Vec<Vec<f64>> = vec![Vec::new(); engines.len()];
    let (mut theirs, mut plain) = (Vec::new(), Vec::new());
    for repeat in 0..repeats {
        for ((engine, label), into) in engines.iter().zip(ours.iter_mut()) {
            let timing = tdw_core::bench::time_training(variant, *engine, 2, epochs, device)?;
            let median = tdw_core::bench::median(&timing.seconds_per_epoch);
            println!(
                "run {}: {label:<24} {median:.4} s/epoch  first losses {:?}",
                repeat + 1,
                timing.train_losses
            );
            into.push(median);
        }
        let Some(python) = python else { continue };
        for (label, script, into) in [
            ("PyTorch+TransformerLens", &script, &mut theirs),
            ("plain PyTorch, last pos.", &plain_script, &mut plain),
        ] {
            if let Some(result) = run_python_peer(python, script, &args)? {
                let median = tdw_core::bench::median(&json_numbers(&result, "seconds_per_epoch"));
                println!(
                    "run {}: {label:<24} {median:.4} s/epoch  first losses {}",
                    repeat + 1,
                    result["train_losses"]
                );
                into.push(median);
            }
        }
    }
    println!(
        "\nmedian over {repeats} runs of {epochs} epochs, p = {}, torch on {torch_device}:",
        param("prime")?
    );
    let ours_median = tdw_core::bench::median(&ours[0]);
    let label = format!("{} ({} rayon threads)", engines[0].1, rayon_threads());
    print_comparison(&label, &ours[0], &theirs, torch_threads, "s/epoch");
    for ((_, label), timings) in engines.iter().zip(&ours).skip(1) {
        let median = tdw_core::bench::median(timings);
        println!(
            "  {label}  {median:.4} s/epoch ({:.2}x the fused engine's time)",
            median / ours_median
        );
    }
    if !plain.is_empty() {
        let plain_median = tdw_core::bench::median(&plain);
        println!(
            "  plain PyTorch, last position ({torch_threads} threads)  {plain_median:.4} s/epoch"
        );
        println!(
            "  ratio (plain PyTorch / tdw): {:.2}x",
            plain_median / ours_median
        );
    }
    if on_cpu {
        let flops = tdw_core::bench::fused_flops_per_epoch(variant)?;
        let peak = tdw_core::bench::gemm_peak_gflops();
        let achieved = flops / ours_median / 1e9;
        println!(
            "  fused engine: {:.2} GFLOP per epoch executed, {achieved:.0} GFLOP/s = {:.0}% of the \
             measured peak ({peak:.0} GFLOP/s: the best f32 gemm, 1024³, all threads)",
            flops / 1e9,
            100.0 * achieved / peak
        );
    }
    Ok(())
}

fn bench_analyze(
    families_dir: &std::path::Path,
    source: &std::path::Path,
    repeats: usize,
    python: Option<&std::path::Path>,
    torch_threads: usize,
) -> Result<()> {
    use tdw_core::analysis::{AnalysisRun, AnalyzerRegistry};
    let family = source
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let analyzers = AnalyzerRegistry::open(&tdw_core::paths::analyzers_dir())?;
    let script = tdw_core::paths::project_root().join("scripts/python-peer/bench_analyze.py");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for repeat in 0..repeats {
        let scratch =
            std::env::temp_dir().join(format!("tdw-bench-{}-{repeat}", std::process::id()));
        let copy = tdw_core::bench::copy_trained_variant(source, &family, &scratch)?;
        let registry = FamilyRegistry::open(families_dir, &scratch)?;
        let name = copy
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let variant = registry.find_variant(&name)?;
        let names = tdw_core::bench::REFERENCE_ANALYZERS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let report = AnalysisRun::new(&variant, &analyzers)
            .analyzers(names)
            .run(&mut |_: &tdw_core::analysis::AnalysisEvent| {})?;
        let per = report.seconds / report.epochs_analyzed.len().max(1) as f64;
        println!(
            "run {}: tdw                       {per:.3} s/checkpoint ({} checkpoints)",
            repeat + 1,
            report.epochs_analyzed.len()
        );
        ours.push(per);
        if let Some(python) = python {
            let out = scratch.join("python-artifacts");
            let args = vec![
                source.display().to_string(),
                out.display().to_string(),
                "--threads".into(),
                torch_threads.to_string(),
            ];
            if let Some(result) = run_python_peer(python, &script, &args)? {
                let times = json_numbers(&result, "seconds_per_checkpoint");
                let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
                println!(
                    "run {}: PyTorch+TransformerLens {mean:.3} s/checkpoint",
                    repeat + 1
                );
                theirs.push(mean);
            }
        }
        // Scratch copies are disposable; a failure to delete leaves only a temp directory.
        let _cleanup = std::fs::remove_dir_all(&scratch);
    }
    println!("\nmedian over {repeats} runs, 7 analyzers:");
    print_comparison(
        "tdw (parallel over checkpoints)",
        &ours,
        &theirs,
        torch_threads,
        "s/checkpoint",
    );
    Ok(())
}

fn rayon_threads() -> String {
    std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| {
        std::thread::available_parallelism()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into())
    })
}

fn train(variant: &Variant, options: &TrainOptions, device: &tdw_core::Device) -> Result<()> {
    let started = Instant::now();
    let result = if std::io::stderr().is_terminal() {
        let mut bar = BarProgress::new();
        variant.train(options, device, &mut |e: &TrainEvent| bar.event(e))?
    } else {
        let mut lines = LineProgress::new(started);
        variant.train(options, device, &mut |e: &TrainEvent| lines.event(e))?
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "trained {} for {} epochs in {seconds:.1} s ({:.1} ms/epoch): train loss {:.3e}, test loss {:.3e}",
        variant.name(),
        result.train_losses.len(),
        1000.0 * seconds / result.train_losses.len() as f64,
        result.final_train_loss,
        result.final_test_loss
    );
    println!(
        "{} checkpoints in {}",
        result.checkpoint_epochs.len(),
        variant.checkpoints_dir().display()
    );
    Ok(())
}

/// An indicatif bar on a terminal: epoch, rate, ETA and the latest losses.
struct BarProgress {
    bar: ProgressBar,
}

impl BarProgress {
    fn new() -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} epochs  {per_sec}  ETA {eta}  {msg}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        BarProgress { bar }
    }

    fn event(&mut self, event: &TrainEvent) {
        match event {
            TrainEvent::Started {
                variant,
                first_epoch,
                total_epochs,
            } => {
                self.bar.set_length(*total_epochs);
                self.bar.set_position(*first_epoch);
                self.bar.reset_eta();
                self.bar.set_prefix(variant.clone());
            }
            TrainEvent::Epoch {
                epoch,
                train_loss,
                test_loss,
            } => {
                self.bar.set_position(epoch + 1);
                self.bar
                    .set_message(format!("train {train_loss:.3e}  test {test_loss:.3e}"));
            }
            TrainEvent::Checkpoint { .. } => {}
            TrainEvent::Finished { .. } => self.bar.finish(),
        }
    }
}

/// Plain lines when stderr is a log file or a pipe: about 20 per run, each with epoch, losses,
/// rate and ETA.
struct LineProgress {
    started: Instant,
    first: u64,
    total: u64,
    every: u64,
}

impl LineProgress {
    fn new(started: Instant) -> Self {
        LineProgress {
            started,
            first: 0,
            total: 0,
            every: 1,
        }
    }

    fn event(&mut self, event: &TrainEvent) {
        match event {
            TrainEvent::Started {
                variant,
                first_epoch,
                total_epochs,
            } => {
                self.first = *first_epoch;
                self.total = *total_epochs;
                self.every = (total_epochs / 20).max(1);
                if *first_epoch > 0 {
                    eprintln!("resuming {variant} at epoch {first_epoch} of {total_epochs}");
                } else {
                    eprintln!("training {variant}: {total_epochs} epochs");
                }
            }
            TrainEvent::Epoch {
                epoch,
                train_loss,
                test_loss,
            } => {
                let done = epoch + 1;
                if done % self.every == 0 || done == self.total {
                    let elapsed = self.started.elapsed().as_secs_f64();
                    let rate = (done - self.first) as f64 / elapsed.max(1e-9);
                    let eta = (self.total - done) as f64 / rate;
                    eprintln!(
                        "epoch {done}/{}  train {train_loss:.3e}  test {test_loss:.3e}  {rate:.1} epochs/s  ETA {eta:.0} s",
                        self.total
                    );
                }
            }
            TrainEvent::Checkpoint { .. } | TrainEvent::Finished { .. } => {}
        }
    }
}

fn analyze(run: tdw_core::analysis::AnalysisRun<'_>) -> Result<()> {
    use tdw_core::analysis::AnalysisEvent;
    let terminal = std::io::stderr().is_terminal();
    let bar = ProgressBar::new(0);
    if terminal {
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} checkpoints  ETA {eta}  {msg}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let mut on_event = |event: &AnalysisEvent| match event {
        AnalysisEvent::Started { variant, total } => {
            bar.set_length(*total as u64);
            bar.set_prefix(variant.clone());
            if !terminal {
                eprintln!("analyzing {variant}: {total} checkpoints");
            }
        }
        AnalysisEvent::Checkpoint { epoch, done, total } => {
            bar.set_position(*done as u64);
            bar.set_message(format!("epoch {epoch}"));
            let every = (total / 20).max(1);
            if !terminal && (done % every == 0 || done == total) {
                eprintln!(
                    "checkpoint {done}/{total} (epoch {epoch})  {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
        }
        AnalysisEvent::Secondary { analyzer, .. } => bar.set_message(analyzer.clone()),
        AnalysisEvent::CrossEpoch { analyzer } => {
            bar.set_message(analyzer.clone());
            if !terminal {
                eprintln!("cross-epoch: {analyzer}");
            }
        }
        AnalysisEvent::Finished => bar.finish_and_clear(),
    };
    let report = run.run(&mut on_event)?;
    let n = report.epochs_analyzed.len();
    println!(
        "analyzed {n} checkpoints, wrote {} per-epoch files and {} cross-epoch results in {:.1} s{}",
        report.files_written,
        report.cross_epoch_run.len(),
        report.seconds,
        if n > 0 {
            format!(" ({:.2} s per checkpoint)", report.seconds / n as f64)
        } else {
            String::new()
        }
    );
    for (analyzer, reason) in &report.skipped {
        println!("skipped {analyzer}: {reason}");
    }
    if !report.not_implemented.is_empty() {
        println!(
            "not implemented in this version (listed by the family): {}",
            report.not_implemented.join(", ")
        );
    }
    Ok(())
}

fn print_losses(metadata: &tdw_core::Metadata) {
    let (train, test) = (&metadata.train_losses, &metadata.test_losses);
    println!(
        "epochs      {} of {} ({} train / {} test pairs)",
        train.len(),
        metadata.num_epochs,
        metadata.train_indices.len(),
        metadata.test_indices.len()
    );
    if let (Some(tr), Some(te)) = (train.last(), test.last()) {
        println!("final loss  train {tr:.4e}  test {te:.4e}");
    }
    if let Some(epoch) = test.iter().position(|&l| l < 0.01) {
        println!("test < 0.01 first at epoch {epoch}");
    }
}

fn list_views(variant: Option<&Variant>) {
    let catalog = tdw_core::ViewCatalog::builtin();
    let available = variant.map(|v| v.available_views());
    for definition in catalog.definitions() {
        let mark = match &available {
            Some(names) if names.contains(&definition.name) => "✓ ",
            Some(_) => "  ",
            None => "",
        };
        println!("{mark}{:<48} {}", definition.name, definition.description);
        for option in definition.options {
            println!(
                "{}{:<48}   --option {}={} ({})",
                if mark.is_empty() { "" } else { "  " },
                "",
                option.name,
                option.default,
                option.help
            );
        }
    }
    if let (Some(v), Some(names)) = (variant, &available) {
        println!(
            "{} of {} views available for {}",
            names.len(),
            catalog.names().len(),
            v.name()
        );
    }
}

fn report(variant: &Variant, out: Option<PathBuf>, scrub: &[String]) -> Result<()> {
    let started = Instant::now();
    eprintln!("rendering the report of {} ...", variant.name());
    let report = tdw_core::Report::build(variant)?.with_scrubbers(scrub)?;
    let path = out.unwrap_or_else(|| tdw_core::Report::default_path(variant));
    report.write(&path)?;
    for (view, epoch, reason) in report.failures() {
        let at = epoch.map(|e| format!(" at epoch {e}")).unwrap_or_default();
        eprintln!("warning: view {view}{at} could not be drawn: {reason}");
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "report: {} ({} charts, {:.1} MB, {:.1} s)",
        path.display(),
        report.entries().len() - report.failures().len(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn info(variant: &Variant) -> Result<()> {
    println!("variant     {}", variant.name());
    println!("family      {}", variant.family().name());
    println!("params      {}", variant.params());
    println!("state       {}", variant.state());
    println!("directory   {}", variant.dir().display());
    let checkpoints = variant.checkpoints()?;
    match (checkpoints.first(), checkpoints.last()) {
        (Some(first), Some(last)) => {
            println!(
                "checkpoints {} (epochs {first}..={last})",
                checkpoints.len()
            )
        }
        _ => println!("checkpoints none"),
    }
    match variant.metadata() {
        Ok(metadata) => print_losses(&metadata),
        Err(tdw_core::Error::MissingFile { .. }) => println!("metadata    none"),
        Err(err) => println!("metadata    unreadable: {err}"),
    }
    if variant.config_path().is_file() {
        match tdw_core::train::run::recorded_hyperparameters(variant) {
            Ok((lr, wd)) => println!("optimizer   AdamW, learning_rate {lr}, weight_decay {wd}"),
            Err(err) => println!("optimizer   unreadable: {err}"),
        }
    }
    if !checkpoints.is_empty() {
        print!(
            "{}",
            tdw_core::analysis::freshness::FreshnessReport::check(variant)?
        );
    }
    Ok(())
}
