//! Views of the weights: the embedding's Fourier spectrum and singular-value spectra.

use crate::analyzers::effective_dimensionality::participation_ratio;
use crate::error::Result;
use crate::views::builtin::fourier_label;
use crate::views::chart::{BarChart, LineChart, RefLine, Series};
use crate::views::color;
use crate::views::definition::{Requirement, ViewDefinition, ViewInput, ViewOptionSpec};
use crate::views::figure::Figure;

pub const DEFINITIONS: &[ViewDefinition] = &[
    ViewDefinition {
        name: "parameters.embeddings.fourier_coefficients",
        description: "Norm of W_E along each Fourier basis vector; key frequencies stand out",
        requires: &[Requirement::Epoch("dominant_frequencies")],
        epoch_source: Some("dominant_frequencies"),
        options: &[ViewOptionSpec {
            name: "threshold",
            default: "1.0",
            help: "coefficients above it are drawn opaque and labelled",
        }],
        render: fourier_coefficients,
    },
    ViewDefinition {
        name: "parameters.singular_value_spectrum",
        description: "Singular values of one weight matrix, participation ratio in the title",
        requires: &[Requirement::Epoch("effective_dimensionality")],
        epoch_source: Some("effective_dimensionality"),
        options: &[
            ViewOptionSpec {
                name: "matrix",
                default: "W_in",
                help: "W_E, W_pos, W_Q, W_K, W_V, W_O, W_in, W_out or W_U",
            },
            ViewOptionSpec {
                name: "head",
                default: "0",
                help: "attention head, for W_Q/W_K/W_V/W_O",
            },
        ],
        render: singular_value_spectrum,
    },
    ViewDefinition {
        name: "parameters.effective_dimensionality",
        description: "Participation ratio of each weight matrix over training",
        requires: &[Requirement::Summary("effective_dimensionality")],
        epoch_source: None,
        options: &[ViewOptionSpec {
            name: "attention",
            default: "false",
            help: "also plot the attention matrices (mean over heads)",
        }],
        render: effective_dimensionality,
    },
];

const MATRICES: [&str; 9] = [
    "W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U",
];
const ATTENTION: [&str; 4] = ["W_Q", "W_K", "W_V", "W_O"];
/// Key frequencies labelled on the Fourier-coefficient chart (a grokked model has 3–6).
const MAX_LABELS: usize = 6;

fn fourier_coefficients(input: &ViewInput<'_>) -> Result<Figure> {
    let (epoch, artifact) = input.epoch_artifact("dominant_frequencies", &["coefficients"])?;
    let coefficients = input.vector(&artifact, "coefficients")?;
    let threshold: f64 = input
        .option("threshold")
        .parse()
        .map_err(|_| input.data_error("option 'threshold' must be a number"))?;
    let labels: Vec<String> = (0..coefficients.len()).map(fourier_label).collect();
    let mut chart = BarChart::categorical(
        format!("Embedding Fourier Coefficients - Epoch {epoch}"),
        "Fourier component",
        "‖W_E component‖",
        labels,
        &coefficients,
        color::TRAIN,
    );
    // One label per key frequency, on the taller of its sin/cos pair so neighbours never
    // overlap, and only for the largest few: before grokking every component can exceed 1.
    let mut labelled: Vec<usize> = Vec::new();
    for (i, bar) in chart.bars.iter_mut().enumerate() {
        if bar.value <= threshold {
            bar.opacity = 0.3;
            continue;
        }
        let partner = match i {
            0 => None,
            i if i % 2 == 1 => coefficients.get(i + 1),
            i => coefficients.get(i - 1),
        };
        if partner.is_none_or(|v| bar.value > *v || (bar.value == *v && i % 2 == 1)) {
            labelled.push(i);
        }
    }
    labelled.sort_by(|a, b| coefficients[*b].total_cmp(&coefficients[*a]));
    for &i in labelled.iter().take(MAX_LABELS) {
        chart.bars[i].annotation = Some(match i {
            0 => "const".to_string(),
            i => format!("k = {}", i.div_ceil(2)),
        });
    }
    chart.hlines.push(RefLine {
        label: format!("threshold {threshold}"),
        value: threshold,
        color: color::CURSOR,
    });
    chart.size = (1000, 460);
    chart.render()
}

fn singular_value_spectrum(input: &ViewInput<'_>) -> Result<Figure> {
    let matrix = input.choice_option("matrix", &MATRICES)?;
    let sv_key = format!("sv_{matrix}");
    let (epoch, artifact) = input.epoch_artifact("effective_dimensionality", &[&sv_key])?;
    let (shape, values) = input.array(&artifact, &sv_key)?;
    let (values, which) = match shape.as_slice() {
        [_] => (values, matrix.clone()),
        [heads, k] => {
            let head = input.index_option("head", *heads)?;
            (
                values[head * k..(head + 1) * k].to_vec(),
                format!("{matrix} head {head}"),
            )
        }
        other => {
            return Err(input.data_error(format!("`{sv_key}` has shape {other:?}")));
        }
    };
    let ratio = format!(" (PR {:.2})", participation_ratio(values.iter().copied()));
    let labels = (1..=values.len()).map(|i| i.to_string()).collect();
    let mut chart = BarChart::categorical(
        format!("Singular values of {which}{ratio} — Epoch {epoch}"),
        "index",
        "singular value",
        labels,
        &values,
        color::palette(4),
    );
    chart.size = (800, 440);
    chart.render()
}

fn effective_dimensionality(input: &ViewInput<'_>) -> Result<Figure> {
    let include_attention = input.flag_option("attention")?;
    let summary = input.summary("effective_dimensionality")?;
    let epochs = input.vector(&summary, "epochs")?;
    let mut chart = LineChart::new(
        "Effective dimensionality (participation ratio)",
        "epoch",
        "participation ratio",
    );
    for (i, matrix) in MATRICES.iter().enumerate() {
        let is_attention = ATTENTION.contains(matrix);
        if is_attention && !include_attention {
            continue;
        }
        let key = format!("pr_{matrix}");
        if summary.get(&key).is_none() {
            continue;
        }
        let (shape, values) = input.array(&summary, &key)?;
        // Attention ratios are (epochs, heads): plot their mean.
        let per_epoch: Vec<f64> = match shape.as_slice() {
            [_] => values,
            [n, heads] if *heads > 0 => (0..*n)
                .map(|e| values[e * heads..(e + 1) * heads].iter().sum::<f64>() / *heads as f64)
                .collect(),
            other => return Err(input.data_error(format!("`{key}` has shape {other:?}"))),
        };
        let name = if is_attention {
            format!("{matrix} (mean)")
        } else {
            matrix.to_string()
        };
        chart.series.push(Series::line(
            name,
            epochs.iter().copied().zip(per_epoch).collect(),
            color::palette(i),
        ));
    }
    chart.cursor = input.cursor();
    chart.render()
}
