//! One writer per variant: a lock file `{variant}/.lock` holding the owner's PID.
//!
//! A second `train` or `analyze` on the same variant while one runs is refused with the holder's
//! PID; a lock left by a process that no longer exists (killed, crashed) is taken over. The lock
//! is released when the guard is dropped.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Holds a variant's lock until dropped.
#[derive(Debug)]
pub struct VariantLock {
    path: PathBuf,
}

/// Whether a process with this PID is alive (Linux: /proc; elsewhere: assume alive).
pub(crate) fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Who holds the lock of the variant directory `dir` now: (PID, operation), if a live process
/// does (a stale lock counts as free). For status lines; [`VariantLock::acquire`] decides.
pub fn holder(dir: &Path) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(dir.join(".lock")).ok()?;
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse::<u32>().ok()?;
    let operation = words.next().unwrap_or("unknown").to_string();
    process_alive(pid).then_some((pid, operation))
}

impl VariantLock {
    /// Takes the lock of the variant directory `dir` for `operation` (shown to a second caller).
    pub fn acquire(dir: &Path, variant: &str, operation: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(".lock");
        for _attempt in 0..3 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    writeln!(file, "{} {operation}", std::process::id())
                        .map_err(|e| Error::io(&path, e))?;
                    return Ok(VariantLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut words = text.split_whitespace();
                    let pid = words.next().and_then(|w| w.parse::<u32>().ok());
                    let holder = words.next().unwrap_or("unknown").to_string();
                    match pid {
                        Some(pid) if pid != std::process::id() && process_alive(pid) => {
                            return Err(Error::VariantLocked {
                                variant: variant.to_string(),
                                pid,
                                operation: holder,
                                path,
                            });
                        }
                        // Stale (dead holder, unreadable, or our own leftover): take it over.
                        _ => {
                            let _stale = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::io(
            &path,
            std::io::Error::other("lock file keeps reappearing"),
        ))
    }
}

impl Drop for VariantLock {
    fn drop(&mut self) {
        // Nothing useful can be done about a failure here; a stale lock is taken over later.
        let _released = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_stale_locks_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lock = VariantLock::acquire(dir.path(), "v", "train").unwrap();
        // Another live process holds it: pid 1 (init) always exists on Linux.
        drop(lock);
        std::fs::write(dir.path().join(".lock"), "1 analyze\n").unwrap();
        let err = VariantLock::acquire(dir.path(), "v", "train").unwrap_err();
        assert!(
            err.to_string().contains("PID 1") && err.to_string().contains("analyze"),
            "{err}"
        );
        // A dead holder's lock is taken over.
        std::fs::write(dir.path().join(".lock"), "4000000000 train\n").unwrap();
        let lock = VariantLock::acquire(dir.path(), "v", "analyze").unwrap();
        assert!(dir.path().join(".lock").exists());
        drop(lock);
        assert!(!dir.path().join(".lock").exists(), "released on drop");
    }
}
