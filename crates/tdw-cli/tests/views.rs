//! `tdw view` and `tdw report` on a variant trained and analyzed by the CLI itself.

use std::path::Path;
use std::process::Command;

fn tdw(results: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tdw"));
    command
        .arg("--results-dir")
        .arg(results)
        .arg("--families-dir")
        .arg(crate::families_dir());
    command
}

fn succeeds(command: &mut Command) -> String {
    let output = command.output().expect("tdw runs");
    assert!(
        output.status.success(),
        "{:?}: {}",
        command,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn cli_view_and_report_write_files() {
    let results = tempfile::tempdir().unwrap();
    let r = results.path();
    let name = "modulo_addition_1layer_p11_seed999_dseed598";
    succeeds(tdw(r).args(["train", "--param", "prime=11", "--epochs", "30"]));
    succeeds(tdw(r).args(["analyze", name, "--analyzers", "dominant_frequencies"]));

    let out = r.join("fourier.png");
    succeeds(
        tdw(r)
            .args(["view", "parameters.embeddings.fourier_coefficients", name])
            .args(["--epoch", "29", "--out"])
            .arg(&out),
    );
    assert!(std::fs::read(&out).unwrap().starts_with(b"\x89PNG"));

    let stdout = succeeds(tdw(r).args(["report", name]));
    assert!(stdout.contains("report.html"), "{stdout}");
    let variant_dir = r.join("modulo_addition_1layer").join(name);
    assert!(variant_dir.join("report.html").is_file());

    let bad = tdw(r).args(["view", "loss_curves", name]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("did you mean: training.metadata.loss_curves"),
        "{stderr}"
    );
}
