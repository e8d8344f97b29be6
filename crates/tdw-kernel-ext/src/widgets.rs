//! Jupyter widgets (ipywidgets message protocol 2.1, the models of `@jupyter-widgets/controls`
//! and `@jupyter-widgets/base` 2.0.0 that JupyterLab 4 with jupyterlab-widgets 3 renders) made
//! from Rust, over the kernel's comms.
//!
//! A widget is a model in the kernel process's peer (here: this cell process) and one or more
//! views in the frontend, kept in sync through one comm of target `jupyter.widget`:
//! - open: `{state, buffer_paths: []}` with message metadata `{version: "2.1.0"}`;
//! - either side changes attributes with `{method: "update", state: {..}}`;
//! - the frontend may ask `{method: "request_state"}` (answered with the whole state) and sends
//!   `{method: "custom", content: {event: "click"}}` when a Button is clicked.
//!
//! A widget shows as `application/vnd.jupyter.widget-view+json` (`{model_id}`) with a text/plain
//! fallback (what nbconvert and stock evcxr show). Observers run on the kernel link's thread
//! (see `kernel`): one message at a time, so long work belongs on a thread of its own.
//!
//! Without tdw-kernel there is no comm: widgets are then inert values whose text fallback says
//! so, and setting their attributes still works locally.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use serde_json::{Map, Value, json};

use crate::display::{EvcxrDisplay, emit};
use crate::kernel::{Comm, CommEvent, unique_id};

/// The message protocol version we speak.
pub const PROTOCOL_VERSION: &str = "2.1.0";
const CONTROLS: &str = "@jupyter-widgets/controls";
const BASE: &str = "@jupyter-widgets/base";
const MODULE_VERSION: &str = "2.0.0";
/// The MIME type of a widget's view.
pub const VIEW_MIME: &str = "application/vnd.jupyter.widget-view+json";

type Observer = Box<dyn Fn(&Widget, &Value) + Send + Sync>;
type ClickHandler = Box<dyn Fn(&Widget) + Send + Sync>;

struct Inner {
    id: String,
    comm: Option<Comm>,
    state: Mutex<Map<String, Value>>,
    observers: Mutex<HashMap<String, Vec<Arc<Observer>>>>,
    clicks: Mutex<Vec<Arc<ClickHandler>>>,
    /// Widgets this one refers to (layout, style, children): kept alive with it.
    children: Mutex<Vec<Widget>>,
}

/// A handle to one widget model; clones share it.
#[derive(Clone)]
pub struct Widget {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Widget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Widget({} {})", self.model_name(), self.inner.id)
    }
}

impl Widget {
    /// A widget of `model` (e.g. "IntSliderModel") with `view`, in `module` (controls or base),
    /// with `attributes` over the model's defaults.
    pub fn new(
        module: &str,
        model: &str,
        view: Option<&str>,
        attributes: Map<String, Value>,
    ) -> Widget {
        let mut state = Map::new();
        state.insert("_model_module".into(), module.into());
        state.insert("_model_module_version".into(), MODULE_VERSION.into());
        state.insert("_model_name".into(), model.into());
        state.insert("_view_count".into(), Value::Null);
        match view {
            Some(view) => {
                let view_module = if model.ends_with("StyleModel") {
                    BASE
                } else {
                    module
                };
                state.insert("_view_module".into(), view_module.into());
                state.insert("_view_module_version".into(), MODULE_VERSION.into());
                state.insert("_view_name".into(), view.into());
            }
            None => {
                state.insert("_view_module".into(), Value::Null);
                state.insert("_view_module_version".into(), "".into());
                state.insert("_view_name".into(), Value::Null);
            }
        }
        state.extend(attributes);
        let mut data = Map::new();
        data.insert("state".into(), Value::Object(state.clone()));
        data.insert("buffer_paths".into(), json!([]));
        let mut metadata = Map::new();
        metadata.insert("version".into(), PROTOCOL_VERSION.into());
        let comm = Comm::open("jupyter.widget", data, metadata);
        let id = comm
            .as_ref()
            .map_or_else(|| unique_id("widget"), |c| c.id().to_string());
        let inner = Arc::new(Inner {
            id,
            comm: comm.clone(),
            state: Mutex::new(state),
            observers: Mutex::new(HashMap::new()),
            clicks: Mutex::new(Vec::new()),
            children: Mutex::new(Vec::new()),
        });
        if let Some(comm) = comm {
            let weak: Weak<Inner> = Arc::downgrade(&inner);
            comm.on_event(move |comm, event| {
                if let Some(inner) = weak.upgrade() {
                    Widget { inner }.on_frontend(comm, event);
                }
            });
        }
        Widget { inner }
    }

    /// A DOM widget of the controls module: with its own Layout (and a style model when given).
    fn control(
        model: &str,
        view: &str,
        style: Option<&str>,
        mut attributes: Map<String, Value>,
    ) -> Widget {
        let layout = Layout::new();
        attributes.insert("layout".into(), layout.reference());
        attributes.entry("_dom_classes").or_insert(json!([]));
        attributes.entry("tabbable").or_insert(Value::Null);
        attributes.entry("tooltip").or_insert(Value::Null);
        let style = style.map(|style| {
            let style = Widget::new(CONTROLS, style, Some("StyleView"), Map::new());
            attributes.insert("style".into(), style.reference());
            style
        });
        let widget = Widget::new(CONTROLS, model, Some(view), attributes);
        widget.keep(layout.widget.clone());
        if let Some(style) = style {
            widget.keep(style);
        }
        widget
    }

    fn keep(&self, child: Widget) {
        self.inner
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child);
    }

    /// The model id (the comm id), as frontends name it.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// `"IPY_MODEL_<id>"`: how one widget's state refers to another.
    pub fn reference(&self) -> Value {
        Value::String(format!("IPY_MODEL_{}", self.inner.id))
    }

    /// The model's `_model_name` (`IntSliderModel`, ...).
    pub fn model_name(&self) -> String {
        self.get("_model_name")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Whether a frontend can show it (false without tdw-kernel).
    pub fn is_live(&self) -> bool {
        self.inner.comm.is_some()
    }

    /// The current value of an attribute (`Null` when unset).
    pub fn get(&self, key: &str) -> Value {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Sets attributes, sends them to the frontend and runs their observers.
    pub fn set_many(&self, changes: Map<String, Value>) {
        let changed = self.merge(changes);
        if changed.is_empty() {
            return;
        }
        if let Some(comm) = &self.inner.comm {
            let mut data = Map::new();
            data.insert("method".into(), "update".into());
            data.insert("state".into(), Value::Object(changed.clone()));
            data.insert("buffer_paths".into(), json!([]));
            comm.send(data, Map::new());
        }
        self.notify(&changed);
    }

    /// Sets one state key and sends the change to the frontend.
    pub fn set(&self, key: &str, value: impl Into<Value>) {
        let mut changes = Map::new();
        changes.insert(key.into(), value.into());
        self.set_many(changes);
    }

    /// Merges `changes` into the state; returns those that differ from what was there.
    fn merge(&self, changes: Map<String, Value>) -> Map<String, Value> {
        let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = Map::new();
        for (key, value) in changes {
            if state.get(&key) != Some(&value) {
                state.insert(key.clone(), value.clone());
                changed.insert(key, value);
            }
        }
        changed
    }

    fn notify(&self, changed: &Map<String, Value>) {
        for (key, value) in changed {
            let observers: Vec<Arc<Observer>> = self
                .inner
                .observers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(key)
                .cloned()
                .unwrap_or_default();
            for observer in observers {
                observer(self, value);
            }
        }
    }

    /// Runs `observer` with the new value each time `key` changes (from the frontend or Rust).
    pub fn observe(&self, key: &str, observer: impl Fn(&Widget, &Value) + Send + Sync + 'static) {
        self.inner
            .observers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default()
            .push(Arc::new(Box::new(observer)));
    }

    /// Runs `handler` on each click (Buttons).
    pub fn on_click(&self, handler: impl Fn(&Widget) + Send + Sync + 'static) {
        self.inner
            .clicks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(Box::new(handler)));
    }

    /// Acts as if the frontend had clicked (tests, keyboard shortcuts).
    pub fn click(&self) {
        let handlers: Vec<Arc<ClickHandler>> = self
            .inner
            .clicks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for handler in handlers {
            handler(self);
        }
    }

    /// What the frontend sent on this widget's comm.
    fn on_frontend(&self, comm: &Comm, event: CommEvent) {
        let CommEvent::Message { data } = event else {
            return;
        };
        match data.get("method").and_then(Value::as_str) {
            Some("update") => {
                if let Some(Value::Object(state)) = data.get("state") {
                    let changed = self.merge(state.clone());
                    // The frontend already shows these values: echo nothing back.
                    self.notify(&changed);
                }
            }
            Some("request_state") => {
                let state = self
                    .inner
                    .state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let mut reply = Map::new();
                reply.insert("method".into(), "update".into());
                reply.insert("state".into(), Value::Object(state));
                reply.insert("buffer_paths".into(), json!([]));
                comm.send(reply, Map::new());
            }
            Some("custom") => {
                let event = data
                    .get("content")
                    .and_then(|c| c.get("event"))
                    .and_then(Value::as_str);
                if event == Some("click") {
                    self.click();
                }
            }
            _ => {}
        }
    }

    /// Closes the widget's comm: its views disappear from the frontend.
    pub fn close(&self) {
        if let Some(comm) = &self.inner.comm {
            comm.close();
        }
    }

    /// The view bundle: the widget view for JupyterLab, text for everything else.
    pub fn view_bundle(&self) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert(
            VIEW_MIME.into(),
            json!({"version_major": 2, "version_minor": 0, "model_id": self.inner.id}),
        );
        data.insert("text/plain".into(), Value::String(self.text()));
        data
    }

    fn text(&self) -> String {
        let name = self.model_name();
        let name = name.strip_suffix("Model").unwrap_or(&name);
        let description = self.get("description");
        let description = description.as_str().unwrap_or_default();
        if self.is_live() {
            format!("{name}({description})")
        } else {
            format!("{name}({description}) — widgets need the workbench kernel (tdw-kernel)")
        }
    }
}

impl EvcxrDisplay for Widget {
    fn evcxr_display(&self) {
        let view =
            json!({"version_major": 2, "version_minor": 0, "model_id": self.inner.id}).to_string();
        emit(&[(VIEW_MIME, &view), ("text/plain", &self.text())]);
    }
}

fn attrs(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Placement and size of a widget (CSS properties: width, display, flex_flow, margin, ...).
#[derive(Debug, Clone)]
pub struct Layout {
    /// The LayoutModel widget.
    pub widget: Widget,
}

impl Layout {
    /// An empty layout (the frontend's defaults).
    pub fn new() -> Layout {
        Layout {
            widget: Widget::new(BASE, "LayoutModel", Some("LayoutView"), Map::new()),
        }
    }

    /// `"IPY_MODEL_<id>"`: how a widget's `layout` refers to it.
    pub fn reference(&self) -> Value {
        self.widget.reference()
    }
}

impl Default for Layout {
    fn default() -> Self {
        Layout::new()
    }
}

/// The layout of `widget` (to set `width`, `display`, `border`, ... on it).
pub fn layout_of(widget: &Widget) -> Option<Widget> {
    kept_model(widget, "layout")
}

/// The style model of a control (to set `description_width`, `button_color`, ... on it).
pub fn style_of(widget: &Widget) -> Option<Widget> {
    kept_model(widget, "style")
}

/// The kept child model that `widget`'s attribute `attribute` refers to.
fn kept_model(widget: &Widget, attribute: &str) -> Option<Widget> {
    let reference = widget.get(attribute);
    let id = reference.as_str()?.strip_prefix("IPY_MODEL_")?;
    widget
        .inner
        .children
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|w| w.id() == id)
        .cloned()
}

fn described(description: &str, mut more: Vec<(&str, Value)>) -> Map<String, Value> {
    more.push(("description", description.into()));
    more.push(("description_allow_html", false.into()));
    more.push(("disabled", false.into()));
    attrs(more)
}

/// A drop-down list of `options`, showing `options[index]` (`index` attribute: the selection).
pub fn dropdown(description: &str, options: &[String], index: Option<usize>) -> Widget {
    Widget::control(
        "DropdownModel",
        "DropdownView",
        Some("DescriptionStyleModel"),
        described(
            description,
            vec![("_options_labels", json!(options)), ("index", json!(index))],
        ),
    )
}

/// A list with one selection (`index`) shown `rows` high.
pub fn select(description: &str, options: &[String], index: Option<usize>, rows: usize) -> Widget {
    Widget::control(
        "SelectModel",
        "SelectView",
        Some("DescriptionStyleModel"),
        described(
            description,
            vec![
                ("_options_labels", json!(options)),
                ("index", json!(index)),
                ("rows", json!(rows)),
            ],
        ),
    )
}

/// A list with several selections (`index`: the selected positions).
pub fn select_multiple(
    description: &str,
    options: &[String],
    selected: &[usize],
    rows: usize,
) -> Widget {
    Widget::control(
        "SelectMultipleModel",
        "SelectMultipleView",
        Some("DescriptionStyleModel"),
        described(
            description,
            vec![
                ("_options_labels", json!(options)),
                ("index", json!(selected)),
                ("rows", json!(rows)),
            ],
        ),
    )
}

/// An integer input (`value`).
pub fn int_text(description: &str, value: i64) -> Widget {
    Widget::control(
        "IntTextModel",
        "IntTextView",
        Some("DescriptionStyleModel"),
        described(
            description,
            vec![
                ("value", json!(value)),
                ("step", json!(1)),
                ("continuous_update", json!(false)),
            ],
        ),
    )
}

/// An integer input clamped to `[min, max]`.
pub fn bounded_int_text(description: &str, value: i64, min: i64, max: i64) -> Widget {
    Widget::control(
        "BoundedIntTextModel",
        "IntTextView",
        Some("DescriptionStyleModel"),
        described(
            description,
            vec![
                ("value", json!(value.clamp(min, max))),
                ("min", json!(min)),
                ("max", json!(max)),
                ("step", json!(1)),
                ("continuous_update", json!(false)),
            ],
        ),
    )
}

/// A floating-point input (`value`).
pub fn float_text(description: &str, value: f64) -> Widget {
    Widget::control(
        "FloatTextModel",
        "FloatTextView",
        Some("DescriptionStyleModel"),
        described(
            description,
            vec![
                ("value", json!(value)),
                ("step", Value::Null),
                ("continuous_update", json!(false)),
            ],
        ),
    )
}

/// A one-line text input (`value`).
pub fn text(description: &str, value: &str) -> Widget {
    Widget::control(
        "TextModel",
        "TextView",
        Some("TextStyleModel"),
        described(
            description,
            vec![
                ("value", json!(value)),
                ("placeholder", json!("")),
                ("continuous_update", json!(true)),
            ],
        ),
    )
}

/// A check box (`value`).
pub fn checkbox(description: &str, value: bool) -> Widget {
    Widget::control(
        "CheckboxModel",
        "CheckboxView",
        Some("CheckboxStyleModel"),
        described(
            description,
            vec![("value", json!(value)), ("indent", json!(true))],
        ),
    )
}

/// A horizontal integer slider over `[min, max]` (`value`).
pub fn int_slider(description: &str, value: i64, min: i64, max: i64, step: i64) -> Widget {
    Widget::control(
        "IntSliderModel",
        "IntSliderView",
        Some("SliderStyleModel"),
        described(
            description,
            vec![
                ("value", json!(value)),
                ("min", json!(min)),
                ("max", json!(max)),
                ("step", json!(step.max(1))),
                ("orientation", json!("horizontal")),
                ("readout", json!(true)),
                ("readout_format", json!("d")),
                ("continuous_update", json!(false)),
                ("behavior", json!("drag-tap")),
            ],
        ),
    )
}

/// A button; [`Widget::on_click`] says what it does. `style`: "", "primary", "success",
/// "info", "warning", "danger".
pub fn button(description: &str, style: &str) -> Widget {
    Widget::control(
        "ButtonModel",
        "ButtonView",
        Some("ButtonStyleModel"),
        attrs(vec![
            ("description", description.into()),
            ("button_style", style.into()),
            ("disabled", false.into()),
            ("icon", "".into()),
        ]),
    )
}

/// A progress bar over `[0, max]` (`value`).
pub fn int_progress(description: &str, value: i64, max: i64) -> Widget {
    Widget::control(
        "IntProgressModel",
        "ProgressView",
        Some("ProgressStyleModel"),
        described(
            description,
            vec![
                ("value", json!(value)),
                ("min", json!(0)),
                ("max", json!(max)),
                ("orientation", json!("horizontal")),
                ("bar_style", json!("")),
            ],
        ),
    )
}

/// A progress bar with a float value.
pub fn float_progress(description: &str, value: f64, max: f64) -> Widget {
    Widget::control(
        "FloatProgressModel",
        "ProgressView",
        Some("ProgressStyleModel"),
        described(
            description,
            vec![
                ("value", json!(value)),
                ("min", json!(0.0)),
                ("max", json!(max)),
                ("orientation", json!("horizontal")),
                ("bar_style", json!("")),
            ],
        ),
    )
}

/// HTML shown as is (`value`): charts (inline SVG), tables, status lines.
pub fn html(value: &str) -> Widget {
    Widget::control(
        "HTMLModel",
        "HTMLView",
        Some("HTMLStyleModel"),
        described(
            "",
            vec![("value", json!(value)), ("placeholder", json!(""))],
        ),
    )
}

/// Plain text (`value`).
pub fn label(value: &str) -> Widget {
    Widget::control(
        "LabelModel",
        "LabelView",
        Some("LabelStyleModel"),
        described(
            "",
            vec![("value", json!(value)), ("placeholder", json!(""))],
        ),
    )
}

fn boxed(model: &str, view: &str, children: &[&Widget]) -> Widget {
    let references: Vec<Value> = children.iter().map(|c| c.reference()).collect();
    let widget = Widget::control(
        model,
        view,
        None,
        attrs(vec![
            ("children", Value::Array(references)),
            ("box_style", "".into()),
        ]),
    );
    for child in children {
        widget.keep((*child).clone());
    }
    widget
}

/// Children stacked vertically.
pub fn vbox(children: &[&Widget]) -> Widget {
    boxed("VBoxModel", "VBoxView", children)
}

/// Children side by side.
pub fn hbox(children: &[&Widget]) -> Widget {
    boxed("HBoxModel", "HBoxView", children)
}

/// Replaces a box's children (the frontend redraws it).
pub fn set_children(container: &Widget, children: &[&Widget]) {
    let references: Vec<Value> = children.iter().map(|c| c.reference()).collect();
    for child in children {
        container.keep((*child).clone());
    }
    container.set("children", Value::Array(references));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_changes_fire_observers_once_per_real_change() {
        let slider = int_slider("epoch", 0, 0, 100, 10);
        assert!(!slider.is_live(), "no kernel in unit tests");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        slider.observe("value", move |_, v| log.lock().unwrap().push(v.clone()));
        slider.set("value", 10);
        slider.set("value", 10);
        slider.set("max", 200);
        assert_eq!(*seen.lock().unwrap(), vec![json!(10)]);
        assert_eq!(slider.get("max"), json!(200));
    }

    #[test]
    fn frontend_messages_update_state_and_click() {
        let button = button("Start", "primary");
        let clicks = Arc::new(Mutex::new(0));
        let count = Arc::clone(&clicks);
        button.on_click(move |_| *count.lock().unwrap() += 1);
        let comm = Comm::detached("test");
        let click = json!({"method": "custom", "content": {"event": "click"}});
        button.on_frontend(
            &comm,
            CommEvent::Message {
                data: click.as_object().unwrap().clone(),
            },
        );
        assert_eq!(*clicks.lock().unwrap(), 1);
        let text = text("prime", "113");
        let typed = json!({"method": "update", "state": {"value": "23"}});
        let changed = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&changed);
        text.observe("value", move |_, v| {
            *sink.lock().unwrap() = v.as_str().unwrap().to_string()
        });
        text.on_frontend(
            &comm,
            CommEvent::Message {
                data: typed.as_object().unwrap().clone(),
            },
        );
        assert_eq!(text.get("value"), json!("23"));
        assert_eq!(*changed.lock().unwrap(), "23");
    }

    #[test]
    fn a_control_carries_the_models_the_frontend_needs() {
        let dropdown = dropdown("family", &["a".into(), "b".into()], Some(1));
        assert_eq!(dropdown.get("_model_name"), json!("DropdownModel"));
        assert_eq!(dropdown.get("_model_module"), json!(CONTROLS));
        assert_eq!(dropdown.get("_view_module_version"), json!(MODULE_VERSION));
        let layout = layout_of(&dropdown).expect("its layout is kept with it");
        assert_eq!(layout.get("_model_name"), json!("LayoutModel"));
        assert!(
            dropdown
                .get("style")
                .as_str()
                .unwrap()
                .starts_with("IPY_MODEL_")
        );
        let view = dropdown.view_bundle();
        assert_eq!(view[VIEW_MIME]["model_id"], json!(dropdown.id()));
        let panel = vbox(&[&dropdown]);
        assert_eq!(panel.get("children"), json!([dropdown.reference()]));
    }
}
