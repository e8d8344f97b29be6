#!/usr/bin/env python3
"""Execute notebooks headless in the real evcxr kernel (nbclient) and check their outputs.

A code cell's tags say what it must show:
  expect-svg       an image/svg+xml output (a chart)
  expect-html      a text/html output with a <table>
  expect-text      a text/plain result
  expect-scrubber  a text/html scrubber: several frames, each a chart (views::scrubber)
  expect-widget    a Jupyter widget view (application/vnd.jupyter.widget-view+json)
  expect-progress  progress shown while the cell was still running: under tdw-kernel one display
                   updated in place (>= 3 updates, at most 3 stdout lines, the saved output the
                   final state); under stock evcxr_jupyter, progress lines on stdout
Every cell fails on an error output, on "panicked at" or an "error:" line on stderr.
With --self-test, cells tagged expect-check-failure must FAIL these checks (shows they can fail).

Executed copies go to target/notebooks/; per-cell times are printed and written as JSON.
"""
import argparse
import datetime as dt
import json
import os
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient


class TimedClient(NotebookClient):
    """Records when each stdout line and each display update reaches us, to tell streamed
    progress from a final dump."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stream_arrivals = {}
        self.display_updates = {}

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] == "update_display_data":
            now = dt.datetime.now(dt.timezone.utc)
            display_id = (msg["content"].get("transient") or {}).get("display_id")
            self.display_updates.setdefault(cell_index, []).append((now, display_id))
        return super().process_message(msg, cell, cell_index)

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream" and msg["content"].get("name") == "stdout":
            now = dt.datetime.now(dt.timezone.utc)
            for line in msg["content"]["text"].splitlines():
                self.stream_arrivals.setdefault(cell_index, []).append((now, line))
        return super().output(outs, msg, display_id, cell_index)


def parse_time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def cell_seconds(cell):
    ex = cell.get("metadata", {}).get("execution", {})
    if "shell.execute_reply" in ex and "iopub.execute_input" in ex:
        return (parse_time(ex["shell.execute_reply"]) - parse_time(ex["iopub.execute_input"])).total_seconds()
    return None


def problems_of(cell, index, arrivals, updates, live):
    """Why this cell fails its checks (empty when it passes)."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    outputs = cell.get("outputs", [])
    found = []
    data = {}
    for out in outputs:
        if out["output_type"] == "error":
            found.append(f"error output: {out.get('ename')}: {out.get('evalue', '')[:200]}")
        if out["output_type"] == "stream" and out["name"] == "stderr":
            text = out["text"]
            if "panicked at" in text:
                found.append("panic on stderr: " + text.strip().splitlines()[0][:200])
            for line in text.splitlines():
                if line.startswith("error:"):
                    found.append("error on stderr: " + line[:200])
        if out["output_type"] in ("execute_result", "display_data"):
            for mime, value in out.get("data", {}).items():
                data.setdefault(mime, []).append(value if isinstance(value, str) else "".join(value))
    if "expect-svg" in tags and not any(v.lstrip().startswith("<svg") for v in data.get("image/svg+xml", [])):
        found.append("no image/svg+xml chart")
    if "expect-html" in tags and not any("<table" in v for v in data.get("text/html", [])):
        found.append("no text/html table")
    if "expect-scrubber" in tags and not any(
            'class="tdw-scrubber"' in v and v.count('class="tdw-scrub-frame"') >= 2
            and v.count("<svg") >= v.count('class="tdw-scrub-frame"')
            for v in data.get("text/html", [])):
        found.append("no scrubber with two or more chart frames")
    if "expect-widget" in tags and not data.get("application/vnd.jupyter.widget-view+json"):
        found.append("no widget view")
    if "expect-text" in tags and not any(v.strip() for v in data.get("text/plain", [])):
        found.append("no text/plain result")
    if "expect-progress" in tags and live:
        seen = updates.get(index, [])
        ids = {d for _, d in seen}
        stdout_lines = sum(len(o["text"].splitlines()) for o in outputs
                           if o["output_type"] == "stream" and o["name"] == "stdout")
        reply = cell.get("metadata", {}).get("execution", {}).get("shell.execute_reply")
        if len(seen) < 3:
            found.append(f"only {len(seen)} in-place progress update(s)")
        elif len(ids) > 2:
            found.append(f"progress updated {len(ids)} different displays")
        elif reply is None or (parse_time(reply) - seen[0][0]).total_seconds() < 0.3:
            found.append("progress updates not streamed (all at the end of the cell)")
        if stdout_lines > 3:
            found.append(f"{stdout_lines} stdout lines (progress should be one display)")
        if not any("<progress" in v for v in data.get("text/html", [])):
            found.append("no progress display in the saved output")
    elif "expect-progress" in tags:
        lines = [(t, l) for t, l in arrivals.get(index, []) if "epoch" in l or "checkpoint" in l]
        reply = cell.get("metadata", {}).get("execution", {}).get("shell.execute_reply")
        if len(lines) < 2:
            found.append(f"only {len(lines)} progress line(s)")
        elif reply is None:
            found.append("no execute_reply time recorded")
        else:
            lead = (parse_time(reply) - lines[0][0]).total_seconds()
            spread = (lines[-1][0] - lines[0][0]).total_seconds()
            if lead < 0.5 or spread < 0.3:
                found.append(f"progress not streamed (first line {lead:.2f} s before the end, spread {spread:.2f} s)")
    return found


def run(path, out_dir, self_test, timeout, cwd):
    nb = nbformat.read(path, as_version=4)
    client = TimedClient(
        nb,
        timeout=timeout,
        startup_timeout=timeout,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "tdw"),
        record_timing=True,
        # Keep going after a failing cell: the checks below report every problem, with its text.
        allow_errors=True,
        # The kernel's working directory: notebooks/evcxr-config/init.evcxr names tdw-kernel-ext by a
        # path relative to notebooks/, as JupyterLab runs a kernel in its notebook's folder.
        resources={"metadata": {"path": str(cwd)}},
    )
    started = time.monotonic()
    client.execute()
    total = time.monotonic() - started
    live = nb.metadata.get("kernelspec", {}).get("name", "tdw") == "tdw" and os.environ.get("TDW_STOCK_EVCXR") != "1"
    failures = []
    times = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        problems = problems_of(cell, index, client.stream_arrivals, client.display_updates, live)
        seconds = cell_seconds(cell)
        times.append({"cell": index, "seconds": seconds, "source": cell.source.splitlines()[0][:60]})
        expect_failure = "expect-check-failure" in cell.metadata.get("tags", [])
        if self_test and expect_failure and not problems:
            failures.append(f"cell {index}: expected the checks to fail, they passed")
        elif not (self_test and expect_failure) and problems:
            failures.extend(f"cell {index}: {p}" for p in problems)
        elif self_test and expect_failure:
            print(f"  cell {index}: caught as expected: {problems[0]}")
    # A display id is one output: updated from two cells, the later cell's progress replaces the
    # earlier cell's saved output (it happened: evcxr gave each cell a fresh id counter).
    cells_of = {}
    for index, updates in client.display_updates.items():
        for _, display_id in updates:
            if display_id:
                cells_of.setdefault(display_id, set()).add(index)
    for display_id, cells in sorted(cells_of.items()):
        if len(cells) > 1:
            failures.append(f"cells {sorted(cells)}: share display id {display_id}; the last one's "
                            "updates overwrite the others' outputs")
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    return failures, times, total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("target/notebooks"))
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--cwd", type=pathlib.Path, default=pathlib.Path("notebooks"),
                        help="kernel working directory (default: notebooks/)")
    args = parser.parse_args()
    report = {}
    all_failures = []
    grand = time.monotonic()
    for path in args.notebooks:
        print(f"== {path}", flush=True)
        failures, times, total = run(path.resolve(), args.out, args.self_test, args.timeout, args.cwd.resolve())
        for t in times:
            s = "?" if t["seconds"] is None else f"{t['seconds']:7.1f} s"
            print(f"  cell {t['cell']:>2} {s}  {t['source']}")
        print(f"  total {total:.1f} s", flush=True)
        report[path.name] = {"total_seconds": total, "cells": times}
        all_failures.extend(f"{path.name} {f}" for f in failures)
    report["all_seconds"] = time.monotonic() - grand
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "timings.json").write_text(json.dumps(report, indent=1))
    if all_failures:
        print("NOTEBOOK CHECKS FAILED:")
        for f in all_failures:
            print("  " + f)
        sys.exit(1)
    print(f"notebook checks passed ({report['all_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
