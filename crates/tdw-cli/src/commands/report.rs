//! `tdw report`: every available view of a variant on one HTML page.

use std::path::PathBuf;
use std::time::Instant;

use tdw_core::Result;

use super::Context;

/// Writes the report of `variant` to `out` (default: beside its checkpoints), with a scrubber for
/// each view in `scrub`; views that cannot be drawn are warned about, not fatal.
pub(crate) fn run(
    ctx: &Context,
    variant: &str,
    out: Option<PathBuf>,
    scrub: &[String],
) -> Result<()> {
    let variant = ctx.registry.find_variant(variant)?;
    let started = Instant::now();
    eprintln!("rendering the report of {} ...", variant.name());
    let report = tdw_core::Report::build(&variant)?.with_scrubbers(scrub)?;
    let path = out.unwrap_or_else(|| tdw_core::Report::default_path(&variant));
    report.write(&path)?;
    for (view, epoch, reason) in report.failures() {
        let at = epoch.map(|e| format!(" at epoch {e}")).unwrap_or_default();
        eprintln!("warning: view {view}{at} could not be drawn: {reason}");
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "report: {} ({} charts, {:.1} MB, {:.1} s)",
        path.display(),
        report.entries().len() - report.failures().len(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
