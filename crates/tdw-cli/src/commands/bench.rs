//! `tdw bench train|analyze|views`: our engines timed side by side with the Python peer
//! (TransformerLens and plain PyTorch), interleaved runs, medians; and the views' draw times.

use tdw_core::{FamilyRegistry, Result, Variant};

/// Runs a Python peer script; its last line of stdout is a JSON object. Prints why and returns
/// `None` when the script fails, so a broken peer does not stop our own measurement.
pub(crate) fn run_python_peer(
    python: &std::path::Path,
    script: &std::path::Path,
    args: &[String],
) -> Result<Option<serde_json::Value>> {
    let output = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| tdw_core::Error::io(python, e))?;
    if !output.status.success() {
        eprintln!(
            "python peer failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return Ok(None);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line)
        .map(Some)
        .map_err(|cause| tdw_core::Error::Json {
            path: script.to_path_buf(),
            cause,
        })
}

/// The numbers of a JSON array field.
pub(crate) fn json_numbers(value: &serde_json::Value, key: &str) -> Vec<f64> {
    value[key]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
        .unwrap_or_default()
}

/// Medians of both sides and their ratio.
pub(crate) fn print_comparison(
    ours_label: &str,
    ours: &[f64],
    theirs: &[f64],
    torch_threads: usize,
    unit: &str,
) {
    let ours_median = tdw_core::bench::median(ours);
    println!("  {ours_label}  {ours_median:.4} {unit}");
    if theirs.is_empty() {
        println!(
            "  PyTorch + TransformerLens: not run (install it with scripts/python-peer/setup.sh)"
        );
    } else {
        let theirs_median = tdw_core::bench::median(theirs);
        println!(
            "  PyTorch + TransformerLens ({torch_threads} threads)  {theirs_median:.4} {unit}"
        );
        println!(
            "  ratio (reference / tdw): {:.2}x",
            theirs_median / ours_median
        );
    }
}

/// Runs ours and the Python reference alternately so both see the same machine load.
pub(crate) fn bench_train(
    variant: &Variant,
    epochs: usize,
    repeats: usize,
    python: Option<&std::path::Path>,
    torch_threads: usize,
    device_name: &str,
) -> Result<()> {
    let device = &tdw_core::device::parse(device_name)?;
    let on_cpu = *device == tdw_core::default_device();
    let script = tdw_core::paths::project_root().join("scripts/python-peer/bench_train.py");
    let param = |name: &str| variant.params().int(name).map(|v| v.to_string());
    let args: Vec<String> = vec![
        "--prime".into(),
        param("prime")?,
        "--seed".into(),
        param("seed")?,
        "--data-seed".into(),
        param("data_seed")?,
        "--epochs".into(),
        epochs.to_string(),
        "--threads".into(),
        torch_threads.to_string(),
    ];
    let torch_device = match device_name.split_once(':') {
        Some(("cuda" | "tch-cuda", index)) => format!("cuda:{index}"),
        None if device_name == "cuda" || device_name == "tch-cuda" => "cuda".to_string(),
        _ => "cpu".to_string(),
    };
    let args = [args, vec!["--device".into(), torch_device.clone()]].concat();
    let plain_script =
        tdw_core::paths::project_root().join("scripts/python-peer/bench_train_plain.py");
    use tdw_core::train::engine::Engine;
    // On the CPU both engines run; elsewhere burn's autodiff on that device (the fused engine
    // is CPU code).
    let engines: Vec<(Engine, String)> = if on_cpu {
        vec![
            (Engine::Fused, "tdw, fused engine".to_string()),
            (Engine::Burn, "tdw, burn engine (flex)".to_string()),
        ]
    } else {
        vec![(Engine::Burn, format!("tdw, burn on {device_name}"))]
    };
    let mut ours: Vec<Vec<f64>> = vec![Vec::new(); engines.len()];
    let (mut theirs, mut plain) = (Vec::new(), Vec::new());
    for repeat in 0..repeats {
        for ((engine, label), into) in engines.iter().zip(ours.iter_mut()) {
            let timing = tdw_core::bench::time_training(variant, *engine, 2, epochs, device)?;
            let median = tdw_core::bench::median(&timing.seconds_per_epoch);
            println!(
                "run {}: {label:<24} {median:.4} s/epoch  first losses {:?}",
                repeat + 1,
                timing.train_losses
            );
            into.push(median);
        }
        let Some(python) = python else { continue };
        for (label, script, into) in [
            ("PyTorch+TransformerLens", &script, &mut theirs),
            ("plain PyTorch, last pos.", &plain_script, &mut plain),
        ] {
            if let Some(result) = run_python_peer(python, script, &args)? {
                let median = tdw_core::bench::median(&json_numbers(&result, "seconds_per_epoch"));
                println!(
                    "run {}: {label:<24} {median:.4} s/epoch  first losses {}",
                    repeat + 1,
                    result["train_losses"]
                );
                into.push(median);
            }
        }
    }
    println!(
        "\nmedian over {repeats} runs of {epochs} epochs, p = {}, torch on {torch_device}:",
        param("prime")?
    );
    let ours_median = tdw_core::bench::median(&ours[0]);
    let label = format!("{} ({} rayon threads)", engines[0].1, rayon_threads());
    print_comparison(&label, &ours[0], &theirs, torch_threads, "s/epoch");
    for ((_, label), timings) in engines.iter().zip(&ours).skip(1) {
        let median = tdw_core::bench::median(timings);
        println!(
            "  {label}  {median:.4} s/epoch ({:.2}x the fused engine's time)",
            median / ours_median
        );
    }
    if !plain.is_empty() {
        let plain_median = tdw_core::bench::median(&plain);
        println!(
            "  plain PyTorch, last position ({torch_threads} threads)  {plain_median:.4} s/epoch"
        );
        println!(
            "  ratio (plain PyTorch / tdw): {:.2}x",
            plain_median / ours_median
        );
    }
    if on_cpu {
        let flops = tdw_core::bench::fused_flops_per_epoch(variant)?;
        let peak = tdw_core::bench::gemm_peak_gflops();
        let achieved = flops / ours_median / 1e9;
        println!(
            "  fused engine: {:.2} GFLOP per epoch executed, {achieved:.0} GFLOP/s = {:.0}% of the \
             measured peak ({peak:.0} GFLOP/s: the best f32 gemm, 1024³, all threads)",
            flops / 1e9,
            100.0 * achieved / peak
        );
    }
    Ok(())
}

pub(crate) fn bench_analyze(
    families_dir: &std::path::Path,
    source: &std::path::Path,
    repeats: usize,
    python: Option<&std::path::Path>,
    torch_threads: usize,
) -> Result<()> {
    use tdw_core::analysis::{AnalysisRun, AnalyzerRegistry};
    let family = source
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let analyzers = AnalyzerRegistry::open(&tdw_core::paths::analyzers_dir())?;
    let script = tdw_core::paths::project_root().join("scripts/python-peer/bench_analyze.py");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for repeat in 0..repeats {
        let scratch =
            std::env::temp_dir().join(format!("tdw-bench-{}-{repeat}", std::process::id()));
        let copy = tdw_core::bench::copy_trained_variant(source, &family, &scratch)?;
        let registry = FamilyRegistry::open(families_dir, &scratch)?;
        let name = copy
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let variant = registry.find_variant(&name)?;
        let names = tdw_core::bench::REFERENCE_ANALYZERS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let report = AnalysisRun::new(&variant, &analyzers)
            .analyzers(names)
            .run(&mut |_: &tdw_core::analysis::AnalysisEvent| {})?;
        let per = report.seconds / report.epochs_analyzed.len().max(1) as f64;
        println!(
            "run {}: tdw                       {per:.3} s/checkpoint ({} checkpoints)",
            repeat + 1,
            report.epochs_analyzed.len()
        );
        ours.push(per);
        if let Some(python) = python {
            let out = scratch.join("python-artifacts");
            let args = vec![
                source.display().to_string(),
                out.display().to_string(),
                "--threads".into(),
                torch_threads.to_string(),
            ];
            if let Some(result) = run_python_peer(python, &script, &args)? {
                let times = json_numbers(&result, "seconds_per_checkpoint");
                let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
                println!(
                    "run {}: PyTorch+TransformerLens {mean:.3} s/checkpoint",
                    repeat + 1
                );
                theirs.push(mean);
            }
        }
        // Scratch copies are disposable; a failure to delete leaves only a temp directory.
        let _cleanup = std::fs::remove_dir_all(&scratch);
    }
    println!("\nmedian over {repeats} runs, 7 analyzers:");
    print_comparison(
        "tdw (parallel over checkpoints)",
        &ours,
        &theirs,
        torch_threads,
        "s/checkpoint",
    );
    Ok(())
}

pub(crate) fn rayon_threads() -> String {
    std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| {
        std::thread::available_parallelism()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into())
    })
}

/// `tdw bench views`: the median time to load and draw each view of `variant` at `epoch`.
pub(crate) fn views(
    ctx: &super::Context,
    variant: &str,
    epoch: Option<u64>,
    repeats: usize,
) -> Result<()> {
    let variant = ctx.registry.find_variant(variant)?;
    let timings = tdw_core::bench::time_views(&variant, epoch, repeats)?;
    println!("{:<48} {:>9} {:>9}", "view", "ms", "SVG KB");
    for t in &timings {
        println!(
            "{:<48} {:>9.1} {:>9.1}",
            t.view,
            1e3 * t.median_s,
            t.svg_bytes as f64 / 1e3
        );
    }
    let slowest = timings.iter().map(|t| t.median_s).fold(0.0, f64::max);
    let total: f64 = timings.iter().map(|t| t.median_s).sum();
    println!(
        "{} views of {}: slowest {:.1} ms, all together {:.1} ms (median of {repeats})",
        timings.len(),
        variant.name(),
        1e3 * slowest,
        1e3 * total
    );
    Ok(())
}
