//! Where one checkpoint's analysis time goes (forward pass, each analyzer, npz writing).
//! `cargo run --release --example profile_analysis -- <checkpoint.safetensors>`
use std::time::Instant;

use indexmap::IndexMap;
use tdw_core::analysis::{AnalyzerRegistry, npz};
use tdw_core::{FamilyRegistry, Transformer};

fn main() {
    tdw_core::memory::keep_freed_memory();
    let path = std::env::args().nth(1).expect("checkpoint path");
    let root = tdw_core::paths::project_root();
    let scratch = std::env::temp_dir().join("tdw-profile");
    let registry = FamilyRegistry::open(&root.join("model_families"), &scratch).unwrap();
    let variant = registry
        .create_variant("modulo_addition_1layer", IndexMap::new())
        .unwrap();
    let config = variant.model_config().unwrap();
    let device = tdw_core::default_device();
    let context = variant.analysis_context().unwrap();
    let analyzers = AnalyzerRegistry::open(&root.join("analyzers")).unwrap();
    for round in 0..2 {
        let t = Instant::now();
        let state = tdw_core::checkpoint::load(std::path::Path::new(&path), &config).unwrap();
        let model = Transformer::from_state(&config, &state, &device);
        let load = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let bundle = context.bundle(&model);
        let forward = t.elapsed().as_secs_f64();
        println!("round {round}: load {load:.3} s, forward+bundle {forward:.3} s");
        for name in tdw_core::bench::REFERENCE_ANALYZERS {
            let t = Instant::now();
            let artifact = analyzers
                .primary(name)
                .unwrap()
                .analyze(&bundle, &context)
                .unwrap();
            let compute = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let bytes = npz::encode_npz(&artifact).unwrap();
            if name == "neuron_activations" {
                let t2 = Instant::now();
                let raw = npz::encode_npy(artifact.get("activations").unwrap());
                println!(
                    "    encode_npy alone {:.3} s ({} MB)",
                    t2.elapsed().as_secs_f64(),
                    raw.len() >> 20
                );
            }
            println!(
                "  {name:<26} compute {compute:.3} s  encode {:.3} s  ({} KB)",
                t.elapsed().as_secs_f64(),
                bytes.len() / 1024
            );
        }
    }
}
