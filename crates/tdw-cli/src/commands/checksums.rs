//! `tdw checksums`: regression checksums of a variant's artifacts (MIScope's regression scaffold).

use std::path::Path;

use tdw_core::analysis::AnalysisEvent;
use tdw_core::variant::checksums::ChecksumFile;
use tdw_core::{AnalyzeOptions, Error, Result};

use super::Context;

/// With `write`, records the variant's artifact checksums in `file` (replacing its entry);
/// otherwise re-runs its analyzers in a scratch copy and compares with the entry in `file`,
/// failing if anything is missing, different or extra.
pub(crate) fn run(
    ctx: &Context,
    variant: &str,
    file: &Path,
    write: bool,
    description: &str,
) -> Result<()> {
    let variant = ctx.registry.find_variant(variant)?;
    let id = variant.variant_id()?;
    if write {
        let entry = variant.checksums(description)?;
        if entry.artifacts.is_empty() {
            return Err(Error::InvalidSetting {
                setting: "write".into(),
                value: variant.name().into(),
                reason: "has no artifacts to record (run `tdw analyze` first)".into(),
            });
        }
        let mut checksums = match ChecksumFile::read(file) {
            Ok(existing) if existing.family == variant.family().name() => existing,
            Ok(existing) => {
                return Err(Error::InvalidSetting {
                    setting: "write".into(),
                    value: file.display().to_string(),
                    reason: format!(
                        "holds family '{}', not '{}'",
                        existing.family,
                        variant.family().name()
                    ),
                });
            }
            Err(Error::MissingFile { .. }) => ChecksumFile {
                family: variant.family().name().to_string(),
                variants: Vec::new(),
            },
            Err(other) => return Err(other),
        };
        let count = entry.artifact_count;
        checksums.put(entry);
        checksums.write(file)?;
        println!(
            "{}: {count} artifact checksums written to {} as {id}",
            variant.name(),
            file.display()
        );
        return Ok(());
    }
    let checksums = ChecksumFile::read(file)?;
    let reference = checksums
        .variant(&id)
        .ok_or_else(|| Error::InvalidSetting {
            setting: "check".into(),
            value: file.display().to_string(),
            reason: format!(
                "has no entry {id}; it has [{}]",
                checksums
                    .variants
                    .iter()
                    .map(|v| v.variant_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
    eprintln!(
        "re-running the analysis of {} in a scratch copy ({} reference artifacts) ...",
        variant.name(),
        reference.artifact_count
    );
    let report = variant.check_checksums(
        reference,
        &ctx.results_dir,
        &AnalyzeOptions::default(),
        &mut |_: &AnalysisEvent| {},
    )?;
    for (what, list) in [
        ("MISSING", &report.missing),
        ("MISMATCH", &report.mismatch),
        ("EXTRA", &report.extra),
    ] {
        for path in list.iter() {
            println!("{what:<8} {path}");
        }
    }
    println!(
        "{}: {} match, {} missing, {} mismatched, {} extra",
        variant.name(),
        report.matching,
        report.missing.len(),
        report.mismatch.len(),
        report.extra.len()
    );
    if report.passed() {
        Ok(())
    } else {
        Err(Error::ChecksumMismatch {
            variant: variant.name().to_string(),
            file: file.to_path_buf(),
            differing: report.missing.len() + report.mismatch.len() + report.extra.len(),
        })
    }
}
