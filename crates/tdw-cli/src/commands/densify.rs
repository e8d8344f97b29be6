//! `tdw densify`: more checkpoints for a trained variant, by a verified retrain.

use tdw_core::train::engine::Engine;
use tdw_core::variant::EpochRange;
use tdw_core::views::Phases;
use tdw_core::{Error, Result};

use super::Context;
use crate::progress;

/// Plans the densification of `variant` by `ranges` (plus, with `around_grokking = Some(budget)`,
/// a window over its transition), prints the plan, and unless `dry_run` retrains and installs it.
pub(crate) fn run(
    ctx: &Context,
    variant: &str,
    ranges: &[String],
    around_grokking: Option<u64>,
    dry_run: bool,
    engine: Engine,
) -> Result<()> {
    let variant = ctx.registry.find_variant(variant)?;
    let mut ranges: Vec<EpochRange> = ranges
        .iter()
        .map(|r| EpochRange::parse(r))
        .collect::<Result<_>>()?;
    if let Some(budget) = around_grokking {
        let metadata = variant.metadata()?;
        let epochs: Vec<u64> = (0..metadata.train_losses.len() as u64).collect();
        let phases = Phases::locate(&epochs, &metadata.train_losses, &metadata.test_losses);
        let window = phases.grokking_window(budget).ok_or_else(|| Error::InvalidSetting {
            setting: "around-grokking".into(),
            value: variant.name().into(),
            reason: format!(
                "its losses show no grokking (memorised at {:?}, grokked at {:?}); give --range",
                phases.memorised, phases.grokked
            ),
        })?;
        println!(
            "around grokking: memorised at epoch {}, grokked at {}: range {}:{}:{}",
            window.start, window.end, window.start, window.end, window.step
        );
        ranges.push(window);
    }
    if ranges.is_empty() {
        return Err(Error::InvalidSetting {
            setting: "range".into(),
            value: "(none)".into(),
            reason: "give --range START:END:STEP or --around-grokking".into(),
        });
    }
    let plan = variant.densify_plan(&ranges)?;
    println!(
        "{}: {} checkpoints, {} new epoch(s) will be added ({}), {} after the retrain of {} epochs",
        variant.name(),
        plan.existing.len(),
        plan.new_epochs.len(),
        summary(&plan.new_epochs),
        plan.merged.len(),
        plan.num_epochs
    );
    if !plan.past_end.is_empty() {
        eprintln!(
            "warning: {} epoch(s) at or past the run's end ({}) are left out: {}",
            plan.past_end.len(),
            plan.num_epochs,
            summary(&plan.past_end)
        );
    }
    if dry_run {
        return Ok(());
    }
    let result = progress::training(|p| variant.densify(&ranges, engine, &ctx.device, p))?;
    println!(
        "densified {} in {:.1} s: {} old checkpoints reproduced byte for byte, {} added; run `tdw analyze {}` for the new epochs",
        variant.name(),
        result.seconds,
        result.verified,
        result.plan.new_epochs.len(),
        variant.name()
    );
    Ok(())
}

/// `first, second, …, last` for long lists.
fn summary(epochs: &[u64]) -> String {
    let text: Vec<String> = epochs.iter().map(u64::to_string).collect();
    if text.len() <= 8 {
        text.join(", ")
    } else {
        format!(
            "{}, …, {}",
            text[..4].join(", "),
            text[text.len() - 2..].join(", ")
        )
    }
}
