//! A warm standby kernel, so that a new kernel (a second notebook, a restart) answers its first
//! cell in about a second instead of loading the workbench again.
//!
//! Loading is what a fresh kernel waits for even with a warm build slot: evcxr starts its cell
//! process, `:dep tdw-kernel-ext` is checked by cargo and loaded, the prelude compiles, and
//! rust-analyzer reads the crate graph before the first `let` can be typed (measured on the
//! 2-core machine: `families()` 17–20 s after start, the first `let v = variant(..)?` another
//! 11 s while rust-analyzer warms). None of that depends on the notebook, so it can be done
//! before anyone asks:
//!
//! - A kernel that has finished loading and sat idle a little ([`after_idle`]) starts one
//!   standby in the background (`tdw-kernel --standby`, its own process group, log
//!   `standby.log` under the slots root), unless one is alive (it holds `standby.lock`).
//! - The standby takes a build slot, loads the workbench and warms rust-analyzer exactly as a
//!   kernel does, then listens on `standby.sock`. It has no Jupyter sockets yet.
//! - A kernel started by a frontend first offers itself to the standby ([`launcher::claim`]):
//!   its connection file, working directory and environment. The standby accepts when the
//!   environment is the same (apart from [`VOLATILE`] names) and the workbench's sources have
//!   not changed since it loaded them ([`sources`]); it then moves itself and its cell process
//!   to the notebook's directory, binds the connection file's ports and serves. The launcher
//!   stays alive as the process the frontend manages: when the standby exits the launcher
//!   does, and when the launcher is killed the standby sees its socket close and exits.
//! - Anything else (no standby, a refusal, a standby that does not answer) and the launcher
//!   loads the workbench itself, as before: a standby can make a kernel faster, never wrong.
//!
//! `TDW_KERNEL_STANDBY=0` turns it off; `TDW_KERNEL_STANDBY_AFTER` (seconds idle before a
//! standby is started, default 20) and `TDW_KERNEL_STANDBY_IDLE` (seconds a standby waits to be
//! claimed before it leaves, default 3600) tune it.

pub mod launcher;
pub mod offer;
pub mod sources;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Environment variables that differ between two kernels of the same server without changing
/// what a cell does: Jupyter's per-kernel names and the shell's bookkeeping.
pub const VOLATILE: &[&str] = &["PWD", "OLDPWD", "SHLVL", "_"];
/// Prefix of Jupyter's per-kernel variables (`JPY_PARENT_PID`, `JPY_SESSION_NAME`).
pub const VOLATILE_PREFIX: &str = "JPY_";

/// Whether standbys are used (`TDW_KERNEL_STANDBY` is not `0`).
pub fn enabled() -> bool {
    std::env::var("TDW_KERNEL_STANDBY").map_or(true, |v| v != "0")
}

/// How long a loaded kernel sits idle before it starts a standby (`TDW_KERNEL_STANDBY_AFTER`,
/// seconds): not at once, so the standby's loading does not compete with the user's first cells
/// for the machine's cores.
pub fn after_idle() -> Duration {
    seconds_from_env("TDW_KERNEL_STANDBY_AFTER", 20.0)
}

/// How long a standby waits to be claimed before it exits (`TDW_KERNEL_STANDBY_IDLE`, seconds).
pub fn idle_limit() -> Duration {
    seconds_from_env("TDW_KERNEL_STANDBY_IDLE", 3600.0)
}

fn seconds_from_env(name: &str, default: f64) -> Duration {
    let seconds = std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(default);
    Duration::from_secs_f64(seconds)
}

/// Where the standby's socket, lock and log live: the slots root, or `TDW_KERNEL_STANDBY_DIR`
/// (tests use their own, so a person's standby is never theirs).
fn standby_dir(slots_root: &Path) -> PathBuf {
    std::env::var_os("TDW_KERNEL_STANDBY_DIR")
        .map_or_else(|| slots_root.to_path_buf(), PathBuf::from)
}

/// Where the standby listens.
pub fn socket_path(slots_root: &Path) -> PathBuf {
    standby_dir(slots_root).join("standby.sock")
}

fn lock_path(slots_root: &Path) -> PathBuf {
    standby_dir(slots_root).join("standby.lock")
}

fn log_path(slots_root: &Path) -> PathBuf {
    standby_dir(slots_root).join("standby.log")
}

/// A process's environment as it started (before the kernel sets its own variables), with
/// names and values as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment(pub BTreeMap<String, String>);

impl Environment {
    pub fn current() -> Environment {
        Environment(
            std::env::vars_os()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect(),
        )
    }

    fn is_volatile(name: &str) -> bool {
        name.starts_with(VOLATILE_PREFIX) || VOLATILE.contains(&name)
    }

    /// The names whose values differ between the two, volatile names aside.
    pub fn differences(&self, other: &Environment) -> Vec<String> {
        let keys: std::collections::BTreeSet<&String> =
            self.0.keys().chain(other.0.keys()).collect();
        keys.into_iter()
            .filter(|k| !Self::is_volatile(k))
            .filter(|k| self.0.get(*k) != other.0.get(*k))
            .cloned()
            .collect()
    }

    /// Without Jupyter's per-kernel variables: what a standby started by one kernel inherits
    /// (they would name the wrong kernel in whoever claims it).
    pub fn without_volatile(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0
            .iter()
            .filter(|(k, _)| !k.starts_with(VOLATILE_PREFIX))
    }
}

/// What a launcher sends: one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClaimRequest {
    pub connection_file: PathBuf,
    pub cwd: PathBuf,
    pub env: Environment,
}

/// What the standby answers: one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClaimAnswer {
    pub accepted: bool,
    #[serde(default)]
    pub reason: String,
}

/// `standby.lock`, held by the one standby waiting to be claimed.
pub struct StandbyLock {
    _file: File,
}

impl StandbyLock {
    /// The lock, or None when another standby holds it.
    pub fn take(slots_root: &Path) -> std::io::Result<Option<StandbyLock>> {
        std::fs::create_dir_all(standby_dir(slots_root))?;
        let path = lock_path(slots_root);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {
                // The holder's PID, for people (and tests) looking; the lock decides.
                use std::io::{Seek, Write};
                let _ = file.set_len(0);
                let _ = file.seek(std::io::SeekFrom::Start(0));
                let _ = writeln!(file, "{}", std::process::id());
                Ok(Some(StandbyLock { _file: file }))
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// Starts a standby in the background unless one is alive; true when one was started.
///
/// It gets the environment this kernel started with (so a kernel launched like this one can
/// claim it), its own process group (a signal to this kernel's group does not reach it) and
/// `standby.log` for its output (never the frontend's pipes, which would keep them open).
pub fn spawn_if_none(slots_root: &Path, env: &Environment) -> std::io::Result<bool> {
    use std::os::unix::process::CommandExt;
    if StandbyLock::take(slots_root)?.is_none() {
        return Ok(false);
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(slots_root))?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .arg("--standby")
        .env_clear()
        .envs(env.without_volatile())
        .current_dir(slots_root)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()?;
    // Reap it when it exits, so it does not stay a zombie under this kernel.
    std::thread::Builder::new()
        .name("standby-reaper".into())
        .spawn(move || {
            let _ = child.wait();
        })?;
    Ok(true)
}

/// Starts one standby once this kernel is loaded and has been idle for [`after_idle`].
pub struct Spawner {
    pub slots_root: PathBuf,
    /// The environment this kernel started with.
    pub env: Environment,
}

impl Spawner {
    pub async fn run(self, shared: std::sync::Arc<crate::shared::Shared>) {
        let mut loaded = shared.loaded.subscribe();
        match loaded.wait_for(|state| state.is_some()).await {
            Ok(state) if *state == Some(true) => {}
            // Not loaded cleanly: a standby of this set-up would not be either.
            _ => return,
        }
        let quiet = after_idle();
        loop {
            let idle = shared.idle_for();
            if idle >= quiet && !shared.executing.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(quiet.saturating_sub(idle).max(Duration::from_millis(500))).await;
        }
        match spawn_if_none(&self.slots_root, &self.env) {
            Ok(true) => eprintln!(
                "tdw-kernel: started a standby kernel (log {})",
                log_path(&self.slots_root).display()
            ),
            Ok(false) => {}
            Err(e) => eprintln!("tdw-kernel: no standby kernel: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn environments_differ_only_in_what_a_cell_could_see() {
        let a = env(&[
            ("PATH", "/bin"),
            ("JPY_SESSION_NAME", "a.ipynb"),
            ("PWD", "/x"),
            ("TDW_RESULTS_DIR", "/r1"),
        ]);
        let b = env(&[
            ("PATH", "/bin"),
            ("JPY_SESSION_NAME", "b.ipynb"),
            ("PWD", "/y"),
            ("TDW_RESULTS_DIR", "/r2"),
            ("EXTRA", "1"),
        ]);
        assert_eq!(a.differences(&b), vec!["EXTRA", "TDW_RESULTS_DIR"]);
        assert!(a.differences(&a.clone()).is_empty());
        let inherited: Vec<&String> = a.without_volatile().map(|(k, _)| k).collect();
        assert_eq!(inherited, vec!["PATH", "PWD", "TDW_RESULTS_DIR"]);
    }

    #[test]
    fn one_standby_lock_at_a_time() {
        let dir = std::env::temp_dir().join(format!("tdw-standby-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = StandbyLock::take(&dir).unwrap();
        assert!(first.is_some());
        assert!(StandbyLock::take(&dir).unwrap().is_none());
        drop(first);
        assert!(StandbyLock::take(&dir).unwrap().is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
