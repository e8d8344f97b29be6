//! The fused one-layer engine against burn's autodiff: same losses, same gradients (to f32
//! rounding), and the same loss curve over a short run.

use std::collections::HashMap;

use burn_tensor::{Gradients, Tensor};
use tdw_core::ParamValue;
use tdw_core::model::transformer::{Transformer, WeightMapper};
use tdw_core::train::HostAdamW;
use tdw_core::train::engine::FreshRun;
use tdw_core::train::fused::FusedTrainer;
use tdw_core::train::{AdamW, Batch, loss_and_gradients, loss_value, train_step};

use crate::common;

/// A p = 13 variant of the one-layer family from its seeded initial weights, with every frozen
/// bias set to small non-zero values (so their terms are exercised), on its 30% split.
fn problem() -> FreshRun {
    let (registry, _results) = common::registry();
    let params = [
        ("prime".to_string(), ParamValue::Int(13)),
        ("seed".to_string(), ParamValue::Int(3)),
    ]
    .into_iter()
    .collect();
    let variant = registry
        .create_variant("modulo_addition_1layer", params)
        .unwrap();
    let mut run = variant.fresh_run(None).unwrap();
    for (name, tensor) in run.start.state.iter_mut() {
        if tdw_core::model::config::is_bias(name) {
            for (i, x) in tensor.data.iter_mut().enumerate() {
                *x = 0.05 * ((i as f32) * 0.7 + name.len() as f32).sin();
            }
        }
    }
    run
}

fn fused(problem: &FreshRun) -> FusedTrainer {
    FusedTrainer::new(
        &problem.config,
        problem.start.state.clone(),
        HostAdamW::new(problem.adamw),
        &problem.train,
        &problem.test,
    )
    .unwrap()
}

fn autodiff_gradients(model: &Transformer, batch: &Batch) -> (f64, HashMap<String, Vec<f32>>) {
    struct Collect<'a> {
        grads: &'a Gradients,
        found: HashMap<String, Vec<f32>>,
    }
    impl WeightMapper for Collect<'_> {
        fn map<const D: usize>(&mut self, name: &str, weight: Tensor<D>) -> Tensor<D> {
            if let Some(grad) = weight.grad(self.grads) {
                let data = grad.to_data().convert::<f32>();
                let values = data.as_slice::<f32>().expect("f32 gradient").to_vec();
                self.found.insert(name.to_string(), values);
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

#[test]
fn fused_gradients_match_autodiff_for_every_trainable_weight() {
    // Every row ends in "=": one query slot, one own row read by every row.
    gradients_match_autodiff(problem());
}

#[test]
fn fused_gradients_match_autodiff_without_a_constant_position() {
    // Last tokens that vary from row to row: several query slots and own rows.
    let mut problem = problem();
    for data in [&mut problem.train, &mut problem.test] {
        let n_ctx = data.n_ctx;
        for (row, tokens) in data.tokens.chunks_mut(n_ctx).enumerate() {
            tokens[n_ctx - 1] = (row % 3) as i64 * 5 + 1;
        }
    }
    gradients_match_autodiff(problem);
}

fn gradients_match_autodiff(problem: FreshRun) {
    let device = tdw_core::default_device();
    let model = Transformer::from_state(&problem.config, &problem.start.state, &device);
    let batch = Batch::new(&problem.train, &device);
    let (burn_loss, burn_grads) = autodiff_gradients(&model, &batch);

    let mut fused = fused(&problem);
    let fused_loss = fused.train_loss();
    assert!(
        ((fused_loss - burn_loss) / burn_loss).abs() < 1e-6,
        "train loss: fused {fused_loss}, burn {burn_loss}"
    );
    let test_loss = fused.test_loss();
    let burn_test = loss_value(&model, &Batch::new(&problem.test, &device));
    assert!(((test_loss - burn_test) / burn_test).abs() < 1e-6);

    let fused_grads = fused.gradients();
    assert_eq!(
        fused_grads.len(),
        burn_grads.len(),
        "the same trainable set"
    );
    for (name, ours) in &fused_grads {
        let theirs = &burn_grads[*name];
        assert_eq!(ours.len(), theirs.len(), "{name}");
        let scale = theirs.iter().fold(0.0f32, |a, &x| a.max(x.abs()));
        let worst = ours
            .iter()
            .zip(theirs)
            .fold(0.0f32, |a, (x, y)| a.max((x - y).abs()));
        println!("{name}: max |grad| {scale:.3e}, max difference {worst:.3e}");
        assert!(scale > 0.0, "{name} has a gradient");
        assert!(worst <= 1e-4 * scale, "{name}: {worst} vs scale {scale}");
    }
}

#[test]
fn fused_and_burn_engines_follow_the_same_loss_curve() {
    let problem = problem();
    let device = tdw_core::default_device();
    let mut model = Transformer::from_state(&problem.config, &problem.start.state, &device);
    let mut adamw = AdamW::new(problem.adamw);
    let train = Batch::new(&problem.train, &device);
    let test = Batch::new(&problem.test, &device);
    let mut fused = fused(&problem);
    for epoch in 0..40 {
        let (burn_train, updated) = train_step(model, &mut adamw, &train);
        model = updated;
        let burn_test = loss_value(&model, &test);
        let fused_train = fused.step();
        let fused_test = fused.test_loss();
        for (what, a, b) in [
            ("train", fused_train, burn_train),
            ("test", fused_test, burn_test),
        ] {
            assert!(
                ((a - b) / b).abs() < 1e-3,
                "epoch {epoch} {what} loss: fused {a}, burn {b}"
            );
        }
    }
    // The optimizer states name the same weights with the same sizes.
    let (burn_step, burn_moments) = adamw.export();
    let (fused_step, fused_moments) = fused.optimizer_state();
    assert_eq!(burn_step, fused_step);
    let names = |m: &tdw_core::train::state::Moments| {
        m.iter()
            .map(|(n, a, _)| (n.clone(), a.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&burn_moments), names(&fused_moments));
}

/// p = 31 on 60% of the pairs: memorises by ~150 epochs, groks near epoch 950 and cleans up
/// to ~3e-6 by 2,000 with every engine (and in f64). Small enough for CI (~40 s in all), and,
/// unlike the main job's p = 59 at 50%, its cleanup does not hinge on the rounding of its
/// first 30 epochs (see `examples/ensemble.rs` and the issue note on the fused cleanup phase).
fn cleanup_problem() -> FreshRun {
    one_layer_run(31, 0.6)
}

/// The one-layer variant of `prime` (seed 999, data_seed 598) from its seeded initial weights,
/// on a `fraction` of the pairs.
fn one_layer_run(prime: i64, fraction: f64) -> FreshRun {
    let (registry, _results) = common::registry();
    let params = [
        ("prime".to_string(), ParamValue::Int(prime)),
        ("seed".to_string(), ParamValue::Int(999)),
        ("data_seed".to_string(), ParamValue::Int(598)),
    ]
    .into_iter()
    .collect();
    let variant = registry
        .create_variant("modulo_addition_1layer", params)
        .unwrap();
    variant.fresh_run(Some(fraction)).unwrap()
}

/// The `q`-quantile of the per-entry relative errors `|x − y| / |y|` of `ours` against `truth`.
fn relative_error_quantile(ours: &[f32], truth: &[f32], q: f64) -> f64 {
    let mut rel: Vec<f64> = ours
        .iter()
        .zip(truth)
        .map(|(&x, &y)| (x - y).abs() as f64 / (y.abs() as f64).max(1e-30))
        .collect();
    rel.sort_by(|a, b| a.total_cmp(b));
    rel[((rel.len() - 1) as f64 * q) as usize]
}

#[test]
fn fused_engine_is_faithful_through_grokking_and_cleanup() {
    const EPOCHS: usize = 2000;
    const BRANCH: usize = 1200;
    let problem = cleanup_problem();
    let device = tdw_core::default_device();
    let mut model = Transformer::from_state(&problem.config, &problem.start.state, &device);
    let mut adamw = AdamW::new(problem.adamw);
    let train = Batch::new(&problem.train, &device);
    let test = Batch::new(&problem.test, &device);
    let mut fused = fused(&problem);

    // 1. Both engines from the same initial weights: the fused test loss, once below 0.01,
    //    stays below it, and both end within a small factor of each other.
    let (mut burn_test, mut fused_test) = (Vec::new(), Vec::new());
    let mut branch_point = None;
    for epoch in 0..EPOCHS {
        if epoch == BRANCH {
            branch_point = Some((model.to_state(), adamw.export()));
        }
        let (_, updated) = train_step(model, &mut adamw, &train);
        model = updated;
        burn_test.push(loss_value(&model, &test));
        fused.step();
        fused_test.push(fused.test_loss());
    }
    let grokked = |curve: &[f64]| curve.iter().position(|&l| l < 0.01);
    let fused_grok = grokked(&fused_test).expect("the fused run groks");
    let burn_grok = grokked(&burn_test).expect("the burn run groks");
    println!(
        "grokking: fused {fused_grok}, burn {burn_grok}; final test loss fused {:.3e}, burn {:.3e}",
        fused_test[EPOCHS - 1],
        burn_test[EPOCHS - 1]
    );
    let worst_after = fused_test[fused_grok..].iter().cloned().fold(0.0, f64::max);
    assert!(
        worst_after < 0.01,
        "the fused test loss climbed back to {worst_after:.3e} after grokking at {fused_grok}"
    );
    assert!(
        fused_grok.abs_diff(burn_grok) < 50,
        "{fused_grok} vs {burn_grok}"
    );
    let ratio = fused_test[EPOCHS - 1] / burn_test[EPOCHS - 1];
    assert!(
        (1.0 / 3.0..3.0).contains(&ratio),
        "final test losses: fused {:.3e}, burn {:.3e}",
        fused_test[EPOCHS - 1],
        burn_test[EPOCHS - 1]
    );

    // 2. At a post-grokking state, the fused gradients are as close to the f64 reference,
    //    entry by entry, as burn's f32 autodiff is.
    let (state, (step, moments)) = branch_point.expect("branch point reached");
    let at_branch = Transformer::from_state(&problem.config, &state, &device);
    let (_, burn_grads) = autodiff_gradients(&at_branch, &train);
    let (_, truth) = autodiff_gradients(
        &at_branch.clone().with_dtype(burn_tensor::DType::F64),
        &train,
    );
    let mut branched = FusedTrainer::new(
        &problem.config,
        state,
        HostAdamW::restore(problem.adamw, step, moments),
        &problem.train,
        &problem.test,
    )
    .unwrap();
    for (name, ours) in branched.gradients() {
        let fused_p90 = relative_error_quantile(&ours, &truth[name], 0.9);
        let burn_p90 = relative_error_quantile(&burn_grads[name], &truth[name], 0.9);
        println!("{name}: p90 relative error vs f64: fused {fused_p90:.2e}, burn {burn_p90:.2e}");
        assert!(
            fused_p90 <= 3.0 * burn_p90 + 1e-6,
            "{name}: fused p90 relative error {fused_p90:.2e}, burn's {burn_p90:.2e}"
        );
    }

    // 3. From burn's weights and moments at that state, the fused engine follows burn's
    //    cleanup curve epoch by epoch (the cleanup dynamics are stable: no rounding is amplified).
    //    Over 300 epochs the two stay within 5% (the rounding differences grow slowly: ~2% by
    //    epoch 1,536); a biased cleanup (a climb from 1e-5 to 1e-2) is orders of magnitude.
    let mut worst: f64 = 0.0;
    for (epoch, &burn) in burn_test.iter().enumerate().skip(BRANCH).take(300) {
        branched.step();
        let ours = branched.test_loss();
        worst = worst.max(((ours - burn) / burn).abs());
        assert!(
            ((ours - burn) / burn).abs() < 0.05,
            "epoch {epoch}: fused {ours:.4e} from burn's state, burn {burn:.4e}"
        );
    }
    println!(
        "from burn's state at {BRANCH}: test losses within {:.2}% for 300 epochs",
        100.0 * worst
    );
}

/// The main job's variant (p = 59, seed 999, data_seed 598, fraction 0.5) is one whose cleanup
/// hinges on rounding: in f32, whether the test loss stays down after grokking or climbs back
/// (to 1e-3 … 1e-1, while the train loss keeps falling) is decided in the memorisation phase,
/// and a one-ulp change of one initial weight flips it. Faithful engines stay in about half of
/// such runs (PyTorch 2 of 5, burn 4 of 7, this engine 8 of 13), the f64 reference in all. The
/// fused engine with its former constant-position fold (see `train/fused/tables.rs`) climbed in
/// 18 of 18, from a gradient that matched autodiff per entry as well as the unfolded one: only
/// training through cleanup shows such a bias. Five runs, the unperturbed one and `W_E` entries
/// 0–3 moved by one ulp (`examples/ensemble.rs` members `- 0 1 2 3`): at least two must stay
/// (end below 1e-4, never back above 0.01 once below). ~70 s on 2 cores.
#[test]
fn the_main_jobs_variant_cleans_up_in_most_perturbed_runs() {
    const EPOCHS: usize = 1500;
    let mut outcomes = Vec::new();
    for member in [None, Some(0), Some(1), Some(2), Some(3)] {
        let mut problem = one_layer_run(59, 0.5);
        if let Some(k) = member {
            let w = &mut problem.start.state.get_mut("embed.W_E").unwrap().data[k];
            *w = f32::from_bits(w.to_bits() + 1);
        }
        let mut fused = fused(&problem);
        let mut test = Vec::with_capacity(EPOCHS);
        for _ in 0..EPOCHS {
            fused.step();
            test.push(fused.test_loss());
        }
        let grok = test.iter().position(|&l| l < 0.01);
        let worst_after = grok.map_or(f64::INFINITY, |g| {
            test[g..].iter().cloned().fold(0.0, f64::max)
        });
        let last = test[EPOCHS - 1];
        println!(
            "member {member:?}: grokked at {grok:?}, worst after {worst_after:.2e}, final {last:.2e}"
        );
        assert!(grok.is_some(), "member {member:?} never grokked");
        outcomes.push(worst_after < 0.01 && last < 1e-4);
    }
    let stayed = outcomes.iter().filter(|&&s| s).count();
    assert!(
        stayed >= 2,
        "the test loss stayed down after grokking in {stayed} of 5 runs ({outcomes:?})"
    );
}
