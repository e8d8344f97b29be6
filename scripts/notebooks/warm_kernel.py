#!/usr/bin/env python3
"""Starts the workbench kernel once and waits for its first result, so that a build slot holds
the compiled workbench: later kernels (each notebook, each restart) are seeded from it and start
in seconds. A slot that is already warm makes this quick."""
import os
import pathlib
import queue
import sys
import time

from jupyter_client.manager import KernelManager

root = pathlib.Path(__file__).resolve().parents[2]
km = KernelManager(kernel_name="tdw")
started = time.monotonic()
km.start_kernel(cwd=str(root / "notebooks"))
kc = km.client()
kc.start_channels()
try:
    kc.wait_for_ready(timeout=60)
    print(f"kernel_info after {time.monotonic() - started:.1f} s; loading the workbench...", flush=True)
    msg_id = kc.execute("families()")
    errors = []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=5)
        except queue.Empty:
            if time.monotonic() - started > 3600:
                sys.exit("the kernel did not answer within an hour")
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stderr":
            errors.append(msg["content"]["text"])
        if msg["msg_type"] == "error":
            errors.append("\n".join(msg["content"]["traceback"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    if errors:
        sys.exit("the workbench did not load in the kernel:\n" + "".join(errors))
    print(f"workbench loaded: first result {time.monotonic() - started:.1f} s after start")
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
