//! Progress shown in place under tdw-kernel: one output per call, replaced as the work goes (a
//! progress bar with epoch, losses, epochs/s and time left; for training also a small loss chart
//! redrawn about once a second), ending as the final state. The saved notebook keeps only that
//! final state, not one line per update.
//!
//! Both also honour the kernel's interrupt: training stops after the current epoch and analysis
//! before the next checkpoint, with what is on disk kept (`Error::Interrupted`).

use std::time::{Duration, Instant};

use tdw_core::analysis::{AnalysisEvent, AnalysisProgress};
use tdw_core::views::chart::{LineChart, Series};
use tdw_core::views::color;
use tdw_core::{Progress, TrainEvent};

use crate::display::fit_width;
use crate::html::escape;
use crate::kernel::{self, LiveDisplay};
use crate::progress::{bar, duration, epoch_line};

/// Most bar updates per second: more would only load the frontend.
const BAR_EVERY: Duration = Duration::from_millis(250);
/// How often the loss chart is redrawn.
const CHART_EVERY: Duration = Duration::from_secs(1);
/// Points per curve in the live chart (the final result draws every epoch).
const CHART_POINTS: usize = 600;

/// The progress bar as HTML: a `<progress>` element and one line of figures.
fn bar_html(title: &str, done: u64, total: u64, line: &str) -> String {
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    format!(
        "<div class=\"tdw-progress\" style=\"font-family: monospace\"><b>{}</b><br>\
         <progress value=\"{done}\" max=\"{total}\" style=\"width: 60%\"></progress> {percent}%<br>{}</div>",
        escape(title),
        escape(line)
    )
}

/// `points` evenly thinned to about `CHART_POINTS`, keeping the last.
fn thinned(losses: &[f64], first_epoch: u64) -> Vec<(f64, f64)> {
    let step = losses.len().div_ceil(CHART_POINTS).max(1);
    let mut points: Vec<(f64, f64)> = losses
        .iter()
        .enumerate()
        .step_by(step)
        .map(|(i, l)| ((first_epoch + i as u64) as f64, *l))
        .collect();
    if let Some(last) = losses.len().checked_sub(1)
        && last % step != 0
    {
        points.push(((first_epoch + last as u64) as f64, losses[last]));
    }
    points
}

/// The loss so far as a small SVG chart (log axis, curves thinned to a few hundred points), for
/// live progress; empty when it cannot be drawn (no finite loss yet).
pub fn loss_chart_svg(train: &[f64], test: &[f64], first_epoch: u64) -> String {
    let mut chart = LineChart::new("loss so far", "epoch", "loss");
    chart.log_y = true;
    chart.size = (560, 260);
    chart.series.push(Series::line(
        "train",
        thinned(train, first_epoch),
        color::TRAIN,
    ));
    chart.series.push(Series::line(
        "test",
        thinned(test, first_epoch),
        color::TEST,
    ));
    chart
        .render()
        .map(|figure| fit_width(figure.svg(), figure.size()))
        .unwrap_or_default()
}

/// Training progress as one display updated in place.
pub struct TrainingDisplay {
    display: LiveDisplay,
    variant: String,
    started: Instant,
    first_epoch: u64,
    total: u64,
    train: Vec<f64>,
    test: Vec<f64>,
    last_bar: Option<Instant>,
    last_chart: Option<Instant>,
    chart_svg: String,
    updates: u64,
}

impl TrainingDisplay {
    /// None when not under tdw-kernel.
    pub fn new() -> Option<Self> {
        Some(TrainingDisplay {
            display: LiveDisplay::new()?,
            variant: String::new(),
            started: Instant::now(),
            first_epoch: 0,
            total: 0,
            train: Vec::new(),
            test: Vec::new(),
            last_bar: None,
            last_chart: None,
            chart_svg: String::new(),
            updates: 0,
        })
    }

    /// How many times the display was drawn (the first show included).
    pub fn updates(&self) -> u64 {
        self.updates
    }

    fn redraw_chart(&mut self) {
        self.chart_svg = loss_chart_svg(&self.train, &self.test, self.first_epoch);
        self.last_chart = Some(Instant::now());
    }

    fn draw(&mut self, line: &str, done_epochs: u64) {
        let title = format!("training {}", self.variant);
        let html = format!(
            "{}{}",
            bar_html(&title, done_epochs, self.total, line),
            self.chart_svg
        );
        let text = format!("{title}\n{line}");
        self.display
            .show(&[("text/html", &html), ("text/plain", &text)]);
        self.updates += 1;
        self.last_bar = Some(Instant::now());
    }
}

impl Progress for TrainingDisplay {
    fn event(&mut self, event: &TrainEvent) {
        match event {
            TrainEvent::Started {
                variant,
                first_epoch,
                total_epochs,
            } => {
                self.variant = variant.clone();
                self.started = Instant::now();
                self.first_epoch = *first_epoch;
                self.total = *total_epochs;
                let line = format!("starting at epoch {first_epoch} of {total_epochs}");
                self.draw(&line, *first_epoch);
            }
            TrainEvent::Epoch {
                epoch,
                train_loss,
                test_loss,
            } => {
                self.train.push(*train_loss);
                self.test.push(*test_loss);
                let last = epoch + 1 == self.total;
                if !last && self.last_bar.is_some_and(|t| t.elapsed() < BAR_EVERY) {
                    return;
                }
                if self.last_chart.is_none_or(|t| t.elapsed() >= CHART_EVERY) || last {
                    self.redraw_chart();
                }
                let done = epoch + 1 - self.first_epoch;
                let line = epoch_line(
                    *epoch,
                    self.total,
                    done,
                    self.started,
                    *train_loss,
                    *test_loss,
                );
                self.draw(&line, epoch + 1);
            }
            TrainEvent::Checkpoint { .. } => {}
            TrainEvent::Finished {
                final_train_loss,
                final_test_loss,
            } => {
                self.redraw_chart();
                let line = format!(
                    "done in {}: {} epochs, train {final_train_loss:.3e}, test {final_test_loss:.3e}",
                    duration(self.started.elapsed().as_secs_f64()),
                    self.train.len()
                );
                let total = self.total;
                self.draw(&line, total);
            }
        }
    }

    fn should_stop(&mut self) -> bool {
        let stop = kernel::take_interrupt();
        if stop {
            let epoch = self.first_epoch + self.train.len() as u64;
            let done = epoch.min(self.total);
            self.draw(&format!("interrupted after epoch {epoch}"), done);
        }
        stop
    }
}

/// Analysis progress as one display updated in place.
pub struct AnalysisDisplay {
    display: LiveDisplay,
    variant: String,
    started: Instant,
    done: usize,
    total: usize,
    last_bar: Option<Instant>,
    updates: u64,
}

impl AnalysisDisplay {
    /// None when not under tdw-kernel.
    pub fn new() -> Option<Self> {
        Some(AnalysisDisplay {
            display: LiveDisplay::new()?,
            variant: String::new(),
            started: Instant::now(),
            done: 0,
            total: 0,
            last_bar: None,
            updates: 0,
        })
    }

    /// How many times the display has been updated.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    fn draw(&mut self, line: &str) {
        let title = format!("analyzing {}", self.variant);
        let html = bar_html(&title, self.done as u64, self.total as u64, line);
        self.display.show(&[
            ("text/html", &html),
            ("text/plain", &format!("{title}\n{line}")),
        ]);
        self.updates += 1;
        self.last_bar = Some(Instant::now());
    }
}

impl AnalysisProgress for AnalysisDisplay {
    fn event(&mut self, event: &AnalysisEvent) {
        match event {
            AnalysisEvent::Started { variant, total } => {
                self.variant = variant.clone();
                self.started = Instant::now();
                self.total = *total;
                self.draw(&format!("{total} checkpoint(s) to do"));
            }
            AnalysisEvent::Checkpoint { epoch, done, total } => {
                self.done = *done;
                if done != total && self.last_bar.is_some_and(|t| t.elapsed() < BAR_EVERY) {
                    return;
                }
                let elapsed = self.started.elapsed().as_secs_f64();
                let per = elapsed / *done as f64;
                let line = format!(
                    "checkpoint {done}/{total} {} epoch {epoch} | {per:.2} s/checkpoint, ETA {}",
                    bar(*done as u64, *total as u64),
                    duration(per * (total - done) as f64)
                );
                self.draw(&line);
            }
            AnalysisEvent::Secondary { .. } => {}
            AnalysisEvent::CrossEpoch { analyzer } => {
                self.draw(&format!("cross-epoch: {analyzer}"));
            }
            AnalysisEvent::Finished => {
                self.done = self.total;
                let line = format!(
                    "analysis done in {}",
                    duration(self.started.elapsed().as_secs_f64())
                );
                self.draw(&line);
            }
        }
    }

    fn should_stop(&mut self) -> bool {
        kernel::take_interrupt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_curve_short_and_its_last_point() {
        let losses: Vec<f64> = (0..25_000).map(|i| 1.0 / (i + 1) as f64).collect();
        let points = thinned(&losses, 100);
        assert!(points.len() <= CHART_POINTS + 1, "{}", points.len());
        assert_eq!(points.first().unwrap().0, 100.0);
        assert_eq!(points.last().unwrap(), &(25_099.0, 1.0 / 25_000.0));
        assert_eq!(thinned(&[0.5, 0.25], 0), vec![(0.0, 0.5), (1.0, 0.25)]);
    }

    #[test]
    fn the_bar_shows_the_share_done() {
        let html = bar_html("training v", 250, 1000, "epoch 250/1000");
        assert!(
            html.contains("<progress value=\"250\" max=\"1000\""),
            "{html}"
        );
        assert!(html.contains("25%"), "{html}");
    }
}
