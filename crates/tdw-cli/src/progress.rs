//! Progress of `tdw train` and `tdw analyze`: an indicatif bar on a terminal, throttled lines
//! otherwise (logs, sweeps' children).

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use tdw_core::{Result, TrainEvent, TrainOptions, Variant};

pub(crate) fn train(
    variant: &Variant,
    options: &TrainOptions,
    device: &tdw_core::Device,
) -> Result<()> {
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

/// Runs `work` (a training run) with this terminal's progress: a bar, or throttled lines.
pub(crate) fn training<T>(
    work: impl FnOnce(&mut dyn tdw_core::train::Progress) -> Result<T>,
) -> Result<T> {
    if std::io::stderr().is_terminal() {
        let mut bar = BarProgress::new();
        work(&mut |e: &TrainEvent| bar.event(e))
    } else {
        let mut lines = LineProgress::new(Instant::now());
        work(&mut |e: &TrainEvent| lines.event(e))
    }
}

/// An indicatif bar on a terminal: epoch, rate, ETA and the latest losses.
pub(crate) struct BarProgress {
    pub(crate) bar: ProgressBar,
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
pub(crate) struct LineProgress {
    pub(crate) started: Instant,
    pub(crate) first: u64,
    pub(crate) total: u64,
    pub(crate) every: u64,
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

pub(crate) fn analyze(
    variant: &tdw_core::Variant,
    options: &tdw_core::AnalyzeOptions,
) -> Result<()> {
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
    let report = variant.analyze(options, &mut on_event)?;
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
