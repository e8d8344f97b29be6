//! How sensitive a run's cleanup phase is to the last bit of its initial weights: trains one
//! variant with an engine from its initial weights with one entry of `W_E` moved by one f32 ulp
//! (a different entry per member), and prints each member's grokking epoch, lowest and final
//! test loss, and the highest test loss after grokking.
//! `cargo run --release --example ensemble -- prime=59,seed=999,data_seed=598 0.5 1500 fused 0 1 2`
//! (member `-` is the unperturbed run; `blocks.0.mlp.W_in:7` moves entry 7 of that tensor instead).
mod support;

use tdw_core::model::transformer::Transformer;
use tdw_core::train::engine::Engine;
use tdw_core::train::{AdamW, Batch, loss_value, train_step};

fn main() {
    let mut args = std::env::args().skip(1);
    let params = args.next().unwrap();
    let fraction: f64 = args.next().unwrap().parse().unwrap();
    let epochs: usize = args.next().unwrap().parse().unwrap();
    let engine_name = args.next().unwrap();
    // `burn64`: burn's autodiff with every weight and moment in f64 (the reference).
    let f64_reference = engine_name == "burn64";
    let engine: Engine = if f64_reference {
        Engine::Burn
    } else {
        engine_name.parse().unwrap()
    };
    let members: Vec<String> = args.collect();
    let (_registry, variant) = support::variant(&params);
    let device = tdw_core::default_device();
    for member in members {
        let mut run = variant.fresh_run(Some(fraction)).unwrap();
        // `k`: entry k of `W_E`; `NAME:k`: entry k of the tensor NAME.
        let (tensor, entry) = member.rsplit_once(':').unwrap_or(("embed.W_E", &member));
        if let Ok(k) = entry.parse::<usize>() {
            let w = &mut run.start.state.get_mut(tensor).unwrap().data[k];
            *w = f32::from_bits(w.to_bits() + 1);
        }
        let mut stepper: Box<dyn FnMut() -> (f64, f64)> = if f64_reference {
            let model = Transformer::from_state(&run.config, &run.start.state, &device)
                .with_dtype(burn_tensor::DType::F64);
            let mut model = Some(model);
            let mut adamw = AdamW::new(run.adamw);
            let train = Batch::new(&run.train, &device);
            let test = Batch::new(&run.test, &device);
            Box::new(move || {
                let (loss, updated) = train_step(model.take().unwrap(), &mut adamw, &train);
                let test = loss_value(&updated, &test);
                model = Some(updated);
                (loss, test)
            })
        } else {
            let mut stepper = run.stepper(engine, &device).unwrap();
            Box::new(move || (stepper.step(), stepper.test_loss()))
        };
        let mut test = Vec::with_capacity(epochs);
        let mut train = 0.0;
        for _ in 0..epochs {
            let (loss, test_loss) = stepper();
            train = loss;
            test.push(test_loss);
        }
        let grok = test.iter().position(|&l| l < 0.01);
        let (min_at, min) =
            test.iter().enumerate().fold(
                (0, f64::INFINITY),
                |a, (i, &l)| if l < a.1 { (i, l) } else { a },
            );
        let after = grok.map_or(f64::NAN, |g| test[g..].iter().cloned().fold(0.0, f64::max));
        println!(
            "member {member:>3}: grok {grok:?} min {min:.2e} at {min_at} final {:.2e} max after grok {after:.2e} train {train:.2e}",
            test[epochs - 1]
        );
    }
}
