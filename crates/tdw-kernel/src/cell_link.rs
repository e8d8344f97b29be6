//! The kernel's end of the socket to the cell process (see `tdw_kernel_wire` for why it exists).
//!
//! One listener; the cell process connects when it first needs the kernel (a live display, a
//! comm, an interrupt it wants to honour) and again after evcxr restarts it, so the newest
//! connection is the one messages go to. Lines from the cell are handed to a callback on the
//! reader thread; [`CellLink::sync`] waits until everything the cell sent before it has been
//! handed over.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tdw_kernel_wire::{FromCell, ToCell, from_line, to_line};

use crate::error::KernelError;

#[derive(Default)]
struct SyncState {
    /// The last token the cell answered.
    answered: u64,
    /// The last token asked for.
    asked: u64,
}

pub struct CellLink {
    path: PathBuf,
    writer: Mutex<Option<UnixStream>>,
    sync: Mutex<SyncState>,
    synced: Condvar,
}

impl CellLink {
    /// Listens on `path` (replacing a stale socket file) and hands every message from the cell
    /// process to `on_message`.
    pub fn listen(
        path: &Path,
        on_message: impl Fn(FromCell) + Send + Sync + 'static,
    ) -> Result<Arc<CellLink>, KernelError> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).map_err(|e| KernelError::io(path, e))?;
        let link = Arc::new(CellLink {
            path: path.to_path_buf(),
            writer: Mutex::new(None),
            sync: Mutex::new(SyncState::default()),
            synced: Condvar::new(),
        });
        let on_message = Arc::new(on_message);
        let accepting = Arc::clone(&link);
        std::thread::Builder::new()
            .name("cell-link".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let Ok(reader) = stream.try_clone() else {
                        continue;
                    };
                    *accepting.writer.lock().unwrap_or_else(|e| e.into_inner()) = Some(stream);
                    let link = Arc::clone(&accepting);
                    let on_message = Arc::clone(&on_message);
                    let _ = std::thread::Builder::new()
                        .name("cell-link-reader".into())
                        .spawn(move || link.read_from(reader, &*on_message));
                }
            })
            .map_err(|e| KernelError::io(path, e))?;
        Ok(link)
    }

    fn read_from(&self, stream: UnixStream, on_message: &(dyn Fn(FromCell) + Send + Sync)) {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            match from_line::<FromCell>(&line) {
                Ok(FromCell::Synced { token }) => {
                    let mut state = self.sync.lock().unwrap_or_else(|e| e.into_inner());
                    state.answered = state.answered.max(token);
                    self.synced.notify_all();
                }
                Ok(message) => on_message(message),
                Err(reason) => eprintln!("tdw-kernel: unreadable message from the cell: {reason}"),
            }
        }
    }

    /// Sends to the cell process; false when none is connected (or it went away).
    pub fn send(&self, message: &ToCell) -> bool {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let Some(stream) = writer.as_mut() else {
            return false;
        };
        let line = to_line(message) + "\n";
        if stream.write_all(line.as_bytes()).is_err() {
            *writer = None;
            return false;
        }
        true
    }

    /// Waits (at most `timeout`) until the cell process has sent everything it wrote before now.
    pub fn sync(&self, timeout: Duration) {
        let token = {
            let mut state = self.sync.lock().unwrap_or_else(|e| e.into_inner());
            state.asked += 1;
            state.asked
        };
        if !self.send(&ToCell::Sync { token }) {
            return;
        }
        let deadline = Instant::now() + timeout;
        let mut state = self.sync.lock().unwrap_or_else(|e| e.into_inner());
        while state.answered < token {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = self
                .synced
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for CellLink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
