//! Views of the training record (`metadata.json`) and of the per-epoch accuracy grid.

use crate::error::Result;
use crate::views::builtin::index_labels;
use crate::views::chart::{Heatmap, Legend, LineChart, Marker, Panel, Series};
use crate::views::color;
use crate::views::definition::{Requirement, ViewDefinition, ViewInput};
use crate::views::figure::Figure;

pub const DEFINITIONS: &[ViewDefinition] = &[
    ViewDefinition {
        name: "training.metadata.loss_curves",
        description: "Train and test loss per epoch (log y), checkpoints marked",
        requires: &[Requirement::Metadata],
        epoch_source: None,
        options: &[],
        render: loss_curves,
    },
    ViewDefinition {
        name: "input_trace.accuracy_grid",
        description: "Which (a, b) pairs the model gets right, train and test",
        requires: &[Requirement::Epoch("input_trace")],
        epoch_source: Some("input_trace"),
        options: &[],
        render: accuracy_grid,
    },
];

fn loss_curves(input: &ViewInput<'_>) -> Result<Figure> {
    let metadata = input.metadata()?;
    let mut chart = loss_curve_chart(
        format!("Loss curves — {}", input.variant().name()),
        &metadata.train_losses,
        &metadata.test_losses,
        &metadata.checkpoint_epochs,
    );
    chart.cursor = input.cursor();
    chart.render()
}

/// Train (blue) and test (orange) loss per epoch on a log axis, green diamonds on the test curve
/// at the checkpoints: the loss-curve chart of the catalogue and of notebook training results.
pub fn loss_curve_chart(
    title: impl Into<String>,
    train_losses: &[f64],
    test_losses: &[f64],
    checkpoint_epochs: &[u64],
) -> LineChart {
    let per_epoch = |losses: &[f64]| -> Vec<(f64, f64)> {
        losses
            .iter()
            .enumerate()
            .map(|(e, l)| (e as f64, *l))
            .collect()
    };
    let mut chart = LineChart::new(title, "epoch", "loss");
    chart.log_y = true;
    chart
        .series
        .push(Series::line("train", per_epoch(train_losses), color::TRAIN));
    chart
        .series
        .push(Series::line("test", per_epoch(test_losses), color::TEST));
    let checkpoints: Vec<(f64, f64)> = checkpoint_epochs
        .iter()
        .filter_map(|e| Some((*e as f64, *test_losses.get(*e as usize)?)))
        .collect();
    chart
        .series
        .push(Series::line("checkpoints", checkpoints, color::CHECKPOINT).markers(Marker::Diamond));
    chart
}

fn accuracy_grid(input: &ViewInput<'_>) -> Result<Figure> {
    let (epoch, artifact) = input.epoch_artifact("input_trace", &["correct", "split"])?;
    let correct = input.vector(&artifact, "correct")?;
    let split = input.vector(&artifact, "split")?;
    let p = (correct.len() as f64).sqrt().round() as usize;
    if p * p != correct.len() || split.len() != correct.len() {
        return Err(input.data_error(format!(
            "`correct` has {} entries and `split` {}; expected p² each",
            correct.len(),
            split.len()
        )));
    }
    // Accuracies from the grid itself (the per-split numbers are summary values, not stored here).
    let accuracy = |train: bool| {
        let (right, total) = correct
            .iter()
            .zip(&split)
            .filter(|(_, s)| (**s > 0.5) == train)
            .fold((0usize, 0usize), |(r, t), (c, _)| {
                (r + (*c > 0.5) as usize, t + 1)
            });
        right as f64 / total.max(1) as f64
    };
    let (test_accuracy, train_accuracy) = (accuracy(false), accuracy(true));
    let categories = [
        ("train, wrong", color::WHITE_CELL),
        ("train, right", color::GREY),
        ("test, wrong", color::LIGHT_GREY),
        ("test, right", color::TRAIN),
    ];
    let cells = correct
        .iter()
        .zip(&split)
        .map(|(ok, train)| match (*train > 0.5, *ok > 0.5) {
            (true, false) => categories[0].1,
            (true, true) => categories[1].1,
            (false, false) => categories[2].1,
            (false, true) => categories[3].1,
        })
        .collect();
    let panel = Panel {
        title: String::new(),
        rows: p,
        cols: p,
        cells,
        x_label: "b".into(),
        y_label: "a".into(),
        x_ticks: index_labels(p),
        y_ticks: index_labels(p),
        cursor_col: None,
    };
    let legend = Legend::Categories(
        categories
            .iter()
            .map(|(name, c)| (name.to_string(), *c))
            .collect(),
    );
    let mut figure = Heatmap::single(
        format!(
            "Accuracy grid — Epoch {epoch} (test {:.1}%, train {:.1}%)",
            100.0 * test_accuracy,
            100.0 * train_accuracy
        ),
        panel,
        legend,
    );
    figure.size = (640, 520);
    figure.render()
}
