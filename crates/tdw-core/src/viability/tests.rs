//! The certificate against MIScope's numbers and on inputs built to hit each regime.

use super::ideal_sets::{self, IdealSource, TABLE};
use super::inputs::{committed_frequencies, crossover_pr};
use super::*;
use crate::analysis::loader::ArtifactLoader;
use crate::formats::artifact::Artifact;
use ndarray::{Array1, Array2};

fn certify(prime: u64, frequencies: &[usize], pr: f64) -> Certificate {
    Certificate::of(CertificateInput::new(prime, frequencies.to_vec(), pr).expect("valid input"))
        .expect("certificate")
}

#[test]
fn ambient_distance_reproduces_miscopes_table() {
    // MIScope's table was computed by its own code (coordinates and pairwise distances); our
    // closed form must give the same minimum distance for every one of its sets.
    for (p, set, distance) in TABLE {
        let ours = ambient_distance(*p, set);
        assert!(
            (ours - distance).abs() < 1e-6,
            "p = {p}, {set:?}: ours {ours}, MIScope {distance}"
        );
    }
}

#[test]
fn exhaustive_search_reproduces_the_table_for_p_up_to_113_and_size_up_to_3() {
    let mut checked = 0;
    for (p, set, distance) in TABLE.iter().filter(|(p, s, _)| *p <= 113 && s.len() <= 3) {
        let found = ideal_sets::search(*p, set.len()).expect("search");
        assert_eq!(found.source, IdealSource::Search);
        assert!(
            (found.distance - distance).abs() < 1e-6,
            "p = {p}, size {}: searched {:?} at {}, table {set:?} at {distance}",
            set.len(),
            found.frequencies,
            found.distance
        );
        // Where the two sets differ they tie: no set is better than the table's.
        let table_set = ambient_distance(*p, set);
        assert!((table_set - found.distance).abs() < 1e-9);
        checked += 1;
    }
    assert_eq!(checked, 16, "every prime of the table, sizes 2 and 3");
}

#[test]
fn search_keeps_the_first_maximum_in_lexicographic_order() {
    // p = 7 has frequencies 1, 2, 3; every pair of them ties (multiplication by a unit permutes
    // the shifts), so the first pair in lexicographic order is the one kept.
    let a = ambient_distance(7, &[1, 2]);
    for set in [[1, 3], [2, 3]] {
        assert!((ambient_distance(7, &set) - a).abs() < 1e-12);
    }
    assert_eq!(
        ideal_sets::search(7, 2).expect("search").frequencies,
        vec![1, 2]
    );
    // A size the table lacks is searched; one it has comes from it, as MIScope reports it.
    assert_eq!(
        ideal_sets::ideal_set(59, 3).expect("table").source,
        IdealSource::Table
    );
    assert_eq!(
        ideal_sets::ideal_set(59, 4).expect("search").source,
        IdealSource::Search
    );
}

#[test]
fn each_regime_on_inputs_built_to_hit_it() {
    // viable: the ideal set of its size (gap 0), no alias, room to spare.
    let c = certify(59, &[7, 9, 10], 18.3);
    assert_eq!(c.regime, Regime::Viable, "{}", c.reason);
    assert!(c.gap_percent.abs() < 1e-3);
    // aliasing_failure: k = 24 of 29 is 0.83 of the Nyquist limit.
    let c = certify(59, &[5, 24], 20.0);
    assert_eq!(c.regime, Regime::AliasingFailure, "{}", c.reason);
    assert_eq!(c.regime.to_string(), "aliasing_failure");
    // The first rule wins: aliasing and a too-narrow embedding report aliasing.
    assert_eq!(certify(59, &[5, 24], 1.0).regime, Regime::AliasingFailure);
    // compression_risk: the ideal set, but an embedding of PR 5 for 6 coordinates.
    let c = certify(59, &[7, 9, 10], 5.0);
    assert_eq!(c.regime, Regime::CompressionRisk, "{}", c.reason);
    assert!((c.margin + 1.0).abs() < 1e-12);
    // coverage_concern: k = 1, 2 put neighbours close (Δ = 1 barely turns either phase).
    let c = certify(59, &[1, 2], 20.0);
    assert_eq!(c.regime, Regime::CoverageConcern, "{}", c.reason);
    assert!(c.gap_percent > 30.0, "gap {}", c.gap_percent);
    // MIScope's worked example: p = 59, F = {5, 15, 21}, PR 18.3.
    let c = certify(59, &[5, 15, 21], 18.3);
    assert!((c.alias_ratios[2].1 - 21.0 / 29.0).abs() < 1e-12);
    assert!((c.margin - 12.3).abs() < 1e-9);
}

#[test]
fn profile_grows_to_the_ambient_distance_and_stays_there() {
    let c = certify(113, &[4, 9, 37], 4.5);
    assert_eq!(c.profile.len(), PADDED_DIMS);
    // One cosine cannot tell r from p − r.
    assert!(c.profile[0] < 1e-12, "profile(1) = {}", c.profile[0]);
    assert!(c.profile.windows(2).all(|w| w[1] >= w[0] - 1e-12));
    for d in 6..=PADDED_DIMS {
        assert!((c.profile[d - 1] - c.ambient_distance).abs() < 1e-12);
    }
    assert_eq!(c.compressed_dims, 5);
    assert_eq!(c.compressed_distance, c.profile[4]);
    assert!(c.compressed_distance <= c.ambient_distance);
}

#[test]
fn hard_pairs_use_pythons_rounding() {
    // 113 / 2 = 56.5 rounds to 56 in Python (halves to even); 59 / 2 = 29.5 to 30.
    let c = certify(113, &[2, 37], 10.0);
    assert_eq!(c.hard_pairs[0].shift, 56);
    assert_eq!(c.hard_pairs[0].pairs[..2], [(0, 56), (1, 57)]);
    assert_eq!(c.hard_pairs[0].pairs.len(), 5);
    assert_eq!(certify(59, &[2], 10.0).hard_pairs[0].shift, 30);
    // 113 / 37 = 3.05 → 3: k = 37 turns residues 3 apart by 111/113 of a cycle, almost none.
    let h = &c.hard_pairs[1];
    assert_eq!(h.shift, 3);
    assert!(h.own_distance < 0.12, "{}", h.own_distance);
    assert!((h.set_distance - ambient_distance_at(113, &[2, 37], 3)).abs() < 1e-12);
}

fn ambient_distance_at(p: u64, set: &[usize], delta: u64) -> f64 {
    set.iter()
        .map(|&k| pair_term(p, k, delta))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn bad_inputs_are_refused_naming_the_value() {
    let err = |p: u64, f: &[usize], pr: f64| {
        CertificateInput::new(p, f.to_vec(), pr)
            .expect_err("must be refused")
            .to_string()
    };
    assert!(err(59, &[0, 3], 10.0).contains("k = 0 is outside 1..=29"));
    assert!(err(59, &[30], 10.0).contains("k = 30 is outside 1..=29"));
    assert!(err(59, &[5, 5], 10.0).contains("k = 5 is given twice"));
    assert!(err(57, &[5], 10.0).contains("prime"));
    assert!(err(59, &[], 10.0).contains("at least one"));
    assert!(err(59, &[5], f64::NAN).contains("participation ratio"));
    assert!(err(59, &[5], -1.0).contains("participation ratio"));
}

fn write(dir: &std::path::Path, analyzer: &str, file: &str, artifact: &Artifact) {
    let dir = dir.join(analyzer);
    std::fs::create_dir_all(&dir).expect("mkdir");
    crate::formats::npz::write(&dir.join(file), artifact).expect("write npz");
}

#[test]
fn learned_frequencies_and_crossover_follow_miscopes_summary_rules() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // 20 neurons at the last of two checkpoints: 3 specialised on f = 4 (k = 5), 2 on f = 14
    // (k = 15), 1 on f = 20 (k = 21, below 10 % of 20), 4 on f = 7 but with fraction 0.69.
    let d_mlp = 20;
    let mut dominant = Array2::<i64>::zeros((2, d_mlp));
    let mut fraction = Array2::<f32>::zeros((2, d_mlp));
    let last = [
        (4, 0.9),
        (4, 0.7),
        (4, 0.95),
        (14, 0.8),
        (14, 0.71),
        (20, 0.99),
    ];
    for (n, (f, frac)) in last.iter().enumerate() {
        dominant[[1, n]] = *f;
        fraction[[1, n]] = *frac;
    }
    for n in 6..10 {
        dominant[[1, n]] = 7;
        fraction[[1, n]] = 0.69;
    }
    // The first checkpoint would commit k = 8; only the last one counts.
    fraction.row_mut(0).fill(0.99);
    dominant.row_mut(0).fill(7);
    let dynamics = Artifact::new()
        .with("epochs", Array1::from(vec![0i64, 500]).into_dyn())
        .with("dominant_freq", dominant.into_dyn())
        .with("max_frac", fraction.into_dyn());
    write(tmp.path(), "neuron_dynamics", "cross_epoch.npz", &dynamics);
    let loader = ArtifactLoader::new(tmp.path());
    assert_eq!(
        committed_frequencies(&loader).expect("frequencies"),
        (500, vec![5, 15])
    );
    // pr_W_out ≤ pr_W_in at epoch 0 is not a crossover (it never exceeded it yet); it exceeds at
    // 100 and 200 and falls back at 300: the crossover, with W_E's PR 17.5 there.
    let summary = |w_out: Vec<f64>| {
        Artifact::new()
            .with(
                "epochs",
                Array1::from(vec![0i64, 100, 200, 300, 400]).into_dyn(),
            )
            .with(
                "pr_W_E",
                Array1::from(vec![30.0, 25.0, 20.0, 17.5, 15.0]).into_dyn(),
            )
            .with("pr_W_in", Array1::from(vec![10.0; 5]).into_dyn())
            .with("pr_W_out", Array1::from(w_out).into_dyn())
    };
    let dir = tmp.path().join("effective_dimensionality");
    write(
        tmp.path(),
        "effective_dimensionality",
        "summary.npz",
        &summary(vec![9.0, 11.0, 12.0, 10.0, 8.0]),
    );
    assert_eq!(crossover_pr(&loader).expect("pr"), Some((300, 17.5)));
    std::fs::remove_dir_all(&dir).expect("rm");
    write(
        tmp.path(),
        "effective_dimensionality",
        "summary.npz",
        &summary(vec![9.0, 11.0, 12.0, 13.0, 14.0]),
    );
    assert_eq!(crossover_pr(&loader).expect("pr"), None);
}
