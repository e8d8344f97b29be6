//! `tdw animate`: a view over training as a GIF or an HTML page with a slider.

use std::path::Path;

use tdw_core::Result;
use tdw_core::views::Animation;

use super::Context;

/// Draws `view` of `variant` at `epochs` (default: every epoch it can be drawn at) with
/// `options`, and writes the animation to `out` (.gif at `fps`, or .html).
pub(crate) fn run(
    ctx: &Context,
    view: &str,
    variant: &str,
    epochs: Option<&[u64]>,
    options: Vec<(&str, &str)>,
    fps: f64,
    out: &Path,
) -> Result<()> {
    Animation::check_path(out)?;
    let variant = ctx.registry.find_variant(variant)?;
    let started = std::time::Instant::now();
    let animation = Animation::build(&variant, view, &options, epochs)?;
    let path = animation.save(out, fps)?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let epochs = animation.epochs();
    println!(
        "wrote {} ({} frames, epochs {}..={}, {:.1} MB, {:.1} s)",
        path.display(),
        epochs.len(),
        epochs.first().copied().unwrap_or(0),
        epochs.last().copied().unwrap_or(0),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
