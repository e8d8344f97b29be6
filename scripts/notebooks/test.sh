#!/usr/bin/env bash
# Notebook tests: set up the kernel (tests only), check the kernel through the Jupyter protocol
# (tests/kernel, pytest + jupyter_client), then execute every notebook in notebooks/ in the real
# tdw-kernel, in order (01 trains what 02-03 analyze and show), and check their outputs; then
# show the checks can fail (tests/notebooks/checks_fail.ipynb must be caught).
# Results go to a scratch results dir under target/, never to results/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# No standby kernels here (tests/kernel/test_standby.py turns them on for itself): each would
# load the workbench in the background while the next test runs, on the same two cores.
export TDW_KERNEL_STANDBY=0
bash scripts/setup-notebooks.sh --tests-only
cargo test --release --locked --manifest-path crates/tdw-kernel/Cargo.toml --target-dir target/kernel
.venv-notebooks/bin/python -m pytest -q -s tests/kernel
export TDW_RESULTS_DIR=$PWD/target/notebooks/results
rm -rf "$TDW_RESULTS_DIR"
.venv-notebooks/bin/python scripts/notebooks/run.py notebooks/0*.ipynb
.venv-notebooks/bin/python scripts/notebooks/run.py --self-test tests/notebooks/checks_fail.ipynb --out target/notebooks/self-test
# Notebooks are committed without outputs (executed copies live under target/notebooks/).
.venv-notebooks/bin/python - notebooks/*.ipynb <<'PY'
import json, sys
dirty = [p for p in sys.argv[1:] for c in json.load(open(p))["cells"]
         if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
if dirty:
    sys.exit("notebooks with outputs committed (clear them): " + ", ".join(sorted(set(dirty))))
PY
