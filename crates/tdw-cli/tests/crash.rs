//! Crash safety: `tdw train` and `tdw analyze` are killed with SIGKILL at many random moments;
//! after each kill every file on disk must be complete and loadable, and resuming must finish
//! with exactly the results of an uninterrupted run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tdw_core::analysis::npz;
use tdw_core::torch_rng::Mt19937;
use tdw_core::train::state::OptimizerState;
use tdw_core::{FamilyRegistry, Variant, checkpoint};

const VARIANT: &str = "modulo_addition_1layer_p11_seed999_dseed598";

fn tdw(results: &Path) -> Command {
    let mut command = crate::tdw_command(results);
    command.stdout(Stdio::null()).stderr(Stdio::null());
    command
}

fn train_args() -> Vec<String> {
    let checkpoints: Vec<String> = (0..400).step_by(20).map(|e| e.to_string()).collect();
    [
        "train",
        "--param",
        "prime=11",
        "--fraction",
        "0.5",
        "--epochs",
        "400",
        "--resume",
        "--checkpoints",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([checkpoints.join(",")])
    .collect()
}

fn variant(results: &Path) -> Variant {
    FamilyRegistry::open(&crate::families_dir(), results)
        .unwrap()
        .find_variant(VARIANT)
        .unwrap()
}

/// Runs to completion, returning the wall time.
fn run(results: &Path, args: &[String]) -> Duration {
    let started = Instant::now();
    let status = tdw(results).args(args).status().unwrap();
    assert!(status.success(), "tdw {args:?} failed");
    started.elapsed()
}

/// Starts the command and SIGKILLs it after `delay` (if it is still running).
fn run_and_kill(results: &Path, args: &[String], delay: Duration) {
    let mut child = tdw(results).args(args).spawn().unwrap();
    std::thread::sleep(delay);
    let _already_finished = child.kill();
    child.wait().unwrap();
}

fn temporaries_and_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(temporaries_and_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn is_temporary(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        n.to_string_lossy().starts_with('.') && n.to_string_lossy().contains(".tmp-")
    })
}

/// Every non-temporary file under the variant loads; returns the number of files checked.
fn assert_everything_loads(variant: &Variant) -> usize {
    let config = variant.model_config().unwrap();
    let mut checked = 0;
    for path in temporaries_and_files(variant.dir()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if is_temporary(&path) || name == ".lock" {
            continue;
        }
        match name.as_str() {
            n if n.starts_with("checkpoint_epoch_") => {
                drop(checkpoint::load(&path, &config).unwrap())
            }
            "optimizer_state.safetensors" => {
                assert!(OptimizerState::load(&path).unwrap().is_some())
            }
            "metadata.json" => {
                let metadata = variant.metadata().unwrap();
                assert_eq!(metadata.train_losses.len(), metadata.test_losses.len());
                let on_disk = variant.checkpoints().unwrap();
                assert!(
                    metadata
                        .checkpoint_epochs
                        .iter()
                        .all(|e| on_disk.contains(e)),
                    "metadata names a missing checkpoint"
                );
            }
            "config.json" => drop(variant.model_config_json().unwrap()),
            "manifest.json" => {
                let text = std::fs::read_to_string(&path).unwrap();
                serde_json::from_str::<serde_json::Value>(&text).unwrap();
            }
            n if n.ends_with(".npz") => {
                drop(npz::read(&path, None).unwrap_or_else(|e| panic!("{e}")))
            }
            other => panic!("unexpected file {other} at {}", path.display()),
        }
        checked += 1;
    }
    checked
}

#[test]
fn killing_training_and_analysis_never_loses_or_corrupts_a_run() {
    let args = train_args();
    let uninterrupted = tempfile::tempdir().unwrap();
    let train_time = run(uninterrupted.path(), &args);
    let analyze_args: Vec<String> = ["analyze", VARIANT].iter().map(|s| s.to_string()).collect();
    let reference = variant(uninterrupted.path());

    // Training, killed at random moments, resumed each time.
    let killed = tempfile::tempdir().unwrap();
    let mut rng = Mt19937::new(2026);
    let kills = 12;
    let mut files_checked = 0;
    for _ in 0..kills {
        let delay = train_time.mul_f64((rng.next_u32() % 1000) as f64 / 1000.0);
        run_and_kill(killed.path(), &args, delay);
        if let Ok(registry) = FamilyRegistry::open(&crate::families_dir(), killed.path())
            && let Ok(v) = registry.find_variant(VARIANT)
        {
            files_checked += assert_everything_loads(&v);
        }
    }
    run(killed.path(), &args);
    let resumed = variant(killed.path());
    assert_eq!(
        resumed.metadata().unwrap(),
        reference.metadata().unwrap(),
        "resumed losses equal the uninterrupted run's"
    );
    for epoch in reference.checkpoints().unwrap() {
        assert_eq!(
            std::fs::read(resumed.checkpoint_path(epoch)).unwrap(),
            std::fs::read(reference.checkpoint_path(epoch)).unwrap()
        );
    }

    // Analysis, killed at random moments, rerun each time.
    let analyze_time = run(uninterrupted.path(), &analyze_args);
    for _ in 0..kills {
        let delay = analyze_time.mul_f64((rng.next_u32() % 1000) as f64 / 1000.0);
        run_and_kill(killed.path(), &analyze_args, delay);
        files_checked += assert_everything_loads(&resumed);
    }
    run(killed.path(), &analyze_args);
    let theirs = temporaries_and_files(&reference.artifacts_dir());
    let mut compared = 0;
    for path in theirs
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "npz"))
    {
        let relative = path.strip_prefix(reference.artifacts_dir()).unwrap();
        let mine = npz::read(&resumed.artifacts_dir().join(relative), None)
            .unwrap_or_else(|e| panic!("{e}"));
        let expected = npz::read(path, None).unwrap();
        assert_eq!(
            mine.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{}",
            relative.display()
        );
        for (key, array) in expected.iter() {
            let ours = mine.get(key).unwrap();
            assert_eq!(
                (ours.dtype(), ours.shape()),
                (array.dtype(), array.shape()),
                "{}:{key}",
                relative.display()
            );
            // Bit-identical, with NaN (uncommitted neurons) equal to NaN.
            let same = ours
                .to_f64()
                .iter()
                .zip(array.to_f64().iter())
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same,
                "{}:{key} differs from the uninterrupted run",
                relative.display()
            );
        }
        compared += 1;
    }
    assert!(
        temporaries_and_files(resumed.dir())
            .iter()
            .all(|p| !is_temporary(p)),
        "temporaries are cleaned up"
    );
    eprintln!(
        "{} kill points ({kills} in training, {kills} in analysis), {files_checked} files checked after kills, {compared} artifacts identical to the uninterrupted run",
        2 * kills
    );
}
