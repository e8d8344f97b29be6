//! `intervention_panel()`: MIScope's intervention training and its Intervention Check in one
//! form. Pick a trained variant (its two largest key frequencies fill in once it is analysed),
//! type the gain, the epoch window, the ramp and a label, press Train intervention: the variant is
//! retrained with the frequency-gain hook (progress in the panel), its check is analysed, and a
//! slider steps the Intervention Check through its checkpoints.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tdw_core::intervention::FrequencyGain;
use tdw_core::train::{Progress, TrainEvent};
use tdw_core::{AnalyzeOptions, Result, TrainOptions, Variant};

use crate::display::EvcxrDisplay;
use crate::html::escape;
use crate::notebook::registry;
use crate::widgets::{self, Widget};

/// The analyzer and view of the check.
const CHECK: (&str, &str) = ("intervention_check", "intervention.check");

/// The intervention panel; shown by ending a cell with it.
#[derive(Clone)]
pub struct InterventionPanel {
    inner: Arc<Inner>,
}

struct Inner {
    root: Widget,
    variant: Widget,
    frequencies: Widget,
    gain: Widget,
    start: Widget,
    end: Widget,
    ramp: Widget,
    label: Widget,
    train: Widget,
    progress: Widget,
    line: Widget,
    slider: Widget,
    chart: Widget,
    parents: Mutex<Vec<Variant>>,
    /// The intervened variant whose check the slider steps through, and its checkpoints.
    shown: Mutex<Option<(Variant, Vec<u64>)>>,
    running: AtomicBool,
}

impl std::fmt::Debug for InterventionPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InterventionPanel({})", self.widget().id())
    }
}

impl EvcxrDisplay for InterventionPanel {
    fn evcxr_display(&self) {
        self.inner.root.evcxr_display();
    }
}

/// Every trained one-layer transformer variant (no interventions), sorted by name.
fn trained_transformers() -> Result<Vec<Variant>> {
    let registry = registry()?;
    let mut all = Vec::new();
    for family in registry.names() {
        all.extend(registry.variants(&family)?.into_iter().filter(|v| {
            v.model_config().is_ok_and(|c| c.n_layers == 1) && v.metadata_path().is_file()
        }));
    }
    all.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(all)
}

/// The intervention panel.
pub fn intervention_panel() -> Result<InterventionPanel> {
    let variant = widgets::dropdown("Variant", &[], None);
    let frequencies = widgets::text("Frequencies", "");
    let gain = widgets::float_text("Gain", 0.3);
    let start = widgets::int_text("Start epoch", 0);
    let end = widgets::int_text("End epoch", 0);
    let ramp = widgets::int_text(
        "Ramp epochs",
        tdw_core::intervention::DEFAULT_RAMP_EPOCHS as i64,
    );
    let label = widgets::text("Label", "");
    let train = widgets::button("Train intervention", "primary");
    let progress = widgets::int_progress("", 0, 1);
    let line = widgets::html("");
    let slider = widgets::int_slider("Checkpoint", 0, 0, 0, 1);
    // The description says the epoch; the readout would only show the checkpoint's index.
    slider.set("readout", false);
    let chart = widgets::html("");
    let title = widgets::html("<h3 style=\"margin:4px 0\">Frequency-gain intervention</h3>");
    let help = widgets::html(
        "<small>The attention output's components along the frequencies' embedding directions \
         (from the variant's checkpoint at the start epoch) are scaled by the gain during the \
         window, ramped in and out; the run is stored under the variant, in \
         <code>interventions/</code>.</small>",
    );
    let what = widgets::hbox(&[&frequencies, &gain]);
    let when = widgets::hbox(&[&start, &end, &ramp]);
    let root = widgets::vbox(&[
        &title, &help, &variant, &what, &when, &label, &train, &progress, &line, &slider, &chart,
    ]);
    let panel = InterventionPanel {
        inner: Arc::new(Inner {
            root,
            variant,
            frequencies,
            gain,
            start,
            end,
            ramp,
            label,
            train,
            progress,
            line,
            slider,
            chart,
            parents: Mutex::new(Vec::new()),
            shown: Mutex::new(None),
            running: AtomicBool::new(false),
        }),
    };
    panel.list_variants();
    panel.fill_from_variant();
    let me = panel.clone();
    panel
        .inner
        .variant
        .observe("index", move |_, _| me.fill_from_variant());
    let me = panel.clone();
    panel.inner.train.on_click(move |_| me.run());
    let me = panel.clone();
    panel.inner.slider.observe("value", move |_, _| me.draw());
    Ok(panel)
}

impl InterventionPanel {
    /// The panel's root widget (what the cell displays).
    pub fn widget(&self) -> &Widget {
        &self.inner.root
    }

    fn status(&self, html: &str) {
        self.inner.line.set("value", html);
    }

    fn list_variants(&self) {
        let variants = trained_transformers().unwrap_or_default();
        let names: Vec<String> = variants.iter().map(|v| v.name().to_string()).collect();
        if names.is_empty() {
            self.status("no trained one-layer transformer yet: train one first (training_panel())");
        }
        self.inner
            .variant
            .set("_options_labels", serde_json::json!(names));
        self.inner.variant.set(
            "index",
            if names.is_empty() {
                serde_json::Value::Null
            } else {
                0.into()
            },
        );
        *self.inner.parents.lock().unwrap_or_else(|e| e.into_inner()) = variants;
    }

    fn selected(&self) -> Option<Variant> {
        let index = self.inner.variant.get("index").as_u64()? as usize;
        self.inner
            .parents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(index)
            .cloned()
    }

    /// A chosen variant proposes its key frequencies and a window inside its run that starts
    /// at one of its checkpoints (the directions are read there).
    fn fill_from_variant(&self) {
        let Some(variant) = self.selected() else {
            return;
        };
        if let Some(keys) = tdw_core::views::compare::largest_frequencies(&variant, 2) {
            let list: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            self.inner.frequencies.set("value", list.join(", "));
        }
        let Ok(metadata) = variant.metadata() else {
            return;
        };
        let epochs = metadata.num_epochs;
        let start = metadata
            .checkpoint_epochs
            .iter()
            .copied()
            .find(|&e| e >= epochs / 8)
            .unwrap_or(0);
        self.inner.start.set("value", start);
        self.inner.end.set("value", (epochs * 2 / 3).max(start + 1));
    }

    /// The block the inputs describe, checked as `tdw intervene` checks a file.
    fn block(&self) -> std::result::Result<FrequencyGain, String> {
        let text = self.inner.frequencies.get("value");
        let frequencies: Vec<u64> = text
            .as_str()
            .unwrap_or("")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<u64>()
                    .map_err(|_| format!("frequencies: '{t}' is not a frequency (1-based k)"))
            })
            .collect::<std::result::Result<_, _>>()?;
        let gain = self.inner.gain.get("value").as_f64().unwrap_or(f64::NAN);
        let gains: serde_json::Map<String, serde_json::Value> = frequencies
            .iter()
            .map(|k| (k.to_string(), serde_json::json!(gain)))
            .collect();
        let mut block = serde_json::json!({
            "type": "frequency_gain",
            "target_heads": "all",
            "target_frequencies": frequencies,
            "gain": gains,
            "epoch_start": self.inner.start.get("value"),
            "epoch_end": self.inner.end.get("value"),
            "ramp_epochs": self.inner.ramp.get("value"),
        });
        let label = self.inner.label.get("value");
        if let Some(label) = label.as_str().map(str::trim).filter(|l| !l.is_empty()) {
            block["label"] = label.into();
        }
        FrequencyGain::from_json(&block, std::path::Path::new("(panel)")).map_err(|e| e.to_string())
    }

    /// Trains the intervention, analyses its check and shows it, on a thread of its own.
    fn run(&self) {
        if self.inner.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let setup = self
            .selected()
            .ok_or_else(|| "pick a variant".to_string())
            .and_then(|parent| {
                let block = self.block()?;
                let child = parent
                    .create_intervention(block, std::path::Path::new("(panel)"))
                    .map_err(|e| e.to_string())?;
                let options = parent
                    .intervention_training(&child, &TrainOptions::default())
                    .map_err(|e| e.to_string())?;
                Ok((child, options))
            });
        let (child, options) = match setup {
            Ok(setup) => setup,
            Err(message) => {
                self.status(&escape(&message));
                self.inner.running.store(false, Ordering::SeqCst);
                return;
            }
        };
        self.inner.train.set("disabled", true);
        let summary = child
            .intervention()
            .map(|b| b.summary())
            .unwrap_or_default();
        self.status(&format!(
            "training {}: {}…",
            escape(child.name()),
            escape(&summary)
        ));
        let me = self.clone();
        std::thread::spawn(move || {
            let mut progress = BarProgress::new(&me);
            let outcome = child
                .train(&options, &tdw_core::default_device(), &mut progress)
                .and_then(|result| {
                    me.status(&format!("analysing the check of {}…", escape(child.name())));
                    let check = AnalyzeOptions {
                        analyzers: Some(vec![CHECK.0.to_string()]),
                        ..Default::default()
                    };
                    child.analyze(&check, &mut |_: &tdw_core::analysis::AnalysisEvent| {})?;
                    Ok(result)
                });
            match outcome {
                Ok(result) => {
                    me.show(&child, &result.checkpoint_epochs);
                    me.status(&format!(
                        "trained <code>{}</code>: {} checkpoints, final test loss {:.3e}; \
                         analyze it like any variant (analysis_panel(), explore())",
                        escape(child.name()),
                        result.checkpoint_epochs.len(),
                        result.final_test_loss
                    ));
                }
                Err(error) => me.status(&escape(&error.to_string())),
            }
            me.inner.train.set("disabled", false);
            me.inner.running.store(false, Ordering::SeqCst);
        });
    }

    /// Puts the slider over `epochs` of `child`, at its first checkpoint at full strength.
    fn show(&self, child: &Variant, epochs: &[u64]) {
        let block = child.intervention();
        let at = epochs
            .iter()
            .position(|&e| block.is_some_and(|b| b.ramp(e) == 1.0))
            .unwrap_or(0);
        *self.inner.shown.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((child.clone(), epochs.to_vec()));
        self.inner.slider.set("max", epochs.len().saturating_sub(1));
        if self.inner.slider.get("value").as_u64() == Some(at as u64) {
            self.draw();
        } else {
            self.inner.slider.set("value", at);
        }
    }

    /// Draws the check at the slider's checkpoint.
    fn draw(&self) {
        let shown = self
            .inner
            .shown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some((child, epochs)) = shown else {
            return;
        };
        let index = self.inner.slider.get("value").as_u64().unwrap_or(0) as usize;
        let Some(&epoch) = epochs.get(index) else {
            return;
        };
        self.inner
            .slider
            .set("description", format!("Epoch {epoch}"));
        match child.at(epoch).view(CHECK.1).and_then(|v| v.figure()) {
            // Scaled to the output area, as inline charts are (the check is 1000 px wide).
            Ok(figure) => self.inner.chart.set(
                "value",
                crate::display::fit_width(figure.svg(), figure.size()),
            ),
            Err(error) => self.inner.chart.set("value", escape(&error.to_string())),
        }
    }
}

/// Training progress into the panel's bar and line, a few times a second.
struct BarProgress {
    panel: InterventionPanel,
    total: u64,
    last: Option<Instant>,
}

impl BarProgress {
    fn new(panel: &InterventionPanel) -> Self {
        BarProgress {
            panel: panel.clone(),
            total: 0,
            last: None,
        }
    }
}

impl Progress for BarProgress {
    fn event(&mut self, event: &TrainEvent) {
        let p = &self.panel.inner;
        match event {
            TrainEvent::Started { total_epochs, .. } => {
                self.total = *total_epochs;
                p.progress.set("max", *total_epochs);
                p.progress.set("value", 0);
                p.progress.set("bar_style", "");
            }
            TrainEvent::Epoch {
                epoch,
                train_loss,
                test_loss,
            } => {
                if epoch + 1 < self.total
                    && self
                        .last
                        .is_some_and(|t| t.elapsed() < Duration::from_millis(250))
                {
                    return;
                }
                p.progress.set("value", epoch + 1);
                p.line.set(
                    "value",
                    format!(
                        "<code>epoch {}/{} · train {train_loss:.3e} · test {test_loss:.3e}</code>",
                        epoch + 1,
                        self.total
                    ),
                );
                self.last = Some(Instant::now());
            }
            TrainEvent::Checkpoint { .. } => {}
            TrainEvent::Finished { .. } => {
                p.progress.set("value", self.total);
                p.progress.set("bar_style", "success");
            }
        }
    }
}
