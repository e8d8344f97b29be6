//! `tdw info`: a variant's parameters, state, checkpoints, losses and analysis freshness.

use tdw_core::Result;

use super::Context;

/// Prints what is known of the variant named `variant`.
pub(crate) fn run(ctx: &Context, variant: &str) -> Result<()> {
    let variant = ctx.registry.find_variant(variant)?;
    println!("variant     {}", variant.name());
    println!("family      {}", variant.family().name());
    println!("params      {}", variant.params());
    if let (Some(block), Some(parent)) = (variant.intervention(), variant.parent()) {
        println!(
            "intervention {} (parent {})",
            block.summary(),
            parent.name()
        );
    }
    println!("state       {}", variant.state());
    println!("directory   {}", variant.dir().display());
    let checkpoints = variant.checkpoints()?;
    match (checkpoints.first(), checkpoints.last()) {
        (Some(first), Some(last)) => {
            println!(
                "checkpoints {} (epochs {first}..={last})",
                checkpoints.len()
            )
        }
        _ => println!("checkpoints none"),
    }
    match variant.metadata() {
        Ok(metadata) => print_losses(&metadata),
        Err(tdw_core::Error::MissingFile { .. }) => println!("metadata    none"),
        Err(err) => println!("metadata    unreadable: {err}"),
    }
    if variant.config_path().is_file() {
        match tdw_core::variant::training::recorded_hyperparameters(&variant) {
            Ok((lr, wd)) => println!("optimizer   AdamW, learning_rate {lr}, weight_decay {wd}"),
            Err(err) => println!("optimizer   unreadable: {err}"),
        }
    }
    if !checkpoints.is_empty() {
        print!(
            "{}",
            tdw_core::analysis::freshness::FreshnessReport::check(&variant)?
        );
    }
    Ok(())
}

fn print_losses(metadata: &tdw_core::Metadata) {
    let (train, test) = (&metadata.train_losses, &metadata.test_losses);
    println!(
        "epochs      {} of {} ({} train / {} test pairs)",
        train.len(),
        metadata.num_epochs,
        metadata.train_indices.len(),
        metadata.test_indices.len()
    );
    if let (Some(tr), Some(te)) = (train.last(), test.last()) {
        println!("final loss  train {tr:.4e}  test {te:.4e}");
    }
    if let Some(epoch) = test.iter().position(|&l| l < 0.01) {
        println!("test < 0.01 first at epoch {epoch}");
    }
    if let Some(outcome) = tdw_core::variant::Outcome::of(train, test) {
        println!("outcome     {}", outcome.line());
    }
}
