//! Runs the fused engine alone on the canonical variant (p = 113) for profiling:
//! `cargo run --release --example profile_fused -- 50`, or under `perf record`.
use std::time::Instant;

use tdw_core::train::engine::Engine;
use tdw_core::{FamilyRegistry, ParamValue};

fn main() {
    tdw_core::memory::keep_freed_memory();
    let epochs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let root = tdw_core::paths::project_root();
    let results = tempfile_dir();
    let registry = FamilyRegistry::open(&root.join("model_families"), &results).unwrap();
    let params = [
        ("prime".to_string(), ParamValue::Int(113)),
        ("seed".to_string(), ParamValue::Int(999)),
        ("data_seed".to_string(), ParamValue::Int(598)),
    ]
    .into_iter()
    .collect();
    let variant = registry
        .create_variant("modulo_addition_1layer", params)
        .unwrap();
    let mut stepper = variant
        .fresh_run(None)
        .unwrap()
        .stepper(Engine::Fused, &tdw_core::default_device())
        .unwrap();
    let started = Instant::now();
    let (mut step, mut test) = (0.0, 0.0);
    let (mut fastest_step, mut fastest_test) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..epochs {
        let t = Instant::now();
        stepper.step();
        let s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        stepper.test_loss();
        let l = t.elapsed().as_secs_f64();
        (step, test) = (step + s, test + l);
        (fastest_step, fastest_test) = (fastest_step.min(s), fastest_test.min(l));
    }
    let n = epochs as f64;
    println!(
        "{epochs} epochs: {:.4} s/epoch (step {:.4}, test loss {:.4})",
        started.elapsed().as_secs_f64() / n,
        step / n,
        test / n
    );
    // The fastest epoch's parts: the least disturbed by other work on a shared machine.
    println!("fastest: step {fastest_step:.4}, test loss {fastest_test:.4} s");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tdw-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
