//! Causal curves over training: what each attention head is worth at every checkpoint (the loss
//! or accuracy on all pairs with the head ablated, against the unablated model).

use crate::analyzers::head_ablation::NAME;
use crate::analyzers::logit_attribution::NAME as ATTRIBUTION;
use crate::error::Result;
use crate::views::chart::{LineChart, Series};
use crate::views::color;
use crate::views::definition::{Requirement, ViewDefinition, ViewInput, ViewOptionSpec};
use crate::views::figure::Figure;

pub const DEFINITIONS: &[ViewDefinition] = &[
    ViewDefinition {
        name: "causal.head_ablation",
        description: "Loss (or accuracy) on all pairs with each attention head ablated, over training",
        requires: &[Requirement::CrossEpoch(NAME)],
        epoch_source: None,
        options: &[
            ViewOptionSpec {
                name: "ablation",
                default: "mean",
                help: "zero or mean (the head's z replaced by its mean over the pairs)",
            },
            ViewOptionSpec {
                name: "metric",
                default: "loss",
                help: "loss (log axis) or accuracy",
            },
        ],
        render: head_ablation,
    },
    ViewDefinition {
        name: "causal.logit_attribution",
        description: "Direct logit attribution to the correct logit of each head, the MLP and the embedding, over training",
        requires: &[Requirement::CrossEpoch(ATTRIBUTION)],
        epoch_source: None,
        options: &[],
        render: logit_attribution,
    },
];

fn logit_attribution(input: &ViewInput<'_>) -> Result<Figure> {
    let artifact = input.cross_epoch(ATTRIBUTION)?;
    let epochs = input.vector(&artifact, "epochs")?;
    let (shape, heads) = input.array(&artifact, "heads")?;
    let [n, h] = shape[..] else {
        return Err(input.data_error(format!("`heads` has shape {shape:?}")));
    };
    if n != epochs.len() {
        return Err(input.data_error(format!("{n} rows of `heads` for {} epochs", epochs.len())));
    }
    let mut chart = LineChart::new(
        "Direct logit attribution to the correct logit (mean over all pairs)",
        "epoch",
        "contribution to the correct logit",
    );
    chart.size = (980, 480);
    let points = |values: &[f64]| epochs.iter().copied().zip(values.iter().copied()).collect();
    for head in 0..h {
        let column: Vec<f64> = (0..n).map(|e| heads[e * h + head]).collect();
        chart.series.push(Series::line(
            format!("head {head}"),
            points(&column),
            color::palette(head),
        ));
    }
    for (i, (key, label)) in [("mlp", "MLP"), ("embed", "embedding (direct path)")]
        .iter()
        .enumerate()
    {
        let values = input.vector(&artifact, key)?;
        chart
            .series
            .push(Series::line(*label, points(&values), color::palette(h + i)));
    }
    let total = input.vector(&artifact, "correct_logit")?;
    chart
        .series
        .push(Series::line("correct logit", points(&total), color::GREY).dashed());
    chart.cursor = input.cursor();
    chart.render()
}

fn head_ablation(input: &ViewInput<'_>) -> Result<Figure> {
    let ablation = input.choice_option("ablation", &["zero", "mean"])?;
    let metric = input.choice_option("metric", &["loss", "accuracy"])?;
    let artifact = input.cross_epoch(NAME)?;
    let epochs = input.vector(&artifact, "epochs")?;
    let baseline = input.vector(&artifact, &format!("baseline_{metric}"))?;
    let key = format!("{ablation}_{metric}");
    let (shape, values) = input.array(&artifact, &key)?;
    let [n, heads] = shape[..] else {
        return Err(input.data_error(format!("`{key}` has shape {shape:?}")));
    };
    if n != epochs.len() || baseline.len() != n {
        return Err(input.data_error(format!("{n} rows of `{key}` for {} epochs", epochs.len())));
    }
    let mut chart = LineChart::new(
        format!("Head ablation ({ablation}) — {metric} on all pairs"),
        "epoch",
        &format!("{metric} with the head ablated"),
    );
    chart.log_y = metric == "loss";
    chart.size = (980, 480);
    for head in 0..heads {
        chart.series.push(Series::line(
            format!("head {head}"),
            (0..n)
                .map(|e| (epochs[e], values[e * heads + head]))
                .collect(),
            color::palette(head),
        ));
    }
    chart.series.push(
        Series::line(
            "no ablation",
            epochs.iter().copied().zip(baseline).collect(),
            color::GREY,
        )
        .dashed(),
    );
    chart.cursor = input.cursor();
    chart.render()
}
