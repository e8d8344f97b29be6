//! The cell process's line to the workbench kernel (`tdw-kernel`): live displays, comms and
//! interrupts. See `tdw_kernel_wire` for the protocol and why it is a socket.
//!
//! Under stock evcxr_jupyter there is no socket ([`is_live`] is false) and callers fall back to
//! printed lines; nothing here fails a cell.
//!
//! Comm handlers run on the link's reader thread, one message at a time: a handler that starts
//! long work (training from a button) should spawn a thread for it, so that further messages
//! (a Cancel button) are still read.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};
use tdw_kernel_wire::{FromCell, SOCKET_ENV, ToCell, from_line, to_line};

/// What a comm's handler receives.
#[derive(Debug, Clone)]
pub enum CommEvent {
    /// A `comm_msg` from the frontend: its `data` and message metadata.
    Message {
        /// The message's `data`.
        data: Map<String, Value>,
    },
    /// The frontend closed the comm; the handler is dropped after this.
    Closed {
        /// The closing message's `data`.
        data: Map<String, Value>,
    },
}

type Handler = Box<dyn FnMut(&Comm, CommEvent) + Send>;
/// Called when the frontend opens a comm to a target: the comm and its opening data.
type TargetHandler = Arc<dyn Fn(Comm, Map<String, Value>) + Send + Sync>;

struct Link {
    writer: Mutex<UnixStream>,
    handlers: Mutex<HashMap<String, Handler>>,
    targets: Mutex<HashMap<String, TargetHandler>>,
}

static LINK: OnceLock<Option<Link>> = OnceLock::new();
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn link() -> Option<&'static Link> {
    LINK.get_or_init(connect).as_ref()
}

fn connect() -> Option<Link> {
    let path = std::env::var_os(SOCKET_ENV)?;
    let stream = UnixStream::connect(&path).ok()?;
    let reader = stream.try_clone().ok()?;
    std::thread::Builder::new()
        .name("tdw-kernel-link".into())
        .spawn(move || read_loop(reader))
        .ok()?;
    Some(Link {
        writer: Mutex::new(stream),
        handlers: Mutex::new(HashMap::new()),
        targets: Mutex::new(HashMap::new()),
    })
}

/// Connects now (a no-op when connected or not under tdw-kernel), so that an interrupt reaches
/// this process even before it first shows something live.
pub fn connect_kernel() {
    let _ = link();
}

/// Whether this cell process runs under tdw-kernel (live displays and comms work).
pub fn is_live() -> bool {
    link().is_some()
}

fn send(message: &FromCell) -> bool {
    let Some(link) = link() else { return false };
    let line = to_line(message) + "\n";
    let mut writer = link.writer.lock().unwrap_or_else(|e| e.into_inner());
    writer.write_all(line.as_bytes()).is_ok()
}

fn read_loop(stream: UnixStream) {
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        let Ok(message) = from_line::<ToCell>(&line) else {
            continue;
        };
        match message {
            // The kernel syncs at the end of every cell: an interrupt nobody took during that
            // cell must not stop the next cell's training.
            ToCell::Sync { token } => {
                INTERRUPTED.store(false, Ordering::SeqCst);
                send(&FromCell::Synced { token });
            }
            ToCell::Interrupt => INTERRUPTED.store(true, Ordering::SeqCst),
            ToCell::SetCurrentDir { path } => {
                if let Err(e) = std::env::set_current_dir(&path) {
                    eprintln!("tdw-kernel-ext: cannot move to {path}: {e}");
                }
            }
            ToCell::CommOpen {
                comm_id,
                target_name,
                data,
                ..
            } => {
                let target = link().and_then(|l| {
                    l.targets
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(&target_name)
                        .cloned()
                });
                match target {
                    Some(open) => open(Comm { id: comm_id }, data),
                    None => {
                        send(&FromCell::CommClose {
                            comm_id,
                            data: Map::new(),
                        });
                    }
                }
            }
            ToCell::CommMsg { comm_id, data, .. } => {
                dispatch(&comm_id, CommEvent::Message { data }, false)
            }
            ToCell::CommClose { comm_id, data } => {
                dispatch(&comm_id, CommEvent::Closed { data }, true)
            }
        }
    }
}

/// Runs a comm's handler without holding the table's lock (a handler may open comms itself).
fn dispatch(comm_id: &str, event: CommEvent, closing: bool) {
    let Some(link) = link() else { return };
    let handler = link
        .handlers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(comm_id);
    if let Some(mut handler) = handler {
        let comm = Comm {
            id: comm_id.to_string(),
        };
        handler(&comm, event);
        if !closing {
            link.handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(comm_id.to_string())
                .or_insert(handler);
        }
    }
}

/// Asks the frontend for a line of text (a Jupyter input request) and returns it; empty when
/// the frontend allows no input.
pub fn input(prompt: &str) -> String {
    evcxr_input::get_string(prompt)
}

/// True once after the user interrupted the kernel (then cleared).
pub fn take_interrupt() -> bool {
    INTERRUPTED.swap(false, Ordering::SeqCst)
}

/// Forgets an interrupt that arrived while nothing was listening for it.
pub fn clear_interrupt() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}

/// A fresh id, unique across the cells and processes of a kernel: pid, the time in
/// nanoseconds, and a counter. (The counter alone is not enough: evcxr may give a cell its own
/// copy of this crate's statics, so every cell's first id was the same, and a later cell's live
/// progress replaced the saved output of every earlier one; seen in the walkthrough's executed
/// copy, where cells 2, 4, 22 and 24 all ended showing the peer's training of cell 28.)
pub fn unique_id(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{prefix}-{}-{nanos:x}-{}",
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::SeqCst)
    )
}

/// One output that can be replaced in place (`display_data` with a display id, then
/// `update_display_data`). Shown where the cell that first shows it runs.
#[derive(Debug)]
pub struct LiveDisplay {
    id: String,
    shown: bool,
}

impl LiveDisplay {
    /// None when not under tdw-kernel (no way to update in place: print instead).
    pub fn new() -> Option<LiveDisplay> {
        is_live().then(|| LiveDisplay {
            id: unique_id("display"),
            shown: false,
        })
    }

    /// The comm's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Shows `bundle` (MIME type → content), replacing what this display showed before.
    pub fn show(&mut self, bundle: &[(&str, &str)]) {
        let data: Map<String, Value> = bundle
            .iter()
            .map(|(mime, body)| (mime.to_string(), Value::String(body.to_string())))
            .collect();
        self.show_object(data);
    }

    /// As [`LiveDisplay::show`], with JSON values (a widget view's model id, say).
    pub fn show_object(&mut self, data: Map<String, Value>) {
        let message = if self.shown {
            FromCell::UpdateDisplayData {
                data,
                metadata: Map::new(),
                display_id: self.id.clone(),
            }
        } else {
            FromCell::DisplayData {
                data,
                metadata: Map::new(),
                display_id: Some(self.id.clone()),
            }
        };
        self.shown = send(&message) || self.shown;
    }
}

/// Clears the running cell's output (after the next output arrives, when `wait`).
pub fn clear_output(wait: bool) -> bool {
    send(&FromCell::ClearOutput { wait })
}

/// A comm: one end of a channel to a frontend object (a widget model, usually).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comm {
    id: String,
}

impl Comm {
    /// Opens a comm to `target_name` in the frontend (`jupyter.widget` for widgets), with
    /// opening `data` and message `metadata` (widgets put their protocol version there).
    /// None when not under tdw-kernel.
    pub fn open(
        target_name: &str,
        data: Map<String, Value>,
        metadata: Map<String, Value>,
    ) -> Option<Comm> {
        let comm = Comm {
            id: unique_id("comm"),
        };
        send(&FromCell::CommOpen {
            comm_id: comm.id.clone(),
            target_name: target_name.to_string(),
            data,
            metadata,
        })
        .then_some(comm)
    }

    /// The comm's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A comm with no kernel behind it, for tests of what handlers do.
    #[cfg(test)]
    pub(crate) fn detached(id: &str) -> Comm {
        Comm { id: id.to_string() }
    }

    /// Sends `data` to the frontend's end.
    pub fn send(&self, data: Map<String, Value>, metadata: Map<String, Value>) -> bool {
        send(&FromCell::CommMsg {
            comm_id: self.id.clone(),
            data,
            metadata,
        })
    }

    /// Closes the comm (the frontend drops its end; our handler is dropped).
    pub fn close(&self) {
        if let Some(link) = link() {
            link.handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&self.id);
        }
        send(&FromCell::CommClose {
            comm_id: self.id.clone(),
            data: Map::new(),
        });
    }

    /// Sets what runs for this comm's messages from the frontend (replacing an earlier one).
    pub fn on_event(&self, handler: impl FnMut(&Comm, CommEvent) + Send + 'static) {
        if let Some(link) = link() {
            link.handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(self.id.clone(), Box::new(handler));
        }
    }
}

/// Registers what runs when the frontend opens a comm to `target_name`; the handler usually
/// answers and sets [`Comm::on_event`]. Replaces an earlier registration of the same target.
pub fn register_comm_target(
    target_name: &str,
    on_open: impl Fn(Comm, Map<String, Value>) + Send + Sync + 'static,
) -> bool {
    let Some(link) = link() else { return false };
    link.targets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(target_name.to_string(), Arc::new(on_open));
    true
}
