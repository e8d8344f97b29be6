//! The launcher's side: a kernel the frontend started asks the standby to serve in its place.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::{ClaimAnswer, ClaimRequest, Environment, socket_path};

/// How a claim ended.
#[derive(Debug)]
pub enum Claim {
    /// The standby served this kernel's connection file and has now exited.
    Served,
    /// The standby said no (why, for the log); load the workbench here.
    Refused(String),
    /// No standby is listening.
    NoStandby,
}

/// How long a standby may take to answer; one that takes longer is not used.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Offers `connection_file` (with this process's working directory and `env`, the environment
/// it started with) to the standby under `slots_root`. When accepted, blocks until the standby
/// exits: this process is the one the frontend watches and kills.
pub fn claim(slots_root: &Path, connection_file: &Path, env: &Environment) -> Claim {
    let stream = match UnixStream::connect(socket_path(slots_root)) {
        Ok(stream) => stream,
        Err(_) => return Claim::NoStandby,
    };
    match ask(stream, connection_file, env) {
        Ok(mut stream) => {
            // Served: the standby holds the stream open while it runs; its end is ours.
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
            Claim::Served
        }
        Err(reason) => Claim::Refused(reason),
    }
}

/// Sends the request and reads the answer: the stream when accepted, the reason otherwise.
fn ask(
    stream: UnixStream,
    connection_file: &Path,
    env: &Environment,
) -> Result<UnixStream, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    let connection_file = if connection_file.is_absolute() {
        connection_file.to_path_buf()
    } else {
        cwd.join(connection_file)
    };
    let request = ClaimRequest {
        connection_file,
        cwd,
        env: env.clone(),
    };
    let line = serde_json::to_string(&request).map_err(|e| e.to_string())? + "\n";
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    writer
        .write_all(line.as_bytes())
        .map_err(|e| format!("the standby did not take the request: {e}"))?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    match reader.read_line(&mut answer) {
        Ok(0) => return Err("the standby closed without answering".into()),
        Ok(_) => {}
        Err(e) => return Err(format!("the standby did not answer: {e}")),
    }
    let answer: ClaimAnswer =
        serde_json::from_str(&answer).map_err(|e| format!("unreadable answer: {e}"))?;
    if !answer.accepted {
        return Err(answer.reason);
    }
    let stream = reader.into_inner();
    stream.set_read_timeout(None).map_err(|e| e.to_string())?;
    Ok(stream)
}
