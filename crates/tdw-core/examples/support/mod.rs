//! What the fidelity examples share: a variant of the one-layer family from `k=v,k=v` text on
//! a results directory of its own.
use tdw_core::{FamilyRegistry, Variant};

/// The registry (on a scratch results directory, or `TDW_RESULTS_DIR` when set) and the
/// variant of `params` ("prime=59,seed=999,data_seed=598").
pub fn variant(params: &str) -> (FamilyRegistry, Variant) {
    let root = tdw_core::paths::project_root();
    let results = std::env::var_os("TDW_RESULTS_DIR").map_or_else(
        || std::env::temp_dir().join(format!("tdw-example-{}", std::process::id())),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&results).expect("results directory");
    let registry =
        FamilyRegistry::open(&root.join("model_families"), &results).expect("families load");
    let pairs: Vec<(&str, &str)> = params
        .split(',')
        .map(|kv| kv.split_once('=').expect("name=value"))
        .collect();
    let variant = registry
        .create_variant_from_text("modulo_addition_1layer", pairs)
        .expect("variant");
    (registry, variant)
}
