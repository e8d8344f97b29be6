#!/usr/bin/env bash
# One command for the notebook set-up on a fresh machine:
#   1. evcxr_jupyter, the Rust Jupyter kernel (cargo install --locked; an installed one is reused;
#      the first build takes ~15-25 minutes on 2 cores),
#   2. a Python virtual environment .venv-notebooks with nbclient/nbconvert (tests) and JupyterLab
#      (people; skipped with --tests-only),
#   3. the kernel spec "Rust (Training Dynamics Workbench)" inside that venv, whose environment points
#      EVCXR_CONFIG_DIR at notebooks/evcxr-config: it loads tdw-kernel-ext and its prelude before
#      the first cell, so notebooks need no set-up cells.
# Then: .venv-notebooks/bin/jupyter lab notebooks/
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
tests_only=false
[ "${1:-}" = "--tests-only" ] && tests_only=true

if command -v evcxr_jupyter >/dev/null 2>&1; then
  evcxr=$(command -v evcxr_jupyter)
elif [ -x "$HOME/.cargo/bin/evcxr_jupyter" ]; then
  evcxr=$HOME/.cargo/bin/evcxr_jupyter
else
  echo "installing evcxr_jupyter 0.22.0 (one-time build, ~15-25 min on 2 cores)..."
  cargo install --locked evcxr_jupyter@0.22.0
  evcxr=$HOME/.cargo/bin/evcxr_jupyter
fi
echo "kernel: $evcxr"
# evcxr's completion (rust-analyzer) reads the standard library's sources.
rustup component add rust-src >/dev/null 2>&1 || echo "note: rust-src not added (completion only)"

venv=$root/.venv-notebooks
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/notebooks/requirements-test.txt
if ! $tests_only; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/notebooks/requirements-lab.txt
fi

spec=$venv/share/jupyter/kernels/tdw
mkdir -p "$spec"
"$venv/bin/python" - "$evcxr" "$root/notebooks/evcxr-config" "$spec/kernel.json" <<'PY'
import json, sys
evcxr, config, out = sys.argv[1:]
json.dump({
    "argv": [evcxr, "--control_file", "{connection_file}"],
    "display_name": "Rust (Training Dynamics Workbench)",
    "language": "rust",
    "interrupt_mode": "message",
    "env": {"EVCXR_CONFIG_DIR": config},
}, open(out, "w"), indent=1)
PY
echo "kernel spec: $spec/kernel.json"
"$venv/bin/jupyter" kernelspec list 2>/dev/null | grep -E "^\s+tdw\s" || { echo "kernel spec not found by jupyter" >&2; exit 1; }
$tests_only || echo "open the notebooks with: $venv/bin/jupyter lab notebooks/"
