//! Each chart kind's SVG says what it shows.

use super::*;

#[test]
fn every_view_renders_from_synthetic_artifacts() {
    let (variant, _results) = synthetic_variant();
    let available = variant.available_views();
    let all = ViewCatalog::builtin().names();
    assert_eq!(available, all, "the fixture provides every view's data");
    for name in all {
        let figure = variant
            .at(100)
            .view(name)
            .and_then(|v| v.figure())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let svg = figure.svg();
        assert!(svg.starts_with("<svg"), "{name}");
        assert!(has_text(svg, figure.title()), "{name}: title drawn");
        assert!(svg.len() < 400_000, "{name}: {} bytes", svg.len());
    }
}

#[test]
fn loss_curves_show_train_test_checkpoints_and_the_cursor() {
    let (variant, _results) = synthetic_variant();
    let svg = variant
        .at(100)
        .view("training.metadata.loss_curves")
        .unwrap()
        .figure()
        .unwrap()
        .svg()
        .to_string();
    for label in ["train", "test", "checkpoints", "epoch", "loss"] {
        assert!(has_text(&svg, label), "{label}");
    }
    // Line plus legend swatch per curve.
    assert_eq!(count(&svg, "stroke=\"#1F77B4\" stroke-width=\"2\""), 2);
    assert_eq!(count(&svg, "stroke=\"#FF7F0E\" stroke-width=\"2\""), 2);
    // One diamond per checkpoint plus the legend's.
    assert_eq!(
        count(&svg, "<polygon opacity=\"1\" fill=\"#2CA02C\""),
        EPOCHS.len() + 1
    );
    assert!(cursor_drawn(&svg, 100));
    // Log axis: decades are labelled.
    assert!(has_text(&svg, "0.001") && has_text(&svg, "1"));
    // No cursor without an epoch.
    let plain = variant
        .view("training.metadata.loss_curves")
        .unwrap()
        .figure()
        .unwrap();
    assert!(!plain.svg().contains("Epoch "));
}

#[test]
fn fourier_coefficients_label_components_and_key_frequencies() {
    let (variant, _results) = synthetic_variant();
    let figure = variant
        .at(150)
        .view("parameters.embeddings.fourier_coefficients")
        .unwrap()
        .figure()
        .unwrap();
    let svg = figure.svg();
    assert_eq!(figure.title(), "Embedding Fourier Coefficients - Epoch 150");
    assert_eq!(count(svg, "fill=\"#1F77B4\""), P, "one bar per component");
    assert_eq!(
        count(svg, "opacity=\"0.3\" fill=\"#1F77B4\""),
        P - 2,
        "faded below 1"
    );
    // sin 2 / cos 2 (rows 3, 4) are the key pair: one label for the frequency.
    assert_eq!(count(svg, ">\nk = 2\n<"), 1);
    assert!(has_text(svg, "const"));
    assert!(has_text(svg, "threshold 1"));
    // At epoch 0 nothing exceeds the threshold.
    let start = variant
        .at(0)
        .view("parameters.embeddings.fourier_coefficients")
        .unwrap()
        .figure()
        .unwrap();
    assert!(!start.svg().contains("k = 2"));
}

#[test]
fn head_ablation_draws_one_curve_per_head_and_the_baseline() {
    let (variant, _results) = synthetic_variant();
    let figure = variant
        .at(100)
        .view("causal.head_ablation")
        .unwrap()
        .figure()
        .unwrap();
    let svg = figure.svg();
    assert_eq!(figure.title(), "Head ablation (mean) — loss on all pairs");
    for head in 0..HEADS {
        assert!(has_text(svg, &format!("head {head}")), "head {head}");
    }
    assert!(has_text(svg, "no ablation") && has_text(svg, "epoch"));
    let accuracy = variant
        .view("causal.head_ablation")
        .unwrap()
        .with("ablation", "zero")
        .with("metric", "accuracy")
        .figure()
        .unwrap();
    assert_eq!(
        accuracy.title(),
        "Head ablation (zero) — accuracy on all pairs"
    );
    assert!(has_text(accuracy.svg(), "accuracy with the head ablated"));
    let err = variant
        .view("causal.head_ablation")
        .unwrap()
        .with("ablation", "half")
        .figure()
        .unwrap_err();
    assert!(err.to_string().contains("half"), "{err}");
}

#[test]
fn logit_attribution_draws_heads_mlp_embedding_and_the_logit() {
    let (variant, _results) = synthetic_variant();
    let figure = variant
        .view("causal.logit_attribution")
        .unwrap()
        .figure()
        .unwrap();
    let svg = figure.svg();
    assert!(figure.title().starts_with("Direct logit attribution"));
    for name in [
        "head 0",
        "head 3",
        "MLP",
        "embedding (direct path)",
        "correct logit",
    ] {
        assert!(has_text(svg, name), "{name}");
    }
}

#[test]
fn intervention_check_pairs_each_frequencys_bars_coloured_by_its_gain() {
    let (variant, _results) = synthetic_variant();
    let figure = variant
        .at(100)
        .view("intervention.check")
        .unwrap()
        .figure()
        .unwrap();
    let svg = figure.svg();
    // Not an intervened variant, so the window is not known; the ramp is the artifact's.
    assert_eq!(
        figure.title(),
        "Intervention Check — Epoch 100 (window unknown, ramp 1.00)"
    );
    assert!(has_text(svg, "RMS Amplitude") && has_text(svg, "frequency k"));
    // Before the hook: one grey bar per frequency; after: red (damped), green (boosted),
    // grey-blue (untouched), each gain written over its bar; x labelled 1-based.
    assert_eq!(
        count(svg, "fill=\"#888888\""),
        P / 2,
        "one baseline bar each"
    );
    assert_eq!(count(svg, "fill=\"#D62728\""), 1, "frequency 2 damped");
    assert_eq!(count(svg, "fill=\"#2CA02C\""), 1, "frequency 3 boosted");
    assert_eq!(count(svg, "fill=\"#7F9FBF\""), 1, "frequency 1 untouched");
    assert!(has_text(svg, "×0.30") && has_text(svg, "×2.00"));
    for k in ["1", "2", "3"] {
        assert!(has_text(svg, k), "x label {k}");
    }
    // Outside the window (ramp 0) the title says so through the ramp factor.
    let before = variant
        .at(0)
        .view("intervention.check")
        .unwrap()
        .figure()
        .unwrap();
    assert!(before.title().ends_with("ramp 0.00)"), "{}", before.title());
}

#[test]
fn neuron_heatmap_is_centred_at_zero_with_a_on_the_vertical_axis() {
    let (variant, _results) = synthetic_variant();
    let svg = variant
        .at(50)
        .view("activations.mlp.neuron_heatmap")
        .unwrap()
        .with("neuron", 2)
        .figure()
        .unwrap()
        .svg()
        .to_string();
    assert!(has_text(&svg, "Neuron 2 activation — Epoch 50"));
    assert!(has_text(&svg, "a") && has_text(&svg, "b"));
    let images = cell_images(&svg);
    let (cols, rows, cells) = &images[0];
    assert_eq!((*cols, *rows), (P as u32, P as u32));
    assert_eq!((cells.width(), cells.height()), (P as u32, P as u32));
    // Values (a - b) * 3: the maximum (a = 6, b = 0) is the darkest red, the minimum the darkest
    // blue, a = b is white. Image row 0 is the top, i.e. a = 6.
    assert_eq!(pixel(cells, 0, 0), (0x67, 0x00, 0x1f));
    assert_eq!(
        pixel(cells, (P - 1) as u32, (P - 1) as u32),
        (0x05, 0x30, 0x61)
    );
    assert_eq!(pixel(cells, 3, 3), (0xf7, 0xf7, 0xf7));
    // A colour bar beside it.
    assert_eq!((images[1].0, images[1].1), (1, 128));
    // Options are checked.
    let err = variant
        .at(50)
        .view("activations.mlp.neuron_heatmap")
        .unwrap()
        .with("neuron", NEURONS)
        .figure()
        .unwrap_err();
    assert!(err.to_string().contains("neuron"), "{err}");
    let err = variant
        .at(50)
        .view("activations.mlp.neuron_heatmap")
        .unwrap()
        .with("nueron", 1)
        .figure()
        .unwrap_err();
    assert!(err.to_string().contains("unknown option 'nueron'"), "{err}");
}

#[test]
fn attention_heads_are_one_panel_each() {
    let (variant, _results) = synthetic_variant();
    let svg = variant
        .at(0)
        .view("activations.attention.head_heatmap")
        .unwrap()
        .figure()
        .unwrap()
        .svg()
        .to_string();
    assert!(svg.contains("Attention Heads (= ← a) — Epoch 0"));
    let images = cell_images(&svg);
    let panels = images
        .iter()
        .filter(|(c, r, _)| (*c, *r) == (P as u32, P as u32))
        .count();
    assert_eq!(panels, HEADS);
    for h in 0..HEADS {
        assert!(has_text(&svg, &format!("head {h}")));
    }
    let freq = variant
        .at(0)
        .view("activations.attention.head_frequency_clusters")
        .unwrap()
        .figure()
        .unwrap();
    let images = cell_images(freq.svg());
    assert_eq!((images[0].0, images[0].1), (HEADS as u32, (P / 2) as u32));
    assert!(has_text(freq.svg(), "frequency") && has_text(freq.svg(), "head"));
}

#[test]
fn frequency_maps_and_trajectories_have_one_cell_per_entry() {
    let (variant, _results) = synthetic_variant();
    let clusters = variant
        .at(50)
        .view("activations.mlp.neuron_frequency_clusters")
        .unwrap()
        .figure()
        .unwrap();
    let images = cell_images(clusters.svg());
    assert_eq!((images[0].0, images[0].1), (NEURONS as u32, (P / 2) as u32));
    // Frequencies are labelled from 1.
    assert!(has_text(clusters.svg(), "1") && !has_text(clusters.svg(), "0\u{0}"));

    let trajectory = variant
        .at(100)
        .view("activations.mlp.neuron_freq_trajectory")
        .unwrap()
        .figure()
        .unwrap();
    let svg = trajectory.svg();
    let images = cell_images(svg);
    assert_eq!(
        (images[0].0, images[0].1),
        (EPOCHS.len() as u32, NEURONS as u32)
    );
    assert!(has_text(svg, "uncommitted"));
    assert!(cursor_drawn(svg, 100));
    // max_frac = 0.9 ≥ 0.5 only at the last checkpoint: the first column is all grey.
    let cells = &images[0].2;
    for y in 0..NEURONS as u32 {
        assert_eq!(pixel(cells, 0, y), (0xf0, 0xf0, 0xf0));
        assert_ne!(pixel(cells, 3, y), (0xf0, 0xf0, 0xf0));
    }
}

#[test]
fn coarseness_views_draw_bins_band_and_thresholds() {
    let (variant, _results) = synthetic_variant();
    let histogram = variant
        .at(0)
        .view("activations.mlp.coarseness_distribution")
        .unwrap()
        .figure()
        .unwrap();
    assert_eq!(
        count(histogram.svg(), "opacity=\"0.85\" fill=\"#1F77B4\""),
        25
    );
    assert!(has_text(histogram.svg(), "blob ≥ 0.7") && has_text(histogram.svg(), "plaid &lt; 0.5"));
    let trajectory = variant
        .at(50)
        .view("activations.mlp.coarseness_trajectory")
        .unwrap()
        .figure()
        .unwrap();
    let svg = trajectory.svg();
    assert_eq!(
        count(svg, "<polygon opacity=\"0.25\""),
        1,
        "one p25–p75 band"
    );
    assert!(has_text(svg, "mean") && has_text(svg, "p25–p75"));
    assert!(cursor_drawn(svg, 50));
}

#[test]
fn weight_spectra_and_dimensionality() {
    let (variant, _results) = synthetic_variant();
    let spectrum = variant
        .at(0)
        .view("parameters.singular_value_spectrum")
        .unwrap()
        .figure()
        .unwrap();
    // PR of [5, 4, 3, 2, 1] = 15² / 55.
    assert!(
        spectrum.title().contains("W_in (PR 4.09)"),
        "{}",
        spectrum.title()
    );
    assert_eq!(count(spectrum.svg(), "fill=\"#9467BD\""), 5);
    let head = variant
        .at(0)
        .view("parameters.singular_value_spectrum")
        .unwrap()
        .with("matrix", "W_Q")
        .with("head", 3)
        .figure()
        .unwrap();
    assert!(head.title().contains("W_Q head 3"));
    assert_eq!(count(head.svg(), "fill=\"#9467BD\""), 3);

    let dims = variant
        .at(50)
        .view("parameters.effective_dimensionality")
        .unwrap()
        .figure()
        .unwrap();
    for name in ["W_E", "W_pos", "W_in", "W_out", "W_U"] {
        assert!(has_text(dims.svg(), name), "{name}");
    }
    assert!(!dims.svg().contains("W_Q (mean)"));
    let with_attention = variant
        .view("parameters.effective_dimensionality")
        .unwrap()
        .with("attention", true)
        .figure()
        .unwrap();
    assert!(has_text(with_attention.svg(), "W_Q (mean)"));
}

#[test]
fn pca_views_show_the_path_the_cursor_and_the_variance() {
    let (variant, _results) = synthetic_variant();
    let pcs = variant
        .at(50)
        .view("parameters.pca.pc1_pc2")
        .unwrap()
        .figure()
        .unwrap();
    let svg = pcs.svg();
    assert!(has_text(svg, "PC1 (60.0% var)") && has_text(svg, "PC2 (30.0% var)"));
    assert_eq!(
        count(svg, "<circle") - 1,
        EPOCHS.len(),
        "points plus the legend dot"
    );
    assert!(
        svg.contains("<polygon opacity=\"1\" fill=\"#E00000\""),
        "the star"
    );
    assert!(has_text(svg, "Epoch 50"));
    let scree = variant
        .view("parameters.pca.explained_variance")
        .unwrap()
        .with("group", "mlp")
        .figure()
        .unwrap();
    assert_eq!(count(scree.svg(), "opacity=\"1\" fill=\"#1F77B4\""), 3);
    assert!(has_text(scree.svg(), "cumulative") && scree.title().contains("(mlp)"));
    let err = variant
        .view("parameters.pca.velocity")
        .unwrap()
        .with("group", "heads")
        .figure()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("expected one of [all, embedding, attention, mlp]")
    );
    let velocity = variant
        .at(100)
        .view("parameters.pca.velocity")
        .unwrap()
        .figure()
        .unwrap();
    assert!(has_text(velocity.svg(), "||Δθ|| / epoch"));
    assert!(cursor_drawn(velocity.svg(), 100));
}

#[test]
fn dominant_frequencies_over_time_follow_the_top_components() {
    let (variant, _results) = synthetic_variant();
    let figure = variant
        .view("activations.mlp.dominant_frequencies_over_time")
        .unwrap()
        .with("top", 2)
        .figure()
        .unwrap();
    let svg = figure.svg();
    assert!(has_text(svg, "sin 2") && has_text(svg, "cos 2"));
    assert!(!has_text(svg, "cos 3"));
}

#[test]
fn accuracy_grid_colours_the_four_categories() {
    let (variant, _results) = synthetic_variant();
    let figure = variant
        .at(0)
        .view("input_trace.accuracy_grid")
        .unwrap()
        .figure()
        .unwrap();
    // Test pairs are the odd k = a·7 + b; those with a < 3 (k < 21) are right: 10 of 24.
    assert_eq!(
        figure.title(),
        "Accuracy grid — Epoch 0 (test 41.7%, train 100.0%)"
    );
    let images = cell_images(figure.svg());
    let cells = &images[0].2;
    // Top-left cell is a = 6, b = 0: k = 42 (train, right, grey).
    assert_eq!(pixel(cells, 0, 0), (0x88, 0x88, 0x88));
    // a = 6, b = 1: k = 43, test, wrong.
    assert_eq!(pixel(cells, 1, 0), (0xf0, 0xf0, 0xf0));
    // a = 0, b = 1: k = 1, test, right.
    assert_eq!(pixel(cells, 1, 6), (0x1f, 0x77, 0xb4));
}

#[test]
fn progress_measures_shade_the_three_phases() {
    let (variant, _results) = synthetic_variant();
    let figure = variant
        .at(150)
        .view("progress_measures.losses")
        .unwrap()
        .figure()
        .unwrap();
    let svg = figure.svg();
    for label in [
        "memorisation",
        "circuit formation",
        "cleanup",
        "restricted",
        "excluded",
        "train",
        "test",
    ] {
        assert!(has_text(svg, label), "{label}");
    }
    assert!(cursor_drawn(svg, 150));
    let sparsity = variant
        .view("progress_measures.sparsity_and_weights")
        .unwrap()
        .figure()
        .unwrap();
    assert!(has_text(sparsity.svg(), "Σ w² / max"));
}
