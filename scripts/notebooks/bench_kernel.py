#!/usr/bin/env python3
"""The workbench kernel's start-up and cell times, driven through the Jupyter protocol as a
frontend would (jupyter_client), next to `tdw train` for the same training.

  .venv-notebooks/bin/python scripts/notebooks/bench_kernel.py [--kernel tdw] [--skip-train]

Measures, each from a fresh kernel (after the one-time set-up: a warm build slot exists):
kernel_info_reply after start, the first result (`families()`), `let v = variant(..)?;`, a view
cell, and `train()` of p = 59, fraction 0.5, 1,000 epochs (a checkpoint every 50) with the
number of display updates and stdout lines it produced, against the whole `tdw train` process
for the same variant in another results directory. Not a test: prints a table (and JSON with
--json FILE). With --kernel NAME it measures another kernel spec (stock evcxr_jupyter, say).

By default the kernel loads the workbench itself (TDW_KERNEL_STANDBY=0). With --standby, a first
kernel is started and left idle until it has started a standby kernel, then stopped, and the
measured kernel is the one that standby serves (a second notebook, a restart, as people meet it).
"""
import argparse
import json
import os
import pathlib
import queue
import shutil
import subprocess
import tempfile
import time

from jupyter_client.manager import KernelManager

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_cell(kc, code, timeout=3600, result=False):
    started = time.monotonic()
    msg_id = kc.execute(code)
    counts = {"stdout_lines": 0, "display_data": 0, "update_display_data": 0, "errors": []}
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            if time.monotonic() - started > timeout:
                raise TimeoutError(code)
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "stream" and msg["content"]["name"] == "stdout":
            counts["stdout_lines"] += len(msg["content"]["text"].splitlines())
        elif kind in ("display_data", "update_display_data"):
            counts[kind] += 1
        elif kind == "error":
            counts["errors"].append(msg["content"]["evalue"])
        elif kind == "execute_result" and result:
            counts["result"] = msg["content"]["data"]["text/plain"]
        elif kind == "stream" and "error" in msg["content"]["text"]:
            counts["errors"].append(msg["content"]["text"].strip())
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            break
    counts["seconds"] = time.monotonic() - started
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", default="tdw")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--json", type=pathlib.Path)
    parser.add_argument("--standby", action="store_true")
    args = parser.parse_args()
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="tdw-bench-kernel-"))
    env = dict(os.environ, TDW_RESULTS_DIR=str(scratch / "kernel-results"), TDW_KERNEL_STANDBY="0")
    figures = {}
    if args.standby:
        env.update(TDW_KERNEL_STANDBY="1", TDW_KERNEL_STANDBY_AFTER="1",
                   TDW_KERNEL_STANDBY_DIR=str(scratch / "standby"))
        km = KernelManager(kernel_name=args.kernel)
        km.start_kernel(cwd=str(ROOT / "notebooks"), env=env)
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=600)
        run_cell(kc, "families()")
        started = time.monotonic()
        while not (scratch / "standby" / "standby.sock").exists():
            if time.monotonic() - started > 900:
                raise TimeoutError("no standby kernel appeared")
            time.sleep(0.5)
        figures["standby_ready_after_first_s"] = time.monotonic() - started
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    km = KernelManager(kernel_name=args.kernel)
    started = time.monotonic()
    km.start_kernel(cwd=str(ROOT / "notebooks"), env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.kernel_info()
        while True:
            reply = kc.get_shell_msg(timeout=600)
            if reply["msg_type"] == "kernel_info_reply":
                break
        figures["kernel_info_reply_s"] = time.monotonic() - started
        first = run_cell(kc, "families()")
        figures["first_result_s"] = time.monotonic() - started
        figures["let_variant_s"] = run_cell(kc, 'let v = variant("modulo_addition_1layer", "prime=23 seed=4")?;')["seconds"]
        if not args.skip_train:
            cell = run_cell(kc, 'let v59 = variant("modulo_addition_1layer", "prime=59")?;\n'
                            'let run = train(&v59, &Training::epochs(1000).fraction(0.5).checkpoint_every(50))?;')
            figures["train_cell_s"] = cell["seconds"]
            figures["train_cell_updates"] = cell["update_display_data"]
            figures["train_cell_stdout_lines"] = cell["stdout_lines"]
            figures["train_cell_errors"] = cell["errors"]
            figures["view_cell_s"] = run_cell(kc, 'v59.at(500).view("parameters.embeddings.fourier_coefficients")')["seconds"]
            # Twice: the first use of a view's code in a kernel costs more than a typical one.
            figures["view_cell_again_s"] = run_cell(kc, 'v59.at(950).view("training.metadata.loss_curves")')["seconds"]
        figures["first_cell_errors"] = first["errors"]
        server = run_cell(kc, "std::os::unix::process::parent_id()", result=True)["result"]
        figures["served_by_standby"] = int(server) != km.provisioner.process.pid
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        if args.standby:
            # The standby the measured kernel started in turn.
            try:
                os.kill(int((scratch / "standby" / "standby.lock").read_text()), 9)
            except (OSError, ValueError):
                pass

    if not args.skip_train:
        tdw = ROOT / "target" / "release" / "tdw"
        cmd = [str(tdw), "--results-dir", str(scratch / "cli-results"), "train", "--param", "prime=59",
               "--fraction", "0.5", "--epochs", "1000", "--checkpoints", ",".join(str(e) for e in range(0, 1000, 50))]
        started = time.monotonic()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        figures["tdw_train_s"] = time.monotonic() - started
        figures["train_cell_over_cli"] = figures["train_cell_s"] / figures["tdw_train_s"]
    shutil.rmtree(scratch, ignore_errors=True)

    for key, value in figures.items():
        print(f"{key:28} {value:.2f}" if isinstance(value, float) else f"{key:28} {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
