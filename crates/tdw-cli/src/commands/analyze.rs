//! `tdw analyze`: the family's analyzers over a variant's checkpoints, with progress.

use tdw_core::{AnalyzeOptions, Result};

use super::Context;
use crate::progress;

/// Analyzes the variant named `variant` with `options` (resumable: skips what is on disk).
pub(crate) fn run(ctx: &Context, variant: &str, options: &AnalyzeOptions) -> Result<()> {
    let variant = ctx.registry.find_variant(variant)?;
    progress::analyze(&variant, options)?;
    Ok(())
}
