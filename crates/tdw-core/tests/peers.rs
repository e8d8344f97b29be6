//! Peer comparison: which variants are peers, and their weights' distance from the anchor.

use tdw_core::views::{PeerAxis, PeerComparison};

use crate::common;

#[test]
fn peers_differ_only_in_the_seed_and_their_divergence_is_the_frobenius_distance() {
    let (registry, _results) = common::registry();
    let make = |pairs: &[(&str, &str)]| {
        registry
            .create_variant_from_text("modulo_addition_1layer", pairs.iter().copied())
            .unwrap()
    };
    let anchor = make(&[("prime", "11"), ("data_seed", "598")]);
    let peer_b = make(&[("prime", "11"), ("data_seed", "20")]);
    let peer_a = make(&[("prime", "11"), ("data_seed", "10")]);
    let other_seed = make(&[("prime", "11"), ("seed", "5")]);
    let other_prime = make(&[("prime", "13"), ("data_seed", "10")]);
    let untrained = make(&[("prime", "11"), ("data_seed", "30")]);
    common::train(&anchor, 20, &[0, 10], 0.5);
    common::train(&peer_a, 20, &[0, 10], 0.5);
    common::train(&peer_b, 20, &[10], 0.5);
    common::train(&other_seed, 20, &[0, 10], 0.5);
    common::train(&other_prime, 20, &[0, 10], 0.5);
    let all = registry.variants("modulo_addition_1layer").unwrap();
    assert!(all.contains(&untrained) || !untrained.dir().exists());

    let peers = PeerComparison::of(&anchor, &all, PeerAxis::DataSeed).unwrap();
    let names: Vec<&str> = peers.divergence.iter().map(|d| d.peer.as_str()).collect();
    assert_eq!(
        names,
        vec![peer_a.name(), peer_b.name()],
        "by data seed, ascending"
    );
    assert_eq!(
        peers.comparison.rows[0].variant,
        anchor.name(),
        "the anchor first"
    );
    assert_eq!(peers.divergence[0].epochs, vec![0, 10, 19]);
    assert_eq!(
        peers.divergence[1].epochs,
        vec![10, 19],
        "only the shared epochs"
    );

    // By hand at epoch 10: d_M per matrix, D, and D over the anchor's norm.
    let (a, b) = (
        anchor.load_checkpoint(10).unwrap(),
        peer_a.load_checkpoint(10).unwrap(),
    );
    let names = [
        "embed.W_E",
        "pos_embed.W_pos",
        "blocks.0.attn.W_Q",
        "blocks.0.attn.W_K",
        "blocks.0.attn.W_V",
        "blocks.0.attn.W_O",
        "blocks.0.mlp.W_in",
        "blocks.0.mlp.W_out",
        "unembed.W_U",
    ];
    let (mut squared, mut norm) = (0.0f64, 0.0f64);
    for name in names {
        for (x, y) in a[name].data.iter().zip(&b[name].data) {
            squared += (*x as f64 - *y as f64).powi(2);
            norm += (*x as f64).powi(2);
        }
    }
    let d = &peers.divergence[0];
    assert_eq!(d.per_matrix.len(), 9);
    assert_eq!(d.per_matrix[0].0, "W_E");
    assert!((d.total[1] - squared.sqrt()).abs() < 1e-9 * squared.sqrt());
    assert!((d.normalised_percent[1] - 100.0 * squared.sqrt() / norm.sqrt()).abs() < 1e-9);
    assert!(d.total[1] > 0.0, "different data, different weights");
    assert!(peers.table_text().contains("data_seed"));
    assert!(
        peers
            .divergence_chart()
            .unwrap()
            .svg()
            .contains("normalised divergence (%)")
    );
    assert!(peers.matrix_chart(0).unwrap().svg().contains("W_out"));
    assert!(peers.matrix_chart(2).is_err());

    // By model seed: the one variant with another seed.
    let by_seed = PeerComparison::of(&anchor, &all, PeerAxis::ModelSeed).unwrap();
    assert_eq!(by_seed.divergence.len(), 1);
    assert_eq!(by_seed.divergence[0].peer, other_seed.name());
    // A variant without peers is told what a peer is.
    let lonely = PeerComparison::of(&other_prime, &all, PeerAxis::ModelSeed).unwrap_err();
    assert!(
        lonely.to_string().contains("differs from it only in seed"),
        "{lonely}"
    );
}
