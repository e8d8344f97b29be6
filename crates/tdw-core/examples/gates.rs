//! Whether burn's f32 evaluation decides the ReLU gates as f64 does at the same weights: at the
//! f64 reference's weights of each early epoch, how many gates `pre > 0` of the training rows'
//! last position differ, the largest pre-activation error, and how many pre-activations lie
//! within 1e-5 of the kink. (The fused engine keeps its rows in its own order; it is not here.) `cargo run --release --example gates -- prime=59,seed=999,data_seed=598 0.5 24`
mod support;

use burn_tensor::DType;
use tdw_core::HookName;
use tdw_core::model::transformer::Transformer;
use tdw_core::train::{AdamW, Batch, train_step};

/// The MLP pre-activations at the last position, `[n · d_mlp]`, in f64.
fn last_pre(model: &Transformer, batch: &Batch) -> Vec<f64> {
    let (_, cache) = model.forward(batch.tokens.clone(), true);
    let cache = cache.expect("cache asked for");
    let pre = cache
        .rank3(HookName::MlpPre { layer: 0 })
        .expect("hook_pre")
        .clone();
    let [n, p, m] = pre.dims();
    let last = pre.slice([0..n, p - 1..p, 0..m]).cast(DType::F64);
    last.to_data()
        .convert::<f64>()
        .as_slice::<f64>()
        .unwrap()
        .to_vec()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let params = args.next().unwrap();
    let fraction: f64 = args.next().unwrap().parse().unwrap();
    let last_epoch: usize = args.next().unwrap().parse().unwrap();
    let (_registry, variant) = support::variant(&params);
    let run = variant.fresh_run(Some(fraction)).unwrap();
    let device = tdw_core::default_device();
    let train = Batch::new(&run.train, &device);
    let mut reference =
        Transformer::from_state(&run.config, &run.start.state, &device).with_dtype(DType::F64);
    let mut adamw = AdamW::new(run.adamw);
    for epoch in 0..=last_epoch {
        // All three evaluated at the same f32 weights (the reference's, rounded).
        let state = reference.clone().with_dtype(DType::F32).to_state();
        let f32_model = Transformer::from_state(&run.config, &state, &device);
        let truth = last_pre(&f32_model.clone().with_dtype(DType::F64), &train);
        let burn = last_pre(&f32_model, &train);
        let burn_flips = truth
            .iter()
            .zip(&burn)
            .filter(|(t, b)| (**t > 0.0) != (**b > 0.0))
            .count();
        let burn_err = truth
            .iter()
            .zip(&burn)
            .map(|(t, b)| (t - b).abs())
            .fold(0.0, f64::max);
        let near = truth.iter().filter(|t| t.abs() < 1e-5).count();
        println!(
            "epoch {epoch:3}: gates differing from f64: burn {burn_flips} (of {}); \
             max |pre error| {burn_err:.2e}; |pre| < 1e-5: {near}",
            truth.len()
        );
        let (_, updated) = train_step(reference, &mut adamw, &train);
        reference = updated;
    }
}
