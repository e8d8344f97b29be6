//! The Jupyter side: the five channels of the connection file, bound with jupyter-zmq-client, and
//! what each message does (messaging protocol 5.3).
//!
//! The shell loop never blocks on evcxr: `kernel_info`, `is_complete`, `comm_info` and comm
//! messages are answered here at once, also while the workbench loads or a cell runs; execute,
//! complete and inspect requests queue on the evaluator thread. Comm messages from the frontend
//! go straight to the cell process over the cell link, so a widget's button works while a cell
//! runs.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use jupyter_protocol::{
    CodeMirrorMode, CommClose, CommInfo, CommInfoReply, CommMsg, CommOpen, ConnectionInfo,
    HelpLink, HistoryReply, InterruptReply, IsCompleteReply, IsCompleteReplyStatus, JupyterMessage,
    JupyterMessageContent, KernelInfoReply, LanguageInfo, ReplyStatus, ShutdownReply, Status,
    StreamContent,
};
use jupyter_zmq_client::{
    create_kernel_control_connection, create_kernel_heartbeat_connection,
    create_kernel_iopub_connection, create_kernel_shell_connection, create_kernel_stdin_connection,
};
use tdw_kernel_wire::{FromCell, ToCell};
use tokio::sync::mpsc;

use crate::cell_link::CellLink;
use crate::error::KernelError;
use crate::evaluator::{self, Job, Setup};
use crate::shared::{InputAsk, Shared, media_from_object};
use crate::syntax::{Completeness, completeness};

/// A kernel whose workbench is loading (or loaded) but that has no Jupyter sockets yet: what
/// the evaluator and the cell process need exists, and what they send waits in the channels.
pub struct Kernel {
    pub shared: Arc<Shared>,
    jobs: crossbeam_channel::Sender<Job>,
    iopub: mpsc::UnboundedReceiver<JupyterMessage>,
    shell: mpsc::UnboundedReceiver<JupyterMessage>,
    stdin: mpsc::UnboundedReceiver<InputAsk>,
}

/// Starts loading the workbench (evaluator thread, cell link on `socket_path`).
pub fn start(setup: Setup, socket_path: &std::path::Path) -> Result<Kernel, KernelError> {
    let (iopub_tx, iopub) = mpsc::unbounded_channel::<JupyterMessage>();
    let (shell_tx, shell) = mpsc::unbounded_channel::<JupyterMessage>();
    let (stdin_tx, stdin) = mpsc::unbounded_channel::<InputAsk>();
    let shared = Arc::new(Shared::new(iopub_tx, shell_tx, stdin_tx));
    let for_cell = Arc::clone(&shared);
    let link = CellLink::listen(socket_path, move |message| from_cell(&for_cell, message))?;
    let _ = shared.link.set(link);
    shared.publish(Status::starting(), None);
    let jobs = evaluator::spawn(Arc::clone(&shared), setup);
    Ok(Kernel {
        shared,
        jobs,
        iopub,
        shell,
        stdin,
    })
}

impl Kernel {
    /// Drops what was published before anyone could subscribe (a standby's loading: parentless
    /// status and prelude output that belongs to no notebook).
    pub fn discard_queued_output(&mut self) {
        while self.iopub.try_recv().is_ok() {}
    }
}

/// Binds the connection file's channels and serves until shutdown; `standby` (when given)
/// starts a standby kernel once this one is loaded and idle.
pub async fn serve(
    info: ConnectionInfo,
    kernel: Kernel,
    standby: Option<crate::standby::Spawner>,
) -> Result<(), KernelError> {
    let Kernel {
        shared,
        jobs,
        iopub: mut iopub_rx,
        shell: mut shell_rx,
        stdin: mut stdin_rx,
    } = kernel;
    let session = format!("tdw-kernel-{}", std::process::id());
    let mut heartbeat = create_kernel_heartbeat_connection(&info).await?;
    let mut iopub = create_kernel_iopub_connection(&info, &session).await?;
    let (mut shell_writer, mut shell_reader) = create_kernel_shell_connection(&info, &session)
        .await?
        .split();
    let mut control = create_kernel_control_connection(&info, &session).await?;
    let mut stdin = create_kernel_stdin_connection(&info, &session).await?;

    tokio::spawn(async move { while heartbeat.single_heartbeat().await.is_ok() {} });
    tokio::spawn(async move {
        while let Some(message) = iopub_rx.recv().await {
            if iopub.send(message).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        while let Some(message) = shell_rx.recv().await {
            if shell_writer.send(message).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        while let Some((ask, answer)) = stdin_rx.recv().await {
            let mut value = String::new();
            if stdin.send(ask).await.is_ok() {
                while let Ok(reply) = stdin.read().await {
                    if let JupyterMessageContent::InputReply(reply) = reply.content {
                        value = reply.value;
                        break;
                    }
                }
            }
            let _ = answer.send(value);
        }
    });
    if let Some(spawner) = standby {
        tokio::spawn(spawner.run(Arc::clone(&shared)));
    }

    let control_shared = Arc::clone(&shared);
    let control_task = tokio::spawn(async move {
        while let Ok(message) = control.read().await {
            let reply: Option<JupyterMessageContent> = match &message.content {
                JupyterMessageContent::KernelInfoRequest(_) => Some(kernel_info().into()),
                JupyterMessageContent::InterruptRequest(_) => {
                    interrupt(&control_shared);
                    Some(InterruptReply::new().into())
                }
                JupyterMessageContent::ShutdownRequest(request) => {
                    let reply: JupyterMessageContent = ShutdownReply {
                        restart: request.restart,
                        status: ReplyStatus::Ok,
                        error: None,
                    }
                    .into();
                    let _ = control
                        .send(JupyterMessage::new(reply, Some(&message)))
                        .await;
                    return;
                }
                _ => None,
            };
            if let Some(reply) = reply {
                let _ = control
                    .send(JupyterMessage::new(reply, Some(&message)))
                    .await;
            }
        }
    });

    let shell_shared = Arc::clone(&shared);
    let shell_task = tokio::spawn(async move {
        while let Ok(message) = shell_reader.read().await {
            if !on_shell(&shell_shared, &jobs, message) {
                return;
            }
        }
    });

    tokio::select! {
        _ = control_task => {}
        _ = shell_task => {}
    }
    kill_cell_process(&shared);
    // Let the shutdown reply leave before the sockets close.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    Ok(())
}

/// One shell message; false when the kernel should stop.
fn on_shell(
    shared: &Arc<Shared>,
    jobs: &crossbeam_channel::Sender<Job>,
    message: JupyterMessage,
) -> bool {
    let quick = |reply: JupyterMessageContent| {
        shared.publish_to(&message, Status::busy(), None);
        shared.reply(&message, reply);
        shared.publish_to(&message, Status::idle(), None);
    };
    match &message.content {
        JupyterMessageContent::KernelInfoRequest(_) => quick(kernel_info().into()),
        JupyterMessageContent::ExecuteRequest(_) => {
            let _ = jobs.send(Job::Execute(message));
        }
        JupyterMessageContent::CompleteRequest(_) => {
            let _ = jobs.send(Job::Complete(message));
        }
        JupyterMessageContent::InspectRequest(_) => {
            let _ = jobs.send(Job::Inspect(message));
        }
        JupyterMessageContent::IsCompleteRequest(request) => {
            let reply = match completeness(&request.code) {
                Completeness::Complete => IsCompleteReply::complete(),
                Completeness::Incomplete => {
                    IsCompleteReply::new(IsCompleteReplyStatus::Incomplete, "    ".into())
                }
                Completeness::Invalid => IsCompleteReply::invalid(),
            };
            quick(reply.into());
        }
        JupyterMessageContent::HistoryRequest(_) => quick(HistoryReply::new(Vec::new()).into()),
        JupyterMessageContent::CommInfoRequest(request) => {
            let comms = shared
                .open_comms(request.target_name.as_deref())
                .into_iter()
                .map(|(id, target_name)| (id.into(), CommInfo { target_name }))
                .collect();
            quick(
                CommInfoReply {
                    status: ReplyStatus::Ok,
                    comms,
                    error: None,
                }
                .into(),
            );
        }
        JupyterMessageContent::CommOpen(open) => {
            shared.publish_to(&message, Status::busy(), None);
            let metadata = message.metadata.as_object().cloned().unwrap_or_default();
            shared.set_parent(&message);
            let delivered = shared.link().is_some_and(|link| {
                link.send(&ToCell::CommOpen {
                    comm_id: open.comm_id.0.clone(),
                    target_name: open.target_name.clone(),
                    data: open.data.clone(),
                    metadata,
                })
            });
            if delivered {
                shared.comm_opened(&open.comm_id.0, &open.target_name);
            } else {
                // Nobody in the cell process can answer: close it at once, as the protocol asks.
                shared.publish_to(
                    &message,
                    CommClose {
                        comm_id: open.comm_id.clone(),
                        data: Default::default(),
                    },
                    None,
                );
            }
            shared.publish_to(&message, Status::idle(), None);
        }
        JupyterMessageContent::CommMsg(msg) => {
            // A widget's click may start long work in the cell process: not idle.
            shared.touch();
            shared.publish_to(&message, Status::busy(), None);
            shared.set_parent(&message);
            let metadata = message.metadata.as_object().cloned().unwrap_or_default();
            if let Some(link) = shared.link() {
                link.send(&ToCell::CommMsg {
                    comm_id: msg.comm_id.0.clone(),
                    data: msg.data.clone(),
                    metadata,
                });
            }
            shared.publish_to(&message, Status::idle(), None);
        }
        JupyterMessageContent::CommClose(close) => {
            shared.publish_to(&message, Status::busy(), None);
            shared.comm_closed(&close.comm_id.0);
            if let Some(link) = shared.link() {
                link.send(&ToCell::CommClose {
                    comm_id: close.comm_id.0.clone(),
                    data: close.data.clone(),
                });
            }
            shared.publish_to(&message, Status::idle(), None);
        }
        JupyterMessageContent::ShutdownRequest(request) => {
            shared.reply(
                &message,
                ShutdownReply {
                    restart: request.restart,
                    status: ReplyStatus::Ok,
                    error: None,
                },
            );
            return false;
        }
        _ => {}
    }
    true
}

/// A message from the cell process, as the iopub message of the same name.
fn from_cell(shared: &Shared, message: FromCell) {
    use jupyter_protocol::{ClearOutput, CommId, DisplayData, Transient, UpdateDisplayData};
    match message {
        FromCell::DisplayData {
            data,
            metadata,
            display_id,
        } => shared.publish(
            DisplayData {
                data: media_from_object(data),
                metadata,
                transient: display_id.map(|id| Transient {
                    display_id: Some(id),
                }),
            },
            None,
        ),
        FromCell::UpdateDisplayData {
            data,
            metadata,
            display_id,
        } => shared.publish(
            UpdateDisplayData {
                data: media_from_object(data),
                metadata,
                transient: Transient {
                    display_id: Some(display_id),
                },
            },
            None,
        ),
        FromCell::ClearOutput { wait } => shared.publish(ClearOutput { wait }, None),
        FromCell::CommOpen {
            comm_id,
            target_name,
            data,
            metadata,
        } => {
            shared.comm_opened(&comm_id, &target_name);
            shared.publish(
                CommOpen {
                    comm_id: CommId(comm_id),
                    target_name,
                    data,
                    target_module: None,
                },
                Some(metadata),
            );
        }
        FromCell::CommMsg {
            comm_id,
            data,
            metadata,
        } => shared.publish(
            CommMsg {
                comm_id: CommId(comm_id),
                data,
            },
            Some(metadata),
        ),
        FromCell::CommClose { comm_id, data } => {
            shared.comm_closed(&comm_id);
            shared.publish(
                CommClose {
                    comm_id: CommId(comm_id),
                    data,
                },
                None,
            );
        }
        FromCell::Synced { .. } => {}
    }
}

/// An interrupt: the first asks the cell to stop at its next safe point (the workbench's
/// training and analysis loops listen; variables survive); a second one, or a cell process that
/// does not listen, stops the process (evcxr starts a new one; variables are lost).
fn interrupt(shared: &Shared) {
    if !shared.executing.load(Ordering::SeqCst) {
        return;
    }
    let count = shared.interrupts.fetch_add(1, Ordering::SeqCst) + 1;
    let asked = count == 1
        && shared
            .link()
            .is_some_and(|link| link.send(&ToCell::Interrupt));
    if asked {
        shared.publish(
            StreamContent::stderr(
                "interrupt: asked the cell to stop at its next safe point (interrupt again to stop the cell process; its variables would be lost)\n",
            ),
            None,
        );
    } else {
        kill_cell_process(shared);
    }
}

pub fn kill_cell_process(shared: &Shared) {
    let pid = shared.child_pid.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) on a PID we started; no memory is involved.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
    shared.forget_comms();
}

fn kernel_info() -> KernelInfoReply {
    KernelInfoReply {
        status: ReplyStatus::Ok,
        protocol_version: "5.3".into(),
        implementation: "tdw-kernel".into(),
        implementation_version: env!("CARGO_PKG_VERSION").into(),
        language_info: LanguageInfo {
            name: "Rust".into(),
            version: rustc_version(),
            mimetype: Some("text/rust".into()),
            file_extension: Some(".rs".into()),
            pygments_lexer: Some("rust".into()),
            codemirror_mode: Some(CodeMirrorMode::Simple("rust".into())),
            nbconvert_exporter: Some("rust".into()),
        },
        banner: "Training Dynamics Workbench: Rust cells evaluated by evcxr".into(),
        help_links: vec![HelpLink {
            text: "evcxr commands (:help)".into(),
            url: "https://github.com/evcxr/evcxr/blob/main/COMMON.md".into(),
        }],
        debugger: false,
        error: None,
    }
}

fn rustc_version() -> String {
    env!("TDW_KERNEL_RUSTC_VERSION").to_string()
}
