//! The catalogue's errors, export, the HTML report, comparisons, DMD views and scrubbers.

use super::*;

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

#[test]
fn animations_sweep_the_cursor_or_the_epochs_into_a_gif_or_a_page() {
    use tdw_core::views::Animation;
    let (variant, results) = synthetic_variant();
    // A view over all epochs: the same chart with the cursor at each checkpoint.
    let curves = Animation::build(&variant, "training.metadata.loss_curves", &[], None).unwrap();
    assert_eq!(curves.epochs(), EPOCHS.to_vec());
    for (epoch, figure) in curves.frames() {
        let own = variant
            .at(*epoch)
            .view("training.metadata.loss_curves")
            .and_then(|v| v.figure())
            .unwrap();
        assert_eq!(figure.svg(), own.svg(), "epoch {epoch}");
    }
    assert_ne!(
        curves.frames()[0].1.svg(),
        curves.frames()[1].1.svg(),
        "the cursor moves"
    );
    // The GIF: one frame each, 1/5 s apiece, looping, the chart's size.
    let bytes = curves.to_gif(5.0).unwrap();
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(bytes.as_slice()).unwrap();
    let (width, height) = curves.frames()[0].1.size();
    assert_eq!(
        (decoder.width() as u32, decoder.height() as u32),
        (width, height)
    );
    assert_eq!(decoder.repeat(), gif::Repeat::Infinite);
    let mut delays = Vec::new();
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        delays.push(frame.delay);
    }
    assert_eq!(delays, vec![20; EPOCHS.len()]);
    // A per-epoch view: one frame per analysed epoch, or those asked for; the page a slider.
    let heatmap = Animation::build(
        &variant,
        "activations.mlp.neuron_heatmap",
        &[("neuron", "1")],
        Some(&[50, 150]),
    )
    .unwrap();
    assert_eq!(heatmap.epochs(), vec![50, 150]);
    let page = heatmap.to_html();
    assert_eq!(page.matches("class=\"tdw-scrub-frame\"").count(), 2);
    assert!(page.contains("data-epoch=\"150\""));
    let path = heatmap
        .save(&results.path().join("anim/heatmap.html"), 5.0)
        .unwrap();
    let written = std::fs::read_to_string(path).unwrap();
    assert_eq!(written.matches("class=\"tdw-scrub-frame\"").count(), 2);
    assert!(written.starts_with("<!DOCTYPE html>"));
    // Refusals: an epoch it cannot show, a single frame, a format, a frame rate.
    let err =
        Animation::build(&variant, "activations.mlp.neuron_heatmap", &[], Some(&[75])).unwrap_err();
    assert!(err.to_string().contains("epochs = 75"), "{err}");
    let err =
        Animation::build(&variant, "training.metadata.loss_curves", &[], Some(&[0])).unwrap_err();
    assert!(err.to_string().contains("two epochs or more"), "{err}");
    let err = Animation::check_path(std::path::Path::new("a.mp4")).unwrap_err();
    assert!(err.to_string().contains(".gif or .html"), "{err}");
    assert!(curves.to_gif(0.0).is_err());
}
