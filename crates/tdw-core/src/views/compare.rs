//! Variants side by side: when each grokked, where its losses ended, which frequencies it chose,
//! and all loss curves on one chart. What researchers make families and sweeps for.

use crate::analysis::loader::ArtifactLoader;
use crate::error::{Error, Result};
use crate::variant::Variant;
use crate::views::chart::{LineChart, Series};
use crate::views::color;
use crate::views::figure::Figure;
use crate::views::text;

/// One variant's line of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    /// The variant's name.
    pub variant: String,
    /// Its parameters, `name=value` joined.
    pub params: String,
    /// Epochs trained.
    pub epochs: usize,
    /// First epoch whose test loss is below the threshold.
    pub grokking_epoch: Option<u64>,
    /// Training loss at the last epoch.
    pub final_train_loss: f64,
    /// Test loss at the last epoch.
    pub final_test_loss: f64,
    /// Largest frequencies of the embedding at the last analyzed checkpoint (1-based), if analyzed.
    pub key_frequencies: Vec<usize>,
}

/// Trained variants compared on their metadata (and their last `dominant_frequencies` artifact).
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The test loss below which a variant counts as grokked.
    pub threshold: f64,
    /// One row per variant.
    pub rows: Vec<ComparisonRow>,
    curves: Vec<(String, Vec<f64>, Vec<f64>)>,
}

/// How many frequencies the table lists per variant.
const KEY_FREQUENCIES: usize = 3;

impl Comparison {
    /// Compares `variants`; untrained ones are an error naming them.
    pub fn of(variants: &[Variant], threshold: f64) -> Result<Comparison> {
        if !(threshold.is_finite() && threshold > 0.0) {
            return Err(Error::invalid_parameter(
                "threshold",
                threshold,
                "must be a positive loss",
            ));
        }
        let mut rows = Vec::new();
        let mut curves = Vec::new();
        for variant in variants {
            let metadata = variant.metadata()?;
            let grokking_epoch = metadata
                .test_losses
                .iter()
                .position(|l| *l < threshold)
                .map(|e| e as u64);
            rows.push(ComparisonRow {
                variant: variant.name().to_string(),
                params: variant.params().to_string(),
                epochs: metadata.train_losses.len(),
                grokking_epoch,
                final_train_loss: metadata.train_losses.last().copied().unwrap_or(f64::NAN),
                final_test_loss: metadata.test_losses.last().copied().unwrap_or(f64::NAN),
                key_frequencies: key_frequencies(variant).unwrap_or_default(),
            });
            curves.push((
                variant.name().to_string(),
                metadata.train_losses,
                metadata.test_losses,
            ));
        }
        Ok(Comparison {
            threshold,
            rows,
            curves,
        })
    }

    /// The table as aligned text.
    pub fn table_text(&self) -> String {
        let grokked = format!("grokked (test < {})", self.threshold);
        let header = [
            "variant",
            "epochs",
            grokked.as_str(),
            "final train",
            "final test",
            "key frequencies",
        ];
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.variant.clone(),
                    r.epochs.to_string(),
                    r.grokking_epoch.map_or("never".into(), |e| e.to_string()),
                    format!("{:.3e}", r.final_train_loss),
                    format!("{:.3e}", r.final_test_loss),
                    if r.key_frequencies.is_empty() {
                        "(not analyzed)".into()
                    } else {
                        format!("{:?}", r.key_frequencies)
                    },
                ]
            })
            .collect();
        text::text_table(&header, &rows)
    }

    /// Test loss (solid) and train loss (dashed) of every variant on one log axis, one colour
    /// per variant.
    pub fn loss_chart(&self) -> Result<Figure> {
        let mut chart = LineChart::new("Loss curves of the compared variants", "epoch", "loss");
        chart.log_y = true;
        chart.size = (980, 520);
        for (i, (name, train, test)) in self.curves.iter().enumerate() {
            let per_epoch = |losses: &[f64]| -> Vec<(f64, f64)> {
                // Every epoch of a 25k-epoch run is 25k points; one in `step` keeps the shape.
                let step = (losses.len() / 2000).max(1);
                losses
                    .iter()
                    .enumerate()
                    .step_by(step)
                    .map(|(e, l)| (e as f64, *l))
                    .collect()
            };
            let colour = color::palette(i);
            chart.series.push(Series::line(
                format!("{name} test"),
                per_epoch(test),
                colour,
            ));
            chart
                .series
                .push(Series::line(format!("{name} train"), per_epoch(train), colour).dashed());
        }
        chart.render()
    }
}

/// The [`KEY_FREQUENCIES`] largest embedding frequencies of `variant`; see [`largest_frequencies`].
fn key_frequencies(variant: &Variant) -> Option<Vec<usize>> {
    largest_frequencies(variant, KEY_FREQUENCIES)
}

/// The `n` largest embedding frequencies (by the norm of their sin/cos pair in
/// `dominant_frequencies`) at the last analyzed checkpoint, 1-based; `None` before an analysis.
pub fn largest_frequencies(variant: &Variant, n: usize) -> Option<Vec<usize>> {
    let loader = ArtifactLoader::new(variant.artifacts_dir());
    let last = *loader.epochs("dominant_frequencies").last()?;
    let artifact = loader
        .load_epoch_fields("dominant_frequencies", last, Some(&["coefficients"]))
        .ok()?;
    let c = artifact.as_f64("coefficients").ok()?;
    let c: Vec<f64> = c.iter().copied().collect();
    let mut pairs: Vec<(usize, f64)> = (1..=c.len().saturating_sub(1) / 2)
        .map(|k| (k, c[2 * k - 1].hypot(c[2 * k])))
        .collect();
    pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
    Some(pairs.iter().take(n).map(|(k, _)| *k).collect())
}
