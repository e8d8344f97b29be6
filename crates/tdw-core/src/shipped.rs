//! The family and analyzer declarations shipped in `model_families/` and `analyzers/`, embedded
//! at build time (see build.rs): the registries fall back to them when no such directory is
//! found, so that `tdw` works outside the checkout and after `cargo install`. Each entry is
//! (directory name, file text).

include!(concat!(env!("OUT_DIR"), "/shipped.rs"));

/// Where an embedded declaration "lives", for messages and `spec.path`.
pub fn origin(dir: &str, name: &str, file: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("<built into tdw>/{dir}/{name}/{file}"))
}
