//! Build slots: where evcxr compiles a kernel's cells, one directory per running kernel.
//!
//! evcxr keeps its generated crate and its whole `target/` in one directory (`EVCXR_TMPDIR`) and
//! takes no lock on it, so two kernels sharing one would overwrite each other's `src/lib.rs`. A
//! slot is `slot-N/` beside a lock file `slot-N.lock`; a kernel holds an exclusive lock on that
//! file for its whole life (the OS drops it when the process dies, even by SIGKILL, so a killed
//! kernel's slot is free again at once). A slot that has never finished a warm start is seeded
//! from one that has (its `target/`, `Cargo.lock` and `Cargo.toml`, mtimes kept, so cargo finds
//! the workbench already built): only the first kernel on a machine compiles the workbench.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::KernelError;

/// Most kernels at once on one machine; the next one is refused with a clear error.
pub const MAX_SLOTS: usize = 64;

/// Written into a slot once a kernel finished loading the workbench there.
const WARM_MARKER: &str = ".tdw-warm";

/// A build directory this process owns until it exits.
#[derive(Debug)]
pub struct BuildSlot {
    /// The evcxr build directory (`EVCXR_TMPDIR`).
    pub dir: PathBuf,
    pub index: usize,
    /// Held for the slot's lifetime: the lock is the ownership.
    _lock: File,
}

impl BuildSlot {
    /// Takes the first free slot under `root`, creating it if needed.
    pub fn take(root: &Path) -> Result<BuildSlot, KernelError> {
        std::fs::create_dir_all(root).map_err(|e| KernelError::io(root, e))?;
        for index in 0..MAX_SLOTS {
            let lock_path = root.join(format!("slot-{index}.lock"));
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| KernelError::io(&lock_path, e))?;
            match lock.try_lock() {
                Ok(()) => {
                    let dir = root.join(format!("slot-{index}"));
                    std::fs::create_dir_all(&dir).map_err(|e| KernelError::io(&dir, e))?;
                    // Record the owner for people looking at the directory; the lock decides.
                    let _ = std::fs::write(&lock_path, format!("{}\n", std::process::id()));
                    return Ok(BuildSlot {
                        dir,
                        index,
                        _lock: lock,
                    });
                }
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(e)) => return Err(KernelError::io(&lock_path, e)),
            }
        }
        Err(KernelError::NoFreeSlot {
            root: root.to_path_buf(),
            max: MAX_SLOTS,
        })
    }

    /// Whether a kernel already loaded the workbench in this slot.
    pub fn is_warm(&self) -> bool {
        self.dir.join(WARM_MARKER).is_file()
    }

    /// Marks the slot warm, for the kernels that will seed from it.
    pub fn mark_warm(&self) {
        let _ = std::fs::write(self.dir.join(WARM_MARKER), b"");
    }

    /// A warm slot other than this one, to copy from: the most recently warmed.
    pub fn warm_sibling(&self) -> Option<PathBuf> {
        let root = self.dir.parent()?;
        let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
        for entry in std::fs::read_dir(root).ok()?.flatten() {
            let path = entry.path();
            if path == self.dir || !path.is_dir() {
                continue;
            }
            let Ok(modified) = path.join(WARM_MARKER).metadata().and_then(|m| m.modified()) else {
                continue;
            };
            if best.as_ref().is_none_or(|(t, _)| modified > *t) {
                best = Some((modified, path));
            }
        }
        best.map(|(_, path)| path)
    }

    /// Copies a warm slot's build into this one (`cp -a`: mtimes kept, which cargo's freshness
    /// checks compare). The cell crate's own outputs are copied too; cargo rebuilds the cell.
    ///
    /// The warm slot may be in use by a running kernel, whose cells replace the cell crate's
    /// outputs (`libctx.so`, …) while they are copied: `cp` then reports files that vanished
    /// between listing and reading. Those are outputs cargo rebuilds anyway, so such a copy
    /// counts as done; any other complaint fails the seeding.
    pub fn seed_from(&self, warm: &Path) -> Result<(), KernelError> {
        for name in ["target", "Cargo.lock", "Cargo.toml"] {
            let from = warm.join(name);
            if !from.exists() {
                continue;
            }
            let output = Command::new("cp")
                .arg("-a")
                .arg("--reflink=auto")
                .arg(&from)
                .arg(&self.dir)
                .output()
                .map_err(|e| KernelError::io(&from, e))?;
            let complaints = String::from_utf8_lossy(&output.stderr);
            let only_vanished = complaints
                .lines()
                .all(|line| line.ends_with("No such file or directory"));
            if !output.status.success() && !only_vanished {
                return Err(KernelError::SeedFailed {
                    from: from.clone(),
                    to: self.dir.clone(),
                    status: format!("{}: {}", output.status, complaints.trim()),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests of this module, one at a time: a child that another test spawns (`cp` in the
    /// seeding test) holds copies of this process's open files from fork to exec, the slot
    /// locks' included, so a slot dropped in that window is briefly still locked. A kernel never
    /// drops its slot while it runs, so this only concerns tests sharing one process.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn two_kernels_never_share_a_slot_and_a_dropped_one_is_free_again() {
        let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let root = std::env::temp_dir().join(format!("tdw-slots-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let first = BuildSlot::take(&root).unwrap();
        let second = BuildSlot::take(&root).unwrap();
        assert_ne!(first.dir, second.dir);
        assert_eq!((first.index, second.index), (0, 1));
        drop(first);
        let third = BuildSlot::take(&root).unwrap();
        assert_eq!(third.index, 0, "the dropped slot is reused");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_cold_slot_is_seeded_from_the_warm_one_with_its_mtimes() {
        let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let root = std::env::temp_dir().join(format!("tdw-seed-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let warm = BuildSlot::take(&root).unwrap();
        std::fs::create_dir_all(warm.dir.join("target/debug")).unwrap();
        std::fs::write(warm.dir.join("target/debug/libx.rlib"), b"built").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::options()
            .write(true)
            .open(warm.dir.join("target/debug/libx.rlib"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let cold = BuildSlot::take(&root).unwrap();
        assert_eq!(cold.warm_sibling(), None, "nothing is warm yet");
        warm.mark_warm();
        assert_eq!(cold.warm_sibling().as_deref(), Some(warm.dir.as_path()));
        cold.seed_from(&warm.dir).unwrap();
        let copied = cold.dir.join("target/debug/libx.rlib");
        assert_eq!(std::fs::read(&copied).unwrap(), b"built");
        assert_eq!(copied.metadata().unwrap().modified().unwrap(), old);
        assert!(!cold.is_warm(), "warm only once a kernel has loaded there");
        let _ = std::fs::remove_dir_all(&root);
    }
}
