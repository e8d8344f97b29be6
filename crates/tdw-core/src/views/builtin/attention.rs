//! Views of the attention heads.

use crate::error::Result;
use crate::views::builtin::{frequency_labels, index_labels};
use crate::views::chart::{Heatmap, Legend, Panel};
use crate::views::color::ColorScale;
use crate::views::definition::{Requirement, ViewDefinition, ViewInput, ViewOptionSpec};
use crate::views::figure::Figure;

pub const DEFINITIONS: &[ViewDefinition] = &[
    ViewDefinition {
        name: "activations.attention.head_heatmap",
        description: "Attention weight from one position to another, per head, over all (a, b)",
        requires: &[Requirement::Epoch("attention_patterns")],
        epoch_source: Some("attention_patterns"),
        options: &[
            ViewOptionSpec {
                name: "to_position",
                default: "2",
                help: "query position (0 a, 1 b, 2 =)",
            },
            ViewOptionSpec {
                name: "from_position",
                default: "0",
                help: "key position (0 a, 1 b, 2 =)",
            },
        ],
        render: head_heatmap,
    },
    ViewDefinition {
        name: "activations.attention.head_frequency_clusters",
        description: "Fraction of each head's attention variance explained by each frequency",
        requires: &[Requirement::Epoch("attention_freq")],
        epoch_source: Some("attention_freq"),
        options: &[],
        render: head_frequency_clusters,
    },
];

const POSITIONS: [&str; 3] = ["a", "b", "="];

fn head_heatmap(input: &ViewInput<'_>) -> Result<Figure> {
    let (epoch, artifact) = input.epoch_artifact("attention_patterns", &["patterns"])?;
    let (shape, values) = input.array(&artifact, "patterns")?;
    let [heads, positions, positions2, p, q] = shape[..] else {
        return Err(input.data_error(format!(
            "`patterns` has shape {shape:?}, expected (heads, to, from, p, p)"
        )));
    };
    let to = input.index_option("to_position", positions)?;
    let from = input.index_option("from_position", positions2)?;
    let cell_count = p * q;
    let panel_values = |h: usize| {
        let start = ((h * positions + to) * positions2 + from) * cell_count;
        &values[start..start + cell_count]
    };
    let hi = (0..heads)
        .flat_map(|h| panel_values(h).iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-6);
    let panels = (0..heads)
        .map(|h| {
            Panel::continuous(
                format!("head {h}"),
                p,
                q,
                panel_values(h),
                ColorScale::Blues,
                (0.0, hi),
            )
            .axes("b", "a")
            .ticks(index_labels(q), index_labels(p))
        })
        .collect::<Vec<_>>();
    let columns = heads.clamp(1, 4);
    let rows = heads.div_ceil(columns);
    let name = |i: usize| POSITIONS.get(i).copied().unwrap_or("?");
    Heatmap {
        title: format!(
            "Attention Heads ({} ← {}) — Epoch {epoch}",
            name(to),
            name(from)
        ),
        panels,
        columns,
        legend: Legend::ColorBar {
            scale: ColorScale::Blues,
            lo: 0.0,
            hi,
            label: "attention".into(),
        },
        size: (320 * columns as u32 + 90, 380 * rows as u32 + 40),
    }
    .render()
}

fn head_frequency_clusters(input: &ViewInput<'_>) -> Result<Figure> {
    let (epoch, artifact) = input.epoch_artifact("attention_freq", &["freq_matrix"])?;
    let (shape, values) = input.array(&artifact, "freq_matrix")?;
    let [freqs, heads] = shape[..] else {
        return Err(input.data_error(format!(
            "`freq_matrix` has shape {shape:?}, expected (frequencies, heads)"
        )));
    };
    let panel = Panel::continuous("", freqs, heads, &values, ColorScale::Viridis, (0.0, 1.0))
        .axes("head", "frequency")
        .ticks(index_labels(heads), frequency_labels(freqs));
    let mut figure = Heatmap::single(
        format!("Attention head frequency specialisation — Epoch {epoch}"),
        panel,
        Legend::ColorBar {
            scale: ColorScale::Viridis,
            lo: 0.0,
            hi: 1.0,
            label: "fraction of variance".into(),
        },
    );
    figure.size = (520, 560);
    figure.render()
}
