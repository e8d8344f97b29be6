//! `tdw viability`: the viability certificate of a frequency set, for a variant or by hand.

use std::path::PathBuf;

use tdw_core::{Certificate, CertificateInput, Result};

use super::Context;

/// Prints the certificate (summary and hard pairs) and, with `out`, writes its three charts
/// there (`viability_profile.svg`, `viability_alias.svg`, `viability_ideal.svg`, or `.png`).
pub(crate) fn run(
    ctx: &Context,
    variant: Option<&str>,
    prime: Option<u64>,
    frequencies: Option<Vec<usize>>,
    pr: Option<f64>,
    out: Option<(PathBuf, &str)>,
) -> Result<()> {
    let variant = variant
        .map(|name| ctx.registry.find_variant(name))
        .transpose()?;
    let input = CertificateInput::from_parts(variant.as_ref(), prime, frequencies, pr)?;
    let certificate = Certificate::of(input)?;
    println!("{}", certificate.table_text());
    if let Some((dir, extension)) = out {
        for (name, figure) in ["profile", "alias", "ideal"]
            .iter()
            .zip(certificate.charts()?)
        {
            let path = figure.save(dir.join(format!("viability_{name}.{extension}")))?;
            println!("chart: {}", path.display());
        }
    }
    Ok(())
}
