//! `tdw init-sweep`: the first gradient's frequency content per site, per seed pair.

use std::path::PathBuf;

use tdw_core::Result;
use tdw_core::init_sweep::InitSweep;

use super::Context;

/// Runs the sweep, prints its table and, with `out`, writes its charts there
/// (`init_sweep_{chart}.svg` or `.png`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    ctx: &Context,
    family: &str,
    prime: u64,
    seeds: &[i64],
    data_seeds: &[i64],
    fraction: f64,
    key_frequencies: Option<Vec<usize>>,
    out: Option<(PathBuf, &str)>,
) -> Result<()> {
    let sweep = InitSweep::run(
        &ctx.registry,
        family,
        prime,
        seeds,
        data_seeds,
        fraction,
        key_frequencies,
    )?;
    println!("{}", sweep.table_text());
    if let Some((dir, extension)) = out {
        for (name, figure) in sweep.charts()? {
            let path = figure.save(dir.join(format!("init_sweep_{name}.{extension}")))?;
            println!("chart: {}", path.display());
        }
    }
    Ok(())
}
