//! Where one training epoch's time goes at p = 113: the train step (forward, backward, AdamW) and
//! the test-loss forward. `cargo run --release --example profile_training`
use std::time::Instant;

use indexmap::IndexMap;
use tdw_core::train::{AdamW, Batch, cross_entropy_f64, loss_value, train_step};
use tdw_core::{FamilyRegistry, Transformer};

fn main() {
    let root = tdw_core::paths::project_root();
    let registry =
        FamilyRegistry::open(&root.join("model_families"), &std::env::temp_dir()).unwrap();
    let variant = registry
        .create_variant("modulo_addition_1layer", IndexMap::new())
        .unwrap();
    let family = variant.family().implementation().unwrap();
    let device = tdw_core::default_device();
    let data = family.dataset(variant.params()).unwrap();
    let split = family.split(variant.params(), 0.3).unwrap();
    let train = Batch::new(&data.subset(&split.train_indices), &device);
    let test = Batch::new(&data.subset(&split.test_indices), &device);
    let state = family
        .init_state(variant.family().spec(), variant.params())
        .unwrap();
    let mut model = Transformer::from_state(&variant.model_config().unwrap(), &state, &device);
    let mut optimizer = AdamW::new(variant.family().training_config().unwrap().adamw());
    let (mut forward, mut backward, mut step, mut test_loss) = (0.0, 0.0, 0.0, 0.0);
    let rounds = 10;
    for round in 0..rounds + 2 {
        let t = Instant::now();
        let leaves = model.with_trainable_leaves();
        let loss = cross_entropy_f64(
            leaves.forward_last(train.tokens.clone()),
            train.labels.clone(),
        );
        let _value = loss.clone().into_scalar::<f64>();
        let f = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let grads = loss.backward();
        let b = t.elapsed().as_secs_f64();
        let t = Instant::now();
        model = optimizer.step(model, &leaves, &grads);
        let _sync = model.embed.W_E.clone().sum().into_scalar::<f32>();
        let s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _loss = loss_value(&model, &test);
        let e = t.elapsed().as_secs_f64();
        if round >= 2 {
            forward += f;
            backward += b;
            step += s;
            test_loss += e;
        }
    }
    let n = rounds as f64;
    println!(
        "per epoch: train forward {:.4} s, backward {:.4} s, AdamW {:.4} s, test loss {:.4} s",
        forward / n,
        backward / n,
        step / n,
        test_loss / n
    );
    let t = Instant::now();
    for _ in 0..rounds {
        let logits = model.forward_last(test.tokens.clone());
        let _sync = logits.sum().into_scalar::<f32>();
    }
    let logits_only = t.elapsed().as_secs_f64() / n;
    let t = Instant::now();
    for _ in 0..rounds {
        let logits = model.forward_last(test.tokens.clone());
        let _loss = cross_entropy_f64(logits, test.labels.clone()).into_scalar::<f64>();
    }
    println!(
        "test: logits {logits_only:.4} s, logits + f64 loss {:.4} s",
        t.elapsed().as_secs_f64() / n
    );
    let t = Instant::now();
    for _ in 0..rounds {
        let (_l, m) = train_step(model, &mut optimizer, &train);
        model = m;
    }
    println!("train_step alone {:.4} s", t.elapsed().as_secs_f64() / n);
}
