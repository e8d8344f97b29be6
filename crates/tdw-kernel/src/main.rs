//! `tdw-kernel`: the Training Dynamics Workbench's Jupyter kernel.
//!
//! Rust cells are evaluated by the `evcxr` library (the same evaluation as evcxr_jupyter, so
//! `:dep`, `:vars` and the other evcxr commands work); the Jupyter messaging protocol 5.3 is
//! ours, on jupyter-protocol + jupyter-zmq-client. What it adds to a stock evcxr kernel:
//! - `kernel_info` answered at once, also while the workbench loads;
//! - a build slot per kernel under the project (`slots`), seeded from a warm one, so only the
//!   first kernel on a machine compiles the workbench; cells build it optimised, without debug
//!   assertions, against the workspace's Cargo.lock, offline;
//! - live outputs (`display_data` with a display id, `update_display_data`, `clear_output`) and
//!   comms in both directions, through a socket to the cell process (`cell_link`,
//!   `tdw_kernel_wire`);
//! - interrupts that let training stop at the next epoch instead of killing the process.
//!
//! - a warm standby (`standby`): a loaded kernel starts one in the background, and the next
//!   kernel (another notebook, a restart) is served by it at once.
//!
//! Environment (the kernel spec written by `scripts/setup-notebooks.sh` sets them):
//! `EVCXR_CONFIG_DIR` (init.evcxr, prelude.rs), `TDW_KERNEL_SLOTS` (where slots live),
//! `TDW_KERNEL_LOCKFILE` (the workspace's Cargo.lock); `TDW_KERNEL_STANDBY*` (see `standby`).

mod cargo_shim;
mod cell_link;
mod error;
mod errors_text;
mod evaluator;
mod server;
mod shared;
mod slots;
mod standby;
mod syntax;

use std::path::{Path, PathBuf};

use jupyter_protocol::ConnectionInfo;

use crate::error::KernelError;
use crate::slots::BuildSlot;

fn main() {
    if cargo_shim::invoked_as_cargo() {
        // rust-analyzer's cargo (see `cargo_shim`).
        std::process::exit(cargo_shim::run());
    }
    if std::env::var_os("EVCXR_IS_RUNTIME").is_some() {
        // This process is evcxr's cell process: it must not outlive the kernel (a kernel killed
        // by its frontend would otherwise leave a training cell running).
        // SAFETY: prctl with these arguments only sets a flag of this process.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        }
    }
    // Returns only when this process is the kernel (not the cell process or the rustc wrapper).
    evcxr::runtime_hook();
    if let Err(e) = run() {
        eprintln!("tdw-kernel: {e}");
        std::process::exit(1);
    }
}

/// What this process was started as.
#[derive(Debug, PartialEq)]
enum Mode {
    /// A kernel for this connection file (what a kernel spec runs).
    Kernel(PathBuf),
    /// A standby kernel, started by a loaded kernel (`--standby`).
    Standby,
}

/// A mode once set up for it.
enum Role {
    Kernel(ConnectionInfo),
    Standby(standby::StandbyLock, standby::sources::Sources),
}

fn run() -> Result<(), KernelError> {
    // Before this process sets its own variables: what a standby compares and inherits.
    let original_env = standby::Environment::current();
    let mode = mode_arg(std::env::args().skip(1))?;

    let slots_root = std::env::var_os("TDW_KERNEL_SLOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("tdw-kernel-slots"));
    write_cell_profile(&slots_root)?;
    let slots_root = slots_root.canonicalize().unwrap_or(slots_root);
    let lock_file = std::env::var_os("TDW_KERNEL_LOCKFILE").map(PathBuf::from);
    let config_dir = evcxr::config_dir();

    // Each mode with what only it needs: the kernel its parsed connection file (read once, and
    // before a standby could take it), the standby its lock and the sources it loads.
    let role = match mode {
        Mode::Kernel(connection_file) => {
            let info = read_connection_info(&connection_file)?;
            if standby::enabled() {
                match standby::launcher::claim(&slots_root, &connection_file, &original_env) {
                    standby::launcher::Claim::Served => std::process::exit(0),
                    standby::launcher::Claim::Refused(reason) => {
                        eprintln!("tdw-kernel: the standby kernel was not used: {reason}")
                    }
                    standby::launcher::Claim::NoStandby => {}
                }
            }
            Role::Kernel(info)
        }
        Mode::Standby => match standby::StandbyLock::take(&slots_root)
            .map_err(|e| KernelError::io(&slots_root, e))?
        {
            // Scanned before loading: an edit made while the standby loads counts as a change.
            Some(lock) => Role::Standby(
                lock,
                standby::sources::Sources::scan(config_dir.as_deref(), lock_file.as_deref()),
            ),
            // Another standby is waiting already.
            None => return Ok(()),
        },
    };

    let shim = cargo_shim::prepare(&slots_root)
        .inspect_err(|e| {
            eprintln!(
                "tdw-kernel: no cargo shim for rust-analyzer ({e}); its first answer is slower"
            )
        })
        .ok();
    let slot = BuildSlot::take(&slots_root)?;
    let socket = std::env::temp_dir().join(format!("tdw-kernel-{}.sock", std::process::id()));
    eprintln!(
        "tdw-kernel: slot {} ({}), cell link {}",
        slot.index,
        slot.dir.display(),
        socket.display()
    );
    // SAFETY: set before any thread of this process starts; evcxr and the cell process (which
    // inherits the environment) read them.
    unsafe {
        std::env::set_var("EVCXR_TMPDIR", &slot.dir);
        std::env::set_var(tdw_kernel_wire::SOCKET_ENV, &socket);
        if std::env::var_os("TDW_KERNEL_ONLINE").is_none() {
            std::env::set_var("CARGO_NET_OFFLINE", "true");
        }
        std::env::set_var("CARGO_PROFILE_DEV_DEBUG_ASSERTIONS", "false");
        std::env::set_var("CARGO_PROFILE_DEV_OVERFLOW_CHECKS", "false");
        if let Some(shim) = &shim {
            std::env::set_var("CARGO_HOME", &shim.cargo_home);
            std::env::set_var(cargo_shim::REAL_CARGO_HOME_ENV, &shim.real_cargo_home);
            std::env::set_var(cargo_shim::REAL_CARGO_ENV, &shim.real_cargo);
            std::env::set_var(cargo_shim::PRUNE_UNDER_ENV, &slots_root);
        }
    }
    let setup = evaluator::Setup {
        slot,
        config_dir: config_dir.clone(),
        lock_file: lock_file.clone(),
        build_cargo_home: shim.map(|s| s.real_cargo_home),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| KernelError::io(&slots_root, e))?;
    let spawner = standby::enabled().then(|| standby::Spawner {
        slots_root: slots_root.clone(),
        env: original_env.clone(),
    });
    runtime.block_on(async {
        let kernel = server::start(setup, &socket)?;
        match role {
            Role::Kernel(info) => server::serve(info, kernel, spawner).await,
            Role::Standby(lock, sources) => {
                let offer = standby::offer::Offer {
                    slots_root,
                    env: original_env,
                    sources,
                    config_dir,
                    lock_file,
                };
                standby::offer::offer(kernel, lock, offer, read_connection_info).await
            }
        }
    })?;
    // The evaluator thread may be inside a cell: leave without waiting for it.
    std::process::exit(0);
}

fn read_connection_info(path: &Path) -> Result<ConnectionInfo, KernelError> {
    let text = std::fs::read_to_string(path).map_err(|e| KernelError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| KernelError::ConnectionFile {
        path: path.to_path_buf(),
        source,
    })
}

/// `--standby`, or the connection file (see [`connection_file_arg`]).
fn mode_arg(args: impl Iterator<Item = String>) -> Result<Mode, KernelError> {
    let args: Vec<String> = args.collect();
    if args.iter().any(|a| a == "--standby") {
        return Ok(Mode::Standby);
    }
    connection_file_arg(args.into_iter()).map(Mode::Kernel)
}

/// `--connection-file FILE` (also `--control_file FILE`, `-f FILE`, or the file alone).
fn connection_file_arg(mut args: impl Iterator<Item = String>) -> Result<PathBuf, KernelError> {
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--connection-file" | "--control_file" | "-f" => {
                return args.next().map(PathBuf::from).ok_or(KernelError::Usage);
            }
            other if !other.starts_with('-') => return Ok(PathBuf::from(other)),
            _ => {}
        }
    }
    Err(KernelError::Usage)
}

/// How cells build their dependencies, as a cargo config above every slot (cargo reads config
/// files from the build directory upwards; config profiles override the manifest evcxr writes):
/// the workbench at opt-level 3 without debug assertions or overflow checks, like `tdw`'s release
/// build, so training in a cell runs as fast as the CLI; the cell's own small crate keeps evcxr's
/// quicker settings.
fn write_cell_profile(slots_root: &Path) -> Result<(), KernelError> {
    let dir = slots_root.join(".cargo");
    std::fs::create_dir_all(&dir).map_err(|e| KernelError::io(&dir, e))?;
    let path = dir.join("config.toml");
    let text = "# Written by tdw-kernel at every start: how notebook cells build the workbench.\n\
                [profile.dev.package.\"*\"]\n\
                opt-level = 3\n\
                debug-assertions = false\n\
                overflow-checks = false\n";
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
        let tmp = dir.join(format!("config.toml.{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(|e| KernelError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| KernelError::io(&path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_file_is_found_in_every_spelling() {
        let args = |v: &[&str]| {
            v.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        for spelling in [
            &["--connection-file", "k.json"][..],
            &["--control_file", "k.json"],
            &["-f", "k.json"],
            &["k.json"],
        ] {
            assert_eq!(
                connection_file_arg(args(spelling)).unwrap(),
                PathBuf::from("k.json")
            );
        }
        assert!(matches!(
            connection_file_arg(args(&["--connection-file"])),
            Err(KernelError::Usage)
        ));
        assert_eq!(mode_arg(args(&["--standby"])).unwrap(), Mode::Standby);
        assert_eq!(
            mode_arg(args(&["-f", "k.json"])).unwrap(),
            Mode::Kernel(PathBuf::from("k.json"))
        );
    }
}
