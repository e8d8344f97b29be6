//! `tdw view` and `tdw report` on a variant trained and analyzed by the CLI itself.

use std::process::Command;

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
    succeeds(crate::tdw_command(r).args(["train", "--param", "prime=11", "--epochs", "30"]));
    succeeds(crate::tdw_command(r).args(["analyze", name, "--analyzers", "dominant_frequencies"]));

    // `--results-dir` over the environment's directory (the flag wins).
    let out = r.join("fourier.png");
    succeeds(
        crate::tdw_command(&r.join("elsewhere"))
            .arg("--results-dir")
            .arg(r)
            .args(["view", "parameters.embeddings.fourier_coefficients", name])
            .args(["--epoch", "29", "--out"])
            .arg(&out),
    );
    assert!(std::fs::read(&out).unwrap().starts_with(b"\x89PNG"));

    let stdout = succeeds(crate::tdw_command(r).args(["report", name]));
    assert!(stdout.contains("report.html"), "{stdout}");
    let variant_dir = r.join("modulo_addition_1layer").join(name);
    assert!(variant_dir.join("report.html").is_file());

    let bad = crate::tdw_command(r)
        .args(["view", "loss_curves", name])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("did you mean: training.metadata.loss_curves"),
        "{stderr}"
    );
}
