//! Detects the Python reference results (`../shared/reference` beside the checkout, or
//! `TDW_REFERENCE_DIR`) so that tests which compare against them are reported as *ignored, with
//! the reason* when they are absent, instead of silently passing; and embeds the shipped family
//! and analyzer declarations.

use std::path::{Path, PathBuf};

/// Writes `$OUT_DIR/shipped.rs`: the shipped `model_families/*/family.json` and
/// `analyzers/*/analyzer.json`, embedded so that a `tdw` run outside the checkout (or installed
/// with `cargo install`) still knows them.
fn embed_shipped(root: &Path) {
    let mut code = String::new();
    for (dir, file, name) in [
        ("model_families", "family.json", "FAMILIES"),
        ("analyzers", "analyzer.json", "ANALYZERS"),
    ] {
        let dir = root.join(dir);
        println!("cargo::rerun-if-changed={}", dir.display());
        let mut entries: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().join(file).is_file())
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            e.path().join(file),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        entries.sort();
        code.push_str(&format!(
            "/// Every shipped `{file}`, embedded at build time: (its directory's name, its text).\n"
        ));
        code.push_str(&format!("pub const {name}: &[(&str, &str)] = &[\n"));
        for (entry, path) in entries {
            println!("cargo::rerun-if-changed={}", path.display());
            code.push_str(&format!(
                "    ({entry:?}, include_str!({:?})),\n",
                path.display().to_string()
            ));
        }
        code.push_str("];\n");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("shipped.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tdw_has_reference)");
    println!("cargo::rerun-if-env-changed=TDW_REFERENCE_DIR");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    embed_shipped(&manifest.join("../.."));
    let dir = match std::env::var_os("TDW_REFERENCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => manifest.join("../../../shared/reference"),
    };
    println!("cargo::rerun-if-changed={}", dir.display());
    if dir.join("modulo_addition_1layer").is_dir() {
        println!("cargo::rustc-cfg=tdw_has_reference");
        println!(
            "cargo::rustc-env=TDW_REFERENCE_DIR_RESOLVED={}",
            dir.display()
        );
    } else {
        println!("cargo::rustc-env=TDW_REFERENCE_DIR_RESOLVED=");
    }
}
