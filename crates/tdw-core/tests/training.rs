//! A short training run: every file written, found again by a fresh registry, never overwritten
//! silently.

use indexmap::IndexMap;
use tdw_core::{Error, FamilyRegistry, ParamValue, TrainEvent, TrainOptions, VariantState};

use crate::common;

fn small_params() -> IndexMap<String, ParamValue> {
    [
        ("prime".to_string(), ParamValue::Int(13)),
        ("seed".to_string(), ParamValue::Int(1)),
    ]
    .into_iter()
    .collect()
}

#[test]
fn short_run_writes_reference_layout_and_is_rediscovered() {
    let (registry, results) = common::registry();
    let variant = registry
        .create_variant("modulo_addition_1layer", small_params())
        .unwrap();
    let past_the_end = TrainOptions {
        num_epochs: Some(30),
        checkpoint_epochs: Some(vec![0, 10, 20, 100]),
        ..Default::default()
    };
    let err = variant
        .train(
            &past_the_end,
            &tdw_core::default_device(),
            &mut tdw_core::NoProgress,
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("past the run's last epoch 29"),
        "{err}"
    );
    let options = TrainOptions {
        num_epochs: Some(30),
        checkpoint_epochs: Some(vec![0, 10, 20]),
        training_fraction: Some(0.5),
        ..Default::default()
    };
    let mut events = Vec::new();
    let result = variant
        .train(
            &options,
            &tdw_core::default_device(),
            &mut |e: &TrainEvent| events.push(e.clone()),
        )
        .unwrap();
    assert_eq!(result.checkpoint_epochs, vec![0, 10, 20, 29]);
    assert_eq!(result.train_losses.len(), 30);
    assert!(
        result.final_train_loss < result.train_losses[0],
        "training lowers the train loss"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, TrainEvent::Epoch { .. }))
            .count(),
        30
    );
    assert!(matches!(
        events.first(),
        Some(TrainEvent::Started {
            total_epochs: 30,
            ..
        })
    ));
    assert!(matches!(events.last(), Some(TrainEvent::Finished { .. })));

    // config.json: MIScope's keys in MIScope's order.
    let config: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(variant.config_path()).unwrap()).unwrap();
    let keys: Vec<&str> = config.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "n_layers",
            "n_heads",
            "d_model",
            "d_head",
            "d_mlp",
            "act_fn",
            "normalization_type",
            "d_vocab",
            "d_vocab_out",
            "n_ctx",
            "seed",
            "prime",
            "data_seed",
            "model_seed",
            "training_fraction"
        ]
    );
    assert_eq!(config["d_vocab"], 14);
    assert_eq!(config["training_fraction"], 0.5);

    // metadata.json: MIScope's keys in order, consistent lengths.
    let text = std::fs::read_to_string(variant.metadata_path()).unwrap();
    let raw: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = raw.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "train_losses",
            "test_losses",
            "train_indices",
            "test_indices",
            "checkpoint_epochs",
            "num_epochs"
        ]
    );
    let metadata = variant.metadata().unwrap();
    assert_eq!(metadata.train_indices.len(), 84);
    assert_eq!(
        metadata.train_indices.len() + metadata.test_indices.len(),
        169
    );
    assert_eq!(metadata.test_losses, result.test_losses);

    // Checkpoints load back into a model of the right size.
    assert_eq!(variant.checkpoints().unwrap(), vec![0, 10, 20, 29]);
    let model = variant.load_model(29, &tdw_core::default_device()).unwrap();
    assert_eq!(model.config().d_vocab_out, 13);
    let state = variant.load_checkpoint(29).unwrap();
    assert!(
        state["blocks.0.mlp.b_in"].data.iter().all(|&b| b == 0.0),
        "biases never train"
    );
    assert_ne!(
        state["blocks.0.mlp.W_in"],
        variant.load_checkpoint(0).unwrap()["blocks.0.mlp.W_in"]
    );

    // Nothing temporary is left behind.
    for entry in std::fs::read_dir(variant.checkpoints_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with("checkpoint_epoch_") || name == "optimizer_state.safetensors",
            "stray file {name}"
        );
    }

    // A fresh registry finds the run from the directory alone.
    let fresh = FamilyRegistry::open(&common::families_dir(), results.path()).unwrap();
    let found = fresh.variants("modulo_addition_1layer").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].state(), VariantState::Trained);
    assert_eq!(found[0].metadata().unwrap(), metadata);
}

#[test]
fn trained_variant_is_not_overwritten_without_force() {
    let (registry, _results) = common::registry();
    let variant = registry
        .create_variant("modulo_addition_1layer", small_params())
        .unwrap();
    let device = tdw_core::default_device();
    let first = TrainOptions {
        num_epochs: Some(5),
        ..Default::default()
    };
    variant
        .train(&first, &device, &mut tdw_core::NoProgress)
        .unwrap();
    let before = std::fs::read(variant.checkpoint_path(4)).unwrap();

    let err = variant
        .train(&first, &device, &mut tdw_core::NoProgress)
        .unwrap_err();
    assert!(
        matches!(err, Error::AlreadyTrained { checkpoints: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--force"));
    assert_eq!(
        std::fs::read(variant.checkpoint_path(4)).unwrap(),
        before,
        "refusal leaves files intact"
    );

    let again = TrainOptions {
        num_epochs: Some(3),
        overwrite: true,
        ..Default::default()
    };
    variant
        .train(&again, &device, &mut tdw_core::NoProgress)
        .unwrap();
    assert_eq!(
        variant.checkpoints().unwrap(),
        vec![0, 2],
        "old checkpoints are gone after a forced retrain"
    );
    assert_eq!(variant.metadata().unwrap().num_epochs, 3);
}

#[test]
fn training_is_deterministic() {
    let (registry, _results) = common::registry();
    let a = registry
        .create_variant("modulo_addition_1layer", small_params())
        .unwrap();
    let options = TrainOptions {
        num_epochs: Some(8),
        ..Default::default()
    };
    let first = a
        .train(
            &options,
            &tdw_core::default_device(),
            &mut tdw_core::NoProgress,
        )
        .unwrap();
    let again = TrainOptions {
        overwrite: true,
        ..options
    };
    let second = a
        .train(
            &again,
            &tdw_core::default_device(),
            &mut tdw_core::NoProgress,
        )
        .unwrap();
    assert_eq!(first.train_losses, second.train_losses);
    assert_eq!(first.test_losses, second.test_losses);
}

#[test]
fn bad_training_options_are_errors() {
    let (registry, _results) = common::registry();
    let variant = registry
        .create_variant("modulo_addition_1layer", small_params())
        .unwrap();
    let device = tdw_core::default_device();
    let zero = TrainOptions {
        num_epochs: Some(0),
        ..Default::default()
    };
    assert!(
        variant
            .train(&zero, &device, &mut tdw_core::NoProgress)
            .unwrap_err()
            .to_string()
            .contains("epochs")
    );
    for fraction in [0.0, 1.0, 1.2] {
        let options = TrainOptions {
            num_epochs: Some(2),
            training_fraction: Some(fraction),
            ..Default::default()
        };
        let err = variant
            .train(&options, &device, &mut tdw_core::NoProgress)
            .unwrap_err();
        assert!(err.to_string().contains("training_fraction"), "{err}");
    }
    assert_eq!(
        variant.state(),
        VariantState::Untrained,
        "a rejected run writes no checkpoint"
    );
}

#[test]
fn a_variant_busy_in_another_process_is_refused() {
    let (registry, _results) = common::registry();
    let variant = registry
        .create_variant("modulo_addition_1layer", small_params())
        .unwrap();
    std::fs::create_dir_all(variant.dir()).unwrap();
    // Another holder of the OS lock (a second open file description conflicts even within this
    // process, as flock locks do) stands for another workbench process.
    let other =
        tdw_core::lock::VariantLock::acquire(variant.dir(), variant.name(), "analyze").unwrap();
    let options = TrainOptions {
        num_epochs: Some(2),
        ..Default::default()
    };
    let err = variant
        .train(
            &options,
            &tdw_core::default_device(),
            &mut tdw_core::NoProgress,
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::VariantLocked { operation, .. } if operation == "analyze"),
        "{err}"
    );
    assert_eq!(variant.state(), VariantState::Untrained);
    // Once the holder is gone the lock is free, whatever its file still says.
    drop(other);
    variant
        .train(
            &options,
            &tdw_core::default_device(),
            &mut tdw_core::NoProgress,
        )
        .unwrap();
    assert_eq!(
        tdw_core::lock::holder(variant.dir()),
        None,
        "released after training"
    );
}

/// A run stopped after epoch 14 (last checkpoint 10) and resumed continues bit for bit: the same
/// losses and byte-identical checkpoints as an uninterrupted run.
#[test]
fn resumed_training_is_bit_identical_to_an_uninterrupted_run() {
    let (registry, _results) = common::registry();
    let whole = registry
        .create_variant("modulo_addition_1layer", small_params())
        .unwrap();
    let options = TrainOptions {
        num_epochs: Some(30),
        checkpoint_epochs: Some(vec![0, 10, 20]),
        ..Default::default()
    };
    let device = tdw_core::default_device();
    let reference = whole
        .train(&options, &device, &mut tdw_core::NoProgress)
        .unwrap();

    let (registry, _results2) = common::registry();
    let split = registry
        .create_variant("modulo_addition_1layer", small_params())
        .unwrap();
    let first = TrainOptions {
        stop_after_epoch: Some(14),
        ..options.clone()
    };
    split
        .train(&first, &device, &mut tdw_core::NoProgress)
        .unwrap();
    assert_eq!(split.checkpoints().unwrap(), vec![0, 10]);
    let partial = split.metadata().unwrap();
    assert_eq!(
        partial.train_losses.len(),
        11,
        "metadata is written at every checkpoint"
    );
    assert_eq!(partial.num_epochs, 30);
    // Without --resume or --force the partial run is protected.
    assert!(
        split
            .train(&options, &device, &mut tdw_core::NoProgress)
            .is_err()
    );

    let mut first_epoch = None;
    let resumed = split
        .train(
            &TrainOptions {
                resume: true,
                ..options.clone()
            },
            &device,
            &mut |e: &TrainEvent| {
                if let TrainEvent::Started { first_epoch: f, .. } = e {
                    first_epoch = Some(*f);
                }
            },
        )
        .unwrap();
    assert_eq!(first_epoch, Some(11));
    assert_eq!(resumed.train_losses, reference.train_losses);
    assert_eq!(resumed.test_losses, reference.test_losses);
    assert_eq!(split.metadata().unwrap(), whole.metadata().unwrap());
    for epoch in [0, 10, 20, 29] {
        assert_eq!(
            std::fs::read(split.checkpoint_path(epoch)).unwrap(),
            std::fs::read(whole.checkpoint_path(epoch)).unwrap(),
            "epoch {epoch}"
        );
    }
    // Extending a finished run with more epochs continues it too.
    let extended = split
        .train(
            &TrainOptions {
                resume: true,
                num_epochs: Some(35),
                ..options
            },
            &device,
            &mut tdw_core::NoProgress,
        )
        .unwrap();
    assert_eq!(extended.train_losses.len(), 35);
    assert_eq!(&extended.train_losses[..30], &reference.train_losses[..]);
    assert_eq!(split.checkpoints().unwrap(), vec![0, 10, 20, 29, 34]);
}

/// A learning rate and weight decay other than the family's change the run, are recorded in
/// config.json (a default run's config.json has neither key, as MIScope writes it), are kept by a
/// resumed run (whose losses then equal an uninterrupted run's) and cannot be changed by one.
#[test]
fn optimizer_overrides_are_recorded_and_kept_on_resume() {
    let (registry, _results) = common::registry();
    let device = tdw_core::default_device();
    let variant_with_seed = |seed: i64| {
        let mut params = small_params();
        params.insert("seed".into(), ParamValue::Int(seed));
        registry
            .create_variant("modulo_addition_1layer", params)
            .unwrap()
    };
    let plain = variant_with_seed(1);
    let faster = variant_with_seed(2);
    let whole = variant_with_seed(3);
    let default_options = TrainOptions {
        num_epochs: Some(12),
        checkpoint_epochs: Some(vec![0, 5]),
        ..Default::default()
    };
    let overridden = TrainOptions {
        learning_rate: Some(3e-3),
        weight_decay: Some(0.5),
        ..default_options.clone()
    };
    let config_of = |v: &tdw_core::Variant| v.model_config_json().unwrap();
    plain
        .train(&default_options, &device, &mut tdw_core::NoProgress)
        .unwrap();
    assert!(!config_of(&plain).contains_key("learning_rate"));
    assert!(!config_of(&plain).contains_key("weight_decay"));

    let uninterrupted = whole
        .train(&overridden, &device, &mut tdw_core::NoProgress)
        .unwrap();
    assert_eq!(config_of(&whole)["learning_rate"], 3e-3);
    assert_eq!(config_of(&whole)["weight_decay"], 0.5);
    assert_eq!(
        tdw_core::variant::training::recorded_hyperparameters(&whole).unwrap(),
        (3e-3, 0.5)
    );
    let mut same_seed_default = default_options.clone();
    same_seed_default.overwrite = true;
    let default_losses = whole
        .train(&same_seed_default, &device, &mut tdw_core::NoProgress)
        .unwrap();
    assert_ne!(
        default_losses.train_losses[11], uninterrupted.train_losses[11],
        "the override changes the run"
    );

    // Stopped after epoch 7 (resumes from the checkpoint at 5), then resumed without options.
    let first_part = TrainOptions {
        stop_after_epoch: Some(7),
        ..overridden.clone()
    };
    faster
        .train(&first_part, &device, &mut tdw_core::NoProgress)
        .unwrap();
    let changed = TrainOptions {
        resume: true,
        learning_rate: Some(1e-3),
        ..default_options.clone()
    };
    let err = faster
        .train(&changed, &device, &mut tdw_core::NoProgress)
        .unwrap_err();
    assert!(
        err.to_string().contains("trained with learning_rate 0.003"),
        "{err}"
    );
    let resumed = faster
        .train(
            &TrainOptions {
                resume: true,
                ..default_options.clone()
            },
            &device,
            &mut tdw_core::NoProgress,
        )
        .unwrap();
    // The same variant retrained in one go (overwrite) gives the resumed run's losses.
    let twin_run = faster
        .train(
            &TrainOptions {
                overwrite: true,
                ..overridden.clone()
            },
            &device,
            &mut tdw_core::NoProgress,
        )
        .unwrap();
    assert_eq!(resumed.train_losses, twin_run.train_losses);
    assert_eq!(resumed.test_losses, twin_run.test_losses);
}

/// Bad optimizer settings are refused before anything on disk changes, even with `overwrite`.
#[test]
fn bad_optimizer_settings_leave_the_run_on_disk() {
    let (registry, _results) = common::registry();
    let variant = registry
        .create_variant("modulo_addition_1layer", small_params())
        .unwrap();
    let device = tdw_core::default_device();
    variant
        .train(
            &TrainOptions {
                num_epochs: Some(3),
                ..Default::default()
            },
            &device,
            &mut tdw_core::NoProgress,
        )
        .unwrap();
    let before = std::fs::read(variant.checkpoint_path(2)).unwrap();
    for (lr, wd, field) in [
        (Some(0.0), None, "learning_rate"),
        (Some(f64::NAN), None, "learning_rate"),
        (Some(-1e-3), None, "learning_rate"),
        (None, Some(-1.0), "weight_decay"),
        (None, Some(f64::INFINITY), "weight_decay"),
        (Some(0.5), Some(2.0), "weight_decay"),
    ] {
        let options = TrainOptions {
            num_epochs: Some(3),
            overwrite: true,
            learning_rate: lr,
            weight_decay: wd,
            ..Default::default()
        };
        let err = variant
            .train(&options, &device, &mut tdw_core::NoProgress)
            .unwrap_err();
        assert!(err.to_string().contains(field), "{lr:?} {wd:?}: {err}");
        assert_eq!(std::fs::read(variant.checkpoint_path(2)).unwrap(), before);
    }
}

/// `overwrite` moves nothing until the new run's settings have passed, and the old run comes
/// back when the new one ends before its first checkpoint (refused, interrupted, or killed: a
/// run left aside is put back by the next `train`). A refused fresh variant leaves no directory.
#[test]
fn a_forced_retrain_loses_nothing_until_its_first_checkpoint() {
    let (registry, _results) = common::registry();
    let device = tdw_core::default_device();
    let variant = registry
        .create_variant("modulo_addition_1layer", small_params())
        .unwrap();
    variant
        .train(
            &TrainOptions {
                num_epochs: Some(5),
                ..Default::default()
            },
            &device,
            &mut tdw_core::NoProgress,
        )
        .unwrap();
    let files = |v: &tdw_core::Variant| crate::snapshot::snapshot(v.dir());
    let before = files(&variant);

    // Settings refused only once the split is drawn (p = 13 at 1%: no training pair).
    let err = variant
        .train(
            &TrainOptions {
                num_epochs: Some(3),
                training_fraction: Some(0.001),
                overwrite: true,
                ..Default::default()
            },
            &device,
            &mut tdw_core::NoProgress,
        )
        .unwrap_err();
    assert!(err.to_string().contains("training set empty"), "{err}");
    assert_eq!(files(&variant), before, "refused: the old run is intact");

    // Interrupted before its first checkpoint (epoch 3): the old run is put back.
    let mut stop_at_once = StopAtOnce;
    let err = variant
        .train(
            &TrainOptions {
                num_epochs: Some(8),
                checkpoint_epochs: Some(vec![3]),
                overwrite: true,
                ..Default::default()
            },
            &device,
            &mut stop_at_once,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Interrupted { .. }), "{err}");
    assert_eq!(files(&variant), before, "interrupted: the old run is back");

    // Killed while its old run was aside: the next train puts it back first.
    let aside = variant.dir().join(".replaced-4000000");
    std::fs::create_dir_all(&aside).unwrap();
    for entry in ["checkpoints", "artifacts", "metadata.json", "config.json"] {
        let from = variant.dir().join(entry);
        if from.exists() {
            std::fs::rename(&from, aside.join(entry)).unwrap();
        }
    }
    let err = variant
        .train(
            &TrainOptions {
                num_epochs: Some(3),
                ..Default::default()
            },
            &device,
            &mut tdw_core::NoProgress,
        )
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyTrained { .. }), "{err}");
    assert_eq!(files(&variant), before, "put back by the next train");
    assert!(!aside.exists());

    // A fresh variant refused after its directory was created leaves nothing behind.
    let mut params = small_params();
    params.insert("prime".into(), ParamValue::Int(5));
    let fresh = registry
        .create_variant("modulo_addition_1layer", params)
        .unwrap();
    let err = fresh
        .train(
            &TrainOptions {
                num_epochs: Some(3),
                training_fraction: Some(0.01),
                ..Default::default()
            },
            &device,
            &mut tdw_core::NoProgress,
        )
        .unwrap_err();
    assert!(err.to_string().contains("training set empty"), "{err}");
    assert!(
        !fresh.dir().exists(),
        "{} was left behind",
        fresh.dir().display()
    );
}

/// A progress sink that asks to stop after the first epoch.
struct StopAtOnce;

impl tdw_core::Progress for StopAtOnce {
    fn event(&mut self, _event: &TrainEvent) {}
    fn should_stop(&mut self) -> bool {
        true
    }
}
