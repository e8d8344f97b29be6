//! `InitSweep`: the first gradient's spectra per seed pair, deterministic, seed-dependent, with
//! the key frequencies of an analysed variant.

use tdw_core::init_sweep::{InitSweep, Site};

use crate::common;

#[test]
fn the_sweep_is_deterministic_depends_on_the_seeds_and_checks_its_settings() {
    let (registry, _results) = common::registry();
    let family = "modulo_addition_1layer";
    let run = || InitSweep::run(&registry, family, 23, &[1, 2], &[598], 0.3, None).unwrap();
    let (a, b) = (run(), run());
    assert_eq!(a, b, "the same seeds give the same spectra");
    assert_eq!(a.candidates.len(), 2);
    assert_eq!(a.candidates[0].label(), "s1/d598");
    for c in &a.candidates {
        for site in Site::ALL {
            assert_eq!(c.energy(site).len(), 11, "k = 1..=p/2");
            assert!(c.energy(site).iter().all(|e| e.is_finite() && *e >= 0.0));
            assert!(c.energy(site).iter().any(|e| *e > 0.0), "{}", site.name());
        }
        // At initialisation the loss is about ln p.
        assert!(
            (c.initial_loss - (23f64).ln()).abs() < 0.1,
            "{}",
            c.initial_loss
        );
        for v in c.convergences() {
            assert!((-1.0..=1.0 + 1e-12).contains(&v), "{v}");
        }
    }
    assert_ne!(
        a.candidates[0].energies, a.candidates[1].energies,
        "another model seed, another first gradient"
    );
    assert!(
        a.key_frequencies.is_empty(),
        "no analysed variant of p = 23 here"
    );
    let charts = a.charts().unwrap();
    assert_eq!(charts.len(), 7, "3 profiles, 3 differences, convergence");
    assert!(a.table_text().contains("s2/d598"));

    let given = InitSweep::run(&registry, family, 23, &[1], &[598], 0.3, Some(vec![3, 7])).unwrap();
    assert_eq!(given.key_frequencies, vec![3, 7]);
    assert_eq!(
        given.charts().unwrap().len(),
        4,
        "no difference with one candidate"
    );

    let empty = InitSweep::run(&registry, family, 23, &[], &[598], 0.3, None).unwrap_err();
    assert!(empty.to_string().contains("at least one seed"), "{empty}");
    let bad = InitSweep::run(&registry, family, 23, &[1], &[598], 1.5, None).unwrap_err();
    assert!(bad.to_string().contains("training_fraction"), "{bad}");
}
