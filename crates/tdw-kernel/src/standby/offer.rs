//! The standby's side: load the workbench, wait for a launcher, serve its connection file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jupyter_protocol::ConnectionInfo;
use tdw_kernel_wire::ToCell;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::sources::Sources;
use super::{
    ClaimAnswer, ClaimRequest, Environment, Spawner, StandbyLock, idle_limit, socket_path,
};
use crate::error::KernelError;
use crate::server::{self, Kernel};

/// What the standby compares a claim with.
pub struct Offer {
    pub slots_root: PathBuf,
    /// The environment the standby started with.
    pub env: Environment,
    /// The workbench's sources before the standby loaded them.
    pub sources: Sources,
    pub config_dir: Option<PathBuf>,
    pub lock_file: Option<PathBuf>,
}

/// Why a claim was refused; `Stale` also ends the standby (it can never be right again).
enum Refusal {
    Mismatch(String),
    Stale(String),
}

/// Waits until the workbench is loaded, then for a launcher (at most [`idle_limit`]), then
/// serves the launcher's connection file until shutdown or until the launcher goes away.
pub async fn offer(
    mut kernel: Kernel,
    lock: StandbyLock,
    offer: Offer,
    connection_info: impl Fn(&Path) -> Result<ConnectionInfo, KernelError>,
) -> Result<(), KernelError> {
    let mut loaded = kernel.shared.loaded.subscribe();
    let clean = loaded
        .wait_for(|state| state.is_some())
        .await
        .map(|state| *state == Some(true))
        .unwrap_or(false);
    if !clean {
        eprintln!("tdw-kernel: standby: the workbench did not load cleanly; not offering it");
        server::kill_cell_process(&kernel.shared);
        return Ok(());
    }
    let path = socket_path(&offer.slots_root);
    // Only the holder of standby.lock listens here, so a socket file left is a dead one's.
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).map_err(|e| KernelError::io(&path, e))?;
    eprintln!("tdw-kernel: standby ready on {}", path.display());
    let (stream, request) = loop {
        let accepted = match tokio::time::timeout(idle_limit(), listener.accept()).await {
            Err(_) => {
                eprintln!(
                    "tdw-kernel: standby not claimed in {} s; leaving",
                    idle_limit().as_secs()
                );
                leave(&kernel, &path);
                return Ok(());
            }
            Ok(Err(e)) => return Err(KernelError::io(&path, e)),
            Ok(Ok((stream, _))) => stream,
        };
        let (stream, request) = match read_request(accepted).await {
            Some(read) => read,
            None => continue,
        };
        match check(&request, &offer) {
            Ok(()) => break (stream, request),
            Err(Refusal::Mismatch(reason)) => {
                eprintln!("tdw-kernel: standby refused a claim: {reason}");
                answer(stream, false, &reason).await;
            }
            Err(Refusal::Stale(reason)) => {
                eprintln!("tdw-kernel: standby refused a claim and leaves: {reason}");
                answer(stream, false, &reason).await;
                leave(&kernel, &path);
                return Ok(());
            }
        }
    };
    // Claimed: nobody else may find this standby, and the next standby may start.
    drop(listener);
    let _ = std::fs::remove_file(&path);
    drop(lock);
    let info = match connection_info(&request.connection_file) {
        Ok(info) => info,
        Err(e) => {
            answer(stream, false, &e.to_string()).await;
            // Not `leave`: the socket path may already be a new standby's.
            server::kill_cell_process(&kernel.shared);
            return Err(e);
        }
    };
    move_to(&kernel, &request.cwd);
    let mut stream = answer(stream, true, "").await.ok_or_else(|| {
        KernelError::io(
            &path,
            std::io::Error::other("the launcher left before the answer"),
        )
    })?;
    eprintln!(
        "tdw-kernel: standby claimed for {} (working directory {})",
        request.connection_file.display(),
        request.cwd.display()
    );
    // The launcher is the process the frontend manages: when it is gone, so is this kernel.
    let shared = std::sync::Arc::clone(&kernel.shared);
    tokio::spawn(async move {
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
        eprintln!("tdw-kernel: the launcher is gone; leaving");
        server::kill_cell_process(&shared);
        std::process::exit(0);
    });
    kernel.discard_queued_output();
    // Idle since its warm-up, but only now in use: the next standby waits for this kernel's
    // own quiet time, not for the time it spent waiting.
    kernel.shared.touch();
    let spawner = super::enabled().then(|| Spawner {
        slots_root: offer.slots_root.clone(),
        env: offer.env.clone(),
    });
    server::serve(info, kernel, spawner).await
}

/// One request line, within a few seconds (a client that says nothing is dropped).
async fn read_request(stream: UnixStream) -> Option<(UnixStream, ClaimRequest)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line)).await;
    match read {
        Ok(Ok(n)) if n > 0 => {}
        _ => return None,
    }
    let request = serde_json::from_str(&line)
        .inspect_err(|e| eprintln!("tdw-kernel: standby: unreadable claim: {e}"))
        .ok()?;
    Some((reader.into_inner(), request))
}

fn check(request: &ClaimRequest, offer: &Offer) -> Result<(), Refusal> {
    let differences = offer.env.differences(&request.env);
    if !differences.is_empty() {
        return Err(Refusal::Mismatch(format!(
            "the environment differs in {}",
            differences.join(", ")
        )));
    }
    let now = Sources::scan(offer.config_dir.as_deref(), offer.lock_file.as_deref());
    if now != offer.sources {
        return Err(Refusal::Stale(
            "the workbench's sources changed since the standby loaded them".into(),
        ));
    }
    Ok(())
}

/// Writes the answer; the stream back when it could be written.
async fn answer(mut stream: UnixStream, accepted: bool, reason: &str) -> Option<UnixStream> {
    let answer = ClaimAnswer {
        accepted,
        reason: reason.to_string(),
    };
    let line = serde_json::to_string(&answer).ok()? + "\n";
    stream.write_all(line.as_bytes()).await.ok()?;
    Some(stream)
}

/// The kernel and its cell process move to the notebook's directory (a cell's relative paths,
/// evcxr's `:dep path`), as a kernel started there would be.
fn move_to(kernel: &Kernel, cwd: &Path) {
    if let Err(e) = std::env::set_current_dir(cwd) {
        eprintln!("tdw-kernel: standby: cannot move to {}: {e}", cwd.display());
        return;
    }
    if let Some(link) = kernel.shared.link() {
        let sent = link.send(&ToCell::SetCurrentDir {
            path: cwd.display().to_string(),
        });
        if sent {
            // The cell has moved once it answers (messages are handled in order).
            tokio::task::block_in_place(|| link.sync(Duration::from_secs(2)));
        }
    }
}

fn leave(kernel: &Kernel, socket: &Path) {
    let _ = std::fs::remove_file(socket);
    server::kill_cell_process(&kernel.shared);
}
