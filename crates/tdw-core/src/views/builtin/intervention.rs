//! The Intervention Check (MIScope's `intervention_check` renderer): per frequency, the RMS
//! amplitude of the attention output along its embedding directions before the hook (grey) and
//! after it (green where the gain boosts, red where it dampens, grey-blue where the frequency is
//! not targeted), at one checkpoint of an intervened variant. The title says whether the epoch
//! lies in the window and the ramp factor there; outside the window both bars are equal.

use crate::analyzers::intervention_check::NAME;
use crate::error::Result;
use crate::views::chart::{Bar, BarChart};
use crate::views::color;
use crate::views::definition::{Requirement, ViewDefinition, ViewInput};
use crate::views::figure::Figure;
use plotters::style::RGBColor;

pub const DEFINITIONS: &[ViewDefinition] = &[ViewDefinition {
    name: "intervention.check",
    description: "An intervened variant's attention output per frequency, RMS before and after its hook at the checkpoint",
    requires: &[Requirement::Epoch(NAME)],
    epoch_source: Some(NAME),
    options: &[],
    render: check,
}];

/// Bars of gains above 1.
const BOOST: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
/// Bars of gains below 1.
const DAMPEN: RGBColor = RGBColor(0xd6, 0x27, 0x28);
/// Modified bars of frequencies not targeted.
const UNTOUCHED: RGBColor = RGBColor(0x7f, 0x9f, 0xbf);

fn check(input: &ViewInput<'_>) -> Result<Figure> {
    let (epoch, artifact) = input.epoch_artifact(NAME, &[])?;
    let baseline = input.vector(&artifact, "baseline_rms")?;
    let modified = input.vector(&artifact, "modified_rms")?;
    let gain = input.vector(&artifact, "gain")?;
    let ramp = input
        .vector(&artifact, "ramp")?
        .first()
        .copied()
        .unwrap_or(0.0);
    if modified.len() != baseline.len() || gain.len() != baseline.len() {
        return Err(input.data_error(format!(
            "baseline_rms, modified_rms and gain differ in length ({}, {}, {})",
            baseline.len(),
            modified.len(),
            gain.len()
        )));
    }
    let window = match input.variant().intervention() {
        Some(c) => {
            let state = if ramp > 0.0 {
                "active"
            } else if epoch < c.epoch_start {
                "before"
            } else {
                "after"
            };
            format!("window {}–{} {state}", c.epoch_start, c.epoch_end)
        }
        None => "window unknown".into(),
    };
    let mut chart = BarChart::new(
        format!("Intervention Check — Epoch {epoch} ({window}, ramp {ramp:.2})"),
        "frequency k",
        "RMS Amplitude",
    );
    for (i, ((&before, &after), &g)) in baseline.iter().zip(&modified).zip(&gain).enumerate() {
        let x = i as f64;
        chart.bars.push(Bar {
            from: x - 0.4,
            to: x,
            value: before,
            color: color::GREY,
            opacity: 0.8,
            annotation: None,
        });
        let (color, annotation) = if g > 1.0 {
            (BOOST, Some(format!("×{g:.2}")))
        } else if g < 1.0 {
            (DAMPEN, Some(format!("×{g:.2}")))
        } else {
            (UNTOUCHED, None)
        };
        chart.bars.push(Bar {
            from: x,
            to: x + 0.4,
            value: after,
            color,
            opacity: 1.0,
            annotation,
        });
    }
    chart.categories = Some(crate::views::builtin::frequency_labels(baseline.len()));
    chart.size = (1000, 460);
    chart.render()
}
