//! `explore(&v)`: one view at a time with an epoch slider over the analyzed checkpoints
//! (MIScope's global epoch slider), previous/next buttons, play, and the view's options as inputs;
//! the chart is drawn again in place at every change.
//!
//! The slider moves over the *index* of the analyzed epochs (schedules are uneven: every 100
//! epochs early, every 500 later), and the label names the epoch.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tdw_core::views::scrubber::view_epochs;
use tdw_core::views::{ViewCatalog, ViewDefinition};
use tdw_core::{Result, Variant};

use crate::display::{EvcxrDisplay, fit_width};
use crate::html::escape;
use crate::widgets::{self, Widget};

/// How long play shows each epoch.
const PLAY_STEP: Duration = Duration::from_millis(700);

#[derive(Clone)]
/// The epoch explorer: a view of a variant with an epoch slider and a play button, redrawn
/// for each epoch (see [`explore`]).
pub struct Explorer {
    inner: Arc<Inner>,
}

struct Inner {
    variant: Variant,
    root: Widget,
    view: Widget,
    views: Vec<&'static str>,
    slider: Widget,
    epoch_label: Widget,
    previous: Widget,
    next: Widget,
    play: Widget,
    options_box: Widget,
    options: Mutex<Vec<(&'static str, Widget)>>,
    chart: Widget,
    timing: Widget,
    epochs: Mutex<Vec<u64>>,
    playing: Arc<AtomicBool>,
    /// Serialises drawing: a slider event arriving mid-draw waits, then draws the latest.
    drawing: Mutex<()>,
}

impl std::fmt::Debug for Explorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Explorer({})", self.widget().id())
    }
}

impl EvcxrDisplay for Explorer {
    fn evcxr_display(&self) {
        self.inner.root.evcxr_display();
    }
}

/// The explorer of `variant`'s available views (the first one shown at its first epoch).
pub fn explore(variant: &Variant) -> Result<Explorer> {
    let views = variant.available_views();
    let names: Vec<String> = views.iter().map(|v| v.to_string()).collect();
    let view = widgets::dropdown(
        "View",
        &names,
        if names.is_empty() { None } else { Some(0) },
    );
    if let Some(layout) = widgets::layout_of(&view) {
        layout.set("width", "520px");
    }
    let slider = widgets::int_slider("Epoch", 0, 0, 0, 1);
    slider.set("readout", false);
    if let Some(layout) = widgets::layout_of(&slider) {
        layout.set("width", "420px");
    }
    let epoch_label = widgets::html("");
    let previous = widgets::button("◀ Previous", "");
    let next = widgets::button("Next ▶", "");
    let play = widgets::button("Play", "info");
    let options_box = widgets::hbox(&[]);
    let chart = widgets::html("");
    let timing = widgets::html("");
    let title = widgets::html(&format!(
        "<h3 style=\"margin:4px 0\">Explore {}</h3>",
        escape(variant.name())
    ));
    let stepping = widgets::hbox(&[&slider, &epoch_label, &previous, &next, &play]);
    let root = widgets::vbox(&[&title, &view, &stepping, &options_box, &chart, &timing]);
    let explorer = Explorer {
        inner: Arc::new(Inner {
            variant: variant.clone(),
            root,
            view,
            views,
            slider,
            epoch_label,
            previous,
            next,
            play,
            options_box,
            options: Mutex::new(Vec::new()),
            chart,
            timing,
            epochs: Mutex::new(Vec::new()),
            playing: Arc::new(AtomicBool::new(false)),
            drawing: Mutex::new(()),
        }),
    };
    explorer.select_view();
    explorer.wire();
    Ok(explorer)
}

impl Explorer {
    /// The panel's root widget (what the cell displays).
    pub fn widget(&self) -> &Widget {
        &self.inner.root
    }

    /// The epoch the slider is on.
    pub fn epoch(&self) -> Option<u64> {
        let index = self.inner.slider.get("value").as_u64()? as usize;
        self.inner
            .epochs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(index)
            .copied()
    }

    fn definition(&self) -> Option<&'static ViewDefinition> {
        let index = self.inner.view.get("index").as_u64()? as usize;
        let name = self.inner.views.get(index)?;
        ViewCatalog::builtin().get(name).ok()
    }

    fn wire(&self) {
        let inner = &self.inner;
        let me = self.clone();
        inner.view.observe("index", move |_, _| me.select_view());
        let me = self.clone();
        inner.slider.observe("value", move |_, _| me.draw());
        let me = self.clone();
        inner.previous.on_click(move |_| {
            me.step(-1);
        });
        let me = self.clone();
        inner.next.on_click(move |_| {
            me.step(1);
        });
        let me = self.clone();
        inner.play.on_click(move |_| me.toggle_play());
    }

    /// Moves the slider by `delta` checkpoints (clamped); the observer draws.
    fn step(&self, delta: i64) -> bool {
        let count = self
            .inner
            .epochs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len() as i64;
        let at = self.inner.slider.get("value").as_i64().unwrap_or(0);
        let to = (at + delta).clamp(0, (count - 1).max(0));
        if to == at {
            return false;
        }
        self.inner.slider.set("value", to);
        true
    }

    fn toggle_play(&self) {
        let inner = &self.inner;
        if inner.playing.swap(false, Ordering::SeqCst) {
            inner.play.set("description", "Play");
            return;
        }
        inner.playing.store(true, Ordering::SeqCst);
        inner.play.set("description", "Pause");
        let me = self.clone();
        std::thread::spawn(move || {
            while me.inner.playing.load(Ordering::SeqCst) {
                std::thread::sleep(PLAY_STEP);
                if !me.inner.playing.load(Ordering::SeqCst) || !me.step(1) {
                    break;
                }
            }
            me.inner.playing.store(false, Ordering::SeqCst);
            me.inner.play.set("description", "Play");
        });
    }

    /// A new view: its epochs on the slider, its options as inputs, then a drawing.
    fn select_view(&self) {
        let inner = &self.inner;
        let Some(definition) = self.definition() else {
            inner.chart.set(
                "value",
                "<p>No views are available yet: analyze the variant first.</p>",
            );
            return;
        };
        let epochs = view_epochs(&inner.variant, definition);
        let keep = self.epoch();
        let index = keep
            .and_then(|k| epochs.iter().position(|e| *e >= k))
            .unwrap_or(0);
        let mut changes = serde_json::Map::new();
        changes.insert("max".into(), (epochs.len().saturating_sub(1)).into());
        changes.insert("disabled".into(), (!definition.is_per_epoch()).into());
        *inner.epochs.lock().unwrap_or_else(|e| e.into_inner()) = epochs;
        inner.slider.set_many(changes);
        let mut inputs = Vec::new();
        for option in definition.options {
            let input = widgets::text(option.name, option.default);
            input.set("tooltip", option.help);
            let me = self.clone();
            input.observe("value", move |_, _| me.draw());
            inputs.push((option.name, input));
        }
        let refs: Vec<&Widget> = inputs.iter().map(|(_, w)| w).collect();
        widgets::set_children(&inner.options_box, &refs);
        *inner.options.lock().unwrap_or_else(|e| e.into_inner()) = inputs;
        if inner.slider.get("value").as_u64() == Some(index as u64) {
            self.draw();
        } else {
            inner.slider.set("value", index);
        }
    }

    /// Draws the view at the slider's epoch with the options' values.
    fn draw(&self) {
        let inner = &self.inner;
        let _one_at_a_time = inner.drawing.lock().unwrap_or_else(|e| e.into_inner());
        let Some(definition) = self.definition() else {
            return;
        };
        let epoch = self.epoch();
        let count = inner.epochs.lock().unwrap_or_else(|e| e.into_inner()).len();
        let position = inner.slider.get("value").as_u64().unwrap_or(0) + 1;
        inner.epoch_label.set(
            "value",
            match epoch {
                Some(e) if definition.is_per_epoch() => {
                    // One line: the label's box is narrow and would wrap "(3/3)" below.
                    format!(
                        "<span style=\"white-space:nowrap\"><b>epoch {e}</b> ({position}/{count})</span>"
                    )
                }
                Some(e) => format!("cursor at epoch {e}"),
                None => "no analyzed epochs".into(),
            },
        );
        let options: BTreeMap<&str, String> = inner
            .options
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|(name, w)| match w.get("value") {
                Value::String(s) if !s.trim().is_empty() => Some((*name, s)),
                _ => None,
            })
            .collect();
        let started = Instant::now();
        let cursor = match epoch {
            Some(e) => inner.variant.at(e),
            None => inner.variant.at(0),
        };
        let figure = cursor.view(definition.name).and_then(|mut view| {
            for (name, value) in &options {
                view = view.with(name, value);
            }
            view.figure()
        });
        let took = started.elapsed();
        match figure {
            Ok(figure) => inner
                .chart
                .set("value", fit_width(figure.svg(), figure.size())),
            Err(error) => inner.chart.set(
                "value",
                format!(
                    "<p style=\"color:#c0392b\">{}</p>",
                    escape(&error.to_string())
                ),
            ),
        }
        inner.timing.set(
            "value",
            format!(
                "<span style=\"color:#777\">drawn in {} ms</span>",
                took.as_millis()
            ),
        );
    }
}
