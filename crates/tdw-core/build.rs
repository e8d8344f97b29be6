//! Detects the Python reference results (`../shared/reference` beside the checkout, or
//! `TDW_REFERENCE_DIR`) so that tests which compare against them are reported as *ignored, with
//! the reason* when they are absent, instead of silently passing.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tdw_has_reference)");
    println!("cargo::rerun-if-env-changed=TDW_REFERENCE_DIR");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
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
