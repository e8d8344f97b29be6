//! Nanda et al.'s progress measures over training, with the three phases shaded.

use crate::error::Result;
use crate::views::chart::{LineChart, Series, Span};
use crate::views::color;
use crate::views::definition::{Requirement, ViewDefinition, ViewInput};
use crate::views::figure::Figure;
use crate::views::phases::Phases;

pub const DEFINITIONS: &[ViewDefinition] = &[
    ViewDefinition {
        name: "progress_measures.losses",
        description: "Restricted, excluded, train and test loss on one log axis; phases shaded",
        requires: &[Requirement::CrossEpoch("progress_measures")],
        epoch_source: None,
        options: &[],
        render: losses,
    },
    ViewDefinition {
        name: "progress_measures.sparsity_and_weights",
        description: "Gini coefficients of the Fourier maps and the total squared weight",
        requires: &[Requirement::CrossEpoch("progress_measures")],
        epoch_source: None,
        options: &[],
        render: sparsity_and_weights,
    },
];

/// The phases, from every epoch of `metadata.json` when present, else from the checkpoints.
fn phases(input: &ViewInput<'_>, epochs: &[f64], train: &[f64], test: &[f64]) -> Phases {
    match input.metadata() {
        Ok(metadata) => {
            let all: Vec<u64> = (0..metadata.train_losses.len() as u64).collect();
            Phases::locate(&all, &metadata.train_losses, &metadata.test_losses)
        }
        Err(_) => {
            let at: Vec<u64> = epochs.iter().map(|e| *e as u64).collect();
            Phases::locate(&at, train, test)
        }
    }
}

fn spans(phases: &Phases) -> Vec<Span> {
    phases
        .spans()
        .into_iter()
        .enumerate()
        .map(|(i, (label, from, to))| Span {
            label: label.to_string(),
            from: from as f64,
            to: to as f64,
            color: [color::palette(7), color::palette(2), color::palette(4)][i % 3],
        })
        .collect()
}

fn losses(input: &ViewInput<'_>) -> Result<Figure> {
    let artifact = input.cross_epoch("progress_measures")?;
    let epochs = input.vector(&artifact, "epochs")?;
    let curve = |key: &str| -> Result<Vec<(f64, f64)>> {
        Ok(epochs
            .iter()
            .copied()
            .zip(input.vector(&artifact, key)?)
            .collect())
    };
    let train = input.vector(&artifact, "train_loss")?;
    let test = input.vector(&artifact, "test_loss")?;
    let mut chart = LineChart::new("Progress measures", "epoch", "loss");
    chart.log_y = true;
    chart.spans = spans(&phases(input, &epochs, &train, &test));
    chart.series = vec![
        Series::line("train", curve("train_loss")?, color::TRAIN),
        Series::line("test", curve("test_loss")?, color::TEST),
        Series::line("restricted", curve("restricted_loss")?, color::palette(2)),
        Series::line("excluded", curve("excluded_loss")?, color::palette(3)),
    ];
    chart.cursor = input.cursor();
    chart.size = (960, 500);
    chart.render()
}

fn sparsity_and_weights(input: &ViewInput<'_>) -> Result<Figure> {
    let artifact = input.cross_epoch("progress_measures")?;
    let epochs = input.vector(&artifact, "epochs")?;
    let train = input.vector(&artifact, "train_loss")?;
    let test = input.vector(&artifact, "test_loss")?;
    let weights = input.vector(&artifact, "total_sum_squared_weights")?;
    let peak = weights.iter().copied().fold(f64::MIN, f64::max).max(1e-12);
    let curve = |values: Vec<f64>| epochs.iter().copied().zip(values).collect::<Vec<_>>();
    let mut chart = LineChart::new("Sparsity and weight norm", "epoch", "value");
    chart.spans = spans(&phases(input, &epochs, &train, &test));
    chart.series = vec![
        Series::line(
            "Gini, embedding Fourier norms",
            curve(input.vector(&artifact, "gini_embedding")?),
            color::palette(0),
        ),
        Series::line(
            "Gini, neuron→logit Fourier norms",
            curve(input.vector(&artifact, "gini_neuron_logit")?),
            color::palette(1),
        ),
        Series::line(
            "Σ w² / max",
            curve(weights.iter().map(|w| w / peak).collect()),
            color::palette(7),
        ),
    ];
    chart.cursor = input.cursor();
    chart.size = (960, 500);
    chart.render()
}
