//! Records the compiler's version for `kernel_info` (language_info.version), so answering it
//! never runs a process.
fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_default();
    println!("cargo:rustc-env=TDW_KERNEL_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-changed=build.rs");
}
