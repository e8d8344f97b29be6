//! `tdw train`: one variant, with progress.

use tdw_core::{Result, TrainOptions};

use super::Context;
use crate::progress;

/// Creates (or finds) the variant of `family` with `params` and trains it with `options`;
/// with `skip_finished`, a variant that already reached its last epoch is left as it is.
pub(crate) fn run(
    ctx: &Context,
    family: &str,
    params: Vec<(&str, &str)>,
    options: &TrainOptions,
    skip_finished: bool,
) -> Result<()> {
    let variant = ctx.registry.create_variant_from_text(family, params)?;
    if skip_finished && tdw_core::sweep::is_finished(&variant, options.num_epochs) {
        println!("{}: already trained", variant.name());
        return Ok(());
    }
    progress::train(&variant, options, &ctx.device)?;
    Ok(())
}
