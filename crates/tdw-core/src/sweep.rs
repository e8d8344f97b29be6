//! Sweeps: every combination of some parameter values of one family, trained as separate
//! variants. A variant's directory, lock and files are its own, so variants train in parallel
//! without sharing anything, and a rerun skips what is finished and resumes what is not.
//!
//! The plan is data (the list of variants and the `tdw train` arguments of each): the CLI runs it
//! with a job limit on this machine, or writes it out as a Slurm job array.

use crate::error::{Error, Result};
use crate::variant::FamilyRegistry;
use crate::variant::Variant;

/// One parameter's values: `name=v1,v2,...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The parameter's name.
    pub name: String,
    /// Its values, as written.
    pub values: Vec<String>,
}

impl Axis {
    /// Parses `name=v1,v2,...` (at least one value, none empty).
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidSetting {
            setting: "--param".into(),
            value: spec.into(),
            reason: reason.into(),
        };
        let (name, values) = spec
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=V1,V2,..."))?;
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if name.trim().is_empty() || values.iter().any(String::is_empty) {
            return Err(bad("expected NAME=V1,V2,... with no empty value"));
        }
        Ok(Axis {
            name: name.trim().to_string(),
            values,
        })
    }
}

/// Every combination of the axes' values, the first axis varying slowest.
pub fn combinations(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    axes.iter().fold(vec![Vec::new()], |partial, axis| {
        partial
            .iter()
            .flat_map(|prefix| {
                axis.values.iter().map(move |value| {
                    let mut next = prefix.clone();
                    next.push((axis.name.clone(), value.clone()));
                    next
                })
            })
            .collect()
    })
}

/// One variant of a sweep with its parameters as given on the command line.
pub struct Member {
    /// The variant created.
    pub variant: Variant,
    /// Its parameters, as written on the command line.
    pub params: Vec<(String, String)>,
}

/// The variants of a sweep, validated against the family (unknown parameters and bad values
/// are refused before anything runs). Combinations naming the same variant appear once.
pub fn plan(registry: &FamilyRegistry, family: &str, axes: &[Axis]) -> Result<Vec<Member>> {
    let mut members: Vec<Member> = Vec::new();
    for params in combinations(axes) {
        let variant = registry.create_variant_from_text(
            family,
            params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
        if members.iter().all(|m| m.variant.name() != variant.name()) {
            members.push(Member { variant, params });
        }
    }
    Ok(members)
}

/// Whether a variant's run is finished: its last checkpoint is the final epoch it planned, and
/// no later one when `requested_epochs` asks to extend it.
pub fn is_finished(variant: &Variant, requested_epochs: Option<u64>) -> bool {
    variant.metadata().is_ok_and(|m| {
        let target = m.num_epochs.max(requested_epochs.unwrap_or(0));
        m.checkpoint_epochs
            .last()
            .is_some_and(|&last| last + 1 >= target)
    })
}

/// `tdw train` arguments for one member: its family and parameters, then `extra` (epochs,
/// fraction, ...), always with `--resume` (a rerun continues an interrupted variant) and
/// `--skip-finished` (a rerun of a finished one is a no-op, not an error).
pub fn train_args(family: &str, member: &Member, extra: &[String]) -> Vec<String> {
    let mut args = vec!["train".to_string(), "--family".into(), family.into()];
    for (name, value) in &member.params {
        args.push("--param".into());
        args.push(format!("{name}={value}"));
    }
    args.extend(extra.iter().cloned());
    args.push("--resume".into());
    args.push("--skip-finished".into());
    args
}

/// A Slurm job-array script: task i runs the i-th argument list with the same `tdw` binary,
/// results and families directories. Runnable by hand too: `SLURM_ARRAY_TASK_ID=3 bash FILE`.
pub fn slurm_script(
    tdw: &std::path::Path,
    results_dir: &std::path::Path,
    families_dir: &std::path::Path,
    tasks: &[Vec<String>],
    time_limit: &str,
) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut script = format!(
        "#!/usr/bin/env bash\n\
         # A tdw sweep as a Slurm job array, one variant per task (written by `tdw sweep --slurm`).\n\
         #SBATCH --job-name=tdw-sweep\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task=2\n\
         #SBATCH --time={time_limit}\n\
         #SBATCH --output=tdw-sweep-%A_%a.log\n\
         set -euo pipefail\n\
         export TDW_RESULTS_DIR={results}\n\
         export TDW_MODEL_FAMILIES_DIR={families}\n\
         tdw={tdw}\n\
         case \"${{SLURM_ARRAY_TASK_ID:?run under sbatch, or set SLURM_ARRAY_TASK_ID}}\" in\n",
        last = tasks.len().saturating_sub(1),
        results = quote(&results_dir.display().to_string()),
        families = quote(&families_dir.display().to_string()),
        tdw = quote(&tdw.display().to_string()),
    );
    for (i, task) in tasks.iter().enumerate() {
        let args: Vec<String> = task.iter().map(|a| quote(a)).collect();
        script.push_str(&format!("  {i}) exec \"$tdw\" {} ;;\n", args.join(" ")));
    }
    script.push_str(
        "  *) echo \"no task $SLURM_ARRAY_TASK_ID in this sweep\" >&2; exit 2 ;;\nesac\n",
    );
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_parse_and_combine_first_axis_slowest() {
        let axes = [
            Axis::parse("prime=5,7").unwrap(),
            Axis::parse("seed=1,2,3").unwrap(),
        ];
        let all = combinations(&axes);
        assert_eq!(all.len(), 6);
        assert_eq!(
            all[0],
            [("prime".into(), "5".into()), ("seed".into(), "1".into())]
        );
        assert_eq!(
            all[5],
            [("prime".into(), "7".into()), ("seed".into(), "3".into())]
        );
        assert!(Axis::parse("prime").is_err());
        assert!(Axis::parse("prime=5,,7").is_err());
        assert_eq!(combinations(&[]), vec![Vec::<(String, String)>::new()]);
    }
}
