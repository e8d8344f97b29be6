//! `tdw sweep`: a process pool that trains (and analyzes) every combination of the values given, one
//! `tdw train` child per variant, or a Slurm job array of the same plan.

use std::path::PathBuf;
use std::time::Instant;

use tdw_core::{Result, Variant};

/// A planned sweep and where its children read and write.
pub(crate) struct Sweep<'a> {
    pub(crate) family: &'a str,
    pub(crate) members: &'a [tdw_core::sweep::Member],
    pub(crate) extra: &'a [String],
    pub(crate) results_dir: &'a std::path::Path,
    pub(crate) families_dir: &'a std::path::Path,
    pub(crate) device: &'a str,
}

impl Sweep<'_> {
    fn tdw() -> Result<PathBuf> {
        std::env::current_exe().map_err(|e| tdw_core::Error::io("tdw executable", e))
    }

    pub(crate) fn write_slurm(&self, path: &std::path::Path, time: &str) -> Result<()> {
        let tasks: Vec<Vec<String>> = self
            .members
            .iter()
            .map(|m| tdw_core::sweep::train_args(self.family, m, self.extra))
            .collect();
        let script = tdw_core::sweep::slurm_script(
            &Self::tdw()?,
            self.results_dir,
            self.families_dir,
            &tasks,
            time,
        );
        tdw_core::atomic_file::write(path, script.as_bytes())?;
        println!(
            "wrote {} ({} tasks); submit with: sbatch {}",
            path.display(),
            tasks.len(),
            path.display()
        );
        Ok(())
    }

    /// Trains (and optionally analyzes) every unfinished member, `jobs` at a time, each in its
    /// own `tdw` process; a line per start and finish.
    pub(crate) fn run(&self, jobs: usize, analyze: bool) -> Result<()> {
        let logs = self.results_dir.join("sweeps").join(self.family);
        std::fs::create_dir_all(&logs).map_err(|e| tdw_core::Error::io(&logs, e))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (cores / jobs).max(1).to_string();
        let total = self.members.len();
        let mut queue: std::collections::VecDeque<(usize, Vec<Vec<String>>)> = Default::default();
        for (i, member) in self.members.iter().enumerate() {
            // A finished variant's child returns at once (--skip-finished).
            let mut steps = vec![tdw_core::sweep::train_args(self.family, member, self.extra)];
            if analyze {
                steps.push(vec!["analyze".into(), member.variant.name().to_string()]);
            }
            queue.push_back((i, steps));
        }
        let log_of = |name: &str| logs.join(format!("{name}.log"));
        let started = Instant::now();
        let mut running: Vec<(usize, String, std::process::Child, Vec<Vec<String>>)> = Vec::new();
        let mut failed = Vec::new();
        while !queue.is_empty() || !running.is_empty() {
            while running.len() < jobs {
                let Some((i, mut steps)) = queue.pop_front() else {
                    break;
                };
                let args = steps.remove(0);
                let name = self.members[i].variant.name();
                let log_path = log_of(name);
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log_path)
                    .map_err(|e| tdw_core::Error::io(&log_path, e))?;
                let err = log
                    .try_clone()
                    .map_err(|e| tdw_core::Error::io(&log_path, e))?;
                let child = std::process::Command::new(Self::tdw()?)
                    .args(&args)
                    .env("TDW_RESULTS_DIR", self.results_dir)
                    .env("TDW_MODEL_FAMILIES_DIR", self.families_dir)
                    .env("TDW_DEVICE", self.device)
                    .env("RAYON_NUM_THREADS", &threads)
                    .stdout(log)
                    .stderr(err)
                    .spawn()
                    .map_err(|e| tdw_core::Error::io("tdw child process", e))?;
                println!("[{}/{total}] {name}: {} started", i + 1, args[0]);
                running.push((i, args[0].clone(), child, steps));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            let mut still = Vec::new();
            for (i, step, mut child, steps) in running {
                let name = self.members[i].variant.name();
                match child
                    .try_wait()
                    .map_err(|e| tdw_core::Error::io("tdw child", e))?
                {
                    None => still.push((i, step, child, steps)),
                    Some(status) if status.success() => {
                        let log = std::fs::read_to_string(log_of(name)).unwrap_or_default();
                        let last = log.lines().rev().find(|l| !l.trim().is_empty());
                        println!(
                            "[{}/{total}] {name}: {step} done ({:.0} s into the sweep): {}",
                            i + 1,
                            started.elapsed().as_secs_f64(),
                            last.unwrap_or("")
                        );
                        if !steps.is_empty() {
                            queue.push_front((i, steps));
                        }
                    }
                    Some(status) => {
                        println!(
                            "[{}/{total}] {name}: FAILED ({status}); see {}",
                            i + 1,
                            log_of(name).display()
                        );
                        failed.push(name.to_string());
                    }
                }
            }
            running = still;
        }
        println!(
            "sweep of {total} variants finished in {:.1} s; {} failed",
            started.elapsed().as_secs_f64(),
            failed.len()
        );
        if failed.is_empty() {
            let variants: Vec<Variant> = self.members.iter().map(|m| m.variant.clone()).collect();
            let comparison = tdw_core::views::Comparison::of(&variants, 0.01)?;
            println!("{}", comparison.table_text());
            println!(
                "(loss curves on one chart: tdw compare --family {} --out curves.png)",
                self.family
            );
            Ok(())
        } else {
            Err(tdw_core::Error::InvalidSetting {
                setting: "sweep".into(),
                value: failed.join(", "),
                reason: "these variants failed; rerun the same command to retry them".into(),
            })
        }
    }
}

/// `tdw sweep`: plans every combination of `axes` for `family` and trains the variants
/// `jobs` at a time (then analyzes each with `analyze`), or writes a Slurm array to `slurm`'s
/// file with its time limit per task.
pub(crate) fn run(
    ctx: &super::Context,
    family: &str,
    axes: &[tdw_core::sweep::Axis],
    extra: &[String],
    jobs: usize,
    analyze: bool,
    slurm: Option<(&std::path::Path, &str)>,
) -> Result<()> {
    let members = tdw_core::sweep::plan(&ctx.registry, family, axes)?;
    let sweep = Sweep {
        family,
        members: &members,
        extra,
        results_dir: &ctx.results_dir,
        families_dir: &ctx.families_dir,
        device: &ctx.device_name,
    };
    match slurm {
        Some((path, time)) => sweep.write_slurm(path, time),
        None => sweep.run(jobs.max(1), analyze),
    }
}
