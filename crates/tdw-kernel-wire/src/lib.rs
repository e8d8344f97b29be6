//! The messages between the workbench kernel (`tdw-kernel`) and the cells it runs.
//!
//! evcxr runs cells in a child process whose stdout it reads line by line, and only while a cell
//! runs; rich output reaches the frontend once, at the end of the cell. Jupyter's live outputs
//! (`display_data` with a `display_id`, `update_display_data`, `clear_output`) and comms (what
//! widgets talk through) need more: messages at any moment, in both directions. So the kernel
//! listens on a Unix socket whose path it puts in the cells' environment ([`SOCKET_ENV`]); the
//! cell side (`tdw-kernel-ext`) connects on first use. Each message is one line of JSON.
//!
//! Ordering: messages from one thread of the cell process arrive in the order sent. At the end of
//! every cell the kernel sends [`ToCell::Sync`] and forwards everything up to the matching
//! [`FromCell::Synced`] before it replies, so a cell's last display update is never reported
//! after the cell.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Environment variable holding the kernel's socket path; absent under stock evcxr_jupyter, where
/// the cell side falls back to printed lines.
pub const SOCKET_ENV: &str = "TDW_KERNEL_SOCKET";

/// A JSON object: MIME bundles, metadata and comm payloads.
pub type Object = Map<String, Value>;

/// From the cell process to the kernel, which turns each into the iopub message of the same name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromCell {
    /// A new output; with a `display_id` it can be updated later.
    DisplayData {
        /// The output's MIME bundle.
        data: Object,
        #[serde(default)]
        /// Its metadata.
        metadata: Object,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        /// The id under which later updates replace it.
        display_id: Option<String>,
    },
    /// Replaces every output shown under `display_id`.
    UpdateDisplayData {
        /// The new MIME bundle.
        data: Object,
        #[serde(default)]
        /// Its metadata.
        metadata: Object,
        /// The display to update.
        display_id: String,
    },
    /// Clears the current cell's output (after the next output when `wait`).
    ClearOutput {
        /// Whether to clear only when the next output arrives (no flicker).
        wait: bool,
    },
    /// A comm opened from Rust (a widget model, say).
    CommOpen {
        /// The comm's id (a fresh UUID).
        comm_id: String,
        /// The frontend target it opens (`jupyter.widget`).
        target_name: String,
        /// The opening payload (a widget's state).
        data: Object,
        #[serde(default)]
        /// Message metadata (the widget protocol version).
        metadata: Object,
    },
    /// A message on a comm the cell process opened (a widget's state update).
    CommMsg {
        /// The comm.
        comm_id: String,
        /// The payload.
        data: Object,
        #[serde(default)]
        /// Message metadata.
        metadata: Object,
    },
    /// The cell process closed a comm.
    CommClose {
        /// The comm.
        comm_id: String,
        #[serde(default)]
        /// The closing payload.
        data: Object,
    },
    /// Answers [`ToCell::Sync`]: everything sent before it has been sent.
    Synced {
        /// The token of the [`ToCell::Sync`] answered.
        token: u64,
    },
}

/// From the kernel to the cell process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToCell {
    /// The frontend opened a comm to a target registered in the cell process.
    CommOpen {
        /// The comm's id.
        comm_id: String,
        /// The target it was opened to.
        target_name: String,
        /// The opening payload.
        data: Object,
        #[serde(default)]
        /// Message metadata.
        metadata: Object,
    },
    /// A message on an open comm (a widget's state update, a button click).
    CommMsg {
        /// The comm.
        comm_id: String,
        /// The payload.
        data: Object,
        #[serde(default)]
        /// Message metadata.
        metadata: Object,
    },
    /// The frontend closed a comm.
    CommClose {
        /// The comm.
        comm_id: String,
        #[serde(default)]
        /// The closing payload.
        data: Object,
    },
    /// The user interrupted the running cell: long work should stop at its next safe point.
    Interrupt,
    /// Asks for [`FromCell::Synced`] with the same token.
    Sync {
        /// Echoed in the answer.
        token: u64,
    },
    /// The kernel now serves a notebook in `path` (a standby kernel was claimed): the cell
    /// process moves there, as if it had been started there.
    SetCurrentDir {
        /// The notebook's directory.
        path: String,
    },
}

/// One message as one line (no newline inside: JSON escapes them).
pub fn to_line<T: Serialize>(message: &T) -> String {
    // Serialising these enums cannot fail: every key is a string and every value is JSON.
    serde_json::to_string(message).unwrap_or_else(|_| String::from("{}"))
}

/// Parses one line; `Err` carries serde's reason.
pub fn from_line<'a, T: Deserialize<'a>>(line: &'a str) -> Result<T, serde_json::Error> {
    serde_json::from_str(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_one_line_each_way() {
        let mut data = Object::new();
        data.insert("text/plain".into(), Value::String("two\nlines".into()));
        let message = FromCell::UpdateDisplayData {
            data,
            metadata: Object::new(),
            display_id: "progress-1".into(),
        };
        let line = to_line(&message);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains(r#""type":"update_display_data""#), "{line}");
        assert_eq!(from_line::<FromCell>(&line).unwrap(), message);
        let back = to_line(&ToCell::Sync { token: 7 });
        assert_eq!(back, r#"{"type":"sync","token":7}"#);
        assert_eq!(
            from_line::<ToCell>(&back).unwrap(),
            ToCell::Sync { token: 7 }
        );
    }

    #[test]
    fn an_unknown_message_is_an_error_not_a_guess() {
        assert!(from_line::<ToCell>(r#"{"type":"reboot"}"#).is_err());
        assert!(from_line::<FromCell>("not json").is_err());
    }
}
