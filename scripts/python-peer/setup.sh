#!/usr/bin/env bash
# Creates the Python peer venv (torch + TransformerLens) used by `tdw bench` comparisons and
# cross-checks. Idempotent: reuses an existing venv whose packages import.
# Usage: scripts/python-peer/setup.sh [VENV_DIR]   (default: .venv-peer at the repo root)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:-$root/.venv-peer}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import torch, transformer_lens" 2>/dev/null; then
  echo "python peer ready: $venv"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet -r "$here/requirements.txt"
"$venv/bin/python" -c "import torch, transformer_lens; print('torch', torch.__version__, 'transformer_lens ok')"
echo "python peer ready: $venv"
