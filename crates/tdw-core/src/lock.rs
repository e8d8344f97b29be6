//! One writer per variant: an OS file lock on `{variant}/.lock`, held for the whole operation.
//!
//! `train` and `analyze` take the lock with `File::try_lock` (an exclusive `flock` on Unix). A
//! lock is free exactly when no process holds it: the kernel releases it when its holder exits,
//! however it exits (killed, crashed), so there is no stale-file guessing, and there is no window
//! between creating the file and claiming it (the file is created once and never removed; only
//! the OS lock on it comes and goes). Inside the file the holder writes its PID, host and
//! operation, for the message a second caller gets; that text is trusted only while the lock is
//! held.
//!
//! On a network file system shared by cluster nodes the lock is as good as the file system's
//! locking: Linux NFS (v4, and v3 with `lockd`) turns `flock` into a byte-range lock that the
//! server arbitrates between nodes, so two nodes cannot both hold it; a file system mounted
//! without lock support (NFS `nolock`, Lustre without `flock`) refuses it, and the error says so
//! rather than running unlocked. A node that dies while holding a lock on NFS releases it when the
//! server's lease expires (about 90 s).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// The lock file's name inside a variant directory.
pub const FILE_NAME: &str = ".lock";

/// Holds a variant's lock until dropped (closing the file releases it).
#[derive(Debug)]
pub struct VariantLock {
    /// The locked file; the OS lock lives as long as this handle.
    _file: File,
}

/// Whether a process with this PID is alive (Linux: /proc; elsewhere: assume alive). For
/// temporaries left by dead writers (see `atomic_file`), not for locks.
pub(crate) fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// This machine's name, for the lock message (`/etc/hostname`, else `$HOSTNAME`, else "?").
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "?".into())
}

/// Who holds a lock, as its holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// The machine it runs on.
    pub host: String,
    /// What it is doing (`train`, `analyze`).
    pub operation: String,
}

impl Holder {
    fn parse(text: &str) -> Option<Holder> {
        let mut words = text.split_whitespace();
        Some(Holder {
            pid: words.next()?.parse().ok()?,
            host: words.next()?.to_string(),
            operation: words.next().unwrap_or("unknown").to_string(),
        })
    }
}

/// Reads the holder's note from a locked file. The holder writes it right after taking the lock,
/// so an empty note means it is about to: wait a moment for it.
fn read_holder(file: &mut File) -> Option<Holder> {
    for _ in 0..50 {
        let mut text = String::new();
        if file.seek(SeekFrom::Start(0)).is_ok()
            && file.read_to_string(&mut text).is_ok()
            && let Some(holder) = Holder::parse(&text)
        {
            return Some(holder);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

/// Who holds the lock of the variant directory `dir` now, if anyone (for status lines;
/// [`VariantLock::acquire`] decides). Never creates the directory or the file.
pub fn holder(dir: &Path) -> Option<Holder> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join(FILE_NAME))
        .ok()?;
    match file.try_lock() {
        Ok(()) => {
            let _released = file.unlock();
            None
        }
        Err(TryLockError::WouldBlock) => read_holder(&mut file).or(Some(Holder {
            pid: 0,
            host: "?".into(),
            operation: "unknown".into(),
        })),
        Err(TryLockError::Error(_)) => None,
    }
}

impl VariantLock {
    fn open(path: &Path) -> Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))
    }

    /// Whether `file` is the file now at `path` (not one unlinked since it was opened).
    fn same_file(file: &File, path: &Path) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            match (file.metadata(), std::fs::metadata(path)) {
                (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                _ => false,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = (file, path);
            true
        }
    }

    /// Takes the lock of the variant directory `dir` for `operation` (shown to a second caller),
    /// or refuses with who holds it. `dir` must exist: creating it is the caller's decision
    /// (a run that is refused later must not leave a directory behind).
    pub fn acquire(dir: &Path, variant: &str, operation: &str) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        let mut attempts = 0;
        let mut file = loop {
            let mut file = Self::open(&path)?;
            match file.try_lock() {
                // The file may have been unlinked between our open and our lock (a run that
                // created the variant directory and failed removes it again, under its lock): a
                // lock on a file no longer at `path` protects nothing, so take the one there now.
                Ok(()) if !Self::same_file(&file, &path) && attempts < 10 => {
                    attempts += 1;
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                Ok(()) => break file,
                Err(TryLockError::WouldBlock) => {
                    let holder = read_holder(&mut file);
                    return Err(Error::VariantLocked {
                        variant: variant.to_string(),
                        pid: holder.as_ref().map_or(0, |h| h.pid),
                        host: holder.as_ref().map_or("?".into(), |h| h.host.clone()),
                        operation: holder.map_or("unknown".into(), |h| h.operation),
                        path,
                    });
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io(
                        &path,
                        std::io::Error::new(
                            e.kind(),
                            format!(
                                "cannot take the variant's file lock ({e}); the results directory's file system must support file locks (on NFS: mount without `nolock`), or set --results-dir/TDW_RESULTS_DIR to one that does"
                            ),
                        ),
                    ));
                }
            }
        };
        let note = format!("{} {} {operation}\n", std::process::id(), host_name());
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(note.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(|e| Error::io(&path, e))?;
        Ok(VariantLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_with_its_holder_and_free_once_released() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()), None, "no lock file: nobody holds it");
        let lock = VariantLock::acquire(dir.path(), "v", "train").unwrap();
        let held = holder(dir.path()).expect("held");
        assert_eq!(
            (held.pid, held.operation.as_str()),
            (std::process::id(), "train")
        );
        // A second open file description conflicts, even in this process (flock semantics).
        let err = VariantLock::acquire(dir.path(), "v", "analyze").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("PID {}", std::process::id())) && text.contains("train"),
            "{text}"
        );
        drop(lock);
        assert_eq!(holder(dir.path()), None, "released on drop");
        // A note left behind by a holder that is gone means nothing: the lock is free.
        std::fs::write(dir.path().join(FILE_NAME), "1 elsewhere analyze\n").unwrap();
        let again = VariantLock::acquire(dir.path(), "v", "analyze").unwrap();
        assert_eq!(holder(dir.path()).unwrap().operation, "analyze");
        drop(again);
    }

    #[test]
    fn the_lock_never_creates_the_variant_directory() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("not-yet");
        assert!(VariantLock::acquire(&missing, "v", "train").is_err());
        assert!(!missing.exists());
    }
}
