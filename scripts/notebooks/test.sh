#!/usr/bin/env bash
# Notebook tests: set up the kernel (tests only), then execute every notebook in notebooks/ in the
# real evcxr kernel, in order (01 trains what 02-03 analyze and show), and check their outputs;
# then show the checks can fail (fixtures/checks_fail.ipynb must be caught).
# Results go to a scratch results dir under target/, never to results/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash scripts/setup-notebooks.sh --tests-only
export TDW_RESULTS_DIR=$PWD/target/notebooks/results
rm -rf "$TDW_RESULTS_DIR"
# One kernel at a time reuses one evcxr build dir, so tdw-kernel-ext (a path dependency, which
# :cache cannot hold) compiles once for all notebooks and incrementally on reruns.
export EVCXR_TMPDIR=$PWD/target/evcxr/kernel
mkdir -p "$EVCXR_TMPDIR"
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
