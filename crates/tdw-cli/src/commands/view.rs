//! `tdw view`: one chart of a variant to an SVG or PNG file.

use std::path::PathBuf;
use std::time::Instant;

use tdw_core::Result;

use super::Context;

/// Draws view `name` of `variant` (at `epoch`, with `options`) into `out` or its default path.
pub(crate) fn run(
    ctx: &Context,
    name: &str,
    variant: &str,
    epoch: Option<u64>,
    options: Vec<(&str, &str)>,
    out: Option<PathBuf>,
) -> Result<()> {
    let variant = ctx.registry.find_variant(variant)?;
    let mut view = match epoch {
        Some(e) => variant.at(e).view(name)?,
        None => variant.view(name)?,
    };
    for (key, value) in options {
        view = view.with(key, value);
    }
    let started = Instant::now();
    let path = view.export(out)?;
    println!(
        "wrote {} ({:.2} s)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
