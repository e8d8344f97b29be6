//! Cross-epoch views: the parameter trajectory in PCA space, and how frequencies take over the
//! embedding and the neurons.

use crate::error::Result;
use crate::views::builtin::{fourier_label, index_labels};
use crate::views::chart::{BarChart, Heatmap, Legend, LineChart, Panel, Series, Trajectory};
use crate::views::color;
use crate::views::definition::{Requirement, ViewDefinition, ViewInput, ViewOptionSpec};
use crate::views::figure::Figure;

const GROUP_OPTION: ViewOptionSpec = ViewOptionSpec {
    name: "group",
    default: "all",
    help: "parameter group: all, embedding, attention or mlp",
};
const GROUPS: [&str; 4] = ["all", "embedding", "attention", "mlp"];

pub const DEFINITIONS: &[ViewDefinition] = &[
    ViewDefinition {
        name: "parameters.pca.pc1_pc2",
        description: "The parameter trajectory projected on its first two principal components",
        requires: &[Requirement::CrossEpoch("parameter_trajectory")],
        epoch_source: None,
        options: &[GROUP_OPTION],
        render: pc1_pc2,
    },
    ViewDefinition {
        name: "parameters.pca.explained_variance",
        description: "Variance of the trajectory explained by each principal component",
        requires: &[Requirement::CrossEpoch("parameter_trajectory")],
        epoch_source: None,
        options: &[GROUP_OPTION],
        render: explained_variance,
    },
    ViewDefinition {
        name: "parameters.pca.velocity",
        description: "How far the parameters move per epoch between checkpoints",
        requires: &[Requirement::CrossEpoch("parameter_trajectory")],
        epoch_source: None,
        options: &[GROUP_OPTION],
        render: velocity,
    },
    ViewDefinition {
        name: "activations.mlp.neuron_freq_trajectory",
        description: "Each neuron's dominant frequency at every checkpoint",
        requires: &[Requirement::CrossEpoch("neuron_dynamics")],
        epoch_source: None,
        options: &[ViewOptionSpec {
            name: "sorted",
            default: "true",
            help: "order neurons by their final frequency",
        }],
        render: neuron_freq_trajectory,
    },
    ViewDefinition {
        name: "activations.mlp.dominant_frequencies_over_time",
        description: "The embedding's largest Fourier components across checkpoints",
        requires: &[Requirement::Epoch("dominant_frequencies")],
        epoch_source: None,
        options: &[ViewOptionSpec {
            name: "top",
            default: "5",
            help: "how many components (largest at the last checkpoint)",
        }],
        render: dominant_frequencies_over_time,
    },
];

/// Epochs as u64 from an i64/f64 `epochs` array.
fn epochs_of(input: &ViewInput<'_>, artifact: &crate::analysis::Artifact) -> Result<Vec<u64>> {
    Ok(input
        .vector(artifact, "epochs")?
        .into_iter()
        .map(|e| e.max(0.0) as u64)
        .collect())
}

/// Index of the epoch closest to the cursor, else the last.
fn cursor_index(epochs: &[u64], cursor: Option<u64>) -> Option<usize> {
    match cursor {
        Some(c) => (0..epochs.len()).min_by_key(|i| epochs[*i].abs_diff(c)),
        None => epochs.len().checked_sub(1),
    }
}

fn pc1_pc2(input: &ViewInput<'_>) -> Result<Figure> {
    let group = input.choice_option("group", &GROUPS)?;
    let artifact = input.cross_epoch("parameter_trajectory")?;
    let epochs = epochs_of(input, &artifact)?;
    let (shape, projections) = input.array(&artifact, &format!("{group}__projections"))?;
    let ratios = input.vector(&artifact, &format!("{group}__explained_variance_ratio"))?;
    let [n, components] = shape[..] else {
        return Err(input.data_error(format!("projections have shape {shape:?}")));
    };
    if components < 2 || n != epochs.len() {
        return Err(input.data_error(format!(
            "projections have shape {shape:?} for {} epochs; need (epochs, ≥2)",
            epochs.len()
        )));
    }
    let points = (0..n)
        .map(|i| (projections[i * components], projections[i * components + 1]))
        .collect();
    let axis = |k: usize| {
        let pct = ratios.get(k).map_or(f64::NAN, |r| 100.0 * r);
        format!("PC{} ({pct:.1}% var)", k + 1)
    };
    Trajectory {
        title: format!("Parameter trajectory ({group}): PC1 vs PC2"),
        x_label: axis(0),
        y_label: axis(1),
        points,
        highlight: cursor_index(&epochs, input.cursor()),
        epochs,
        size: (760, 560),
    }
    .render()
}

fn explained_variance(input: &ViewInput<'_>) -> Result<Figure> {
    let group = input.choice_option("group", &GROUPS)?;
    let artifact = input.cross_epoch("parameter_trajectory")?;
    let ratios = input.vector(&artifact, &format!("{group}__explained_variance_ratio"))?;
    let shown: Vec<f64> = ratios.iter().take(10).copied().collect();
    let labels = (1..=shown.len()).map(|k| format!("PC{k}")).collect();
    let mut chart = BarChart::categorical(
        format!("Explained variance of the parameter trajectory ({group})"),
        "principal component",
        "fraction of variance",
        labels,
        &shown,
        color::palette(0),
    );
    let mut cumulative = 0.0;
    chart.lines.push(Series::line(
        "cumulative",
        shown
            .iter()
            .enumerate()
            .map(|(i, r)| {
                cumulative += r;
                (i as f64, cumulative)
            })
            .collect(),
        color::palette(1),
    ));
    chart.size = (760, 440);
    chart.render()
}

fn velocity(input: &ViewInput<'_>) -> Result<Figure> {
    let group = input.choice_option("group", &GROUPS)?;
    let artifact = input.cross_epoch("parameter_trajectory")?;
    let epochs = epochs_of(input, &artifact)?;
    let speeds = input.vector(&artifact, &format!("{group}__velocity"))?;
    if speeds.len() + 1 != epochs.len() {
        return Err(input.data_error(format!(
            "{} velocities for {} epochs; expected one fewer",
            speeds.len(),
            epochs.len()
        )));
    }
    let mut chart = LineChart::new(
        format!("Parameter velocity ({group})"),
        "epoch",
        "||Δθ|| / epoch",
    );
    chart.log_y = true;
    chart.series.push(Series::line(
        "",
        epochs[1..]
            .iter()
            .zip(speeds)
            .map(|(e, v)| (*e as f64, v))
            .collect(),
        color::palette(0),
    ));
    chart.cursor = input.cursor();
    chart.render()
}

fn neuron_freq_trajectory(input: &ViewInput<'_>) -> Result<Figure> {
    let sorted = input.flag_option("sorted")?;
    let artifact = input.cross_epoch("neuron_dynamics")?;
    let epochs = epochs_of(input, &artifact)?;
    let (shape, dominant) = input.array(&artifact, "dominant_freq")?;
    let (_, max_frac) = input.array(&artifact, "max_frac")?;
    let threshold = input
        .vector(&artifact, "threshold")?
        .first()
        .copied()
        .unwrap_or(0.0);
    let [n, neurons] = shape[..] else {
        return Err(input.data_error(format!("`dominant_freq` has shape {shape:?}")));
    };
    if n != epochs.len() || max_frac.len() != dominant.len() || n == 0 {
        return Err(input.data_error("`dominant_freq`, `max_frac` and `epochs` disagree"));
    }
    let committed = |e: usize, m: usize| max_frac[e * neurons + m] >= threshold;
    let frequency = |e: usize, m: usize| dominant[e * neurons + m].max(0.0) as usize;
    let freq_count = dominant.iter().fold(0.0f64, |a, b| a.max(*b)) as usize + 1;
    let last = n - 1;
    let mut order: Vec<usize> = (0..neurons).collect();
    if sorted {
        // Uncommitted neurons last; within a frequency, earlier commitment first.
        order.sort_by_key(|&m| (!committed(last, m), frequency(last, m)));
    }
    // Row 0 is drawn at the bottom; put the first neuron of the order at the top.
    let mut cells = Vec::with_capacity(n * neurons);
    for &m in order.iter().rev() {
        for e in 0..n {
            cells.push(if committed(e, m) {
                color::hue(frequency(e, m), freq_count)
            } else {
                color::LIGHT_GREY
            });
        }
    }
    let mut finals: Vec<(usize, usize)> = Vec::new();
    for m in 0..neurons {
        if committed(last, m) {
            let f = frequency(last, m);
            match finals.iter_mut().find(|(freq, _)| *freq == f) {
                Some(entry) => entry.1 += 1,
                None => finals.push((f, 1)),
            }
        }
    }
    finals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut legend: Vec<(String, _)> = finals
        .iter()
        .take(12)
        .map(|(f, count)| {
            (
                format!("k = {} ({count})", f + 1),
                color::hue(*f, freq_count),
            )
        })
        .collect();
    legend.push(("uncommitted".into(), color::LIGHT_GREY));
    let mut panel = Panel {
        title: String::new(),
        rows: neurons,
        cols: n,
        cells,
        x_label: "checkpoint epoch".into(),
        y_label: if sorted {
            "neuron (sorted by final frequency)".into()
        } else {
            "neuron".into()
        },
        x_ticks: epochs.iter().map(|e| e.to_string()).collect(),
        // Sorted rows are ranks, not neuron ids: label them only when in natural order.
        y_ticks: if sorted {
            vec![String::new(); neurons]
        } else {
            index_labels(neurons)
        },
        cursor_col: None,
    };
    panel.cursor_col = input.cursor().and_then(|c| cursor_index(&epochs, Some(c)));
    let mut figure = Heatmap::single(
        "Neuron dominant frequency over training",
        panel,
        Legend::Categories(legend),
    );
    figure.size = (1000, 560);
    figure.render()
}

fn dominant_frequencies_over_time(input: &ViewInput<'_>) -> Result<Figure> {
    let top: usize = input
        .option("top")
        .parse()
        .map_err(|_| input.data_error("option 'top' must be a positive integer"))?;
    let stacked =
        input
            .loader()
            .load_epochs("dominant_frequencies", None, Some(&["coefficients"]))?;
    let epochs = epochs_of(input, &stacked)?;
    let (shape, coefficients) = input.array(&stacked, "coefficients")?;
    let [n, components] = shape[..] else {
        return Err(input.data_error(format!("stacked `coefficients` have shape {shape:?}")));
    };
    let last = &coefficients[(n - 1) * components..n * components];
    let mut ranked: Vec<usize> = (0..components).collect();
    ranked.sort_by(|a, b| last[*b].total_cmp(&last[*a]));
    let mut chart = LineChart::new(
        "Embedding Fourier components over training",
        "epoch",
        "‖W_E component‖",
    );
    for (rank, &component) in ranked.iter().take(top.max(1)).enumerate() {
        chart.series.push(Series::line(
            fourier_label(component),
            epochs
                .iter()
                .enumerate()
                .map(|(i, e)| (*e as f64, coefficients[i * components + component]))
                .collect(),
            color::palette(rank),
        ));
    }
    chart.cursor = input.cursor();
    chart.render()
}
