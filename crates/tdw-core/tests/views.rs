//! Views from small synthetic artifacts: every chart renders, and its SVG says what it shows
//! (title, axes, number of series / bars / cells, the epoch indicator). Also the catalogue's
//! errors, export and the HTML report.

use std::path::Path;

use base64::Engine as _;
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use num_complex::Complex64;
use tdw_core::analysis::{Array, Artifact, ArtifactLoader, npz};
use tdw_core::views::ViewCatalog;
use tdw_core::{Error, Metadata, Variant};

use crate::common;

const P: usize = 7;
const NEURONS: usize = 8;
const HEADS: usize = 4;
const EPOCHS: [u64; 4] = [0, 50, 100, 150];

fn f32_array(shape: &[usize], f: impl Fn(usize) -> f32) -> Array {
    let n: usize = shape.iter().product();
    Array::from(ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).expect("shape"))
}

fn write(path: &Path, artifact: &Artifact) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    npz::write(path, artifact).expect("npz");
}

/// Losses that memorise by epoch 40, peak at 60 and grok at 120 (see `Phases`).
fn losses() -> (Vec<f64>, Vec<f64>) {
    let train = (0..=150)
        .map(|e| if e < 40 { 4.0 - 0.09 * e as f64 } else { 1e-3 })
        .collect();
    let test = (0..=150)
        .map(|e| match e {
            0..60 => 4.0 + 0.05 * e as f64,
            60..100 => 7.0 - 0.16 * (e - 60) as f64,
            100..120 => 0.5,
            _ => 1e-3,
        })
        .collect();
    (train, test)
}

/// A trained-and-analyzed p = 7 variant whose artifacts are made up but shaped like the real ones.
fn synthetic_variant() -> (Variant, tempfile::TempDir) {
    let (registry, results) = common::registry();
    let p = P.to_string();
    let variant = registry
        .create_variant_from_text("modulo_addition_1layer", [("prime", p.as_str())])
        .expect("variant");
    std::fs::create_dir_all(variant.checkpoints_dir()).expect("mkdir");
    for e in EPOCHS {
        std::fs::write(variant.checkpoint_path(e), b"").expect("checkpoint placeholder");
    }
    let (train_losses, test_losses) = losses();
    let metadata = Metadata {
        train_losses,
        test_losses,
        train_indices: vec![],
        test_indices: vec![],
        checkpoint_epochs: EPOCHS.to_vec(),
        num_epochs: 151,
    };
    std::fs::write(
        variant.metadata_path(),
        serde_json::to_vec(&metadata).expect("json"),
    )
    .expect("metadata");
    let loader = ArtifactLoader::new(variant.artifacts_dir());
    let n = EPOCHS.len();
    for (i, &epoch) in EPOCHS.iter().enumerate() {
        let at = |name: &str| loader.epoch_path(name, epoch);
        // Components 3 and 4 (sin 2, cos 2) grow above the threshold of 1.
        let coefficients = f32_array(&[P], |k| {
            if k == 3 || k == 4 {
                0.5 + i as f32
            } else {
                0.1 * k as f32
            }
        });
        write(
            &at("dominant_frequencies"),
            &Artifact::new().with("coefficients", coefficients),
        );
        // Neuron m's activation at (a, b) = (m + 1) * (a - b); the largest value sits at a = 6, b = 0.
        let activations = f32_array(&[NEURONS, P, P], |idx| {
            let (m, a, b) = (idx / (P * P), (idx / P) % P, idx % P);
            (m as f32 + 1.0) * (a as f32 - b as f32)
        });
        write(
            &at("neuron_activations"),
            &Artifact::new().with("activations", activations),
        );
        write(
            &at("neuron_freq_norm"),
            &Artifact::new().with(
                "norm_matrix",
                f32_array(&[P / 2, NEURONS], |k| (k % 5) as f32 / 5.0),
            ),
        );
        write(
            &at("coarseness"),
            &Artifact::new().with(
                "coarseness",
                f32_array(&[NEURONS], |m| m as f32 / NEURONS as f32),
            ),
        );
        write(
            &at("attention_patterns"),
            &Artifact::new().with(
                "patterns",
                f32_array(&[HEADS, 3, 3, P, P], |k| (k % 11) as f32 / 11.0),
            ),
        );
        write(
            &at("attention_freq"),
            &Artifact::new().with(
                "freq_matrix",
                f32_array(&[P / 2, HEADS], |k| k as f32 / 12.0),
            ),
        );
        write(
            &at("effective_dimensionality"),
            &Artifact::new()
                .with("sv_W_in", f32_array(&[5], |k| 5.0 - k as f32))
                .with("sv_W_Q", f32_array(&[HEADS, 3], |k| 3.0 - (k % 3) as f32)),
        );
        // Half the pairs are training pairs; every training pair and test pairs with a < 3 are right.
        let split = Array1::from_iter((0..P * P).map(|k| k % 2 == 0));
        let correct = Array1::from_iter((0..P * P).map(|k| k % 2 == 0 || k / P < 3));
        write(
            &at("input_trace"),
            &Artifact::new()
                .with("correct", correct)
                .with("split", split),
        );
    }
    let epochs_i64 = Array1::from_iter(EPOCHS.iter().map(|e| *e as i64));
    let series = |f: fn(usize) -> f64| Array1::from_iter((0..n).map(f));
    write(
        &loader.summary_path("coarseness"),
        &Artifact::new()
            .with("epochs", epochs_i64.clone())
            .with("mean_coarseness", series(|i| 0.3 + 0.1 * i as f64))
            .with("p25_coarseness", series(|i| 0.2 + 0.1 * i as f64))
            .with("p75_coarseness", series(|i| 0.4 + 0.1 * i as f64)),
    );
    let mut dims = Artifact::new().with("epochs", epochs_i64.clone());
    for name in ["W_E", "W_pos", "W_in", "W_out", "W_U"] {
        dims.insert(format!("pr_{name}"), series(|i| 2.0 + i as f64));
    }
    for name in ["W_Q", "W_K", "W_V", "W_O"] {
        dims.insert(
            format!("pr_{name}"),
            Array2::from_shape_fn((n, HEADS), |(i, h)| (i + h) as f64),
        );
    }
    write(&loader.summary_path("effective_dimensionality"), &dims);
    let mut trajectory = Artifact::new().with("epochs", epochs_i64.clone());
    for group in ["all", "embedding", "attention", "mlp"] {
        trajectory.insert(
            format!("{group}__projections"),
            f32_array(&[n, 3], |k| ((k * 7) % 5) as f32),
        );
        trajectory.insert(
            format!("{group}__explained_variance_ratio"),
            Array1::from(vec![0.6f32, 0.3, 0.1]),
        );
        trajectory.insert(
            format!("{group}__velocity"),
            Array1::from(vec![3.0f64, 1.0, 0.5]),
        );
    }
    write(
        &loader.cross_epoch_path("parameter_trajectory"),
        &trajectory,
    );
    write(
        &loader.cross_epoch_path("neuron_dynamics"),
        &Artifact::new()
            .with("epochs", epochs_i64.clone())
            .with(
                "dominant_freq",
                Array2::from_shape_fn((n, NEURONS), |(i, m)| ((m + i) % 3) as i64),
            )
            .with(
                "max_frac",
                Array2::from_shape_fn((n, NEURONS), |(i, _)| 0.3 * i as f32),
            )
            .with("threshold", Array1::from(vec![0.5f64])),
    );
    write(
        &loader.cross_epoch_path("centroid_dmd"),
        &centroid_dmd(&epochs_i64),
    );
    let (train, test) = losses();
    let at_checkpoints =
        |losses: &[f64]| Array1::from_iter(EPOCHS.iter().map(|e| losses[*e as usize]));
    write(
        &loader.cross_epoch_path("progress_measures"),
        &Artifact::new()
            .with("epochs", epochs_i64)
            .with("train_loss", at_checkpoints(&train))
            .with("test_loss", at_checkpoints(&test))
            .with("restricted_loss", at_checkpoints(&test).mapv(|v| v / 2.0))
            .with("excluded_loss", at_checkpoints(&test).mapv(|v| v * 2.0))
            .with("gini_embedding", series(|i| 0.2 * i as f64))
            .with("gini_neuron_logit", series(|i| 0.1 * i as f64))
            .with("total_sum_squared_weights", series(|i| 100.0 - i as f64)),
    );
    (variant, results)
}

/// A DMD per site over P classes × 1 component: three modes, a rotating pair 0.9·e^{±0.5i} and
/// 0.5, complex128 as tdw writes them, except at attn_out, whose single real mode is written
/// as float64 as MIScope's numpy does when every eigenvalue is real.
fn centroid_dmd(epochs: &Array1<i64>) -> Artifact {
    let n = epochs.len();
    let mut dmd = Artifact::new().with("epochs", epochs.clone());
    for site in ["resid_pre", "attn_out", "mlp_out", "resid_post"] {
        let key = |name: &str| format!("{site}__{name}");
        if site == "attn_out" {
            dmd.insert(key("eigenvalues"), Array1::from(vec![0.5f64]));
            dmd.insert(key("modes"), Array2::from_elem((P, 1), 1.0f64));
            dmd.insert(key("amplitudes"), Array1::from(vec![2.0f64]));
        } else {
            let pair = Complex64::from_polar(0.9, 0.5);
            dmd.insert(
                key("eigenvalues"),
                Array1::from(vec![pair, pair.conj(), Complex64::new(0.5, 0.0)]),
            );
            dmd.insert(
                key("modes"),
                Array2::from_shape_fn((P, 3), |(row, i)| {
                    Complex64::new(1.0 + row as f64, if i == 2 { 0.0 } else { 0.5 })
                }),
            );
            dmd.insert(
                key("amplitudes"),
                Array1::from(vec![Complex64::new(1.0, 0.0); 3]),
            );
        }
        dmd.insert(
            key("residual_norms"),
            Array1::from_iter((1..n).map(|t| 0.1 * t as f64)),
        );
        dmd.insert(key("singular_values"), Array1::from(vec![3.0f64, 1.0, 0.1]));
        dmd.insert(key("n_modes"), 3i64);
        dmd.insert(
            key("trajectory"),
            Array2::from_shape_fn((n, P), |(t, c)| (t + c) as f64),
        );
        dmd.insert(key("n_classes"), P as i64);
    }
    dmd
}

fn count(svg: &str, needle: &str) -> usize {
    svg.matches(needle).count()
}

/// `<text>` elements whose content is exactly `text` (as written in SVG, so `<` is `&lt;`).
fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{text}\n</text>")) || svg.contains(&format!(">{text}</text>"))
}

/// The embedded cell images: (columns, rows, decoded pixmap).
fn cell_images(svg: &str) -> Vec<(u32, u32, resvg::tiny_skia::Pixmap)> {
    svg.split("<image ")
        .skip(1)
        .map(|element| {
            let cells = element
                .split("data-cells=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("data-cells");
            let (cols, rows) = cells.split_once('x').expect("AxB");
            let data = element
                .split("base64,")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("data url");
            let png = base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("base64");
            let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).expect("png");
            (cols.parse().unwrap(), rows.parse().unwrap(), pixmap)
        })
        .collect()
}

fn pixel(pixmap: &resvg::tiny_skia::Pixmap, x: u32, y: u32) -> (u8, u8, u8) {
    let c = pixmap.pixel(x, y).expect("pixel").demultiply();
    (c.red(), c.green(), c.blue())
}

fn cursor_drawn(svg: &str, epoch: u64) -> bool {
    svg.contains(&format!("Epoch {epoch}")) && svg.contains("stroke=\"#E00000\" stroke-width=\"2\"")
}

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

#[test]
fn catalogue_errors_name_the_problem() {
    let (variant, _results) = synthetic_variant();
    match variant.view("parameters.embeddings.fourier_coeficients") {
        Err(Error::UnknownView { suggestions, .. }) => {
            assert_eq!(suggestions[0], "parameters.embeddings.fourier_coefficients")
        }
        other => panic!("{other:?}"),
    }
    let err = variant
        .at(75)
        .view("activations.mlp.neuron_heatmap")
        .unwrap()
        .figure()
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "epoch 75 has no 'neuron_activations' artifact; nearest analyzed epochs: [0, 50, 100]"
        ),
        "{err}"
    );
    // Without a cursor a per-epoch view shows the first analyzed epoch.
    let first = variant
        .view("activations.mlp.neuron_heatmap")
        .unwrap()
        .figure()
        .unwrap();
    assert!(first.title().ends_with("Epoch 0"));

    // A variant with only metadata has only the loss curves.
    std::fs::remove_dir_all(variant.artifacts_dir()).unwrap();
    assert_eq!(
        variant.available_views(),
        vec!["training.metadata.loss_curves"]
    );
    let err = variant
        .view("parameters.pca.pc1_pc2")
        .unwrap()
        .figure()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no cross_epoch.npz of 'parameter_trajectory'"),
        "{err}"
    );
}

#[test]
fn export_writes_svg_and_png_by_extension() {
    let (variant, results) = synthetic_variant();
    let view = variant
        .at(0)
        .view("activations.mlp.neuron_heatmap")
        .unwrap();
    let svg_path = view.export(Some(results.path().join("out/n.svg"))).unwrap();
    assert!(
        std::fs::read_to_string(&svg_path)
            .unwrap()
            .starts_with("<svg")
    );
    let png_path = view.export(Some(results.path().join("out/n.png"))).unwrap();
    let png = std::fs::read(&png_path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let image = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
    assert_eq!(image.width(), 2 * 560, "PNG at scale 2");
    match view.export(Some(results.path().join("out/n.pdf"))) {
        Err(Error::UnsupportedImageFormat { .. }) => {}
        other => panic!("{other:?}"),
    }
    let default = view.default_export_path(tdw_core::views::ImageFormat::Png);
    assert!(default.ends_with(format!(
        "exports/{}__activations.mlp.neuron_heatmap__epoch00000.png",
        variant.name()
    )));
}

#[test]
fn report_embeds_every_available_view_in_one_offline_page() {
    let (variant, results) = synthetic_variant();
    let report = tdw_core::Report::build(&variant).unwrap();
    assert!(report.failures().is_empty(), "{:?}", report.failures());
    // start 0, memorised 40 → 50, grokked 120 → 100, final 150.
    let moments: Vec<u64> = report.moments().iter().map(|m| m.epoch).collect();
    assert_eq!(moments, vec![0, 40, 120, 150]);
    let path = report.write(&results.path().join("report.html")).unwrap();
    let html = std::fs::read_to_string(path).unwrap();
    for definition in ViewCatalog::builtin().definitions() {
        let embedded = count(&html, &format!("data-view=\"{}\"", definition.name));
        let expected = if definition.is_per_epoch() { 4 } else { 1 };
        assert_eq!(embedded, expected, "{}", definition.name);
    }
    assert!(html.contains("data-epoch=\"50\"") && html.contains("end of memorisation"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    assert!(!html.contains("<script"));
    assert_eq!(count(&html, "<svg"), count(&html, "</svg>"));
}

#[test]
fn comparison_lists_grokking_epochs_and_draws_every_variant() {
    let (variant, results) = synthetic_variant();
    let registry = tdw_core::FamilyRegistry::open(&common::families_dir(), results.path()).unwrap();
    // A second variant that never generalises.
    let other = registry
        .create_variant_from_text("modulo_addition_1layer", [("prime", "11")])
        .unwrap();
    std::fs::create_dir_all(other.dir()).unwrap();
    let metadata = Metadata {
        train_losses: vec![2.0, 1e-3, 1e-4],
        test_losses: vec![2.0, 5.0, 6.0],
        train_indices: vec![],
        test_indices: vec![],
        checkpoint_epochs: vec![0, 2],
        num_epochs: 3,
    };
    std::fs::write(
        other.metadata_path(),
        serde_json::to_vec(&metadata).unwrap(),
    )
    .unwrap();
    let comparison =
        tdw_core::views::Comparison::of(&[variant.clone(), other.clone()], 0.01).unwrap();
    assert_eq!(comparison.rows[0].grokking_epoch, Some(120));
    // sin 2 / cos 2 lead the last checkpoint's spectrum.
    assert_eq!(comparison.rows[0].key_frequencies[0], 2);
    assert_eq!(comparison.rows[1].grokking_epoch, None);
    assert!(comparison.rows[1].key_frequencies.is_empty());
    let table = comparison.table_text();
    assert!(
        table.contains("never") && table.contains("(not analyzed)"),
        "{table}"
    );
    let chart = comparison.loss_chart().unwrap();
    for name in [variant.name(), other.name()] {
        assert!(has_text(chart.svg(), &format!("{name} test")));
        assert!(has_text(chart.svg(), &format!("{name} train")));
    }
    assert!(tdw_core::views::Comparison::of(&[variant], 0.0).is_err());
}

#[test]
fn dmd_views_show_eigenvalues_residuals_and_reconstruction() {
    let (variant, _results) = synthetic_variant();
    let figure = |name: &str, options: &[(&str, &str)]| {
        let mut view = variant.at(100).view(name).unwrap();
        for (option, value) in options {
            view = view.with(option, value);
        }
        view.figure()
    };
    let eigenvalues = figure("geometry.dmd_eigenvalues", &[]).unwrap();
    assert_eq!(eigenvalues.title(), "DMD eigenvalues (resid_post): 3 modes");
    let svg = eigenvalues.svg();
    assert!(has_text(svg, "unit circle") && has_text(svg, "Re λ") && has_text(svg, "Im λ"));
    // One marker per eigenvalue plus the legend's; the pair sits at ±0.9·sin 0.5 on Im.
    assert_eq!(count(svg, "<circle"), 4, "{svg}");
    // MIScope's float64 eigenvalues read as real ones.
    let real = figure("geometry.dmd_eigenvalues", &[("site", "attn_out")]).unwrap();
    assert_eq!(real.title(), "DMD eigenvalues (attn_out): 1 modes");
    let err = figure("geometry.dmd_eigenvalues", &[("site", "embed")]).unwrap_err();
    assert!(matches!(err, Error::ViewOption { .. }), "{err}");
    assert!(err.to_string().contains("resid_post"), "{err}");

    let residual = figure("geometry.dmd_residual", &[]).unwrap();
    let svg = residual.svg();
    for site in ["resid_pre", "attn_out", "mlp_out", "resid_post"] {
        assert!(has_text(svg, site), "{site}");
    }
    assert!(cursor_drawn(svg, 100));

    let reconstruction = figure("geometry.dmd_reconstruction", &[("class", "6")]).unwrap();
    assert_eq!(
        reconstruction.title(),
        "Centroid of class 6 (resid_post) and its DMD reconstruction (3 modes)"
    );
    let svg = reconstruction.svg();
    assert!(has_text(svg, "PC1") && has_text(svg, "PC1 (DMD)"));
    assert!(!has_text(svg, "PC2"), "one component per class");
    let err = figure("geometry.dmd_reconstruction", &[("class", "7")]).unwrap_err();
    assert!(err.to_string().contains("0..7"), "{err}");
}

#[test]
fn scrubber_holds_every_analyzed_epoch_and_shows_the_first_without_scripts() {
    let (variant, _results) = synthetic_variant();
    let view = "activations.mlp.neuron_heatmap";
    let scrubber = variant.scrub(view).expect("scrubber");
    assert_eq!(scrubber.epochs(), EPOCHS.to_vec());
    let page = scrubber.page();
    // One frame per epoch, each the view's own drawing at that epoch; only the first visible.
    for (i, epoch) in EPOCHS.iter().enumerate() {
        let marker = format!("<div class=\"tdw-scrub-frame\" data-epoch=\"{epoch}\"");
        let at = page
            .find(&marker)
            .unwrap_or_else(|| panic!("frame {epoch}"));
        let tag_end = at + page[at..].find('>').expect("tag closes");
        assert_eq!(page[at..tag_end].contains("hidden"), i > 0, "epoch {epoch}");
        let own = variant
            .at(*epoch)
            .view(view)
            .and_then(|v| v.figure())
            .unwrap();
        assert!(
            page[tag_end + 1..].starts_with(own.svg()),
            "epoch {epoch} frame"
        );
    }
    // The slider is revealed by the script only, and spans the frames.
    assert!(page.contains("class=\"tdw-scrub-controls\" hidden"));
    assert!(page.contains(&format!("max=\"{}\"", EPOCHS.len() - 1)));
    assert_eq!(page.matches("<script>").count(), 1);
    // Written atomically where asked.
    let path = tdw_core::views::Scrubber::default_path(&variant, view);
    assert_eq!(scrubber.write(&path).unwrap(), path);
    assert_eq!(std::fs::read_to_string(&path).unwrap().len(), page.len());
    // Views over all of training have nothing to scrub: a clear error naming the view.
    let error = variant.scrub("training.metadata.loss_curves").unwrap_err();
    assert!(
        error.to_string().contains("training.metadata.loss_curves"),
        "{error}"
    );
    assert!(variant.scrub("no.such.view").is_err());
}

#[test]
fn report_embeds_the_scrubbers_asked_for() {
    let (variant, _results) = synthetic_variant();
    let report = tdw_core::Report::build(&variant)
        .unwrap()
        .with_scrubbers(&["activations.mlp.neuron_heatmap".to_string()])
        .unwrap();
    let html = report.html();
    assert_eq!(html.matches("class=\"tdw-scrubber\"").count(), 1);
    assert_eq!(
        html.matches("class=\"tdw-scrub-frame\"").count(),
        EPOCHS.len()
    );
    let plain = tdw_core::Report::build(&variant).unwrap().html();
    assert!(!plain.contains("tdw-scrubber"));
}
