//! Crash-safe file writes: write a temporary file beside the target, flush it to disk, rename.
//!
//! A reader (or a process killed halfway) therefore only ever sees the old complete file or the
//! new complete one, never a torn one. Every file the workbench writes under `results/` goes
//! through [`write`].

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The temporary name used while `path` is being written: hidden, in the same directory (so the
/// rename cannot cross file systems) and unique per process.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically, creating parent directories as needed.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |file| file.write_all(bytes))
}

/// Writes `path` atomically with `fill`, which streams into the temporary file (for large
/// artifacts that should not be assembled in memory first).
pub fn write_with(path: &Path, fill: impl FnOnce(&mut File) -> std::io::Result<()>) -> Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let temp = temp_path(path);
    let result = (|| -> std::io::Result<()> {
        let mut file = File::create(&temp)?;
        fill(&mut file)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if let Err(e) = result {
        // Best effort: the temporary file is garbage either way; the error that matters is `e`.
        let _cleanup = fs::remove_file(&temp);
        return Err(Error::io(path, e));
    }
    if let Some(parent) = path.parent()
        && let Ok(dir) = File::open(parent)
    {
        // Persisting the rename itself; a failure here does not make the file torn.
        let _durable = dir.sync_all();
    }
    Ok(())
}

/// Removes temporary files left in `dir` by writers that died (killed mid-write): hidden files
/// named `.{name}.tmp-{pid}` whose process no longer exists. Files of live writers are kept.
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix('.')
            .and_then(|n| n.rsplit_once(".tmp-"))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !crate::lock::process_alive(pid) {
            // A leftover that cannot be removed is harmless: it is never read.
            let _ignored = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leaving_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/file.json");
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file.json")]);
    }

    /// A writer that fails halfway (disk full) leaves the previous file intact and no temporary.
    #[test]
    fn failed_write_keeps_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.json");
        write(&path, b"previous").unwrap();
        let err = write_with(&path, |file| {
            file.write_all(b"half")?;
            Err(std::io::Error::from_raw_os_error(28)) // ENOSPC
        })
        .unwrap_err();
        assert!(err.to_string().contains("metadata.json"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"previous");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temporaries_of_dead_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".a.npz.tmp-4000000000"), b"x").unwrap();
        fs::write(dir.path().join(".b.npz.tmp-1"), b"x").unwrap(); // PID 1 is alive
        fs::write(dir.path().join("c.npz"), b"x").unwrap();
        remove_stale_temporaries(dir.path());
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, [".b.npz.tmp-1", "c.npz"]);
    }

    #[test]
    fn failure_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("blocker");
        fs::write(&blocker, b"x").unwrap();
        let err = write(&blocker.join("child.json"), b"y").unwrap_err();
        assert!(err.to_string().contains("blocker"), "{err}");
    }
}
