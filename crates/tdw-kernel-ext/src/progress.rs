//! Progress for notebook cells under stock evcxr_jupyter, which streams stdout line by line
//! while a cell runs and cannot update an output in place: a bounded number of complete lines,
//! each with the epoch, losses, rate and time left. Every line becomes an output of the saved
//! notebook, hence the bound. Under tdw-kernel, `live` replaces these with one display.

use std::time::Instant;

use tdw_core::analysis::{AnalysisEvent, AnalysisProgress};
use tdw_core::{Progress, TrainEvent};

/// Most progress lines one call prints (besides its first and last line).
pub const MAX_LINES: u64 = 40;

pub(crate) fn bar(done: u64, total: u64) -> String {
    const WIDTH: u64 = 20;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    format!(
        "[{}{}]",
        "#".repeat(filled as usize),
        ".".repeat((WIDTH - filled) as usize)
    )
}

pub(crate) fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// One line of training progress: epoch, bar, losses, rate and time left, from the `done`
/// epochs run since `started` (the lines here and the live display share it).
pub(crate) fn epoch_line(
    epoch: u64,
    total: u64,
    done: u64,
    started: Instant,
    train_loss: f64,
    test_loss: f64,
) -> String {
    let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let left = total.saturating_sub(epoch + 1) as f64 / rate;
    format!(
        "epoch {:>6}/{total} {} train {train_loss:.3e} test {test_loss:.3e} | {rate:.1} epochs/s, ETA {}",
        epoch + 1,
        bar(epoch + 1, total),
        duration(left)
    )
}

/// Training progress as at most [`MAX_LINES`] lines.
pub struct TrainingLines {
    started: Instant,
    first_epoch: u64,
    total: u64,
    every: u64,
    printed: u64,
}

impl Default for TrainingLines {
    fn default() -> Self {
        TrainingLines {
            started: Instant::now(),
            first_epoch: 0,
            total: 0,
            every: 1,
            printed: 0,
        }
    }
}

impl TrainingLines {
    /// How many progress lines were printed.
    pub fn lines_printed(&self) -> u64 {
        self.printed
    }
}

impl Progress for TrainingLines {
    fn event(&mut self, event: &TrainEvent) {
        match event {
            TrainEvent::Started {
                variant,
                first_epoch,
                total_epochs,
            } => {
                self.started = Instant::now();
                self.first_epoch = *first_epoch;
                self.total = *total_epochs;
                let remaining = total_epochs.saturating_sub(*first_epoch);
                self.every = remaining.div_ceil(MAX_LINES).max(1);
                println!("training {variant}: epochs {first_epoch}..{total_epochs}");
            }
            TrainEvent::Epoch {
                epoch,
                train_loss,
                test_loss,
            } => {
                let done = epoch + 1 - self.first_epoch;
                let last = epoch + 1 == self.total;
                if !done.is_multiple_of(self.every) && !last {
                    return;
                }
                println!(
                    "{}",
                    epoch_line(
                        *epoch,
                        self.total,
                        done,
                        self.started,
                        *train_loss,
                        *test_loss
                    )
                );
                self.printed += 1;
            }
            TrainEvent::Checkpoint { .. } => {}
            TrainEvent::Finished {
                final_train_loss,
                final_test_loss,
            } => println!(
                "done in {}: train {final_train_loss:.3e}, test {final_test_loss:.3e}",
                duration(self.started.elapsed().as_secs_f64())
            ),
        }
    }

    fn should_stop(&mut self) -> bool {
        crate::kernel::take_interrupt()
    }
}

/// Analysis progress as at most [`MAX_LINES`] checkpoint lines plus one per cross-epoch analyzer.
pub struct AnalysisLines {
    started: Instant,
    every: usize,
}

impl Default for AnalysisLines {
    fn default() -> Self {
        AnalysisLines {
            started: Instant::now(),
            every: 1,
        }
    }
}

impl AnalysisProgress for AnalysisLines {
    fn event(&mut self, event: &AnalysisEvent) {
        match event {
            AnalysisEvent::Started { variant, total } => {
                self.started = Instant::now();
                self.every = total.div_ceil(MAX_LINES as usize).max(1);
                println!("analyzing {variant}: {total} checkpoint(s) to do");
            }
            AnalysisEvent::Checkpoint { epoch, done, total } => {
                if done % self.every != 0 && done != total {
                    return;
                }
                let elapsed = self.started.elapsed().as_secs_f64();
                let left = elapsed / *done as f64 * (total - done) as f64;
                println!(
                    "checkpoint {done:>4}/{total} {} epoch {epoch} | {:.2} s/checkpoint, ETA {}",
                    bar(*done as u64, *total as u64),
                    elapsed / *done as f64,
                    duration(left)
                );
            }
            AnalysisEvent::Secondary { .. } => {}
            AnalysisEvent::CrossEpoch { analyzer } => println!("cross-epoch: {analyzer}"),
            AnalysisEvent::Finished => println!(
                "analysis done in {}",
                duration(self.started.elapsed().as_secs_f64())
            ),
        }
    }

    fn should_stop(&mut self) -> bool {
        crate::kernel::take_interrupt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_prints_a_bounded_number_of_lines() {
        let mut lines = TrainingLines::default();
        lines.event(&TrainEvent::Started {
            variant: "v".into(),
            first_epoch: 0,
            total_epochs: 25_000,
        });
        for epoch in 0..25_000 {
            lines.event(&TrainEvent::Epoch {
                epoch,
                train_loss: 1.0,
                test_loss: 1.0,
            });
        }
        assert!(lines.lines_printed() <= MAX_LINES + 1);
        assert!(lines.lines_printed() >= MAX_LINES - 1);
    }

    #[test]
    fn bars_and_durations_read_well() {
        assert_eq!(bar(5, 10), "[##########..........]");
        assert_eq!(duration(75.0), "1m15s");
        assert_eq!(duration(3.2), "3s");
    }
}
