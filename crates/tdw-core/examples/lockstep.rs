//! Trains one variant with the fused and the burn engines side by side from the same initial
//! weights and split, printing both test losses and how far the weights have drifted apart.
//! `cargo run --release --example lockstep -- prime=59,seed=999,data_seed=598 0.5 1500`
mod support;

use burn_tensor::DType;
use tdw_core::model::state::StateDict;
use tdw_core::model::transformer::Transformer;
use tdw_core::train::engine::Engine;
use tdw_core::train::{AdamW, Batch, loss_value, train_step};

/// `‖x − y‖ / ‖y‖`: how far one tensor has moved from its counterpart.
fn relative_distance(x: &[f32], y: &[f32]) -> f64 {
    let d: f64 = x.iter().zip(y).map(|(p, q)| ((p - q) as f64).powi(2)).sum();
    let n: f64 = y.iter().map(|q| (*q as f64).powi(2)).sum();
    (d / n.max(1e-30)).sqrt()
}

/// The tensor of `a` furthest from `b`'s, and how far.
fn drift(a: &StateDict, b: &StateDict) -> (f64, String) {
    let mut worst = (0.0, String::new());
    for (name, x) in a.iter() {
        let r = relative_distance(&x.data, &b.get(name).unwrap().data);
        if r > worst.0 {
            worst = (r, name.to_string());
        }
    }
    worst
}

fn main() {
    let mut args = std::env::args().skip(1);
    let params = args.next().unwrap();
    let fraction: f64 = args.next().unwrap().parse().unwrap();
    let epochs: usize = args.next().unwrap().parse().unwrap();
    // From this epoch on, the fused engine restarts from burn's weights and moments.
    let branch: Option<usize> = args.next().map(|a| a.parse().unwrap());
    let (_registry, variant) = support::variant(&params);
    let run = variant.fresh_run(Some(fraction)).unwrap();
    let device = tdw_core::default_device();
    // The same run again, for the burn engine.
    let again = variant.fresh_run(Some(fraction)).unwrap();
    let (run_config, adamw, train, test) = (
        run.config.clone(),
        run.adamw,
        run.train.clone(),
        run.test.clone(),
    );
    let mut reference = Some(
        Transformer::from_state(&run.config, &run.start.state, &device).with_dtype(DType::F64),
    );
    let mut reference_adamw = AdamW::new(run.adamw);
    let (train_batch, test_batch) = (
        Batch::new(&run.train, &device),
        Batch::new(&run.test, &device),
    );
    let mut fused = run.stepper(Engine::Fused, &device).unwrap();
    let mut burn = again.stepper(Engine::Burn, &device).unwrap();
    for epoch in 0..epochs {
        if Some(epoch) == branch {
            let (step, moments) = burn.optimizer_state();
            fused = tdw_core::train::engine::stepper(
                Engine::Fused,
                &run_config,
                tdw_core::train::engine::StartState {
                    state: burn.state(),
                    step,
                    moments,
                },
                adamw,
                &train,
                &test,
                &device,
            )
            .unwrap();
        }
        let (tf, tb) = (fused.step(), burn.step());
        let (ef, eb) = (fused.test_loss(), burn.test_loss());
        let (_, updated) = train_step(
            reference.take().unwrap(),
            &mut reference_adamw,
            &train_batch,
        );
        let er = loss_value(&updated, &test_batch);
        reference = Some(updated);
        if std::env::var("LOCKSTEP_EVERY").is_ok() && epoch <= 40 {
            let truth = reference
                .as_ref()
                .unwrap()
                .clone()
                .with_dtype(DType::F32)
                .to_state();
            let (f, b) = (fused.state(), burn.state());
            let per: Vec<String> = truth
                .iter()
                .map(|(name, t)| {
                    let d = |x: &StateDict| relative_distance(&x.get(name).unwrap().data, &t.data);
                    format!(
                        "{}:{:.0e}/{:.0e}",
                        name.rsplit('.').next().unwrap(),
                        d(&f),
                        d(&b)
                    )
                })
                .collect();
            println!("{epoch:3} fused/burn drift from f64 {}", per.join(" "));
        }
        if [1, 2, 5, 10, 20, 30].contains(&epoch) || epoch % 50 == 0 || epoch + 1 == epochs {
            let truth = reference
                .as_ref()
                .unwrap()
                .clone()
                .with_dtype(DType::F32)
                .to_state();
            let (df, nf) = drift(&fused.state(), &truth);
            let (db, nb) = drift(&burn.state(), &truth);
            println!(
                "{epoch:5} train {tf:.3e} {tb:.3e} test fused {ef:.3e} burn {eb:.3e} f64 {er:.3e} | drift from f64: fused {df:.2e} ({nf}) burn {db:.2e} ({nb})"
            );
        }
    }
}
