//! `tdw`: the Training Dynamics Workbench from the command line.
//!
//! A thin layer over `tdw_core`: [`args`] parses and converts the arguments, [`commands`] has one
//! module per subcommand, [`progress`] draws the bars. `main` only dispatches: it calls `run`,
//! prints the error (complete in one line) and exits non-zero; user errors never show a
//! backtrace.

use std::process::ExitCode;

use clap::Parser;
use tdw_core::{FamilyRegistry, Result};

mod args;
mod commands;
mod progress;

use args::{BenchCommand, Cli, Command};
use commands::{
    Context, analyze, animate, bench, checksums, compare, densify, info, init_sweep, intervene,
    listing, report, sweep, train, viability, view,
};

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
            // The message is complete: a tdw error prints its cause once, in its own text.
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the registry and hands the subcommand its converted arguments.
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
    let ctx = Context {
        registry,
        results_dir,
        families_dir,
        device,
        device_name: cli.device,
    };
    match cli.command {
        Command::Families => listing::families(&ctx),
        Command::Variants { family } => listing::variants(&ctx, family)?,
        Command::Views { variant } => listing::views(&ctx, variant)?,
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
            let options = length.train_options(force, resume, stop_after, engine)?;
            train::run(
                &ctx,
                &family,
                args::pairs(&params)?,
                &options,
                skip_finished,
            )?
        }
        Command::Analyze {
            variant,
            analyzers,
            epochs,
            force,
        } => {
            let options = args::analyze_options(analyzers, epochs.as_deref(), force)?;
            analyze::run(&ctx, &variant, &options)?
        }
        Command::Info { variant } => info::run(&ctx, &variant)?,
        Command::View {
            name,
            variant,
            epoch,
            options,
            out,
        } => view::run(&ctx, &name, &variant, epoch, args::pairs(&options)?, out)?,
        Command::Report {
            variant,
            out,
            scrub,
        } => report::run(&ctx, &variant, out, &scrub)?,
        Command::Compare {
            variants,
            family,
            threshold,
            out,
            peers,
            by,
        } => match peers {
            Some(anchor) => {
                compare::peers(&ctx, &anchor, tdw_core::views::PeerAxis::parse(&by)?, out)?
            }
            None => compare::run(&ctx, &variants, family, threshold, out)?,
        },
        Command::Animate {
            view,
            variant,
            epochs,
            options,
            fps,
            out,
        } => {
            let epochs = epochs
                .as_deref()
                .map(tdw_core::train::schedule::parse_list)
                .transpose()?;
            animate::run(
                &ctx,
                &view,
                &variant,
                epochs.as_deref(),
                args::pairs(&options)?,
                fps,
                &out,
            )?
        }
        Command::Checksums {
            variant,
            write,
            check,
            description,
        } => match (write, check) {
            (Some(file), _) => checksums::run(&ctx, &variant, &file, true, &description)?,
            (None, Some(file)) => checksums::run(&ctx, &variant, &file, false, &description)?,
            (None, None) => unreachable!("clap requires --write or --check"),
        },
        Command::Viability {
            variant,
            params,
            frequencies,
            pr,
            out,
            format,
        } => viability::run(
            &ctx,
            variant.as_deref(),
            args::prime_param(&params)?,
            frequencies,
            pr,
            out.map(|dir| (dir, format.as_str())),
        )?,
        Command::Densify {
            variant,
            ranges,
            around_grokking,
            budget,
            dry_run,
            engine,
        } => densify::run(
            &ctx,
            &variant,
            &ranges,
            around_grokking.then_some(budget),
            dry_run,
            engine,
        )?,
        Command::Intervene {
            variant,
            config,
            epochs,
            checkpoints,
            engine,
        } => intervene::run(
            &ctx,
            &variant,
            &config,
            epochs,
            checkpoints.as_deref(),
            engine,
        )?,
        Command::InitSweep {
            params,
            family,
            seeds,
            data_seeds,
            fraction,
            key_frequencies,
            out,
            format,
        } => init_sweep::run(
            &ctx,
            &family,
            args::prime_param(&params)?.unwrap_or(113),
            &seeds,
            &data_seeds,
            fraction,
            key_frequencies,
            out.map(|dir| (dir, format.as_str())),
        )?,
        Command::Sweep {
            family,
            params,
            length,
            jobs,
            analyze,
            slurm,
            time,
        } => {
            let axes = args::sweep_axes(&params)?;
            let extra = length.train_args();
            let slurm = slurm.as_deref().map(|path| (path, time.as_str()));
            sweep::run(&ctx, &family, &axes, &extra, jobs, analyze, slurm)?
        }
        Command::Bench { what } => match what {
            BenchCommand::Views {
                variant,
                epoch,
                repeats,
            } => bench::views(&ctx, &variant, epoch, repeats)?,
            BenchCommand::Analyze {
                variant_dir,
                repeats,
                python,
                torch_threads,
            } => bench::bench_analyze(
                &ctx.families_dir,
                &args::reference_variant_dir(variant_dir),
                repeats.max(1),
                args::peer_python(python).as_deref(),
                torch_threads,
            )?,
            BenchCommand::Train {
                family,
                params,
                epochs,
                repeats,
                python,
                torch_threads,
            } => {
                let variant = ctx
                    .registry
                    .create_variant_from_text(&family, args::pairs(&params)?)?;
                bench::bench_train(
                    &variant,
                    epochs,
                    repeats.max(1),
                    args::peer_python(python).as_deref(),
                    torch_threads,
                    &ctx.device_name,
                )?
            }
        },
    }
    Ok(())
}
