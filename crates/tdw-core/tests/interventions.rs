//! Frequency-gain interventions: the hook in both engines (checked equal), and an intervened
//! variant trained, stored, found, analyzed and drawn like any other.

use std::path::{Path, PathBuf};

use ndarray::ArrayView2;
use tdw_core::analysis::AnalysisEvent;
use tdw_core::intervention::{FrequencyDirections, FrequencyGain};
use tdw_core::model::hook::AttnOutHook;
use tdw_core::train::engine::{Engine, FreshRun};
use tdw_core::{AnalyzeOptions, Error, ParamValue, TrainOptions};

use crate::common;

fn block(text: &str) -> FrequencyGain {
    FrequencyGain::from_json(&serde_json::from_str(text).unwrap(), Path::new("test.json")).unwrap()
}

/// A p = 13 variant's seeded start with every frozen bias non-zero (so `b_O·M` matters).
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

/// Dampens frequencies 2 and 5 and boosts 4, with directions from the start's embedding.
fn hook(run: &FreshRun) -> AttnOutHook {
    let w_e = &run.start.state["embed.W_E"];
    let view = ArrayView2::from_shape((w_e.shape[0], w_e.shape[1]), &w_e.data).unwrap();
    let directions = FrequencyDirections::from_embedding(view, 13);
    let config = block(
        r#"{"type":"frequency_gain","target_frequencies":[2,4,5],"gain":{"2":0.3,"4":3.0,"5":0.1},"epoch_start":0,"epoch_end":100,"ramp_epochs":0}"#,
    );
    config.hook_at(10, &directions).unwrap()
}

#[test]
fn the_hook_trains_the_same_in_the_fused_and_the_burn_engine() {
    let device = tdw_core::default_device();
    let hook = hook(&problem());
    let mut fused = problem().stepper(Engine::Fused, &device).unwrap();
    let mut burn = problem().stepper(Engine::Burn, &device).unwrap();
    let mut plain = problem().stepper(Engine::Fused, &device).unwrap();
    let mut gap = 0.0f64;
    for epoch in 0..12 {
        fused.set_attn_out_hook(Some(hook.clone())).unwrap();
        burn.set_attn_out_hook(Some(hook.clone())).unwrap();
        let (f, b, p) = (fused.step(), burn.step(), plain.step());
        assert!(
            ((f - b) / b).abs() < 1e-5,
            "epoch {epoch}: fused {f}, burn {b}"
        );
        let (ft, bt) = (fused.test_loss(), burn.test_loss());
        assert!(
            ((ft - bt) / bt).abs() < 1e-5,
            "epoch {epoch} test: {ft} vs {bt}"
        );
        plain.test_loss();
        gap = gap.max(((f - p) / p).abs());
    }
    // The hook changes training (else the comparison above proves nothing).
    assert!(gap > 1e-3, "hooked and plain losses differ by only {gap}");
    // The weights it leads to agree too, W_O (whose gradient the fused engine carries back
    // through M) included.
    let (fs, bs) = (fused.state(), burn.state());
    for name in [
        "blocks.0.attn.W_O",
        "embed.W_E",
        "blocks.0.mlp.W_in",
        "unembed.W_U",
    ] {
        let (a, b) = (&fs[name].data, &bs[name].data);
        let scale = b.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let worst = a
            .iter()
            .zip(b)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(worst <= 1e-4 * scale, "{name}: {worst} vs {scale}");
    }
}

#[test]
fn an_mlp_family_refuses_an_intervention() {
    let (registry, _results) = common::registry();
    let family = registry
        .families()
        .find(|f| f.name().contains("mlp"))
        .expect("an MLP family ships")
        .name()
        .to_string();
    let variant = registry
        .create_variant_from_text(&family, [("prime", "11")])
        .unwrap();
    let config = block(
        r#"{"type":"frequency_gain","target_frequencies":[2],"gain":{"2":0.5},"epoch_start":0,"epoch_end":5}"#,
    );
    let err = variant
        .create_intervention(config, Path::new("x.json"))
        .unwrap_err();
    assert!(err.to_string().contains("hook_attn_out"), "{err}");
}

fn analyzers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analyzers")
}

#[test]
fn an_intervened_variant_trains_from_its_parents_start_and_is_a_variant_everywhere() {
    let (registry, _results) = common::registry();
    let parent = registry
        .create_variant_from_text("modulo_addition_1layer", [("prime", "11")])
        .unwrap();
    let trained = common::train(&parent, 60, &[0, 10, 20, 30, 40], 0.5);
    let config = block(
        r#"{"type":"frequency_gain","target_heads":"all","target_frequencies":[1,3],"gain":{"1":0.3,"3":0.5},"epoch_start":20,"epoch_end":50,"ramp_epochs":5}"#,
    );
    let name = config.name();
    assert_eq!(name.len(), 8);
    let device = tdw_core::default_device();
    let (child, result) = parent
        .intervene(
            config.clone(),
            Path::new("test.json"),
            &TrainOptions::default(),
            &device,
            &mut tdw_core::NoProgress,
        )
        .unwrap();

    // Stored under the parent, named by the hash, with the parent's settings and the block.
    assert_eq!(child.dir(), parent.dir().join("interventions").join(&name));
    assert_eq!(
        child.name(),
        format!("{}/interventions/{name}", parent.name())
    );
    let stored = child.model_config_json().unwrap();
    let parent_config = parent.model_config_json().unwrap();
    for (key, value) in &parent_config {
        assert_eq!(stored.get(key), Some(value), "config.json key {key}");
    }
    assert_eq!(
        stored["intervention"],
        serde_json::Value::Object(config.raw.clone())
    );
    // Default settings are the parent's: 60 epochs, its schedule (epoch_start is in it).
    assert_eq!(result.checkpoint_epochs, vec![0, 10, 20, 30, 40, 59]);
    // The same run as the parent's until the hook first acts (r(20) = 0, r(21) = 0.2), then
    // another; the test loss is the plain model's, so it equals the parent's up to 20 too.
    for epoch in 0..=20 {
        assert_eq!(
            result.train_losses[epoch], trained.train_losses[epoch],
            "epoch {epoch}"
        );
        assert_eq!(
            result.test_losses[epoch], trained.test_losses[epoch],
            "epoch {epoch}"
        );
    }
    assert_ne!(result.train_losses[21], trained.train_losses[21]);
    assert_ne!(result.test_losses[21], trained.test_losses[21]);
    assert_eq!(
        std::fs::read(child.checkpoint_path(20)).unwrap(),
        std::fs::read(parent.checkpoint_path(20)).unwrap()
    );

    // Found by its name and listed under its parent; a second one of the same block refused.
    assert_eq!(registry.find_variant(child.name()).unwrap(), child);
    assert_eq!(parent.interventions().unwrap(), vec![child.clone()]);
    assert_ne!(child, parent);
    let again = parent
        .intervene(
            config.clone(),
            Path::new("test.json"),
            &TrainOptions::default(),
            &device,
            &mut tdw_core::NoProgress,
        )
        .unwrap_err();
    assert!(matches!(again, Error::InterventionExists { .. }), "{again}");
    let unknown = registry
        .find_variant(&format!("{}/interventions/nothing", parent.name()))
        .unwrap_err();
    assert!(unknown.to_string().contains(child.name()), "{unknown}");

    // The analysis runs the family's analyzers and the check; the check's view draws.
    let options = AnalyzeOptions {
        analyzers: Some(vec![
            "dominant_frequencies".into(),
            "intervention_check".into(),
        ]),
        analyzers_dir: Some(analyzers_dir()),
        ..Default::default()
    };
    let report = child
        .analyze(&options, &mut |_: &AnalysisEvent| {})
        .unwrap();
    assert_eq!(report.epochs_analyzed, vec![0, 10, 20, 30, 40, 59]);
    let loader = tdw_core::analysis::loader::ArtifactLoader::new(child.artifacts_dir());
    let at = |epoch| loader.load_epoch("intervention_check", epoch).unwrap();
    let vector = |a: &tdw_core::formats::artifact::Artifact, key: &str| -> Vec<f32> {
        a.f32(key).unwrap().iter().copied().collect()
    };
    // Outside the window the bars are equal; at full strength (epoch 30, ramp 1) frequency 1
    // keeps 0.3 and 3 keeps 0.5 of its amplitude while an untargeted one keeps all of it — to
    // within the cross terms between the (not orthogonalised) directions.
    let before = at(10);
    assert_eq!(vector(&before, "ramp"), vec![0.0]);
    assert_eq!(
        vector(&before, "baseline_rms"),
        vector(&before, "modified_rms")
    );
    let full = at(30);
    assert_eq!(vector(&full, "ramp"), vec![1.0]);
    let (b, m) = (vector(&full, "baseline_rms"), vector(&full, "modified_rms"));
    assert_eq!(b.len(), 5);
    assert_eq!(vector(&full, "gain"), vec![0.3, 1.0, 0.5, 1.0, 1.0]);
    assert!((m[0] / b[0] - 0.3).abs() < 0.1, "{b:?} {m:?}");
    assert!((m[2] / b[2] - 0.5).abs() < 0.1, "{b:?} {m:?}");
    assert!(
        m[0] / b[0] < m[2] / b[2] && m[2] / b[2] < m[1] / b[1],
        "{b:?} {m:?}"
    );
    let svg = child
        .at(30)
        .view("intervention.check")
        .unwrap()
        .figure()
        .unwrap();
    assert!(
        svg.svg()
            .contains("Intervention Check — Epoch 30 (window 20–50 active, ramp 1.00)")
    );
    assert!(svg.svg().contains("RMS Amplitude"));
    // The parent has no check (it is not intervened).
    assert!(!parent.available_views().contains(&"intervention.check"));
}

#[test]
fn a_window_the_parent_has_no_checkpoint_at_is_refused_leaving_nothing() {
    let (registry, _results) = common::registry();
    let parent = registry
        .create_variant_from_text("modulo_addition_1layer", [("prime", "11")])
        .unwrap();
    common::train(&parent, 30, &[0, 10], 0.5);
    let config = block(
        r#"{"type":"frequency_gain","target_frequencies":[2],"gain":{"2":0.5},"epoch_start":15,"epoch_end":25,"label":"late"}"#,
    );
    let err = parent
        .intervene(
            config,
            Path::new("test.json"),
            &TrainOptions::default(),
            &tdw_core::default_device(),
            &mut tdw_core::NoProgress,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::MissingCheckpoint { epoch: 15, .. }),
        "{err}"
    );
    assert!(!parent.dir().join("interventions").exists());
    // A frequency beyond p/2 is refused before anything is made.
    let high = block(
        r#"{"type":"frequency_gain","target_frequencies":[6],"gain":{"6":0.5},"epoch_start":0,"epoch_end":5}"#,
    );
    let err = parent
        .create_intervention(high, Path::new("x.json"))
        .unwrap_err();
    assert!(
        err.to_string().contains("frequency 6 is beyond p/2 = 5"),
        "{err}"
    );
}
