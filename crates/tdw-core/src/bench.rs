//! Timing of the training loop, for `tdw bench train`. Speed targets live here and in
//! BENCHMARKS.md, never in timed unit tests.

use std::time::Instant;

use burn_tensor::Device;

use crate::error::Result;
use crate::train::engine::Engine;
use crate::variant::Variant;

/// Per-epoch wall times of one timed run.
#[derive(Debug, Clone)]
pub struct TrainTiming {
    /// Seconds of each timed epoch (one AdamW step on the train split + the test loss).
    pub seconds_per_epoch: Vec<f64>,
    /// The first train losses, to show both sides ran the same problem.
    pub train_losses: Vec<f64>,
}

/// Times `epochs` epochs of `variant`'s training loop on `engine` after `warmup` untimed ones,
/// without writing anything to disk.
pub fn time_training(
    variant: &Variant,
    engine: Engine,
    warmup: usize,
    epochs: usize,
    device: &Device,
) -> Result<TrainTiming> {
    let mut stepper = variant.fresh_run(None)?.stepper(engine, device)?;
    let mut timing = TrainTiming {
        seconds_per_epoch: Vec::with_capacity(epochs),
        train_losses: Vec::new(),
    };
    for epoch in 0..warmup + epochs {
        let start = Instant::now();
        let train_loss = stepper.step();
        let _test_loss = stepper.test_loss();
        let elapsed = start.elapsed().as_secs_f64();
        if timing.train_losses.len() < 3 {
            timing.train_losses.push(train_loss);
        }
        if epoch >= warmup {
            timing.seconds_per_epoch.push(elapsed);
        }
    }
    Ok(timing)
}

/// FLOPs of one epoch of the fused engine on `variant` (its family's default split).
pub fn fused_flops_per_epoch(variant: &Variant) -> Result<f64> {
    let run = variant.fresh_run(None)?;
    let trainer = crate::train::fused::FusedTrainer::new(
        &run.config,
        run.start.state,
        crate::train::HostAdamW::new(run.adamw),
        &run.train,
        &run.test,
    )?;
    Ok(trainer.flops_per_epoch())
}

/// The machine's measured f32 peak in GFLOP/s: the best of 10 square 1024³ products by the
/// fused engine's own `gemm` wrapper, on all rayon threads.
pub fn gemm_peak_gflops() -> f64 {
    crate::train::fused::gemm_peak_gflops(1024, 10)
}

/// The seven analyzers MIScope ran for the reference folder: the set `tdw bench analyze` times.
pub const REFERENCE_ANALYZERS: [&str; 7] = [
    "dominant_frequencies",
    "neuron_activations",
    "neuron_freq_norm",
    "attention_patterns",
    "attention_freq",
    "parameter_snapshot",
    "effective_dimensionality",
];

/// Copies a variant directory's checkpoints, metadata.json and config.json (no artifacts) into
/// `results_dir/{family}/{name}` so that an analysis can be timed from scratch.
pub fn copy_trained_variant(
    source: &std::path::Path,
    family: &str,
    results_dir: &std::path::Path,
) -> Result<std::path::PathBuf> {
    use crate::error::Error;
    let name = source.file_name().ok_or_else(|| Error::MissingFile {
        what: "variant directory",
        path: source.to_path_buf(),
    })?;
    let target = results_dir.join(family).join(name);
    let checkpoints = target.join("checkpoints");
    std::fs::create_dir_all(&checkpoints).map_err(|e| Error::io(&checkpoints, e))?;
    let source_checkpoints = source.join("checkpoints");
    for entry in
        std::fs::read_dir(&source_checkpoints).map_err(|e| Error::io(&source_checkpoints, e))?
    {
        let entry = entry.map_err(|e| Error::io(&source_checkpoints, e))?;
        std::fs::copy(entry.path(), checkpoints.join(entry.file_name()))
            .map_err(|e| Error::io(entry.path(), e))?;
    }
    for file in ["metadata.json", "config.json"] {
        let from = source.join(file);
        if from.exists() {
            std::fs::copy(&from, target.join(file)).map_err(|e| Error::io(&from, e))?;
        }
    }
    Ok(target)
}

/// The median of a non-empty sample (the mean of the middle two for even sizes).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Rendering time of one view: median seconds over the repeats, SVG size in bytes.
#[derive(Debug, Clone)]
pub struct ViewTiming {
    /// The view's name.
    pub view: &'static str,
    /// Median seconds of one render.
    pub median_s: f64,
    /// Size of the SVG it drew.
    pub svg_bytes: usize,
}

/// Times every view available for `variant`, at `epoch` (per-epoch views need it analyzed there),
/// each `repeats` times, one after another on this thread: load from disk + draw the SVG.
pub fn time_views(
    variant: &crate::Variant,
    epoch: Option<u64>,
    repeats: usize,
) -> Result<Vec<ViewTiming>> {
    let mut timings = Vec::new();
    for name in variant.available_views() {
        let view = match epoch {
            Some(e) => variant.at(e).view(name)?,
            None => variant.view(name)?,
        };
        let mut samples = Vec::with_capacity(repeats);
        let mut svg_bytes = 0;
        for _ in 0..repeats.max(1) {
            let started = std::time::Instant::now();
            let figure = view.figure()?;
            samples.push(started.elapsed().as_secs_f64());
            svg_bytes = figure.svg().len();
        }
        timings.push(ViewTiming {
            view: name,
            median_s: median(&samples),
            svg_bytes,
        });
    }
    Ok(timings)
}
