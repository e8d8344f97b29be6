//! Compares the fused engine's gradients with burn's autodiff at a trained variant's
//! checkpoints, entry by entry relative to each entry's own size (issue: fused cleanup phase).
//! `cargo run --release --example grad_compare -- prime=59,seed=999,data_seed=598 <epoch>...` with
//! `TDW_RESULTS_DIR` pointing at the results.
use std::collections::HashMap;

mod support;

use burn_tensor::{Gradients, Tensor};
use tdw_core::model::transformer::{Transformer, WeightMapper};
use tdw_core::train::HostAdamW;
use tdw_core::train::fused::FusedTrainer;
use tdw_core::train::{Batch, loss_and_gradients};

fn autodiff(model: &Transformer, batch: &Batch) -> (f64, HashMap<String, Vec<f32>>) {
    struct Collect<'a> {
        grads: &'a Gradients,
        found: HashMap<String, Vec<f32>>,
    }
    impl WeightMapper for Collect<'_> {
        fn map<const D: usize>(&mut self, name: &str, weight: Tensor<D>) -> Tensor<D> {
            if let Some(grad) = weight.grad(self.grads) {
                let data = grad.to_data().convert::<f32>();
                self.found
                    .insert(name.to_string(), data.as_slice::<f32>().unwrap().to_vec());
            }
            weight
        }
    }
    let (value, leaves, grads) = loss_and_gradients(model, batch);
    let mut collect = Collect {
        grads: &grads,
        found: HashMap::new(),
    };
    let _ = leaves.map_weights(&mut collect);
    (value, collect.found)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().expect("variant name");
    let epochs: Vec<u64> = args.map(|a| a.parse().unwrap()).collect();
    // The run's results: TDW_RESULTS_DIR.
    let (_registry, variant) = support::variant(&name);
    let device = tdw_core::default_device();
    for epoch in epochs {
        let mut run = variant.fresh_run(None).unwrap();
        // The variant's own split (its metadata), whatever the training fraction was.
        let meta = variant.metadata().unwrap();
        let family = variant.family().implementation().unwrap();
        let data = family.dataset(variant.params()).unwrap();
        run.train = data.subset(&meta.train_indices);
        run.test = data.subset(&meta.test_indices);
        run.start.state = variant.load_checkpoint(epoch).unwrap();
        let model = Transformer::from_state(&run.config, &run.start.state, &device);
        let (burn_loss, burn) = autodiff(&model, &Batch::new(&run.train, &device));
        let model64 = model.clone().with_dtype(burn_tensor::DType::F64);
        let (truth_loss, truth) = autodiff(&model64, &Batch::new(&run.train, &device));
        println!("f64 loss {truth_loss:.9e} burn f32 {burn_loss:.9e}");
        let mut fused = FusedTrainer::new(
            &run.config,
            run.start.state.clone(),
            HostAdamW::new(run.adamw),
            &run.train,
            &run.test,
        )
        .unwrap();
        let fused_loss = fused.train_loss();
        println!("epoch {epoch}: train loss fused {fused_loss:.6e} burn {burn_loss:.6e}");
        let fused_grads = fused.gradients();
        for (label, ours_all) in [
            (
                "fused",
                fused_grads
                    .iter()
                    .map(|(n, g)| (n.to_string(), g.clone()))
                    .collect::<Vec<_>>(),
            ),
            (
                "burn",
                fused_grads
                    .iter()
                    .map(|(n, _)| (n.to_string(), burn[*n].clone()))
                    .collect(),
            ),
        ] {
            println!(" {label} vs f64:");
            for (name, ours) in ours_all {
                let theirs = &truth[&name];
                let scale = theirs.iter().fold(0.0f32, |a, &x| a.max(x.abs()));
                let abs_sum: f64 = theirs.iter().map(|&x| x.abs() as f64).sum();
                let max_diff = ours
                    .iter()
                    .zip(theirs)
                    .fold(0.0f32, |a, (x, y)| a.max((x - y).abs()));
                // Relative error per entry, and the signed bias along the true gradient.
                let mut rel: Vec<f64> = ours
                    .iter()
                    .zip(theirs)
                    .map(|(&x, &y)| ((x - y).abs() as f64) / (y.abs() as f64).max(1e-30))
                    .collect();
                rel.sort_by(|a, b| a.partial_cmp(b).unwrap());
                let q = |f: f64| rel[((rel.len() - 1) as f64 * f) as usize];
                let along: f64 = ours
                    .iter()
                    .zip(theirs)
                    .map(|(&x, &y)| (x - y) as f64 * (y as f64).signum())
                    .sum::<f64>()
                    / abs_sum;
                let dot: f64 = ours
                    .iter()
                    .zip(theirs)
                    .map(|(&x, &y)| x as f64 * y as f64)
                    .sum();
                let n1: f64 = ours.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
                let n2: f64 = theirs
                    .iter()
                    .map(|&x| (x as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                println!(
                    "  {name:>12}: max|g| {scale:.2e} maxdiff/max {:.1e} rel p50 {:.1e} p90 {:.1e} p99 {:.1e} bias {along:+.1e} cos {:.8}",
                    max_diff / scale,
                    q(0.5),
                    q(0.9),
                    q(0.99),
                    dot / n1 / n2
                );
            }
        }
    }
}
