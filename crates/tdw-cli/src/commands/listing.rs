//! `tdw families`, `tdw variants`, `tdw views`: what there is.

use tdw_core::{Result, Variant};

use super::Context;

/// `tdw families`: each family with its parameters and their defaults.
pub(crate) fn families(ctx: &Context) {
    if ctx.registry.names().is_empty() {
        println!("no families under {}", ctx.families_dir.display());
    }
    for family in ctx.registry.families() {
        let spec = family.spec();
        let params: Vec<String> = spec
            .domain_parameters
            .iter()
            .map(|(name, p)| match &p.default {
                Some(d) => format!("{name}={d}"),
                None => name.clone(),
            })
            .collect();
        let implemented = if family.is_implemented() {
            ""
        } else {
            "  (no implementation in this build)"
        };
        println!(
            "{:<34} {}  [{}]{implemented}",
            spec.name,
            spec.display_name,
            params.join(", ")
        );
    }
}

/// `tdw variants [--family F]`: the variants on disk with their state and checkpoint count.
pub(crate) fn variants(ctx: &Context, family: Option<String>) -> Result<()> {
    let names = match family {
        Some(name) => vec![ctx.registry.family(&name)?.name().to_string()],
        None => ctx.registry.names(),
    };
    let mut any = false;
    for name in names {
        for variant in ctx.registry.variants(&name)? {
            any = true;
            let checkpoints = variant.checkpoints()?.len();
            println!(
                "{:<52} {:<10} {checkpoints:>4} checkpoints",
                variant.name(),
                variant.state().to_string()
            );
            for child in variant.interventions()? {
                println!(
                    "{:<52} {:<10} {:>4} checkpoints",
                    child.name(),
                    child.state().to_string(),
                    child.checkpoints()?.len()
                );
            }
        }
    }
    if !any {
        println!("no variants under {}", ctx.results_dir.display());
    }
    Ok(())
}

/// `tdw views [VARIANT]`: the catalogue, marking what a variant has the data for.
pub(crate) fn views(ctx: &Context, variant: Option<String>) -> Result<()> {
    let variant = variant.map(|v| ctx.registry.find_variant(&v)).transpose()?;
    list_views(variant.as_ref());
    Ok(())
}

fn list_views(variant: Option<&Variant>) {
    let catalog = tdw_core::ViewCatalog::builtin();
    let available = variant.map(|v| v.available_views());
    for definition in catalog.definitions() {
        let mark = match &available {
            Some(names) if names.contains(&definition.name) => "✓ ",
            Some(_) => "  ",
            None => "",
        };
        println!("{mark}{:<48} {}", definition.name, definition.description);
        for option in definition.options {
            println!(
                "{}{:<48}   --option {}={} ({})",
                if mark.is_empty() { "" } else { "  " },
                "",
                option.name,
                option.default,
                option.help
            );
        }
    }
    if let (Some(v), Some(names)) = (variant, &available) {
        println!(
            "{} of {} views available for {}",
            names.len(),
            catalog.names().len(),
            v.name()
        );
    }
}
