"""papermill runs a Rust notebook with other parameters: the Rust translator (installed by
scripts/setup-notebooks.sh) injects typed `let` bindings after the `parameters` cell, and the
workbench kernel executes them."""

import os
import pathlib
import subprocess
import sys

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_translator_unit_tests():
    here = ROOT / "scripts" / "notebooks" / "papermill_rust" / "test_translator.py"
    subprocess.run([sys.executable, "-m", "pytest", "-q", str(here)], check=True, cwd="/tmp")


def test_papermill_runs_a_rust_notebook_with_new_parameters(tmp_path):
    papermill = pathlib.Path(sys.executable).parent / "papermill"
    if not papermill.exists():
        pytest.fail("papermill is not installed: run scripts/setup-notebooks.sh")
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("let prime: i64 = 59;\nlet fraction: f64 = 0.3;")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell('format!("prime={prime} fraction={fraction}")')]
    nb.metadata["kernelspec"] = {"name": "tdw", "language": "rust",
                                 "display_name": "Rust (Training Dynamics Workbench)"}
    source, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, source)
    subprocess.run([str(papermill), str(source), str(out), "-p", "prime", "61",
                    "-p", "fraction", "0.5", "--cwd", str(ROOT / "notebooks")],
                   check=True, env=dict(os.environ), timeout=1200)
    result = nbformat.read(out, as_version=4)
    injected = [c for c in result.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and injected[0].source.splitlines()[1:] == [
        "let prime = 61_i64;", "let fraction = 0.5_f64;"]
    shown = [o["data"]["text/plain"] for o in result.cells[-1].outputs if "data" in o]
    assert shown == ['"prime=61 fraction=0.5"'], result.cells[-1].outputs
