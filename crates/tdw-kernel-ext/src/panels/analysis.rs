//! `analysis_panel()`: pick a variant (refreshable: a variant trained meanwhile appears), pick
//! analyzers (the family's list, all selected), run them with progress in place, then see the
//! freshness table. The run is resumable like `tdw analyze`: what is on disk is skipped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tdw_core::analysis::{AnalysisEvent, AnalysisProgress};
use tdw_core::{AnalyzeOptions, Result, Variant};

use crate::display::{EvcxrDisplay, freshness_tables};
use crate::html::escape;
use crate::notebook::registry;
use crate::widgets::{self, Widget};

/// The analysis panel; shown by ending a cell with it.
#[derive(Clone)]
pub struct AnalysisPanel {
    inner: Arc<Inner>,
}

struct Inner {
    root: Widget,
    variant: Widget,
    refresh: Widget,
    analyzers: Widget,
    run: Widget,
    progress: Widget,
    line: Widget,
    result: Widget,
    variants: Mutex<Vec<Variant>>,
    analyzer_names: Mutex<Vec<String>>,
    running: AtomicBool,
}

impl std::fmt::Debug for AnalysisPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnalysisPanel({})", self.widget().id())
    }
}

impl EvcxrDisplay for AnalysisPanel {
    fn evcxr_display(&self) {
        self.inner.root.evcxr_display();
    }
}

/// Every trained variant on disk, all families, sorted by name.
fn trained_variants() -> Result<Vec<Variant>> {
    let registry = registry()?;
    let mut all = Vec::new();
    for family in registry.names() {
        all.extend(
            registry
                .variants(&family)?
                .into_iter()
                .filter(|v| v.checkpoints().is_ok_and(|c| !c.is_empty())),
        );
    }
    all.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(all)
}

/// The Analysis panel: pick a variant and analyzers, run them, watch each checkpoint done.
pub fn analysis_panel() -> Result<AnalysisPanel> {
    let variant = widgets::dropdown("Variant", &[], None);
    let refresh = widgets::button("Refresh", "");
    let analyzers = widgets::select_multiple("Analyzers", &[], &[], 8);
    let run = widgets::button("Run analysis", "primary");
    let progress = widgets::int_progress("", 0, 1);
    let line = widgets::html("");
    let result = widgets::html("");
    let title = widgets::html("<h3 style=\"margin:4px 0\">Analyze a variant</h3>");
    let top = widgets::hbox(&[&variant, &refresh]);
    let root = widgets::vbox(&[&title, &top, &analyzers, &run, &progress, &line, &result]);
    let panel = AnalysisPanel {
        inner: Arc::new(Inner {
            root,
            variant,
            refresh,
            analyzers,
            run,
            progress,
            line,
            result,
            variants: Mutex::new(Vec::new()),
            analyzer_names: Mutex::new(Vec::new()),
            running: AtomicBool::new(false),
        }),
    };
    panel.reload();
    let me = panel.clone();
    panel.inner.refresh.on_click(move |_| me.reload());
    let me = panel.clone();
    panel
        .inner
        .variant
        .observe("index", move |_, _| me.select_variant());
    let me = panel.clone();
    panel.inner.run.on_click(move |_| me.start());
    Ok(panel)
}

impl AnalysisPanel {
    /// The panel's root widget (what the cell displays).
    pub fn widget(&self) -> &Widget {
        &self.inner.root
    }

    /// The variants the drop-down offers, by name.
    pub fn variant_names(&self) -> Vec<String> {
        self.inner
            .variants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|v| v.name().to_string())
            .collect()
    }

    fn selected(&self) -> Option<Variant> {
        let index = self.inner.variant.get("index").as_u64()? as usize;
        self.inner
            .variants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(index)
            .cloned()
    }

    /// Lists the variants on disk again, keeping the selection when it still exists.
    fn reload(&self) {
        let keep = self.selected().map(|v| v.name().to_string());
        let variants = match trained_variants() {
            Ok(variants) => variants,
            Err(error) => {
                self.inner.line.set("value", escape(&error.to_string()));
                return;
            }
        };
        let names: Vec<String> = variants.iter().map(|v| v.name().to_string()).collect();
        let index = keep
            .and_then(|k| names.iter().position(|n| *n == k))
            .or(if names.is_empty() { None } else { Some(0) });
        *self
            .inner
            .variants
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = variants;
        let mut changes = serde_json::Map::new();
        changes.insert("_options_labels".into(), serde_json::json!(names));
        changes.insert("index".into(), serde_json::json!(index));
        self.inner.variant.set_many(changes);
        self.select_variant();
    }

    /// The selected variant's analyzers (all selected) and its freshness.
    fn select_variant(&self) {
        let Some(variant) = self.selected() else {
            self.inner
                .line
                .set("value", "no trained variants yet: train one first");
            return;
        };
        let spec = variant.family().spec();
        let names: Vec<String> = spec
            .analyzers
            .iter()
            .chain(&spec.secondary_analyzers)
            .chain(&spec.cross_epoch_analyzers)
            .cloned()
            .collect();
        let all: Vec<usize> = (0..names.len()).collect();
        let mut changes = serde_json::Map::new();
        changes.insert("_options_labels".into(), serde_json::json!(names));
        changes.insert("index".into(), serde_json::json!(all));
        self.inner.analyzers.set_many(changes);
        *self
            .inner
            .analyzer_names
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = names;
        self.show_freshness(&variant);
    }

    fn show_freshness(&self, variant: &Variant) {
        let html = match variant.freshness() {
            Ok(report) => freshness_tables(&report).0,
            Err(error) => escape(&error.to_string()),
        };
        self.inner.result.set("value", html);
    }

    fn start(&self) {
        if self.inner.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let Some(variant) = self.selected() else {
            self.inner.running.store(false, Ordering::SeqCst);
            return;
        };
        let names = self
            .inner
            .analyzer_names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let chosen: Vec<String> = self
            .inner
            .analyzers
            .get("index")
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| names.get(i.as_u64()? as usize).cloned())
                    .collect()
            })
            .unwrap_or_default();
        self.inner.run.set("disabled", true);
        self.inner.progress.set("bar_style", "");
        let me = self.clone();
        std::thread::spawn(move || {
            let mut progress = PanelProgress {
                panel: me.clone(),
                started: Instant::now(),
                last: None,
            };
            let options = AnalyzeOptions {
                analyzers: Some(chosen),
                ..Default::default()
            };
            let outcome = variant.analyze(&options, &mut progress);
            let line = match outcome {
                Ok(report) => format!(
                    "analysis done: {} file(s) written in {:.1} s",
                    report.files_written, report.seconds
                ),
                Err(error) => error.to_string(),
            };
            me.inner.line.set("value", escape(&line));
            me.show_freshness(&variant);
            me.inner.run.set("disabled", false);
            me.inner.running.store(false, Ordering::SeqCst);
        });
    }
}

struct PanelProgress {
    panel: AnalysisPanel,
    started: Instant,
    last: Option<Instant>,
}

impl AnalysisProgress for PanelProgress {
    fn event(&mut self, event: &AnalysisEvent) {
        let inner = &self.panel.inner;
        match event {
            AnalysisEvent::Started { total, .. } => {
                self.started = Instant::now();
                inner.progress.set("max", *total);
                inner.progress.set("value", 0);
            }
            AnalysisEvent::Checkpoint { epoch, done, total } => {
                if done != total
                    && self
                        .last
                        .is_some_and(|t| t.elapsed() < Duration::from_millis(250))
                {
                    return;
                }
                inner.progress.set("value", *done);
                let per = self.started.elapsed().as_secs_f64() / *done as f64;
                inner.line.set(
                    "value",
                    format!("<code>checkpoint {done}/{total} · epoch {epoch} · {per:.2} s/checkpoint</code>"),
                );
                self.last = Some(Instant::now());
            }
            AnalysisEvent::Secondary { .. } => {}
            AnalysisEvent::CrossEpoch { analyzer } => {
                inner.line.set(
                    "value",
                    format!("<code>cross-epoch: {}</code>", escape(analyzer)),
                );
            }
            AnalysisEvent::Finished => inner.progress.set("bar_style", "success"),
        }
    }

    fn should_stop(&mut self) -> bool {
        crate::kernel::take_interrupt()
    }
}
