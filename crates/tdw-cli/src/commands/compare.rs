//! `tdw compare`: trained variants side by side.

use std::path::PathBuf;

use tdw_core::Result;

use super::Context;

/// Compares the named variants (default: every trained variant, of `family` if given): the
/// table, and with `out` the loss curves on one chart.
pub(crate) fn run(
    ctx: &Context,
    variants: &[String],
    family: Option<String>,
    threshold: f64,
    out: Option<PathBuf>,
) -> Result<()> {
    let chosen = if variants.is_empty() {
        let families = match family {
            Some(f) => vec![f],
            None => ctx.registry.names(),
        };
        let mut all = Vec::new();
        for f in families {
            all.extend(
                ctx.registry
                    .variants(&f)?
                    .into_iter()
                    .filter(|v| v.metadata_path().is_file()),
            );
        }
        all
    } else {
        variants
            .iter()
            .map(|v| ctx.registry.find_variant(v))
            .collect::<Result<Vec<_>>>()?
    };
    let comparison = tdw_core::views::Comparison::of(&chosen, threshold)?;
    println!("{}", comparison.table_text());
    if let Some(path) = out {
        let path = comparison.loss_chart()?.save(path)?;
        println!("chart: {}", path.display());
    }
    Ok(())
}

/// `tdw compare --peers ANCHOR`: the anchor's peers along `axis`, the table, and with `out` (a
/// directory) the loss, divergence and first peer's per-matrix charts.
pub(crate) fn peers(
    ctx: &Context,
    anchor: &str,
    axis: tdw_core::views::PeerAxis,
    out: Option<PathBuf>,
) -> Result<()> {
    let anchor = ctx.registry.find_variant(anchor)?;
    let candidates = ctx.registry.variants(anchor.family().name())?;
    let comparison = tdw_core::views::PeerComparison::of(&anchor, &candidates, axis)?;
    println!("{}", comparison.table_text());
    if let Some(dir) = out {
        std::fs::create_dir_all(&dir).map_err(|e| tdw_core::Error::io(&dir, e))?;
        for (file, figure) in [
            ("peer_losses.png", comparison.loss_chart()?),
            ("peer_divergence.png", comparison.divergence_chart()?),
            ("peer_matrix_divergence.png", comparison.matrix_chart(0)?),
        ] {
            let path = figure.save(dir.join(file))?;
            println!("chart: {}", path.display());
        }
    }
    Ok(())
}
