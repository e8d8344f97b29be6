//! `tdw intervene`: an intervention of a trained variant, trained with progress.

use std::path::Path;

use tdw_core::intervention::FrequencyGain;
use tdw_core::train::engine::Engine;
use tdw_core::train::schedule;
use tdw_core::{Result, TrainOptions};

use super::Context;
use crate::progress;

/// Reads the block in `config`, creates the intervened variant of `variant` and trains it with
/// the parent's settings (`epochs`, `checkpoints` and `engine` may change them).
pub(crate) fn run(
    ctx: &Context,
    variant: &str,
    config: &Path,
    epochs: Option<u64>,
    checkpoints: Option<&str>,
    engine: Engine,
) -> Result<()> {
    let parent = ctx.registry.find_variant(variant)?;
    let block = FrequencyGain::from_file(config)?;
    let child = parent.create_intervention(block, config)?;
    let requested = TrainOptions {
        num_epochs: epochs,
        checkpoint_epochs: checkpoints.map(schedule::parse_list).transpose()?,
        engine,
        ..Default::default()
    };
    let options = parent.intervention_training(&child, &requested)?;
    let block = child.intervention().expect("an intervened variant");
    println!(
        "{}: {}, directions from {}'s checkpoint at epoch {}",
        child.name(),
        block.summary(),
        parent.name(),
        block.epoch_start
    );
    progress::train(&child, &options, &ctx.device)?;
    println!("analyze it with: tdw analyze {}", child.name());
    Ok(())
}
