//! Views from small synthetic artifacts: every chart renders, and its SVG says what it shows
//! (title, axes, number of series / bars / cells, the epoch indicator: `charts`). Also the
//! catalogue's errors, export, the HTML report, comparisons and scrubbers (`outputs`). This
//! file holds the synthetic variant and the SVG probes both use.

mod charts;
mod outputs;

use std::path::Path;

use base64::Engine as _;
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use num_complex::Complex64;
use tdw_core::analysis::{Array, Artifact, ArtifactLoader, npz};
use tdw_core::views::ViewCatalog;
use tdw_core::{Error, Metadata, Variant};

use crate::common;

pub(crate) const P: usize = 7;
pub(crate) const NEURONS: usize = 8;
pub(crate) const HEADS: usize = 4;
pub(crate) const EPOCHS: [u64; 4] = [0, 50, 100, 150];

pub(crate) fn f32_array(shape: &[usize], f: impl Fn(usize) -> f32) -> Array {
    let n: usize = shape.iter().product();
    Array::from(ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).expect("shape"))
}

pub(crate) fn write(path: &Path, artifact: &Artifact) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    npz::write(path, artifact).expect("npz");
}

/// Losses that memorise by epoch 40, peak at 60 and grok at 120 (see `Phases`).
pub(crate) fn losses() -> (Vec<f64>, Vec<f64>) {
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
pub(crate) fn synthetic_variant() -> (Variant, tempfile::TempDir) {
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
        // An intervention check: frequency 2 damped to 0.3 at full strength from epoch 50 on
        // (as if the window opened there), frequency 3 boosted to 2.
        let ramp = if epoch == 0 { 0.0f32 } else { 1.0 };
        let gain = [1.0f32, 0.3, 2.0];
        let baseline = f32_array(&[P / 2], |k| 1.0 + k as f32);
        let modified = f32_array(&[P / 2], |k| {
            (1.0 + k as f32) * (1.0 + (gain[k] - 1.0) * ramp)
        });
        write(
            &at("intervention_check"),
            &Artifact::new()
                .with("baseline_rms", baseline)
                .with("modified_rms", modified)
                .with("gain", Array1::from(gain.to_vec()))
                .with("ramp", Array1::from(vec![ramp])),
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
    // Head h's ablated loss 1 + h, accuracy falling with h; the baseline falling to 1e-3.
    write(
        &loader.cross_epoch_path("head_ablation"),
        &Artifact::new()
            .with("epochs", epochs_i64.clone())
            .with("baseline_loss", series(|i| 10f64.powi(-(i as i32))))
            .with("baseline_accuracy", series(|i| 0.25 * (i + 1) as f64))
            .with(
                "zero_loss",
                Array2::from_shape_fn((n, HEADS), |(_, h)| 1.0 + h as f64),
            )
            .with(
                "zero_accuracy",
                Array2::from_shape_fn((n, HEADS), |(_, h)| 1.0 - 0.2 * h as f64),
            )
            .with(
                "mean_loss",
                Array2::from_shape_fn((n, HEADS), |(_, h)| 0.5 + h as f64),
            )
            .with(
                "mean_accuracy",
                Array2::from_shape_fn((n, HEADS), |(_, h)| 0.9 - 0.2 * h as f64),
            ),
    );
    write(
        &loader.cross_epoch_path("logit_attribution"),
        &Artifact::new()
            .with("epochs", epochs_i64.clone())
            .with(
                "heads",
                Array2::from_shape_fn((n, HEADS), |(i, h)| (i * h) as f64 * 0.1),
            )
            .with("mlp", series(|i| 2.0 * i as f64))
            .with("embed", series(|_| 0.1))
            .with("correct_logit", series(|i| 2.5 * i as f64)),
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
pub(crate) fn centroid_dmd(epochs: &Array1<i64>) -> Artifact {
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

pub(crate) fn count(svg: &str, needle: &str) -> usize {
    svg.matches(needle).count()
}

/// `<text>` elements whose content is exactly `text` (as written in SVG, so `<` is `&lt;`).
pub(crate) fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{text}\n</text>")) || svg.contains(&format!(">{text}</text>"))
}

/// The embedded cell images: (columns, rows, decoded pixmap).
pub(crate) fn cell_images(svg: &str) -> Vec<(u32, u32, resvg::tiny_skia::Pixmap)> {
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

pub(crate) fn pixel(pixmap: &resvg::tiny_skia::Pixmap, x: u32, y: u32) -> (u8, u8, u8) {
    let c = pixmap.pixel(x, y).expect("pixel").demultiply();
    (c.red(), c.green(), c.blue())
}

pub(crate) fn cursor_drawn(svg: &str, epoch: u64) -> bool {
    svg.contains(&format!("Epoch {epoch}")) && svg.contains("stroke=\"#E00000\" stroke-width=\"2\"")
}
