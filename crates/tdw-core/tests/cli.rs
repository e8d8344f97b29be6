//! The CLI's contract for user errors: a non-zero exit and one line on stderr naming the
//! problem, never a panic or a backtrace.

use std::path::Path;
use std::process::Command;

fn tdw(results: &Path, args: &[&str]) -> (i32, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(env!("CARGO_BIN_EXE_tdw"))
        .env("TDW_RESULTS_DIR", results)
        .env("TDW_MODEL_FAMILIES_DIR", root.join("model_families"))
        .env("TDW_ANALYZERS_DIR", root.join("analyzers"))
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
            "checkpoint_epoch_00000.safetensors",
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(env!("CARGO_BIN_EXE_tdw"))
        .env("TDW_RESULTS_DIR", results.path())
        .env("TDW_MODEL_FAMILIES_DIR", root.join("model_families"))
        .args(["info", "modulo_addition_1layer_p13_seed999_dseed598"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("metadata.json") && stdout.contains("unreadable"),
        "{stdout}"
    );
}
