#!/usr/bin/env python3
"""Opens 05_panels.ipynb in JupyterLab (headless Debian chromium via Playwright, no browser download),
runs training_panel() and saves a screenshot to target/browser/training_panel.png. Not in CI yet:
needs `apt-get install chromium` and `pip install playwright` in .venv-notebooks."""
import subprocess, time, os, sys
from playwright.sync_api import sync_playwright
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
env = dict(os.environ, TDW_RESULTS_DIR=root + "/target/notebooks/results")
lab = subprocess.Popen([root + "/.venv-notebooks/bin/jupyter", "lab", "--no-browser", "--port=8899", "--ServerApp.token=t", "--allow-root", "--notebook-dir=" + root + "/notebooks"], env=env, stdout=open("/tmp/lab.log","w"), stderr=subprocess.STDOUT)
time.sleep(8)
try:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox","--disable-gpu","--disable-background-networking","--disable-component-update","--disable-sync","--no-first-run"])
        page = b.new_page(viewport={"width": 1300, "height": 1000})
        page.goto("http://localhost:8899/lab/tree/05_panels.ipynb?token=t")
        page.wait_for_selector(".jp-Notebook", timeout=60000)
        time.sleep(5)
        page.keyboard.press("Escape")
        page.click(".jp-Cell.jp-CodeCell >> nth=0")
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(".widget-dropdown", timeout=240000)
        time.sleep(3)
        page.screenshot(path=root + "/target/browser/training_panel.png")
        print("shot ok")
        b.close()
finally:
    lab.terminate()
