//! `tdw`: the Training Dynamics Workbench from the command line.
//!
//! A thin layer over `tdw_core`: it parses arguments, shows progress and prints one-line errors.
//! `main` calls `run`, prints the error chain once and exits non-zero; user errors never show a
//! backtrace.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use tdw_core::train::schedule;
use tdw_core::{FamilyRegistry, Result, TrainOptions, Variant};

mod args;
mod bench;
mod progress;
mod sweep;

use args::{BenchCommand, Cli, Command};
use bench::{bench_analyze, bench_train};
use progress::{analyze, train};
use sweep::Sweep;

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
            let options = tdw_core::AnalyzeOptions {
                analyzers,
                epochs: epochs.map(|list| schedule::parse_list(&list)).transpose()?,
                force,
                ..Default::default()
            };
            analyze(&variant, &options)?;
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

fn parse_pairs(params: &[String]) -> Result<Vec<(&str, &str)>> {
    params
        .iter()
        .map(|p| tdw_core::family::split_assignment(p, "--param"))
        .collect()
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
        match tdw_core::variant::training::recorded_hyperparameters(variant) {
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
