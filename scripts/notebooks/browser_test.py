#!/usr/bin/env python3
"""The panels in a real browser: JupyterLab started headless, Debian's Chromium driven by
Playwright (the system executable; no browser download), the workbench kernel behind it.

It writes a five-cell notebook under target/browser, opens it, and does what a researcher
would: runs `training_panel()`, picks the one-layer family, types prime 23 and 200 epochs,
clicks Start Training and waits for the bar to reach 100%; runs `analysis_panel()`, picks the
new variant and clicks Run analysis; runs `explore(&v)` on it, moves the epoch slider with the
keyboard and checks that the chart's SVG changed; then restarts the kernel from the Kernel menu
and checks that the standby kernel the first one started serves the new one (its first cell in
seconds); finally runs `viability_panel()`, certifies MIScope's example (viable, three charts) and
a set with an aliased frequency (aliasing_failure); and runs `intervention_panel()` on the trained
variant: damps its two key frequencies from epoch 100 on, trains, and steps the Intervention Check
back one checkpoint with the keyboard. Screenshots of each stage go to
target/browser/*.png; the script exits non-zero (with the stage that failed) otherwise.

Run it with `bash scripts/notebooks/browser-test.sh` (which installs what it needs). Not in CI:
it needs chromium from apt and a warm kernel slot, and takes ~4 minutes on two cores.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "target", "browser")
CHROMIUM = os.environ.get("TDW_CHROMIUM", "/usr/bin/chromium")
TOKEN = "tdw-browser-test"
STANDBY = tempfile.mkdtemp(prefix="tdw-browser-standby-")


def notebook(path):
    cells = [
        "training_panel()",
        "analysis_panel()",
        'let v = variant("modulo_addition_1layer", "prime=23")?;\nexplore(&v)',
        "families()",
        "viability_panel()",
        "intervention_panel()",
    ]
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": source}
            for source in cells
        ],
        "metadata": {"kernelspec": {"name": "tdw", "display_name": "Rust (Training Dynamics Workbench)",
                                    "language": "rust"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    with open(path, "w") as f:
        json.dump(nb, f)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stage:
    """Names the step in progress, so that a failure says where it happened."""

    def __init__(self, page):
        self.page, self.name = page, "start"

    def __call__(self, name):
        self.name = name
        print(f"[browser] {name}", flush=True)

    def shot(self, file):
        self.page.screenshot(path=os.path.join(OUT, file), full_page=True)


def run_cell(page, index):
    """Runs code cell `index` and waits until the kernel has taken it (its prompt leaves
    `[ ]:`); a Shift+Enter sent before the kernel's session is attached is lost, so retry."""
    prompt = cell(page, index).locator(".jp-InputPrompt").first
    for _ in range(5):
        page.click(f".jp-Notebook .jp-CodeCell >> nth={index}")
        page.keyboard.press("Escape")
        page.keyboard.press("Shift+Enter")
        deadline = time.time() + 10
        while time.time() < deadline:
            if prompt.inner_text().strip() not in ("[ ]:", ""):
                return
            time.sleep(0.25)
    raise TimeoutError(f"cell {index} never started running")


def cell(page, index):
    return page.locator(".jp-Notebook .jp-CodeCell").nth(index)


def field(scope, label):
    """The input next to the widget label `label` (ipywidgets 8 markup)."""
    return scope.locator(f".widget-inline-hbox:has(> label.widget-label:text-is('{label}')) input").first


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".png"):
            os.remove(os.path.join(OUT, old))
    nb_path = os.path.join(OUT, "panels_browser_test.ipynb")
    notebook(nb_path)
    results = tempfile.mkdtemp(prefix="tdw-browser-results-")
    # A standby of its own (never a person's), started once the first kernel sits idle 2 s.
    env = dict(os.environ, TDW_RESULTS_DIR=results, TDW_KERNEL_STANDBY="1",
               TDW_KERNEL_STANDBY_AFTER="2", TDW_KERNEL_STANDBY_DIR=STANDBY)
    port = free_port()
    # A settings directory of its own: no "get notified about Jupyter news?" toast over the
    # screenshots, and nothing of the person's own JupyterLab settings.
    settings = tempfile.mkdtemp(prefix="tdw-browser-settings-")
    notification = os.path.join(settings, "@jupyterlab", "apputils-extension")
    os.makedirs(notification)
    with open(os.path.join(notification, "notification.jupyterlab-settings"), "w") as f:
        f.write('{"fetchNews": "false", "checkForUpdates": false}')
    log = open(os.path.join(OUT, "jupyterlab.log"), "w")
    lab = subprocess.Popen(
        [os.path.join(ROOT, ".venv-notebooks", "bin", "jupyter"), "lab", "--no-browser",
         f"--port={port}", f"--ServerApp.token={TOKEN}", "--allow-root",
         f"--notebook-dir={OUT}", f"--LabApp.user_settings_dir={settings}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1300, "height": 1100})
            stage = Stage(page)
            try:
                drive(page, stage, port)
            except Exception as error:
                stage.shot("failed.png")
                print(f"[browser] FAILED at '{stage.name}': {error}", file=sys.stderr)
                return 1
            finally:
                browser.close()
    finally:
        lab.terminate()
        lab.wait(timeout=30)
        # The standby the restarted kernel started in turn (it would wait an hour).
        try:
            with open(os.path.join(STANDBY, "standby.lock")) as f:
                os.kill(int(f.read().strip()), 9)
        except (OSError, ValueError):
            pass
    print(f"[browser] passed; screenshots in {OUT}")
    return 0


def drive(page, stage, port):
    stage("open the notebook in JupyterLab")
    deadline = time.time() + 60
    while True:
        try:
            page.goto(f"http://127.0.0.1:{port}/lab/tree/panels_browser_test.ipynb?token={TOKEN}")
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(1)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    # The status bar says Idle once the kernel answered kernel_info (at once, see its tests).
    page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(timeout=120_000)

    stage("training_panel(): the family drop-down appears")
    run_cell(page, 0)
    panel = cell(page, 0)
    family = panel.locator(".widget-dropdown select").first
    # The first cell of a kernel compiles the workbench into its slot when the slot is cold.
    family.wait_for(timeout=int(os.environ.get("TDW_BROWSER_FIRST_CELL_S", "1200")) * 1000)
    options = family.locator("option").all_inner_texts()
    assert "modulo_addition_1layer" in options, options
    stage.shot("01_training_panel.png")

    stage("pick the family, type prime 23 and 200 epochs")
    family.select_option("modulo_addition_1layer")
    prime = field(panel, "prime")
    prime.wait_for(timeout=30_000)
    prime.fill("23")
    prime.press("Enter")
    epochs = field(panel, "Epochs")
    epochs.fill("200")
    epochs.press("Enter")
    panel.get_by_text("p23", exact=False).first.wait_for(timeout=30_000)
    stage.shot("02_prime_23.png")

    stage("Start Training, wait for 100%")
    panel.locator("button.jupyter-button", has_text="Start Training").click()
    bar = panel.locator(".progress-bar").first
    deadline = time.time() + 300
    while True:
        width = bar.evaluate("el => el.style.width || ''")
        if width.startswith("100"):
            break
        if time.time() > deadline:
            raise TimeoutError(f"progress bar at {width!r} after 300 s")
        time.sleep(1)
    panel.get_by_text("trained", exact=False).first.wait_for(timeout=60_000)
    stage.shot("03_trained.png")

    stage("analysis_panel(): pick the new variant, Run analysis")
    run_cell(page, 1)
    analysis = cell(page, 1)
    chooser = analysis.locator(".widget-dropdown select").first
    chooser.wait_for(timeout=120_000)
    names = chooser.locator("option").all_inner_texts()
    trained = [n for n in names if "_p23_" in n]
    assert trained, f"the new variant is not offered: {names}"
    chooser.select_option(trained[0])
    analysis.locator("button.jupyter-button", has_text="Run analysis").click()
    analysis.get_by_text("analysis done", exact=False).first.wait_for(timeout=300_000)
    stage.shot("04_analyzed.png")

    stage("explore(&v): move the epoch slider, the chart changes")
    run_cell(page, 2)
    explorer = cell(page, 2)
    handle = explorer.locator(".widget-slider .noUi-handle").first
    handle.wait_for(timeout=120_000)
    chart = explorer.locator(".widget-html-content:has(svg)").first
    chart.wait_for(timeout=60_000)
    before = chart.inner_html()
    stage.shot("05_explorer_first_epoch.png")
    handle.focus()
    for _ in range(2):
        handle.press("ArrowRight")
    deadline = time.time() + 60
    while chart.inner_html() == before:
        if time.time() > deadline:
            raise TimeoutError("the chart did not change after moving the slider")
        time.sleep(0.2)
    stage.shot("06_explorer_moved.png")

    stage("restart the kernel: the standby the first kernel started serves the new one")
    socket_file = os.path.join(STANDBY, "standby.sock")
    deadline = time.time() + 300
    while not os.path.exists(socket_file):
        if time.time() > deadline:
            raise TimeoutError("no standby kernel within 300 s: " + standby_log())
        time.sleep(1)
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
    page.locator(".lm-Menu-itemLabel:text-is('Restart Kernel…')").first.click()
    page.locator(".jp-Dialog-button.jp-mod-accept").first.click()
    started = time.time()
    # The restarted kernel answers kernel_info; then the first cell of the new kernel.
    while "standby claimed" not in standby_log():
        if time.time() - started > 60:
            raise TimeoutError("the restarted kernel did not claim the standby: " + standby_log())
        time.sleep(0.25)
    run_cell(page, 3)
    cell(page, 3).locator(".jp-OutputArea-output table").first.wait_for(timeout=60_000)
    took = time.time() - started
    print(f"[browser] restart to the first result: {took:.1f} s (served by the standby)")
    assert took < 10, f"restart to first result took {took:.1f} s"
    stage.shot("07_restarted_served_by_standby.png")

    stage("viability_panel(): type a frequency set, Certify, read the regime and charts")
    run_cell(page, 4)
    viability = cell(page, 4)
    frequencies = field(viability, "Frequencies")
    frequencies.wait_for(timeout=60_000)
    viability.locator("button.jupyter-button", has_text="Certify").click()
    viability.get_by_text("certified: viable", exact=False).first.wait_for(timeout=60_000)
    charts = viability.locator(".widget-html-content svg")
    deadline = time.time() + 30
    while charts.count() < 3:
        if time.time() > deadline:
            raise TimeoutError(f"{charts.count()} of the certificate's 3 charts drawn")
        time.sleep(0.2)
    stage.shot("08_viability_viable.png")
    frequencies.fill("5, 24")
    frequencies.press("Enter")
    viability.locator("button.jupyter-button", has_text="Certify").click()
    viability.get_by_text("certified: aliasing_failure", exact=False).first.wait_for(timeout=60_000)
    stage.shot("09_viability_aliasing_failure.png")

    stage("intervention_panel(): damp the key frequencies of the trained variant, train, step the check")
    run_cell(page, 5)
    intervention = cell(page, 5)
    chooser = intervention.locator(".widget-dropdown select").first
    chooser.wait_for(timeout=60_000)
    names = chooser.locator("option").all_inner_texts()
    trained = [n for n in names if "_p23_" in n]
    assert trained, f"the trained variant is not offered: {names}"
    chooser.select_option(trained[0])
    frequencies = field(intervention, "Frequencies")
    deadline = time.time() + 30
    while len(frequencies.input_value().split(",")) != 2:
        if time.time() > deadline:
            raise TimeoutError(f"key frequencies not filled in: {frequencies.input_value()!r}")
        time.sleep(0.2)
    label = f"browser_{int(time.time()) % 100000}"
    for name, value in (("Start epoch", "100"), ("End epoch", "200"), ("Ramp epochs", "0"),
                        ("Gain", "0.1"), ("Label", label)):
        box = field(intervention, name)
        box.fill(value)
        box.press("Enter")
    intervention.locator("button.jupyter-button", has_text="Train intervention").click()
    intervention.get_by_text(f"interventions/{label}", exact=False).first.wait_for(timeout=300_000)
    intervention.get_by_text("3 checkpoints", exact=False).first.wait_for(timeout=300_000)
    chart = intervention.locator(".widget-html-content:has(svg)").first
    chart.wait_for(timeout=60_000)
    intervention.get_by_text("ramp 1.00", exact=False).first.wait_for(timeout=60_000)
    before = chart.inner_html()
    stage.shot("10_intervention_check.png")
    handle = intervention.locator(".widget-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowLeft")
    deadline = time.time() + 60
    while chart.inner_html() == before:
        if time.time() > deadline:
            raise TimeoutError("the check did not change after moving the slider")
        time.sleep(0.2)
    stage.shot("11_intervention_check_moved.png")


def standby_log():
    try:
        with open(os.path.join(STANDBY, "standby.log")) as f:
            return f.read()
    except OSError:
        return "(no standby log)"


if __name__ == "__main__":
    sys.exit(main())
