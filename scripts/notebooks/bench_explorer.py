#!/usr/bin/env python3
"""How long the view explorer (`explore(&v)`) takes per frame, driven through the Jupyter
protocol as JupyterLab's widget manager drives it, on the p = 113 reference variant.

  .venv-notebooks/bin/python scripts/notebooks/bench_explorer.py [--results DIR --variant NAME]

Without --results it copies the Python reference's canonical run (../shared/reference or
$TDW_REFERENCE_DIR: p = 113, checkpoints 0, 100, 200, 299) into a scratch results directory and
analyzes it with `target/release/tdw analyze` (every analyzer). Then, in a fresh workbench
kernel, for every per-epoch view: the slider is moved to each analyzed epoch in turn and the time
from the frontend's `update` message to the chart's new HTML arriving is measured (the frame as a
person sees it, transport included), with the kernel's own "drawn in" figure beside it. The
neuron heatmap is measured for neuron 0 and neuron 511 (the last row of the activations array,
the most to inflate). Not a test: prints a table (and JSON with --json FILE).
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "kernel"))

from jupyter_client.manager import KernelManager  # noqa: E402
from widget_frontend import Frontend  # noqa: E402

REFERENCE = "modulo_addition_1layer_p113_seed999_dseed598"


def prepare(scratch):
    reference = pathlib.Path(os.environ.get("TDW_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))
    source = reference / "modulo_addition_1layer" / REFERENCE
    if not source.is_dir():
        sys.exit(f"the reference run is absent ({source}): pass --results and --variant")
    target = scratch / "modulo_addition_1layer" / REFERENCE
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("artifacts"))
    started = time.monotonic()
    subprocess.run([str(ROOT / "target" / "release" / "tdw"), "--results-dir", str(scratch), "analyze", REFERENCE],
                   check=True, stdout=subprocess.DEVNULL)
    print(f"analyzed the reference in {time.monotonic() - started:.1f} s", flush=True)
    return scratch, REFERENCE


def run(kc, ui, code, timeout=600):
    msg_id = kc.execute(code)
    result = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except Exception:
            continue
        ui.take(msg)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        if msg["msg_type"] == "execute_result":
            result = msg["content"]["data"]
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return result
    raise TimeoutError(code)


def charts(ui, root):
    return [ui.models[i]["value"] for i in ui.descendants(root)
            if ui.models[i]["_model_name"] == "HTMLModel" and "<svg" in ui.models[i].get("value", "")]


def drawn_ms(ui, root):
    for i in ui.descendants(root):
        value = ui.models[i].get("value", "")
        if ui.models[i]["_model_name"] == "HTMLModel" and "drawn in" in value:
            return float(value.split("drawn in")[1].split("ms")[0])
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=pathlib.Path)
    parser.add_argument("--variant")
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="tdw-bench-explorer-"))
    results, variant = (args.results, args.variant) if args.results else prepare(scratch)

    km = KernelManager(kernel_name="tdw")
    km.start_kernel(cwd=str(ROOT / "notebooks"), env=dict(os.environ, TDW_RESULTS_DIR=str(results)))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=600)
    ui = Frontend(kc)
    rows = []
    try:
        run(kc, ui, f'let explored = find_variant("{variant}")?;')
        shown = run(kc, ui, "explore(&explored)")
        root = shown["application/vnd.jupyter.widget-view+json"]["model_id"]
        ids = ui.descendants(root)
        view = [i for i in ids if ui.models[i]["_model_name"] == "DropdownModel"][0]
        slider = [i for i in ids if ui.models[i]["_model_name"] == "IntSliderModel"][0]
        names = ui.models[view]["_options_labels"]
        for index, name in enumerate(names):
            ui.set(view, index=index)
            ui.pump(3, until=lambda: bool(charts(ui, root)))
            ui.pump(0.5)
            cases = [("", None)]
            if name == "activations.mlp.neuron_heatmap":
                cases = [("neuron 0", 0), ("neuron 511", 511)]
            for label, neuron in cases:
                if neuron is not None:
                    box = [i for i in ui.descendants(root) if ui.models[i].get("description") == "neuron"]
                    if box:
                        ui.set(box[0], value=str(neuron))
                        ui.pump(2)
                top = ui.models[slider]["max"]
                if top < 1 or ui.models[slider].get("disabled"):
                    break  # a cross-epoch view: the slider does not move it
                frames, kernel_side = [], []
                for position in list(range(top + 1)) + list(range(top, -1, -1)):
                    if position == ui.models[slider]["value"]:
                        continue
                    before = charts(ui, root)
                    started = time.monotonic()
                    ui.set(slider, value=position)
                    if ui.pump(10, until=lambda: charts(ui, root) != before):
                        frames.append((time.monotonic() - started) * 1000)
                        ui.pump(0.05)
                        kernel_side.append(drawn_ms(ui, root))
                if frames:
                    rows.append({"view": name + (f" ({label})" if label else ""), "frames": len(frames),
                                 "median_ms": statistics.median(frames), "max_ms": max(frames),
                                 "drawn_median_ms": statistics.median(kernel_side)})
                    print(f"{rows[-1]['view']:58} {len(frames):3} frames  median {rows[-1]['median_ms']:6.1f} ms"
                          f"  max {rows[-1]['max_ms']:6.1f} ms  (drawn in {rows[-1]['drawn_median_ms']:.0f} ms)",
                          flush=True)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        shutil.rmtree(scratch, ignore_errors=True)
    if rows:
        worst = max(rows, key=lambda r: r["max_ms"])
        print(f"slowest frame: {worst['max_ms']:.1f} ms ({worst['view']}); {len(rows)} views")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
