//! State shared by the kernel's channels, the evaluator thread and the cell link: where outgoing
//! messages go, which request the cell's output belongs to, the open comms, the cell process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use jupyter_protocol::{JupyterMessage, JupyterMessageContent, Media};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot, watch};

use crate::cell_link::CellLink;

/// An `input_request` for the stdin channel and where its answer goes.
pub type InputAsk = (JupyterMessage, oneshot::Sender<String>);

pub struct Shared {
    pub iopub: mpsc::UnboundedSender<JupyterMessage>,
    pub shell: mpsc::UnboundedSender<JupyterMessage>,
    pub stdin: mpsc::UnboundedSender<InputAsk>,
    /// The request whose outputs the cell process is producing now: the running execute
    /// request, or the comm message whose handler runs.
    parent: Mutex<Option<JupyterMessage>>,
    /// Open comms (both directions), id → target name, for `comm_info_request`.
    comms: Mutex<HashMap<String, String>>,
    pub link: OnceLock<Arc<CellLink>>,
    /// PID of the cell process (evcxr's child), 0 before it exists.
    pub child_pid: AtomicU32,
    pub executing: AtomicBool,
    /// Interrupts received during the running cell.
    pub interrupts: AtomicU32,
    /// None while the workbench loads; then whether it loaded without errors (and
    /// rust-analyzer is warm): a standby offers itself only when it did.
    pub loaded: watch::Sender<Option<bool>>,
    /// When the evaluator last started or finished a job.
    last_activity: Mutex<Instant>,
}

impl Shared {
    pub fn new(
        iopub: mpsc::UnboundedSender<JupyterMessage>,
        shell: mpsc::UnboundedSender<JupyterMessage>,
        stdin: mpsc::UnboundedSender<InputAsk>,
    ) -> Self {
        Shared {
            iopub,
            shell,
            stdin,
            parent: Mutex::new(None),
            comms: Mutex::new(HashMap::new()),
            link: OnceLock::new(),
            child_pid: AtomicU32::new(0),
            executing: AtomicBool::new(false),
            interrupts: AtomicU32::new(0),
            loaded: watch::Sender::new(None),
            last_activity: Mutex::new(Instant::now()),
        }
    }

    pub fn set_parent(&self, parent: &JupyterMessage) {
        *self.parent.lock().unwrap_or_else(|e| e.into_inner()) = Some(parent.clone());
    }

    /// Publishes on iopub as a child of `parent`, with message-level `metadata`.
    pub fn publish_to(
        &self,
        parent: &JupyterMessage,
        content: impl Into<JupyterMessageContent>,
        metadata: Option<Map<String, Value>>,
    ) {
        let mut message = JupyterMessage::new(content, Some(parent));
        if let Some(metadata) = metadata {
            message = message.with_metadata(Value::Object(metadata));
        }
        let _ = self.iopub.send(message);
    }

    /// Publishes as a child of the current parent (dropped before the first request: there is
    /// no output area to show it in).
    pub fn publish(
        &self,
        content: impl Into<JupyterMessageContent>,
        metadata: Option<Map<String, Value>>,
    ) {
        let parent = self
            .parent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match parent {
            Some(parent) => self.publish_to(&parent, content, metadata),
            None => {
                let mut message = JupyterMessage::new(content, None);
                if let Some(metadata) = metadata {
                    message = message.with_metadata(Value::Object(metadata));
                }
                let _ = self.iopub.send(message);
            }
        }
    }

    pub fn reply(&self, parent: &JupyterMessage, content: impl Into<JupyterMessageContent>) {
        let _ = self.shell.send(JupyterMessage::new(content, Some(parent)));
    }

    pub fn comm_opened(&self, id: &str, target: &str) {
        self.comms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), target.to_string());
    }

    pub fn comm_closed(&self, id: &str) {
        self.comms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Open comms, optionally only those of one target.
    pub fn open_comms(&self, target: Option<&str>) -> Vec<(String, String)> {
        self.comms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, t)| target.is_none_or(|want| want == t.as_str()))
            .map(|(id, t)| (id.clone(), t.clone()))
            .collect()
    }

    /// Forgets every comm (the cell process that owned them is gone).
    pub fn forget_comms(&self) {
        self.comms.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn link(&self) -> Option<&Arc<CellLink>> {
        self.link.get()
    }

    /// Notes that the evaluator is working now.
    pub fn touch(&self) {
        *self.last_activity.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    /// How long since the evaluator last started or finished a job.
    pub fn idle_for(&self) -> std::time::Duration {
        self.last_activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
    }

    pub fn set_child_pid(&self, pid: u32) {
        self.child_pid.store(pid, Ordering::SeqCst);
    }
}

/// A MIME bundle from evcxr's strings: JSON types (`application/json`, the widget view) are
/// parsed, as the protocol wants objects there; everything else stays text.
pub fn media_from_strings<'a>(bundle: impl IntoIterator<Item = (&'a String, &'a String)>) -> Media {
    let mut map = Map::new();
    for (mime, content) in bundle {
        let value = if mime.ends_with("json") {
            serde_json::from_str(content).unwrap_or_else(|_| Value::String(content.clone()))
        } else {
            Value::String(content.clone())
        };
        map.insert(mime.clone(), value);
    }
    media_from_object(map)
}

/// A MIME bundle from a JSON object (what the cell sends over the link).
pub fn media_from_object(map: Map<String, Value>) -> Media {
    serde_json::from_value(Value::Object(map)).unwrap_or_default()
}
