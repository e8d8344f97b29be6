//! Causal curves over training: what each attention head is worth at every checkpoint (the loss
//! or accuracy on all pairs with the head ablated, against the unablated model).

use crate::analyzers::head_ablation::NAME;
use crate::error::Result;
use crate::views::chart::{LineChart, Series};
use crate::views::color;
use crate::views::definition::{Requirement, ViewDefinition, ViewInput, ViewOptionSpec};
use crate::views::figure::Figure;

pub const DEFINITIONS: &[ViewDefinition] = &[ViewDefinition {
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
}];

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
