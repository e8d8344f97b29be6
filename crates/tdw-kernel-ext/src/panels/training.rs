//! `training_panel()`: the seed's Training tab as widgets.
//!
//! A family drop-down (from the registry); one input per domain parameter of its family.json
//! (int → integer box, float → number box, str → text box; default filled in, description as the
//! tooltip), rebuilt when the family changes; the training settings with the family's defaults;
//! the variant name previewed from `variant_pattern` as the values change; a status line; Start,
//! Cancel, Resume and Retrain (which asks before deleting); progress and a loss chart while it
//! trains. Invalid values are shown next to their field with the library's error text, and
//! Start does nothing then.
//!
//! Callbacks run in this cell process (the kernel link's thread); training runs on a thread of
//! its own so that Cancel is still heard, and stops at the next epoch, leaving a resumable run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tdw_core::family::ParamType;
use tdw_core::{Error, FamilyRegistry, Progress, Result, TrainEvent, TrainOptions, Variant};

use crate::display::EvcxrDisplay;
use crate::html::escape;
use crate::notebook::registry;
use crate::widgets::{self, Widget, layout_of, style_of};

/// Room for the longest label ("Train fraction") in front of every input, so that the inputs
/// line up and no label is cut to "Train fract…" (ipywidgets' default is 80 px).
const LABEL_WIDTH: &str = "110px";

fn label_room(input: &Widget) {
    if let Some(style) = style_of(input) {
        style.set("description_width", LABEL_WIDTH);
    }
}

/// One domain parameter's input and the place for its error.
struct ParamInput {
    name: String,
    input: Widget,
    error: Widget,
    row: Widget,
}

impl ParamInput {
    /// The value as `name=value` text, as the CLI would take it.
    fn text(&self) -> String {
        match self.input.get("value") {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }
}

/// The training panel; shown by ending a cell with it.
#[derive(Clone)]
pub struct TrainingPanel {
    inner: Arc<Panel>,
}

struct Panel {
    root: Widget,
    family: Widget,
    families: Vec<String>,
    params_box: Widget,
    params: Mutex<Vec<ParamInput>>,
    epochs: Widget,
    fraction: Widget,
    checkpoints: Widget,
    checkpoints_error: Widget,
    learning_rate: Widget,
    learning_rate_error: Widget,
    weight_decay: Widget,
    weight_decay_error: Widget,
    /// The optimizer settings that are not editable (AdamW's betas), and where they come from.
    optimizer_note: Widget,
    name: Widget,
    status: Widget,
    start: Widget,
    cancel: Widget,
    resume: Widget,
    retrain: Widget,
    progress: Widget,
    line: Widget,
    chart: Widget,
    running: AtomicBool,
    cancel_requested: Arc<AtomicBool>,
    /// Set by a first click on Retrain: the second deletes.
    retrain_armed: AtomicBool,
}

impl std::fmt::Debug for TrainingPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrainingPanel({})", self.widget().id())
    }
}

impl EvcxrDisplay for TrainingPanel {
    fn evcxr_display(&self) {
        self.inner.root.evcxr_display();
    }
}

fn error_label() -> Widget {
    let error = widgets::html("");
    if let Some(layout) = layout_of(&error) {
        layout.set("margin", "0 0 0 8px");
    }
    error
}

fn show_error(widget: &Widget, message: &str) {
    let html = if message.is_empty() {
        String::new()
    } else {
        format!("<span style=\"color:#c0392b\">{}</span>", escape(message))
    };
    widget.set("value", html);
}

/// Builds the panel (family `modulo_addition_1layer` first when it exists).
pub fn training_panel() -> Result<TrainingPanel> {
    let registry = registry()?;
    let families = registry.names();
    let first = families
        .iter()
        .position(|f| f == "modulo_addition_1layer")
        .or(if families.is_empty() { None } else { Some(0) });
    let family = widgets::dropdown("Family", &families, first);
    let params_box = widgets::vbox(&[]);
    let epochs = widgets::bounded_int_text("Epochs", 1000, 1, 10_000_000);
    let fraction = widgets::float_text("Train fraction", 0.3);
    let checkpoints = widgets::text("Checkpoints", "family schedule");
    checkpoints.set(
        "tooltip",
        "\"family schedule\", \"every N\" (epochs 0, N, 2N, …) or a list \"0,100,500\"; the last epoch is always saved",
    );
    let learning_rate = widgets::float_text("Learning rate", 1e-3);
    learning_rate.set(
        "tooltip",
        "AdamW learning rate (the family's default is filled in)",
    );
    let weight_decay = widgets::float_text("Weight decay", 1.0);
    weight_decay.set(
        "tooltip",
        "AdamW decoupled weight decay λ: every step multiplies each weight by 1 − lr·λ",
    );
    for input in [
        &family,
        &epochs,
        &fraction,
        &checkpoints,
        &learning_rate,
        &weight_decay,
    ] {
        label_room(input);
    }
    let checkpoints_error = error_label();
    let learning_rate_error = error_label();
    let weight_decay_error = error_label();
    let optimizer_note = widgets::html("");
    let name = widgets::html("");
    let status = widgets::html("");
    let start = widgets::button("Start Training", "primary");
    let cancel = widgets::button("Cancel", "warning");
    cancel.set("disabled", true);
    let resume = widgets::button("Resume", "info");
    let retrain = widgets::button("Retrain", "danger");
    let progress = widgets::int_progress("", 0, 1);
    let line = widgets::html("");
    let chart = widgets::html("");
    let title = widgets::html("<h3 style=\"margin:4px 0\">Train a variant</h3>");
    let checkpoint_row = widgets::hbox(&[&checkpoints, &checkpoints_error]);
    let learning_rate_row = widgets::hbox(&[&learning_rate, &learning_rate_error]);
    let weight_decay_row = widgets::hbox(&[&weight_decay, &weight_decay_error]);
    let buttons = widgets::hbox(&[&start, &cancel, &resume, &retrain]);
    let root = widgets::vbox(&[
        &title,
        &family,
        &params_box,
        &epochs,
        &fraction,
        &checkpoint_row,
        &learning_rate_row,
        &weight_decay_row,
        &optimizer_note,
        &name,
        &status,
        &buttons,
        &progress,
        &line,
        &chart,
    ]);
    let panel = TrainingPanel {
        inner: Arc::new(Panel {
            root,
            family,
            families,
            params_box,
            params: Mutex::new(Vec::new()),
            epochs,
            fraction,
            checkpoints,
            checkpoints_error,
            learning_rate,
            learning_rate_error,
            weight_decay,
            weight_decay_error,
            optimizer_note,
            name,
            status,
            start,
            cancel,
            resume,
            retrain,
            progress,
            line,
            chart,
            running: AtomicBool::new(false),
            cancel_requested: Arc::new(AtomicBool::new(false)),
            retrain_armed: AtomicBool::new(false),
        }),
    };
    panel.rebuild_for_family(&registry);
    panel.wire();
    Ok(panel)
}

impl TrainingPanel {
    /// The panel's root widget (a VBox).
    pub fn widget(&self) -> &Widget {
        &self.inner.root
    }

    /// The selected family's name.
    pub fn family_name(&self) -> Option<String> {
        let index = self.inner.family.get("index").as_u64()? as usize;
        self.inner.families.get(index).cloned()
    }

    /// The input of a domain parameter, by name.
    pub fn param_input(&self, name: &str) -> Option<Widget> {
        self.inner
            .params
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.input.clone())
    }

    fn wire(&self) {
        let p = &self.inner;
        let me = self.clone();
        p.family.observe("index", move |_, _| {
            if let Ok(registry) = registry() {
                me.rebuild_for_family(&registry);
            }
        });
        for widget in [
            &p.epochs,
            &p.fraction,
            &p.checkpoints,
            &p.learning_rate,
            &p.weight_decay,
        ] {
            let me = self.clone();
            widget.observe("value", move |_, _| me.refresh());
        }
        let me = self.clone();
        p.start.on_click(move |_| me.start(Mode::Fresh));
        let me = self.clone();
        p.resume.on_click(move |_| me.start(Mode::Resume));
        let me = self.clone();
        p.retrain.on_click(move |_| {
            if me.inner.retrain_armed.swap(false, Ordering::SeqCst) {
                me.start(Mode::Retrain);
            } else if let Ok((variant, _)) = me.settings() {
                let count = variant.checkpoints().map_or(0, |c| c.len());
                me.inner.retrain_armed.store(true, Ordering::SeqCst);
                me.status(&format!(
                    "Retrain deletes the {count} checkpoint(s), metadata and artifacts of {}: click Retrain again to confirm.",
                    variant.name()
                ));
            }
        });
        let me = self.clone();
        p.cancel.on_click(move |_| {
            me.inner.cancel_requested.store(true, Ordering::SeqCst);
            me.status("Cancelling: training stops after the current epoch…");
        });
    }

    /// One input per domain parameter of the selected family, with its defaults.
    fn rebuild_for_family(&self, registry: &FamilyRegistry) {
        let p = &self.inner;
        let Some(name) = self.family_name() else {
            self.status("No families found.");
            return;
        };
        let Ok(family) = registry.family(&name) else {
            return;
        };
        let spec = family.spec();
        let mut inputs = Vec::new();
        for (param, declared) in &spec.domain_parameters {
            let default = declared.default.as_ref();
            let input = match declared.ty {
                ParamType::Int => widgets::int_text(
                    param,
                    default
                        .and_then(|d| d.to_string().parse().ok())
                        .unwrap_or(0),
                ),
                ParamType::Float => widgets::float_text(
                    param,
                    default
                        .and_then(|d| d.to_string().parse().ok())
                        .unwrap_or(0.0),
                ),
                ParamType::Str => {
                    widgets::text(param, &default.map(|d| d.to_string()).unwrap_or_default())
                }
            };
            input.set("tooltip", declared.description.clone());
            label_room(&input);
            let error = error_label();
            let row = widgets::hbox(&[&input, &error]);
            let me = self.clone();
            input.observe("value", move |_, _| me.refresh());
            inputs.push(ParamInput {
                name: param.clone(),
                input,
                error,
                row,
            });
        }
        let rows: Vec<&Widget> = inputs.iter().map(|i| &i.row).collect();
        widgets::set_children(&p.params_box, &rows);
        *p.params.lock().unwrap_or_else(|e| e.into_inner()) = inputs;
        if let Ok(config) = family.training_config() {
            p.epochs.set("value", config.num_epochs);
            p.fraction.set("value", config.training_fraction);
            p.learning_rate.set("value", config.learning_rate);
            p.weight_decay.set("value", config.weight_decay);
            p.optimizer_note.set(
                "value",
                format!(
                    "<span style=\"color:#555\">AdamW betas ({}, {}), ε 1e-8; defaults from {}</span>",
                    config.betas.0,
                    config.betas.1,
                    escape(&spec.path.display().to_string())
                ),
            );
        }
        p.checkpoints.set("value", "family schedule");
        self.refresh();
    }

    fn status(&self, text: &str) {
        self.inner
            .status
            .set("value", format!("<b>Status:</b> {}", escape(text)));
    }

    /// The variant and options the inputs describe, or the first problem (shown at its field).
    fn settings(&self) -> std::result::Result<(Variant, TrainOptions), String> {
        let p = &self.inner;
        let family = self.family_name().ok_or("no family selected")?;
        let registry = registry().map_err(|e| e.to_string())?;
        let params = p.params.lock().unwrap_or_else(|e| e.into_inner());
        for input in params.iter() {
            show_error(&input.error, "");
        }
        let texts: Vec<(String, String)> =
            params.iter().map(|i| (i.name.clone(), i.text())).collect();
        let pairs = texts.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let variant = match registry.create_variant_from_text(&family, pairs) {
            Ok(variant) => variant,
            Err(error) => {
                let message = error.to_string();
                let field = match &error {
                    Error::InvalidParameter { name, .. } | Error::MissingParameter { name, .. } => {
                        params.iter().find(|i| &i.name == name)
                    }
                    _ => None,
                };
                match field {
                    Some(input) => show_error(&input.error, &message),
                    None => {
                        if let Some(first) = params.first() {
                            show_error(&first.error, &message);
                        }
                    }
                }
                return Err(message);
            }
        };
        drop(params);
        let epochs = p
            .epochs
            .get("value")
            .as_u64()
            .filter(|e| *e > 0)
            .ok_or("epochs must be a positive integer")?;
        let fraction = p
            .fraction
            .get("value")
            .as_f64()
            .ok_or("the train fraction must be a number")?;
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(format!(
                "train fraction {fraction}: must lie strictly between 0 and 1"
            ));
        }
        show_error(&p.checkpoints_error, "");
        let schedule = p.checkpoints.get("value");
        let checkpoint_epochs = match parse_schedule(schedule.as_str().unwrap_or_default(), epochs)
        {
            Ok(schedule) => schedule,
            Err(message) => {
                show_error(&p.checkpoints_error, &message);
                return Err(message);
            }
        };
        let (learning_rate, weight_decay) = self.optimizer_settings()?;
        let options = TrainOptions {
            num_epochs: Some(epochs),
            training_fraction: Some(fraction),
            checkpoint_epochs,
            learning_rate: Some(learning_rate),
            weight_decay: Some(weight_decay),
            ..Default::default()
        };
        Ok((variant, options))
    }

    /// The learning rate and weight decay typed in, checked as the library checks them (the error
    /// shown next to its field).
    fn optimizer_settings(&self) -> std::result::Result<(f64, f64), String> {
        let p = &self.inner;
        show_error(&p.learning_rate_error, "");
        show_error(&p.weight_decay_error, "");
        let lr = p.learning_rate.get("value").as_f64().unwrap_or(f64::NAN);
        if let Err(error) = tdw_core::train::check_learning_rate(lr) {
            let message = error.to_string();
            show_error(&p.learning_rate_error, &message);
            return Err(message);
        }
        let wd = p.weight_decay.get("value").as_f64().unwrap_or(f64::NAN);
        if let Err(error) = tdw_core::train::check_weight_decay(wd, lr) {
            let message = error.to_string();
            show_error(&p.weight_decay_error, &message);
            return Err(message);
        }
        Ok((lr, wd))
    }

    /// Re-validates after any change: name preview, status, which buttons apply.
    fn refresh(&self) {
        let p = &self.inner;
        p.retrain_armed.store(false, Ordering::SeqCst);
        if p.running.load(Ordering::SeqCst) {
            return;
        }
        match self.settings() {
            Err(message) => {
                p.name.set("value", "<b>Variant:</b> –");
                self.status(&format!("invalid settings: {message}"));
                for button in [&p.start, &p.resume, &p.retrain] {
                    button.set("disabled", true);
                }
            }
            Ok((variant, options)) => {
                p.name.set(
                    "value",
                    format!("<b>Variant:</b> <code>{}</code>", escape(variant.name())),
                );
                let checkpoints = variant.checkpoints().map_or(0, |c| c.len());
                let busy = tdw_core::lock::holder(variant.dir());
                let (text, start, resume) = match (&busy, checkpoints) {
                    (Some(holder), _) => (
                        format!(
                            "busy: PID {} on {} is running `{}` on it",
                            holder.pid, holder.host, holder.operation
                        ),
                        false,
                        false,
                    ),
                    (None, 0) => ("Ready to train".to_string(), true, false),
                    (None, n) => (
                        format!(
                            "already trained with {n} checkpoint(s){}: Resume continues it, Retrain starts over",
                            recorded_difference(&variant, &options)
                        ),
                        false,
                        true,
                    ),
                };
                self.status(&text);
                p.start.set("disabled", !start);
                p.resume.set("disabled", !resume);
                p.retrain
                    .set("disabled", busy.is_some() || checkpoints == 0);
            }
        }
    }

    fn start(&self, mode: Mode) {
        let p = &self.inner;
        if p.running.load(Ordering::SeqCst) {
            return;
        }
        let (variant, mut options) = match self.settings() {
            Ok(settings) => settings,
            Err(message) => {
                self.status(&format!("invalid settings: {message}"));
                return;
            }
        };
        match mode {
            Mode::Fresh => {
                if variant.checkpoints().is_ok_and(|c| !c.is_empty()) {
                    self.refresh();
                    return;
                }
            }
            Mode::Resume => options.resume = true,
            Mode::Retrain => options.overwrite = true,
        }
        p.running.store(true, Ordering::SeqCst);
        p.cancel_requested.store(false, Ordering::SeqCst);
        for button in [&p.start, &p.resume, &p.retrain] {
            button.set("disabled", true);
        }
        p.cancel.set("disabled", false);
        self.status(&format!("training {}…", variant.name()));
        let me = self.clone();
        std::thread::spawn(move || {
            let mut progress = PanelProgress::new(&me);
            let outcome = variant.train(&options, &tdw_core::default_device(), &mut progress);
            let p = &me.inner;
            p.running.store(false, Ordering::SeqCst);
            p.cancel.set("disabled", true);
            let text = match outcome {
                Ok(result) => format!(
                    "trained {}: {} checkpoints, final test loss {:.3e}; it is now in variants() and analysis_panel()",
                    variant.name(),
                    result.checkpoint_epochs.len(),
                    result.final_test_loss
                ),
                Err(error) => error.to_string(),
            };
            me.refresh();
            me.status(&text);
        });
    }
}

/// For a trained variant whose learning rate or weight decay differ from the panel's: what it
/// was trained with (Resume keeps those and refuses others; Retrain uses the panel's).
fn recorded_difference(variant: &Variant, options: &TrainOptions) -> String {
    match tdw_core::variant::training::recorded_hyperparameters(variant) {
        Ok((lr, wd)) if options.learning_rate != Some(lr) || options.weight_decay != Some(wd) => {
            format!(" with learning rate {lr} and weight decay {wd} (Resume needs those values)")
        }
        _ => String::new(),
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Fresh,
    Resume,
    Retrain,
}

/// "family schedule" (None), "every N", or a comma-separated list of epochs.
pub fn parse_schedule(text: &str, epochs: u64) -> std::result::Result<Option<Vec<u64>>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("family schedule") || text == "family" {
        return Ok(None);
    }
    if let Some(every) = text.strip_prefix("every") {
        let every: u64 = every
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("checkpoints \"{text}\": \"every N\" needs a positive N"))?;
        return Ok(Some((0..epochs).step_by(every as usize).collect()));
    }
    let mut list = Vec::new();
    for item in text.split([',', ' ']).filter(|s| !s.is_empty()) {
        let epoch: u64 = item
            .parse()
            .map_err(|_| format!("checkpoints: \"{item}\" is not an epoch (a whole number)"))?;
        if epoch >= epochs {
            return Err(format!(
                "checkpoints: epoch {epoch} is past the last epoch ({})",
                epochs - 1
            ));
        }
        list.push(epoch);
    }
    list.sort_unstable();
    list.dedup();
    Ok(Some(list))
}

/// Training progress into the panel's bar, line and chart.
struct PanelProgress {
    panel: TrainingPanel,
    first_epoch: u64,
    total: u64,
    started: Instant,
    train: Vec<f64>,
    test: Vec<f64>,
    last_bar: Option<Instant>,
    last_chart: Option<Instant>,
}

impl PanelProgress {
    fn new(panel: &TrainingPanel) -> Self {
        PanelProgress {
            panel: panel.clone(),
            first_epoch: 0,
            total: 0,
            started: Instant::now(),
            train: Vec::new(),
            test: Vec::new(),
            last_bar: None,
            last_chart: None,
        }
    }

    fn chart(&mut self) {
        let svg = crate::live::loss_chart_svg(&self.train, &self.test, self.first_epoch);
        self.panel.inner.chart.set("value", svg);
        self.last_chart = Some(Instant::now());
    }
}

impl Progress for PanelProgress {
    fn event(&mut self, event: &TrainEvent) {
        let panel = self.panel.clone();
        let p = &panel.inner;
        match event {
            TrainEvent::Started {
                first_epoch,
                total_epochs,
                ..
            } => {
                self.first_epoch = *first_epoch;
                self.total = *total_epochs;
                self.started = Instant::now();
                p.progress.set("max", *total_epochs);
                p.progress.set("value", *first_epoch);
                p.progress.set("bar_style", "");
            }
            TrainEvent::Epoch {
                epoch,
                train_loss,
                test_loss,
            } => {
                self.train.push(*train_loss);
                self.test.push(*test_loss);
                let last = epoch + 1 == self.total;
                if !last
                    && self
                        .last_bar
                        .is_some_and(|t| t.elapsed() < Duration::from_millis(250))
                {
                    return;
                }
                let done = epoch + 1 - self.first_epoch;
                let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                p.progress.set("value", epoch + 1);
                p.line.set(
                    "value",
                    format!(
                        "<code>epoch {}/{} · train {train_loss:.3e} · test {test_loss:.3e} · {rate:.0} epochs/s · ETA {:.0} s</code>",
                        epoch + 1,
                        self.total,
                        (self.total - epoch - 1) as f64 / rate
                    ),
                );
                self.last_bar = Some(Instant::now());
                if last
                    || self
                        .last_chart
                        .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
                {
                    self.chart();
                }
            }
            TrainEvent::Checkpoint { .. } => {}
            TrainEvent::Finished { .. } => {
                self.chart();
                p.progress.set("value", self.total);
                p.progress.set("bar_style", "success");
            }
        }
    }

    fn should_stop(&mut self) -> bool {
        let stop = self
            .panel
            .inner
            .cancel_requested
            .swap(false, Ordering::SeqCst);
        if stop {
            self.panel.inner.progress.set("bar_style", "warning");
        }
        stop
    }
}

#[cfg(test)]
mod tests {
    use super::parse_schedule;

    #[test]
    fn schedules_read_as_people_write_them() {
        assert_eq!(parse_schedule("family schedule", 100), Ok(None));
        assert_eq!(
            parse_schedule("every 25", 100),
            Ok(Some(vec![0, 25, 50, 75]))
        );
        assert_eq!(parse_schedule("0, 50,10", 100), Ok(Some(vec![0, 10, 50])));
        assert!(
            parse_schedule("every 0", 100)
                .unwrap_err()
                .contains("positive")
        );
        assert!(
            parse_schedule("0,100", 100)
                .unwrap_err()
                .contains("past the last epoch")
        );
        assert!(
            parse_schedule("ten", 100)
                .unwrap_err()
                .contains("not an epoch")
        );
    }
}
