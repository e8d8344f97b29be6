//! Views of the MLP neurons: activation maps, frequency specialisation and coarseness.

use crate::error::Result;
use crate::views::builtin::{frequency_labels, index_labels};
use crate::views::chart::{Band, BarChart, Heatmap, Legend, LineChart, Panel, RefLine, Series};
use crate::views::color::{self, ColorScale};
use crate::views::definition::{Requirement, ViewDefinition, ViewInput, ViewOptionSpec};
use crate::views::figure::Figure;

pub const DEFINITIONS: &[ViewDefinition] = &[
    ViewDefinition {
        name: "activations.mlp.neuron_heatmap",
        description: "One neuron's activation over all (a, b) inputs",
        requires: &[Requirement::Epoch("neuron_activations")],
        epoch_source: Some("neuron_activations"),
        options: &[ViewOptionSpec {
            name: "neuron",
            default: "0",
            help: "neuron index",
        }],
        render: neuron_heatmap,
    },
    ViewDefinition {
        name: "activations.mlp.neuron_frequency_clusters",
        description: "Fraction of each neuron's variance explained by each frequency",
        requires: &[Requirement::Epoch("neuron_freq_norm")],
        epoch_source: Some("neuron_freq_norm"),
        options: &[],
        render: neuron_frequency_clusters,
    },
    ViewDefinition {
        name: "activations.mlp.coarseness_distribution",
        description: "Histogram of neuron coarseness (blob vs plaid neurons)",
        requires: &[Requirement::Epoch("coarseness")],
        epoch_source: Some("coarseness"),
        options: &[],
        render: coarseness_distribution,
    },
    ViewDefinition {
        name: "activations.mlp.coarseness_trajectory",
        description: "Mean neuron coarseness over training, inter-quartile band",
        requires: &[Requirement::Summary("coarseness")],
        epoch_source: None,
        options: &[],
        render: coarseness_trajectory,
    },
];

/// Coarseness above which a neuron is a "blob", below which (plaid) it is fine-grained.
const BLOB: f64 = 0.7;
const PLAID: f64 = 0.5;

/// One neuron's activation over the (a, b) grid. Only that neuron's row of the (d_mlp, p, p)
/// `activations` array is read (1/512 of 26 MB at p = 113), so moving the explorer's slider
/// stays fast.
fn neuron_heatmap(input: &ViewInput<'_>) -> Result<Figure> {
    let (mut neuron, mut p, mut q) = (0, 0, 0);
    let (epoch, _, cells) = input.epoch_row("neuron_activations", "activations", |shape| {
        let [neurons, rows, cols] = shape[..] else {
            return Err(input.data_error(format!(
                "`activations` has shape {shape:?}, expected (d_mlp, p, p)"
            )));
        };
        (p, q) = (rows, cols);
        neuron = input.index_option("neuron", neurons)?;
        Ok(neuron)
    })?;
    let cells = &cells[..];
    let extent = cells
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(1e-12);
    let panel = Panel::continuous("", p, q, cells, ColorScale::RdBu, (-extent, extent))
        .axes("b", "a")
        .ticks(index_labels(q), index_labels(p));
    let legend = Legend::ColorBar {
        scale: ColorScale::RdBu,
        lo: -extent,
        hi: extent,
        label: "activation".into(),
    };
    Heatmap::single(
        format!("Neuron {neuron} activation — Epoch {epoch}"),
        panel,
        legend,
    )
    .render()
}

fn neuron_frequency_clusters(input: &ViewInput<'_>) -> Result<Figure> {
    let (epoch, artifact) = input.epoch_artifact("neuron_freq_norm", &["norm_matrix"])?;
    let (shape, values) = input.array(&artifact, "norm_matrix")?;
    let [freqs, neurons] = shape[..] else {
        return Err(input.data_error(format!(
            "`norm_matrix` has shape {shape:?}, expected (frequencies, neurons)"
        )));
    };
    let panel = Panel::continuous("", freqs, neurons, &values, ColorScale::Viridis, (0.0, 1.0))
        .axes("neuron", "frequency")
        .ticks(index_labels(neurons), frequency_labels(freqs));
    let legend = Legend::ColorBar {
        scale: ColorScale::Viridis,
        lo: 0.0,
        hi: 1.0,
        label: "fraction of variance".into(),
    };
    let mut figure = Heatmap::single(
        format!("Neuron frequency specialisation — Epoch {epoch}"),
        panel,
        legend,
    );
    figure.size = (1000, 460);
    figure.render()
}

fn coarseness_distribution(input: &ViewInput<'_>) -> Result<Figure> {
    let (epoch, artifact) = input.epoch_artifact("coarseness", &["coarseness"])?;
    let values = input.vector(&artifact, "coarseness")?;
    let mut chart = BarChart::histogram(
        format!("Neuron coarseness — Epoch {epoch}"),
        "coarseness (low-frequency share)",
        &values,
        (0.0, 1.0),
        25,
        color::palette(0),
    );
    chart.vlines.push(RefLine {
        label: format!("blob ≥ {BLOB}"),
        value: BLOB,
        color: color::palette(3),
    });
    chart.vlines.push(RefLine {
        label: format!("plaid < {PLAID}"),
        value: PLAID,
        color: color::palette(4),
    });
    chart.size = (800, 440);
    chart.render()
}

fn coarseness_trajectory(input: &ViewInput<'_>) -> Result<Figure> {
    let summary = input.summary("coarseness")?;
    let epochs = input.vector(&summary, "epochs")?;
    let mean = input.vector(&summary, "mean_coarseness")?;
    let p25 = input.vector(&summary, "p25_coarseness")?;
    let p75 = input.vector(&summary, "p75_coarseness")?;
    let mut chart = LineChart::new("Neuron coarseness over training", "epoch", "coarseness");
    chart.bands.push(Band {
        name: "p25–p75".into(),
        x: epochs.clone(),
        lower: p25,
        upper: p75,
        color: color::palette(0),
    });
    chart.series.push(Series::line(
        "mean",
        epochs.iter().copied().zip(mean).collect(),
        color::palette(0),
    ));
    chart.hlines.push(RefLine {
        label: format!("blob {BLOB}"),
        value: BLOB,
        color: color::palette(3),
    });
    chart.cursor = input.cursor();
    chart.render()
}
