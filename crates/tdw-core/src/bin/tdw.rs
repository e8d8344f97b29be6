//! `tdw`: the Training Dynamics Workbench from the command line.
//!
//! A thin layer over `tdw_core`: it parses arguments, shows progress and prints one-line errors.
//! `main` calls `run`, prints the error chain once and exits non-zero; user errors never show a
//! backtrace.

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
    #[command(subcommand)]
    command: Command,
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
        /// Number of epochs (full-batch steps); default from the family.
        #[arg(long)]
        epochs: Option<u64>,
        /// Checkpoint epochs, comma-separated (the final epoch is always saved).
        #[arg(long)]
        checkpoints: Option<String>,
        /// Fraction of all pairs used for training, in (0, 1).
        #[arg(long)]
        fraction: Option<f64>,
        /// Retrain a variant that already has checkpoints (deletes them and its artifacts).
        #[arg(long)]
        force: bool,
    },
    /// Show a variant: parameters, state, checkpoints and final losses.
    Info {
        /// Variant directory name, e.g. modulo_addition_1layer_p113_seed999_dseed598.
        variant: String,
    },
}

fn main() -> ExitCode {
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
            epochs,
            checkpoints,
            fraction,
            force,
        } => {
            let pairs = params
                .iter()
                .map(|p| {
                    p.split_once('=')
                        .ok_or_else(|| tdw_core::Error::InvalidSetting {
                            setting: "--param".into(),
                            value: p.clone(),
                            reason: "expected NAME=VALUE".into(),
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            let variant = registry.create_variant_from_text(&family, pairs)?;
            let options = TrainOptions {
                num_epochs: epochs,
                checkpoint_epochs: checkpoints
                    .as_deref()
                    .map(schedule::parse_list)
                    .transpose()?,
                training_fraction: fraction,
                overwrite: force,
            };
            train(&variant, &options)?;
        }
        Command::Info { variant } => info(&registry.find_variant(&variant)?)?,
    }
    Ok(())
}

fn train(variant: &Variant, options: &TrainOptions) -> Result<()> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} epochs  {per_sec}  ETA {eta}  {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut on_event = |event: &TrainEvent| match event {
        TrainEvent::Started {
            variant,
            total_epochs,
        } => {
            bar.set_length(*total_epochs);
            bar.set_prefix(variant.clone());
        }
        TrainEvent::Epoch {
            epoch,
            train_loss,
            test_loss,
        } => {
            bar.set_position(epoch + 1);
            bar.set_message(format!("train {train_loss:.3e}  test {test_loss:.3e}"));
        }
        TrainEvent::Checkpoint { .. } => {}
        TrainEvent::Finished { .. } => bar.finish(),
    };
    let result = variant.train(options, &tdw_core::default_device(), &mut on_event)?;
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
    if let Ok(metadata) = variant.metadata() {
        let (train, test) = (&metadata.train_losses, &metadata.test_losses);
        println!(
            "epochs      {} ({} train / {} test pairs)",
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
    Ok(())
}
