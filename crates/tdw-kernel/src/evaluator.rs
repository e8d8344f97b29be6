//! The thread that owns evcxr's `CommandContext`: it loads the workbench (init.evcxr, prelude.rs)
//! once, then runs execute, complete and inspect requests in the order they came.
//!
//! Requests queue here while the workbench loads, so `kernel_info` (answered by the channel
//! tasks) never waits for a compile, while the first cell waits for the workbench.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use evcxr::{CommandContext, EvalCallbacks, EvalContextOutputs};
use jupyter_protocol::{
    CompleteReply, ErrorOutput, ExecuteInput, ExecuteReply, ExecuteResult, ExecutionCount,
    InspectReply, JupyterMessage, JupyterMessageContent, Media, MediaType, ReplyError, ReplyStatus,
    Status, StreamContent,
};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use crate::errors_text::{error_traceback, text_positions};
use crate::shared::{Shared, media_from_strings};
use crate::slots::BuildSlot;

/// Work for the evaluator, in arrival order.
pub enum Job {
    Execute(JupyterMessage),
    Complete(JupyterMessage),
    Inspect(JupyterMessage),
}

/// What the evaluator needs to load the workbench.
pub struct Setup {
    pub slot: BuildSlot,
    /// Directory with init.evcxr (evcxr commands, one a line) and prelude.rs (code).
    pub config_dir: Option<PathBuf>,
    /// A Cargo.lock to start the cells' crate from, so dependencies resolve to the workspace's
    /// pinned versions.
    pub lock_file: Option<PathBuf>,
    /// The `CARGO_HOME` evcxr's cargo builds run with, when this process's own points at the
    /// rust-analyzer shim (`cargo_shim`): the builds then keep a stock kernel's paths.
    pub build_cargo_home: Option<PathBuf>,
}

/// Starts the evaluator thread; jobs go in through the returned sender.
pub fn spawn(shared: Arc<Shared>, setup: Setup) -> crossbeam_channel::Sender<Job> {
    let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
    std::thread::Builder::new()
        .name("evaluator".into())
        .spawn(move || {
            let mut evaluator = Evaluator::start(Arc::clone(&shared), setup);
            let mut analysis_warm = false;
            loop {
                // Idle and not yet warmed: warm the analysis now (requests that came first ran
                // first); one arriving meanwhile waits for it, which it would pay itself anyway.
                let job = match queue.try_recv() {
                    Ok(job) => job,
                    Err(crossbeam_channel::TryRecvError::Empty) if !analysis_warm => {
                        evaluator.warm_analysis();
                        analysis_warm = true;
                        shared.loaded.send_replace(Some(evaluator.loaded_cleanly));
                        continue;
                    }
                    Err(crossbeam_channel::TryRecvError::Empty) => match queue.recv() {
                        Ok(job) => job,
                        Err(_) => break,
                    },
                    Err(crossbeam_channel::TryRecvError::Disconnected) => break,
                };
                shared.touch();
                match job {
                    Job::Execute(request) => evaluator.execute(&request),
                    Job::Complete(request) => evaluator.complete(&request),
                    Job::Inspect(request) => evaluator.inspect(&request),
                }
                shared.touch();
            }
        })
        .expect("the evaluator thread starts");
    jobs
}

struct Evaluator {
    shared: Arc<Shared>,
    /// None when evcxr itself could not start (then every cell reports why).
    context: Option<CommandContext>,
    /// What went wrong while loading the workbench, shown once in the first cell.
    load_errors: Vec<String>,
    execution_count: usize,
    /// Publishes the cell's remaining stdout/stderr lines (see [`forward_outputs`]).
    drain_outputs: Arc<dyn Fn() + Send + Sync>,
    /// evcxr started and init.evcxr and the prelude loaded without errors.
    loaded_cleanly: bool,
}

impl Evaluator {
    fn start(shared: Arc<Shared>, setup: Setup) -> Evaluator {
        let started = Instant::now();
        let mut load_errors = Vec::new();
        let slot = &setup.slot;
        if !slot.is_warm()
            && let Some(warm) = slot.warm_sibling()
        {
            if let Err(e) = slot.seed_from(&warm) {
                load_errors.push(format!("could not reuse the warm build: {e}"));
            } else {
                eprintln!(
                    "tdw-kernel: slot {} seeded from {} in {:.1} s",
                    slot.index,
                    warm.display(),
                    started.elapsed().as_secs_f64()
                );
            }
        }
        let step = Instant::now();
        let (mut context, drain_outputs): (Option<CommandContext>, Arc<dyn Fn() + Send + Sync>) =
            match CommandContext::new() {
                Ok((context, outputs)) => {
                    (Some(context), forward_outputs(outputs, Arc::clone(&shared)))
                }
                Err(e) => {
                    load_errors.push(format!("evcxr could not start: {e}"));
                    (None, Arc::new(|| {}))
                }
            };
        eprintln!(
            "tdw-kernel: evcxr started in {:.1} s",
            step.elapsed().as_secs_f64()
        );
        // evcxr's first build (of `42`, with no dependencies) prunes the crate's Cargo.lock to
        // nothing, so the workspace's lock goes in after it and before init.evcxr's `:dep`s:
        // every kernel then resolves the same versions as the workbench's own build, and a
        // seeded slot finds its artifacts fresh.
        if let Some(lock) = &setup.lock_file
            && let Err(e) = std::fs::copy(lock, slot.dir.join("Cargo.lock"))
        {
            load_errors.push(format!("{}: {e}", lock.display()));
        }
        if let (Some(context), Some(home)) = (context.as_mut(), &setup.build_cargo_home) {
            let command = format!(":build_env CARGO_HOME={}", home.display());
            if let Err(e) = context.execute(&command) {
                load_errors.push(format!("`{command}`: {e}"));
            }
        }
        let mut evaluator = Evaluator {
            shared,
            context,
            load_errors,
            execution_count: 0,
            drain_outputs,
            loaded_cleanly: false,
        };
        evaluator.note_child_pid();
        if let Some(dir) = &setup.config_dir {
            evaluator.load_config(dir);
        }
        evaluator.loaded_cleanly = evaluator.context.is_some() && evaluator.load_errors.is_empty();
        if evaluator.loaded_cleanly {
            slot.mark_warm();
        }
        eprintln!(
            "tdw-kernel: workbench loaded in {:.1} s (slot {})",
            started.elapsed().as_secs_f64(),
            slot.index
        );
        // The slot must stay locked for the kernel's whole life.
        std::mem::forget(setup.slot);
        evaluator
    }

    /// Runs init.evcxr (one evcxr command a line, `#` and `//` comments) and prelude.rs.
    fn load_config(&mut self, dir: &Path) {
        let Some(context) = self.context.as_mut() else {
            return;
        };
        let init = dir.join("init.evcxr");
        if let Ok(text) = std::fs::read_to_string(&init) {
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
                    continue;
                }
                let step = Instant::now();
                let line = &resolve_dep_paths(line, dir);
                if let Err(e) = context.execute(line) {
                    self.load_errors
                        .push(format!("{} `{line}`: {e}", init.display()));
                }
                eprintln!(
                    "tdw-kernel: `{line}` in {:.1} s",
                    step.elapsed().as_secs_f64()
                );
            }
        }
        let prelude = dir.join("prelude.rs");
        let step = Instant::now();
        if let Ok(code) = std::fs::read_to_string(&prelude)
            && let Err(e) = context.execute(&code)
        {
            self.load_errors.push(format!("{}: {e}", prelude.display()));
        }
        eprintln!(
            "tdw-kernel: prelude.rs in {:.1} s",
            step.elapsed().as_secs_f64()
        );
    }

    /// rust-analyzer loads the crate graph on its first query, which otherwise lands on the
    /// user's first `let` (tens of seconds with the workbench's dependencies). One completion
    /// query now, while nobody waits, pays that once.
    fn warm_analysis(&mut self) {
        let Some(context) = self.context.as_mut() else {
            return;
        };
        let started = Instant::now();
        let probe = "let _tdw_probe = families();\n_tdw_probe.";
        let _ = context.completions(probe, probe.len());
        eprintln!(
            "tdw-kernel: analysis warmed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }

    fn note_child_pid(&self) {
        if let Some(context) = &self.context {
            let handle = context.process_handle();
            let pid = handle.lock().map(|child| child.id()).unwrap_or(0);
            self.shared.set_child_pid(pid);
        }
    }

    fn execute(&mut self, request: &JupyterMessage) {
        let JupyterMessageContent::ExecuteRequest(execute) = &request.content else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        shared.publish_to(request, Status::busy(), None);
        if !execute.silent && execute.store_history {
            self.execution_count += 1;
        }
        let count = ExecutionCount::new(self.execution_count);
        shared.publish_to(
            request,
            ExecuteInput {
                code: execute.code.clone(),
                execution_count: count,
            },
            None,
        );
        shared.set_parent(request);
        if !self.load_errors.is_empty() {
            let text = format!(
                "the workbench did not load completely:\n{}\n",
                self.load_errors.join("\n")
            );
            self.load_errors.clear();
            shared.publish_to(request, StreamContent::stderr(&text), None);
        }

        let outcome = match self.context.as_mut() {
            None => Err((
                "KernelError".to_string(),
                "evcxr is not running; see the kernel's log".to_string(),
                Vec::new(),
            )),
            Some(context) => {
                shared.interrupts.store(0, Ordering::SeqCst);
                shared.executing.store(true, Ordering::SeqCst);
                let allow_stdin = execute.allow_stdin;
                let result = context.execute_with_callbacks(
                    &execute.code,
                    &mut EvalCallbacks {
                        input_reader: &|input| {
                            if allow_stdin {
                                ask_input(&shared, request, input.prompt, input.is_password)
                            } else {
                                String::new()
                            }
                        },
                    },
                );
                shared.executing.store(false, Ordering::SeqCst);
                match result {
                    Ok(outputs) => Ok(outputs),
                    Err(error) => {
                        let (ename, evalue, traceback) = error_traceback(&error, &execute.code);
                        Err((ename, evalue, traceback))
                    }
                }
            }
        };
        self.finish_outputs();
        self.note_child_pid();

        match outcome {
            Ok(outputs) => {
                if let Some(took) = outputs.timing {
                    // `:timing` on: the total, then evcxr's phases (compile, retries, run).
                    let phases: Vec<String> = outputs
                        .phases
                        .iter()
                        .map(|p| format!("{} {}ms", p.name, p.duration.as_millis()))
                        .collect();
                    shared.publish_to(
                        request,
                        StreamContent::stdout(&format!(
                            "Took {}ms ({})\n",
                            took.as_millis(),
                            phases.join(", ")
                        )),
                        None,
                    );
                }
                if !outputs.content_by_mime_type.is_empty() && !execute.silent {
                    shared.publish_to(
                        request,
                        ExecuteResult {
                            execution_count: count,
                            data: media_from_strings(&outputs.content_by_mime_type),
                            metadata: Map::new(),
                            transient: None,
                        },
                        None,
                    );
                }
                shared.reply(
                    request,
                    ExecuteReply {
                        status: ReplyStatus::Ok,
                        execution_count: count,
                        ..Default::default()
                    },
                );
            }
            Err((ename, evalue, traceback)) => {
                shared.publish_to(
                    request,
                    ErrorOutput {
                        ename: ename.clone(),
                        evalue: evalue.clone(),
                        traceback: traceback.clone(),
                    },
                    None,
                );
                shared.reply(
                    request,
                    ExecuteReply {
                        status: ReplyStatus::Error,
                        execution_count: count,
                        error: Some(Box::new(ReplyError {
                            ename,
                            evalue,
                            traceback,
                        })),
                        ..Default::default()
                    },
                );
            }
        }
        shared.publish_to(request, Status::idle(), None);
    }

    /// Everything the cell printed or sent is published before the reply: the cell link's
    /// messages (sync), then evcxr's line channels.
    fn finish_outputs(&self) {
        if let Some(link) = self.shared.link() {
            link.sync(Duration::from_secs(2));
        }
        // evcxr hands stdout over before the cell returns; stderr comes from a thread of its
        // own, so a panic's last lines may still be on their way: give them a moment.
        std::thread::sleep(Duration::from_millis(30));
        (self.drain_outputs)();
    }

    fn complete(&mut self, request: &JupyterMessage) {
        let JupyterMessageContent::CompleteRequest(complete) = &request.content else {
            return;
        };
        self.shared.publish_to(request, Status::busy(), None);
        let positions = text_positions(&complete.code);
        let byte = positions.byte_of_char(complete.cursor_pos);
        let mut reply = CompleteReply {
            cursor_start: complete.cursor_pos,
            cursor_end: complete.cursor_pos,
            ..Default::default()
        };
        if let Some(context) = self.context.as_mut()
            && let Ok(found) = context.completions(&complete.code, byte)
        {
            reply.matches = found.completions.iter().map(|c| c.code.clone()).collect();
            reply.cursor_start = positions.char_of_byte(found.start_offset);
            reply.cursor_end = positions.char_of_byte(found.end_offset);
            let types: Vec<Value> = found
                .completions
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "start": reply.cursor_start, "end": reply.cursor_end,
                        "text": c.code, "type": c.kind, "signature": c.label,
                    })
                })
                .collect();
            reply
                .metadata
                .insert("_jupyter_types_experimental".into(), Value::Array(types));
        }
        self.shared.reply(request, reply);
        self.shared.publish_to(request, Status::idle(), None);
    }

    fn inspect(&mut self, request: &JupyterMessage) {
        let JupyterMessageContent::InspectRequest(inspect) = &request.content else {
            return;
        };
        self.shared.publish_to(request, Status::busy(), None);
        let byte = text_positions(&inspect.code).byte_of_char(inspect.cursor_pos);
        // evcxr hovers over what ends where the code is cut: cut at the end of the word under
        // the cursor, wherever in the word the cursor is.
        let byte = byte
            + inspect.code[byte..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(inspect.code.len() - byte);
        let mut reply = InspectReply::default();
        if let Some(context) = self.context.as_mut()
            && let Ok((text, markdown)) = context.hover_at(&inspect.code, byte)
            && !text.trim().is_empty()
            && text.trim() != "No documentation found"
        {
            reply.found = true;
            reply.data = Media::new(vec![MediaType::Plain(text), MediaType::Markdown(markdown)]);
        }
        self.shared.reply(request, reply);
        self.shared.publish_to(request, Status::idle(), None);
    }
}

/// Asks the frontend for a line of input (stdin channel) and waits for the answer.
fn ask_input(shared: &Shared, parent: &JupyterMessage, prompt: String, password: bool) -> String {
    let ask = JupyterMessage::new(
        jupyter_protocol::InputRequest { prompt, password },
        Some(parent),
    );
    let (answer, answered) = oneshot::channel();
    if shared.stdin.send((ask, answer)).is_err() {
        return String::new();
    }
    answered.blocking_recv().unwrap_or_default()
}

/// Publishes the cell's stdout and stderr lines as they come (evcxr hands them over line by
/// line, on channels), polling every few milliseconds. Returns the drain that the end of a cell
/// calls: under the same lock as the poller, it publishes what is left, so once it returns every
/// line taken from the channels has been published.
fn forward_outputs(
    outputs: EvalContextOutputs,
    shared: Arc<Shared>,
) -> Arc<dyn Fn() + Send + Sync> {
    let gate = Arc::new(std::sync::Mutex::new(()));
    let drain = {
        let (stdout, stderr) = (outputs.stdout, outputs.stderr);
        let shared = Arc::clone(&shared);
        Arc::new(move || {
            let _held = gate.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                let mut any = false;
                while let Ok(line) = stdout.try_recv() {
                    shared.publish(StreamContent::stdout(&(line + "\n")), None);
                    any = true;
                }
                while let Ok(line) = stderr.try_recv() {
                    shared.publish(StreamContent::stderr(&(line + "\n")), None);
                    any = true;
                }
                if !any {
                    break;
                }
            }
        })
    };
    let poll = Arc::clone(&drain);
    std::thread::Builder::new()
        .name("cell-output".into())
        .spawn(move || {
            loop {
                poll();
                std::thread::sleep(Duration::from_millis(10));
            }
        })
        .expect("the output thread starts");
    drain
}

/// A `:dep` line with its relative `path = "…"` made absolute against `base` (the directory of
/// init.evcxr). evcxr resolves a relative path against the kernel's working directory, which is
/// the notebook's own directory: a notebook opened anywhere but `notebooks/` would otherwise
/// not find the workbench.
pub fn resolve_dep_paths(line: &str, base: &Path) -> String {
    if !line.starts_with(":dep") {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("path") {
        let (before, from_key) = rest.split_at(at);
        out.push_str(before);
        let after_key = from_key["path".len()..].trim_start();
        let Some(after_eq) = after_key.strip_prefix('=') else {
            out.push_str("path");
            rest = &from_key["path".len()..];
            continue;
        };
        let after_eq = after_eq.trim_start();
        let Some(quoted) = after_eq.strip_prefix('"') else {
            out.push_str("path");
            rest = &from_key["path".len()..];
            continue;
        };
        let Some(end) = quoted.find('"') else {
            out.push_str(from_key);
            return out;
        };
        let value = &quoted[..end];
        let path = Path::new(value);
        let resolved = if path.is_absolute() {
            path.to_path_buf()
        } else {
            let joined = base.join(path);
            joined.canonicalize().unwrap_or(joined)
        };
        out.push_str(&format!("path = {:?}", resolved.display().to_string()));
        rest = &quoted[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_paths_resolve_against_the_config_directory() {
        let base = Path::new("/nonexistent/notebooks/evcxr-config");
        assert_eq!(
            resolve_dep_paths(r#":dep tdw-kernel-ext = { path = "../../crates/x" }"#, base),
            r#":dep tdw-kernel-ext = { path = "/nonexistent/notebooks/evcxr-config/../../crates/x" }"#
        );
        assert_eq!(
            resolve_dep_paths(r#":dep x = { path = "/abs/x", features = ["a"] }"#, base),
            r#":dep x = { path = "/abs/x", features = ["a"] }"#
        );
        assert_eq!(
            resolve_dep_paths(":dep serde = \"1\"", base),
            ":dep serde = \"1\""
        );
        assert_eq!(resolve_dep_paths(":timing", base), ":timing");
    }
}
