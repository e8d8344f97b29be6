//! The notebook entry points' contract for bad input, as the CLI's (crates/tdw-core/tests/cli.rs):
//! an `Err` whose message is one line naming the value or file, no panic, and nothing on disk
//! changed or left behind. These are the functions a cell calls; the kernel only shows the error.

use std::path::Path;

use tdw_kernel_ext::prelude::*;

#[path = "../../tdw-core/tests/snapshot.rs"]
mod snapshot;
use snapshot::snapshot;

#[test]
fn bad_inputs_to_the_notebook_entry_points_are_one_line_errors_that_change_nothing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let results =
        std::env::temp_dir().join(format!("tdw-notebook-bad-inputs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&results);
    // SAFETY: the only test in this binary, so no other thread reads the environment meanwhile.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("TDW_RESULTS_DIR", &results);
        std::env::set_var("TDW_MODEL_FAMILIES_DIR", root.join("model_families"));
        std::env::set_var("TDW_ANALYZERS_DIR", root.join("analyzers"));
    }
    let trained = variant("modulo_addition_1layer", "prime=13 seed=1").unwrap();
    train(&trained, &Training::epochs(5)).unwrap();
    let fresh = variant("modulo_addition_1layer", "prime=5 seed=2").unwrap();
    let other = variant("modulo_addition_1layer", "prime=13 seed=3").unwrap();

    let before = snapshot(&results);
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown family", err(variant("nope", "")), "not found in"),
        (
            "not prime",
            err(variant("modulo_addition_1layer", "prime=21")),
            "21 is not prime",
        ),
        (
            "too large",
            err(variant("modulo_addition_1layer", "prime=100003")),
            "largest supported modulus",
        ),
        (
            "negative seed",
            err(variant("modulo_addition_1layer", "seed=-1")),
            "must be >= 0",
        ),
        (
            "beyond i64",
            err(variant(
                "modulo_addition_1layer",
                "seed=99999999999999999999",
            )),
            "integer range",
        ),
        (
            "unknown parameter",
            err(variant("modulo_addition_1layer", "width=3")),
            "no parameter 'width'",
        ),
        (
            "not NAME=VALUE",
            err(variant("modulo_addition_1layer", "prime")),
            "expected NAME=VALUE",
        ),
        (
            "not an integer",
            err(variant("modulo_addition_1layer", "prime=abc")),
            "expected an integer",
        ),
        (
            "unknown variant",
            err(find_variant("no_such_variant")),
            "not found",
        ),
        (
            "empty split",
            err(train(&fresh, &Training::epochs(3).fraction(0.01))),
            "training set empty",
        ),
        (
            "fraction 1.5",
            err(train(&other, &Training::epochs(3).fraction(1.5))),
            "training_fraction",
        ),
        (
            "zero epochs",
            err(train(&other, &Training::epochs(0))),
            "epochs",
        ),
        (
            "lr 0",
            err(train(&other, &Training::epochs(3).learning_rate(0.0))),
            "learning_rate",
        ),
        (
            "lr NaN",
            err(train(&other, &Training::epochs(3).learning_rate(f64::NAN))),
            "learning_rate",
        ),
        (
            "negative wd",
            err(train(&other, &Training::epochs(3).weight_decay(-1.0))),
            "weight_decay",
        ),
        (
            "lr·wd ≥ 1",
            err(train(
                &other,
                &Training::epochs(3).learning_rate(0.5).weight_decay(3.0),
            )),
            "below 1",
        ),
        (
            "resume with another lr",
            err(train(
                &trained,
                &Training::epochs(8).resume().learning_rate(0.01),
            )),
            "trained with learning_rate",
        ),
        (
            "unknown analyzer",
            err(artifact(&trained, "magic", 0)),
            "magic",
        ),
        (
            "epoch never analyzed",
            err(artifact(&trained, "neuron_freq_norm", 3)),
            "neuron_freq_norm",
        ),
        (
            "unknown view",
            err(trained.view("nope")),
            "unknown view 'nope'",
        ),
        (
            "view without data",
            err(trained
                .at(4)
                .view("parameters.embeddings.fourier_coefficients")
                .and_then(|v| v.figure())
                .map(|_| ())),
            "not available",
        ),
    ];
    for (what, message, expected) in &cases {
        assert!(
            message.contains(expected),
            "{what}: expected '{expected}' in: {message}"
        );
        assert!(
            !message.contains('\n'),
            "{what}: more than one line: {message}"
        );
    }
    assert_eq!(snapshot(&results), before);
    assert!(
        !fresh.dir().exists(),
        "the refused variant left {}",
        fresh.dir().display()
    );
    assert!(
        !other.dir().exists(),
        "a refused variant left {}",
        other.dir().display()
    );
    let _ = std::fs::remove_dir_all(&results);
}

/// The error text of a call that must fail.
fn err<T: std::fmt::Debug>(result: tdw_core::Result<T>) -> String {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.to_string(),
    }
}
