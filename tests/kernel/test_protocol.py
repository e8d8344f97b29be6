"""The workbench kernel (tdw-kernel) driven through the Jupyter protocol, as a frontend drives it.

Every message type the kernel answers, with jupyter_client (what JupyterLab's server uses):
kernel_info, execute (stream, execute_result, error), complete, is_complete, inspect, input
requests, comm_open / comm_msg / comm_close / comm_info, display_data with a display id and its
update_display_data, interrupt (cooperative and forced), restart, and the build slots (two
kernels at once, a killed kernel's slot reused).

Run by scripts/kernel-tests.sh (part of scripts/test.sh) after scripts/setup-notebooks.sh; the
timings it prints are the kernel's start-up figures.
"""
import os
import pathlib
import queue
import signal
import time
import uuid

import pytest
from jupyter_client.manager import KernelManager

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULTS = ROOT / "target" / "kernel-tests" / "results"
TIMEOUT = float(os.environ.get("TDW_KERNEL_TEST_TIMEOUT", "900"))
# Every run trains from nothing (a variant left trained by an earlier run would not train again).
import shutil
shutil.rmtree(RESULTS, ignore_errors=True)


def start(extra_env=None):
    """A fresh kernel and a client whose channels are ready; returns (manager, client, seconds
    until kernel_info_reply)."""
    env = dict(os.environ)
    env["TDW_RESULTS_DIR"] = str(RESULTS)
    env.update(extra_env or {})
    km = KernelManager(kernel_name="tdw")
    started = time.monotonic()
    km.start_kernel(cwd=str(ROOT / "notebooks"), env=env)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc, time.monotonic() - started


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=True)


class Run:
    """What one execute request produced on iopub, until its idle status."""

    def __init__(self, kc, code, timeout=TIMEOUT, on_message=None, stdin=None):
        self.started = time.monotonic()
        msg_id = kc.execute(code, allow_stdin=stdin is not None)
        self.messages = []
        deadline = self.started + timeout
        while True:
            if stdin is not None:
                try:
                    ask = kc.get_stdin_msg(timeout=0.01)
                    kc.input(stdin(ask["content"]))
                except queue.Empty:
                    pass
            try:
                msg = kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no idle status for {code!r} within {timeout} s")
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            msg["arrived"] = time.monotonic() - self.started
            self.messages.append(msg)
            if on_message:
                on_message(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        self.seconds = time.monotonic() - self.started
        self.reply = kc.get_shell_msg(timeout=10)
        assert self.reply["parent_header"]["msg_id"] == msg_id

    def of(self, kind):
        return [m for m in self.messages if m["msg_type"] == kind]

    def stdout(self):
        return "".join(m["content"]["text"] for m in self.of("stream") if m["content"]["name"] == "stdout")

    def stderr(self):
        return "".join(m["content"]["text"] for m in self.of("stream") if m["content"]["name"] == "stderr")

    def result(self):
        results = self.of("execute_result")
        return results[-1]["content"]["data"] if results else {}

    def ok(self):
        assert self.reply["content"]["status"] == "ok", (self.reply["content"], self.stderr())
        assert not self.of("error"), self.of("error")
        return self


@pytest.fixture(scope="module")
def kernel():
    km, kc, ready = start()
    print(f"\nkernel_info_reply after {ready:.2f} s")
    yield km, kc
    stop(km, kc)


def test_kernel_info_answers_at_once_while_the_workbench_loads():
    km, kc, ready = start()
    try:
        assert ready < 5, f"kernel_info_reply after {ready:.2f} s"
        # The first execute waits for the workbench, then answers.
        run = Run(kc, "families()").ok()
        print(f"\nfresh kernel: kernel_info {ready:.2f} s, families() {ready + run.seconds:.1f} s after start")
        assert "<table" in run.result()["text/html"]
        assert "modulo_addition_1layer" in run.result()["text/plain"]
        info = kc.kernel_info(reply=True)["content"]
        assert info["protocol_version"] == "5.3"
        assert info["implementation"] == "tdw-kernel"
        assert info["language_info"]["name"] == "Rust"
    finally:
        stop(km, kc)


def test_streams_results_and_readable_compile_errors(kernel):
    _, kc = kernel
    run = Run(kc, 'println!("hello from a cell"); eprintln!("to stderr"); 6 * 7').ok()
    assert run.stdout() == "hello from a cell\n"
    assert "to stderr" in run.stderr()
    assert run.result()["text/plain"] == "42"
    assert run.reply["content"]["execution_count"] >= 1

    bad = Run(kc, "let answer: u32 = \"forty-two\";")
    assert bad.reply["content"]["status"] == "error"
    error = bad.of("error")[0]["content"]
    text = "\n".join(error["traceback"])
    assert "mismatched types" in error["evalue"], error
    assert "--> cell:1:" in text, text
    assert "\"forty-two\"" in text, "the offending line is shown"

    # A panic keeps the kernel alive and the variables defined before it.
    Run(kc, "let kept = 5;").ok()
    panic = Run(kc, 'panic!("on purpose")')
    assert "panicked at" in panic.stderr()
    assert Run(kc, "kept + 1").ok().result()["text/plain"] == "6"


def test_a_cell_binding_a_workbench_value(kernel):
    _, kc = kernel
    run = Run(kc, 'let v = variant("modulo_addition_1layer", "prime=23")?;').ok()
    print(f"\nlet v = variant(..)?: {run.seconds:.1f} s")
    assert "p23" in Run(kc, "v.name().to_string()").ok().result()["text/plain"]


def test_complete_inspect_and_is_complete(kernel):
    _, kc = kernel
    Run(kc, "let unusual_name_for_completion = 1;").ok()
    code = "unusual_name_for_c"
    reply = kc.complete(code, len(code), reply=True, timeout=120)["content"]
    assert "unusual_name_for_completion" in reply["matches"], reply
    assert reply["cursor_start"] == 0 and reply["cursor_end"] == len(code)

    for code, status in [("fn f() {", "incomplete"), ("let x = 1;", "complete"), ("f(1))", "invalid")]:
        msg_id = kc.is_complete(code)
        reply = kc.get_shell_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == status, code

    # Inspect shows a workbench function's documentation (its doc comment).
    reply = kc.inspect("families()", 3, reply=True, timeout=120)["content"]
    assert reply["status"] == "ok" and reply["found"], reply
    assert "model families" in reply["data"]["text/plain"], reply["data"]


def test_input_requests_reach_the_frontend(kernel):
    _, kc = kernel
    prompts = []

    def answer(content):
        prompts.append(content["prompt"])
        return "typed by the frontend"

    run = Run(kc, 'tdw_kernel_ext::kernel::input("Your name? ")', stdin=answer).ok()
    assert prompts == ["Your name? "]
    assert "typed by the frontend" in run.result()["text/plain"]


def test_a_display_created_and_updated_in_place_from_a_cell(kernel):
    _, kc = kernel
    code = """
let mut shown = LiveDisplay::new().expect("under tdw-kernel");
for step in 0..6 {
    shown.show(&[("text/plain", &format!("step {step}")), ("text/html", &format!("<b>step {step}</b>"))]);
    std::thread::sleep(std::time::Duration::from_millis(50));
}
"""
    run = Run(kc, code).ok()
    shown, updates = run.of("display_data"), run.of("update_display_data")
    assert len(shown) == 1 and len(updates) == 5, (len(shown), len(updates))
    display_id = shown[0]["content"]["transient"]["display_id"]
    assert {u["content"]["transient"]["display_id"] for u in updates} == {display_id}
    assert updates[-1]["content"]["data"]["text/plain"] == "step 5"
    # The updates arrived while the cell ran, not all at its end.
    assert updates[-1]["arrived"] - updates[0]["arrived"] > 0.15

    cleared = Run(kc, 'println!("gone"); tdw_kernel_ext::kernel::clear_output(false);').ok()
    assert cleared.of("clear_output"), [m["msg_type"] for m in cleared.messages]


def test_a_comm_opened_by_the_frontend_is_answered_by_rust(kernel):
    _, kc = kernel
    Run(kc, """
tdw_kernel_ext::kernel::register_comm_target("tdw.echo", |comm, data| {
    comm.on_event(|comm, event| {
        if let CommEvent::Message { data } = event {
            comm.send(data, Default::default());
        }
    });
    let mut hello = data.clone();
    hello.insert("opened".into(), true.into());
    comm.send(hello, Default::default());
});
""").ok()
    comm_id = uuid.uuid4().hex
    msgs = []

    def wait_for(kind, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = kc.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                continue
            msgs.append(msg)
            if msg["msg_type"] == kind and msg["content"].get("comm_id") == comm_id:
                return msg
        raise TimeoutError(f"no {kind} for comm {comm_id}: {[m['msg_type'] for m in msgs]}")

    kc.session.send(kc.shell_channel.socket, kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "tdw.echo", "data": {"x": 1}}))
    assert wait_for("comm_msg")["content"]["data"] == {"x": 1, "opened": True}
    kc.session.send(kc.shell_channel.socket, kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {"y": 2}}))
    assert wait_for("comm_msg")["content"]["data"] == {"y": 2}

    info = kc.comm_info(reply=True)["content"]
    assert info["comms"][comm_id]["target_name"] == "tdw.echo"
    kc.session.send(kc.shell_channel.socket, kc.session.msg("comm_close", {"comm_id": comm_id, "data": {}}))
    time.sleep(0.3)
    assert comm_id not in kc.comm_info(reply=True)["content"]["comms"]

    # A target nobody registered is closed at once, as the protocol asks.
    other = uuid.uuid4().hex
    kc.session.send(kc.shell_channel.socket, kc.session.msg("comm_open", {"comm_id": other, "target_name": "nobody.here", "data": {}}))
    comm_id = other
    wait_for("comm_close")


def interrupt_after(km, seconds, times=1):
    time.sleep(seconds)
    for _ in range(times):
        km.interrupt_kernel()
        time.sleep(0.5)


def test_an_interrupt_stops_training_at_the_next_epoch_and_keeps_the_variables(kernel):
    km, kc = kernel
    Run(kc, 'let kept = 11; let long = variant("modulo_addition_1layer", "prime=23 seed=31")?;').ok()
    import threading

    threading.Thread(target=interrupt_after, args=(km, 6)).start()
    run = Run(kc, "train(&long, &Training::epochs(200_000).checkpoint_every(100))?")
    # evcxr reports an error returned through `?` on stderr.
    text = "".join(m["content"]["evalue"] for m in run.of("error")) + run.stderr()
    assert "interrupted: training stopped after epoch" in text, text
    assert "resumes from its checkpoint at epoch" in text, text
    # Progress was one display, updated in place; the process and its variables survived.
    assert run.of("display_data") and run.of("update_display_data")
    assert Run(kc, "kept").ok().result()["text/plain"] == "11"


def test_a_second_interrupt_stops_a_cell_that_does_not_listen(kernel):
    km, kc = kernel
    import threading

    threading.Thread(target=interrupt_after, args=(km, 3, 2)).start()
    run = Run(kc, "loop { std::thread::sleep(std::time::Duration::from_millis(10)); }")
    assert run.reply["content"]["status"] == "error"
    assert run.of("error")[0]["content"]["ename"] == "SubprocessTerminated"
    # A new cell process takes over.
    assert Run(kc, "1 + 2").ok().result()["text/plain"] == "3"


def test_restart_gives_a_working_kernel():
    km, kc, _ = start()
    try:
        Run(kc, "let before = 1;").ok()
        started = time.monotonic()
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=60)
        run = Run(kc, "2 + 2").ok()
        print(f"\nrestart to first result: {time.monotonic() - started:.1f} s")
        assert run.result()["text/plain"] == "4"
        gone = Run(kc, "before")
        assert gone.reply["content"]["status"] == "error", "a restart starts from nothing"
    finally:
        stop(km, kc)


def test_two_kernels_at_once_use_different_slots_and_a_killed_ones_slot_is_reused():
    (km1, kc1, _), (km2, kc2, _) = start(), start()
    slot = 'std::env::var("EVCXR_TMPDIR").unwrap()'
    try:
        dir1 = Run(kc1, slot).ok().result()["text/plain"]
        dir2 = Run(kc2, slot).ok().result()["text/plain"]
        assert dir1 != dir2
        # Kill the first kernel mid-cell (SIGKILL: no clean-up at all).
        kc1.execute("std::thread::sleep(std::time::Duration::from_secs(60));")
        time.sleep(2)
        os.kill(km1.provisioner.process.pid, signal.SIGKILL)
        km1.provisioner.process.wait()
        km3, kc3, _ = start()
        try:
            assert Run(kc3, slot).ok().result()["text/plain"] == dir1
        finally:
            stop(km3, kc3)
    finally:
        kc1.stop_channels()
        km1.cleanup_resources()
        stop(km2, kc2)


def test_rust_analyzer_is_given_the_crates_cargo_builds(tmp_path):
    """rust-analyzer runs `$CARGO_HOME/bin/cargo metadata`, and `cargo metadata` lists optional
    dependencies that weak features name although cargo never builds them (cargo#10801): burn's
    whole backend matrix. The kernel's cargo shim answers with the graph `cargo tree` resolves."""
    import json
    import subprocess
    kernel_bin = json.loads((pathlib.Path(KernelManager(kernel_name="tdw").kernel_spec.resource_dir)
                             / "kernel.json").read_text())["argv"][0]
    slots = pathlib.Path(os.environ.get("TDW_KERNEL_SLOTS", ROOT / "target" / "evcxr" / "slots"))
    warm = next(p for p in sorted(slots.glob("slot-*")) if (p / "Cargo.toml").is_file())
    crate = tmp_path / "cells"
    crate.mkdir()
    for name in ["Cargo.toml", "Cargo.lock"]:
        shutil.copy(warm / name, crate / name)
    shutil.copytree(warm / "src", crate / "src")
    shim = tmp_path / "home" / "bin" / "cargo"
    shim.parent.mkdir(parents=True)
    shim.symlink_to(kernel_bin)
    real_home = os.environ.get("CARGO_HOME") or str(pathlib.Path.home() / ".cargo")
    env = dict(os.environ, CARGO_HOME=str(tmp_path / "home"), CARGO_NET_OFFLINE="true",
               TDW_KERNEL_REAL_CARGO=shutil.which("cargo"), TDW_KERNEL_REAL_CARGO_HOME=real_home,
               TDW_KERNEL_PRUNE_UNDER=str(tmp_path))
    args = ["metadata", "--format-version", "1", "--manifest-path", str(crate / "Cargo.toml"),
            "--filter-platform", "x86_64-unknown-linux-gnu"]

    def names(metadata):
        packages = {p["id"]: (p["name"], p["version"]) for p in metadata["packages"]}
        nodes = metadata["resolve"]["nodes"]
        assert all(d["pkg"] in packages for n in nodes for d in n["deps"]), "an edge to a dropped package"
        return set(packages.values())

    listed = names(json.loads(subprocess.run(["cargo"] + args, env=dict(env, CARGO_HOME=real_home),
                                             check=True, capture_output=True).stdout))
    given = names(json.loads(subprocess.run([str(shim)] + args, env=env, check=True,
                                            capture_output=True).stdout))
    tree = subprocess.run(["cargo", "tree", "-e", "normal,build,dev", "--prefix", "none", "--format", "{p}",
                           "--target", "x86_64-unknown-linux-gnu", "--manifest-path", str(crate / "Cargo.toml")],
                          env=dict(env, CARGO_HOME=real_home), check=True, capture_output=True, text=True).stdout
    built = {(line.split()[0], line.split()[1][1:]) for line in tree.splitlines() if line.strip()}
    print(f"\ncargo metadata lists {len(listed)} crates, cargo builds {len(built)}, rust-analyzer is given {len(given)}")
    assert given == built
    given_names = {name for name, _ in given}
    assert {"tdw-kernel-ext", "tdw-core", "burn-tensor", "burn-flex"} <= given_names
    for unbuilt in ["burn-tch", "burn-cubecl", "cudarc", "wgpu"]:
        assert unbuilt in {name for name, _ in listed}, f"{unbuilt}: the inflation this shim removes is gone"
        assert unbuilt not in given_names
    # Anything else is the real cargo.
    version = subprocess.run([str(shim), "--version"], env=env, check=True, capture_output=True, text=True)
    assert version.stdout.startswith("cargo ")
