//! The CLI's contract for user errors: a non-zero exit and one line on stderr naming the
//! problem, never a panic or a backtrace.

use crate::snapshot::snapshot;
use std::path::Path;
use std::process::Command;

fn tdw(results: &Path, args: &[&str]) -> (i32, String) {
    let output = crate::tdw_command(results)
        .env("RUST_BACKTRACE", "1")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn user_errors_are_one_line_and_exit_non_zero() {
    let results = tempfile::tempdir().unwrap();
    let variant_dir = results
        .path()
        .join("modulo_addition_1layer/modulo_addition_1layer_p13_seed999_dseed598");
    std::fs::create_dir_all(variant_dir.join("checkpoints")).unwrap();
    std::fs::write(
        variant_dir.join("checkpoints/checkpoint_epoch_00000.safetensors"),
        b"not a checkpoint",
    )
    .unwrap();
    std::fs::write(
        variant_dir.join("metadata.json"),
        b"{\"train_losses\": [1.0,",
    )
    .unwrap();
    let cases: [(&[&str], &str); 8] = [
        (&["train", "--param", "prime=91"], "91 is not prime"),
        (&["train", "--param", "width=3"], "no parameter 'width'"),
        (&["train", "--family", "nope"], "modulo_addition_1layer"),
        (
            &["train", "--param", "prime=13", "--fraction", "1.5"],
            "training_fraction",
        ),
        (&["info", "no_such_variant"], "not found"),
        (
            &[
                "analyze",
                "modulo_addition_1layer_p13_seed999_dseed598",
                "--analyzers",
                "magic",
            ],
            "unknown analyzer 'magic'",
        ),
        (
            &["analyze", "modulo_addition_1layer_p13_seed999_dseed598"],
            "metadata.json",
        ),
        (&["train", "--param", "prime=13"], "--force"),
    ];
    for (args, expected) in cases {
        let (code, stderr) = tdw(results.path(), args);
        assert_ne!(code, 0, "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{args:?}: {stderr}"
        );
        // Progress lines may precede it; the error itself is one line, the last.
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
        assert!(
            stderr
                .trim_end()
                .lines()
                .last()
                .unwrap()
                .starts_with("error: "),
            "{args:?}: {stderr}"
        );
    }
    // `info` on a variant with a corrupt metadata.json says so and names the file.
    let output = crate::tdw_command(results.path())
        .args(["info", "modulo_addition_1layer_p13_seed999_dseed598"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("metadata.json") && stdout.contains("unreadable"),
        "{stdout}"
    );
}

/// A sweep of six variants trains two at a time; killed (with its children) after the first
/// variant finishes and run again, it finishes the others and retrains none. Its Slurm script is
/// valid bash and runs one variant per task id.
#[test]
fn a_killed_sweep_finishes_only_what_is_left_and_writes_a_runnable_slurm_script() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;

    let results = tempfile::tempdir().unwrap();
    let sweep_args = [
        "sweep",
        "--param",
        "prime=23,29",
        "--param",
        "seed=1,2,3",
        "--epochs",
        "1500",
        "--checkpoints",
        "0,500,1000",
        "--jobs",
        "2",
    ];
    let command = || {
        let mut c = crate::tdw_command(results.path());
        c.args(sweep_args).stdout(std::process::Stdio::piped());
        c
    };
    let mut first = command().process_group(0).spawn().unwrap();
    let mut stdout = std::io::BufReader::new(first.stdout.take().unwrap());
    let mut seen = Vec::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        let done = line.contains(" done ");
        seen.push(std::mem::take(&mut line));
        if done {
            break;
        }
    }
    // Kill the whole group, the sweep and the variants it is training, and wait until all are
    // gone (their locks are stale only then). The pipe stays open until the sweep is dead.
    let group = format!("-{}", first.id());
    Command::new("kill")
        .args(["-KILL", "--", &group])
        .status()
        .unwrap();
    let _ = first.wait();
    for _ in 0..100 {
        let alive = Command::new("kill")
            .args(["-0", "--", &group])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        if !alive {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(stdout);
    let finished_first: Vec<&String> = seen.iter().filter(|l| l.contains(" done ")).collect();
    assert_eq!(finished_first.len(), 1, "{seen:?}");

    let second = command().output().unwrap();
    let text = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{text}");
    // What finished before the kill is skipped (the variant done when we killed, perhaps its
    // neighbour too); everything else trains to the end now.
    let skipped = text.matches("already trained").count();
    let trained_now = text.matches("4 checkpoints in").count();
    assert!(skipped >= 1, "{text}");
    assert_eq!(skipped + trained_now, 6, "{text}");
    assert_eq!(text.matches(": train done").count(), 6, "{text}");
    assert!(text.contains("sweep of 6 variants finished"), "{text}");
    assert!(
        text.contains("grokked (test < 0.01)"),
        "the comparison table: {text}"
    );
    let rows = text
        .lines()
        .filter(|l| l.starts_with("modulo_addition_1layer_p") && l.contains(" 1500 "))
        .count();
    assert_eq!(rows, 6, "one table row per variant: {text}");
    let family_dir = results.path().join("modulo_addition_1layer");
    let trained = std::fs::read_dir(&family_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .join("checkpoints/checkpoint_epoch_01499.safetensors")
                .exists()
        })
        .count();
    assert_eq!(trained, 6);

    let script = results.path().join("sweep.sh");
    let written = command()
        .args(["--slurm", script.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(written.status.success());
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("#SBATCH --array=0-5"), "{text}");
    assert!(
        Command::new("bash")
            .arg("-n")
            .arg(&script)
            .status()
            .unwrap()
            .success()
    );
    let task = Command::new("bash")
        .arg(&script)
        .env("SLURM_ARRAY_TASK_ID", "2")
        .output()
        .unwrap();
    assert!(task.status.success());
    assert!(
        String::from_utf8_lossy(&task.stdout).contains("p23_seed3_dseed598: already trained"),
        "{}",
        String::from_utf8_lossy(&task.stdout)
    );
    let no_task = Command::new("bash")
        .arg(&script)
        .env("SLURM_ARRAY_TASK_ID", "9")
        .output()
        .unwrap();
    assert!(!no_task.status.success());
}

/// Starts `n` `tdw` processes with the same arguments at once; returns (exit code, stdout,
/// stderr) of each.
fn concurrently(results: &Path, args: &[&str], n: usize) -> Vec<(i32, String, String)> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            crate::tdw_command(results)
                .args(args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .collect()
}

/// Four `tdw train` started at once on a fresh variant, 50 rounds: exactly one trains in each;
/// the others are refused as busy or as already trained. Then four `tdw analyze` at once on a
/// trained, never analyzed variant: exactly one computes artifacts.
#[test]
fn concurrent_starts_train_and_analyze_a_variant_once() {
    let results = tempfile::tempdir().unwrap();
    for round in 0..50 {
        let seed = format!("seed={round}");
        let outcomes = concurrently(
            results.path(),
            &[
                "train", "--param", "prime=5", "--param", &seed, "--epochs", "3",
            ],
            4,
        );
        let trained = outcomes
            .iter()
            .filter(|(code, out, _)| *code == 0 && out.contains("trained "))
            .count();
        assert_eq!(trained, 1, "round {round}: {outcomes:#?}");
        for (code, out, err) in &outcomes {
            if *code != 0 {
                assert!(
                    err.contains("is busy") || err.contains("--force"),
                    "round {round}: {out}{err}"
                );
            }
        }
        let name = format!("modulo_addition_1layer_p5_seed{round}_dseed598");
        let outcomes = concurrently(
            results.path(),
            &["analyze", &name, "--analyzers", "parameter_snapshot"],
            4,
        );
        let analyzed = outcomes
            .iter()
            .filter(|(code, out, _)| *code == 0 && out.contains("analyzed 2 checkpoints"))
            .count();
        assert_eq!(analyzed, 1, "round {round}: {outcomes:#?}");
        for (code, out, err) in &outcomes {
            assert!(
                *code == 0
                    && (out.contains("analyzed 0 checkpoints")
                        || out.contains("analyzed 2 checkpoints"))
                    || err.contains("is busy"),
                "round {round}: {out}{err}"
            );
        }
    }
}

/// Bad inputs that pass argument parsing: each ends with one `error:` line naming the value or
/// file, exits non-zero, panics nowhere, and leaves every file under the results directory as it
/// was (nothing changed, nothing left behind). Parsing errors (clap's) are not in the table.
#[test]
fn forty_bad_inputs_each_give_one_error_line_and_change_nothing() {
    let results = tempfile::tempdir().unwrap();
    let r = results.path();
    let trained = "modulo_addition_1layer_p13_seed1_dseed598";
    let (code, stderr) = tdw(
        r,
        &[
            "train", "--param", "prime=13", "--param", "seed=1", "--epochs", "5",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = tdw(r, &["analyze", trained, "--analyzers", "neuron_freq_norm"]);
    assert_eq!(code, 0, "{stderr}");
    let file = r.join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let file = file.to_str().unwrap();
    let fourier = "parameters.embeddings.fourier_coefficients";
    let clusters = "activations.mlp.neuron_frequency_clusters";
    let p13 = ["--param", "prime=13"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec!["train", "--param", "prime=13", "--param", "seed=2"];
        args.extend_from_slice(extra);
        args
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["train", "--param", "prime=91"], "91 is not prime"),
        (vec!["train", "--param", "prime=2"], "prime >= 3"),
        (vec!["train", "--param", "prime=1"], "prime >= 3"),
        (vec!["train", "--param", "prime=-7"], "prime >= 3"),
        (
            vec!["train", "--param", "prime=100003"],
            "largest supported modulus 14653",
        ),
        (
            vec!["train", "--param", "prime=14653", "--epochs", "1"],
            "GB of memory",
        ),
        (vec!["train", "--param", "prime=abc"], "expected an integer"),
        (
            vec!["train", "--param", "prime=13.5"],
            "expected an integer",
        ),
        (vec!["train", "--param", "seed=-1"], "must be >= 0"),
        (
            vec!["train", "--param", "seed=99999999999999999999"],
            "integer range",
        ),
        (vec!["train", "--param", "data_seed=-3"], "must be >= 0"),
        (vec!["train", "--param", "width=3"], "no parameter 'width'"),
        (vec!["train", "--param", "prime"], "expected NAME=VALUE"),
        (vec!["train", "--param", "=13"], "prime"),
        (vec!["train", "--family", "nope"], "not found in"),
        (with(&["--fraction", "1.5"]), "training_fraction"),
        (with(&["--fraction", "0"]), "training_fraction"),
        (with(&["--fraction", "1"]), "training_fraction"),
        (with(&["--fraction", "NaN"]), "training_fraction"),
        (with(&["--fraction=-0.2"]), "training_fraction"),
        (
            vec!["train", "--param", "prime=5", "--fraction", "0.01"],
            "training set empty",
        ),
        (with(&["--epochs", "0"]), "epochs"),
        (
            with(&["--epochs", "100", "--checkpoints", "0,500"]),
            "past the run's last epoch 99",
        ),
        (
            with(&["--epochs", "100", "--checkpoints", "0,10,10"]),
            "listed twice",
        ),
        (with(&["--checkpoints", "0,abc"]), "comma-separated"),
        (with(&["--lr", "0"]), "learning_rate"),
        (with(&["--lr", "inf"]), "learning_rate"),
        (with(&["--lr", "NaN"]), "learning_rate"),
        (with(&["--weight-decay=-1"]), "weight_decay"),
        (
            with(&["--lr", "0.5", "--weight-decay", "3"]),
            "must stay below 1",
        ),
        (
            vec!["train", p13[0], p13[1], "--param", "seed=1"],
            "--force",
        ),
        (
            vec![
                "train", "--param", "prime=13", "--param", "seed=1", "--resume", "--lr", "0.01",
            ],
            "trained with learning_rate",
        ),
        (vec!["info", "no_such_variant"], "not found"),
        (vec!["analyze", "no_such_variant"], "not found"),
        (
            vec!["analyze", trained, "--analyzers", "magic"],
            "unknown analyzer 'magic'",
        ),
        (vec!["analyze", trained, "--epochs", "3"], "never saved"),
        (vec!["view", "nope", trained], "unknown view 'nope'"),
        (vec!["view", fourier, trained], "not available"),
        (vec!["view", clusters, trained, "--epoch", "3"], "epoch 3"),
        (vec!["report", "no_such_variant"], "not found"),
        (
            vec!["sweep", "--param", "prime=", "--epochs", "3"],
            "no empty value",
        ),
        (
            vec!["sweep", "--param", "prime=13,,17", "--epochs", "3"],
            "no empty value",
        ),
        (
            vec!["sweep", "--param", "prime", "--epochs", "3"],
            "NAME=V1,V2",
        ),
        (
            vec!["viability", trained],
            "no artifact for 'neuron_dynamics'",
        ),
        (
            vec![
                "viability",
                "--param",
                "prime=59",
                "--frequencies",
                "5,40",
                "--pr",
                "3",
            ],
            "k = 40 is outside 1..=29",
        ),
        (
            vec!["viability", "--param", "prime=59", "--frequencies", "5"],
            "--pr",
        ),
        (
            vec![
                "viability",
                trained,
                "--param",
                "prime=17",
                "--frequencies",
                "2",
                "--pr",
                "3",
            ],
            "has prime 13",
        ),
        (vec!["densify", trained], "give --range"),
        (
            vec!["densify", trained, "--range", "0:4:4"],
            "nothing changed",
        ),
        (
            vec!["densify", trained, "--range", "5:1:1"],
            "END must not be before START",
        ),
        (
            vec!["densify", trained, "--around-grokking"],
            "show no grokking",
        ),
        (
            vec!["densify", "no_such_variant", "--range", "0:4:1"],
            "not found",
        ),
        (vec!["init-sweep", "--param", "seed=3"], "only prime=P"),
        (vec!["init-sweep", "--param", "prime=91"], "91 is not prime"),
        (vec!["init-sweep", "--fraction", "2"], "training_fraction"),
        (vec!["--families-dir", file, "families"], "is a file"),
        (
            vec!["--results-dir", file, "train", "--param", "prime=13"],
            "a-file",
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let before = snapshot(r);
    for (args, expected) in &cases {
        let (code, stderr) = tdw(r, args);
        assert_ne!(code, 0, "{args:?} succeeded");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected '{expected}' in: {stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{args:?}: {stderr}"
        );
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
        assert!(
            stderr
                .trim_end()
                .lines()
                .last()
                .is_some_and(|l| l.starts_with("error: ")),
            "{args:?}: {stderr}"
        );
        assert!(
            snapshot(r) == before,
            "{args:?} changed the results directory"
        );
    }
}

/// Corrupt or truncated files of each kind the tool reads, under a trained and analyzed
/// variant: the command that needs the file fails with one line naming it, and leaves every file
/// as it was (the corrupt one included: nothing is "repaired" by deleting it).
#[test]
fn corrupt_files_of_every_kind_are_named_and_left_alone() {
    let results = tempfile::tempdir().unwrap();
    let r = results.path();
    let name = "modulo_addition_1layer_p7_seed999_dseed598";
    let (code, stderr) = tdw(r, &["train", "--param", "prime=7", "--epochs", "5"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = tdw(r, &["analyze", name, "--analyzers", "neuron_freq_norm"]);
    assert_eq!(code, 0, "{stderr}");
    let dir = r.join("modulo_addition_1layer").join(name);
    let analyzers = tempfile::tempdir().unwrap();
    let corrupt_spec = analyzers.path().join("neuron_freq_norm");
    std::fs::create_dir_all(&corrupt_spec).unwrap();
    std::fs::write(corrupt_spec.join("analyzer.json"), b"{\"name\": 3").unwrap();
    let resume: &[&str] = &["train", "--param", "prime=7", "--epochs", "8", "--resume"];
    let analyze: &[&str] = &["analyze", name, "--analyzers", "dominant_frequencies"];
    let view: &[&str] = &[
        "view",
        "activations.mlp.neuron_frequency_clusters",
        name,
        "--epoch",
        "4",
    ];
    let cases: Vec<(&str, &[u8], &[&str])> = vec![
        ("config.json", b"{\"n_layers\": ", resume),
        ("metadata.json", b"{\"train_losses\": [1.0,", resume),
        ("metadata.json", b"{\"train_losses\": [1.0,", analyze),
        ("artifacts/manifest.json", b"{\"analyzers\": [", analyze),
        (
            "checkpoints/optimizer_state.safetensors",
            b"\x08\x00\x00\x00\x00\x00\x00\x00{}",
            resume,
        ),
        (
            "checkpoints/checkpoint_epoch_00004.safetensors",
            b"truncated",
            resume,
        ),
        (
            "checkpoints/checkpoint_epoch_00004.safetensors",
            b"truncated",
            analyze,
        ),
        (
            "artifacts/neuron_freq_norm/epoch_00004.npz",
            b"PK\x03\x04 truncated",
            view,
        ),
    ];
    for (file, bytes, args) in cases {
        let path = dir.join(file);
        let good = std::fs::read(&path).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let before = snapshot(r);
        let (code, stderr) = tdw(r, args);
        assert_ne!(code, 0, "{file} {args:?} succeeded");
        let last = stderr.trim_end().lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error: ") && last.contains(file.rsplit('/').next().unwrap()),
            "{file} {args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{file} {args:?}: {stderr}");
        // Nothing that was there changed or went (an analysis may have saved the artifacts of
        // the checkpoints it could read before it stopped: resumable progress, not damage).
        let after = snapshot(r);
        for entry in &before {
            assert!(
                after.contains(entry),
                "{file} {args:?} changed {}",
                entry.0.display()
            );
        }
        std::fs::write(&path, good).unwrap();
    }
    // A corrupt analyzer declaration names its file.
    let output = crate::tdw_command(r)
        .env("TDW_ANALYZERS_DIR", analyzers.path())
        .env("RUST_BACKTRACE", "1")
        .args(["analyze", name])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("neuron_freq_norm/analyzer.json"),
        "{stderr}"
    );
}

/// `tdw viability` by hand: MIScope's example is viable, and the charts are written where asked.
#[test]
fn viability_certifies_miscopes_example_and_writes_its_charts() {
    let results = tempfile::tempdir().unwrap();
    let charts = results.path().join("charts");
    let output = crate::tdw_command(results.path())
        .args([
            "viability",
            "--param",
            "prime=59",
            "--frequencies",
            "5,15,21",
            "--pr",
            "18.3",
        ])
        .arg("--out")
        .arg(&charts)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let regime = stdout
        .lines()
        .find(|l| l.starts_with("regime"))
        .unwrap_or("");
    assert!(regime.ends_with("viable"), "{stdout}");
    assert!(
        stdout.contains("1.370488"),
        "the minimum distance: {stdout}"
    );
    assert!(
        stdout.contains("{7, 9, 10} at 1.552989"),
        "the ideal set: {stdout}"
    );
    for name in ["profile", "alias", "ideal"] {
        let svg = std::fs::read_to_string(charts.join(format!("viability_{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{name}");
    }
}
