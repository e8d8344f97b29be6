#!/usr/bin/env bash
# The GPU check of the speed issue, in one command, on a machine with an NVIDIA GPU:
#   bash scripts/gpu-check.sh [EPOCHS]
# 1. builds tdw with burn-tch (`--features tch`) against the Python peer venv's torch 2.9.1, whose
#    PyPI wheel is the CUDA 12.8 build: `--device cuda` then runs on the GPU (creates the venv
#    with scripts/python-peer/setup.sh when missing, ~7 GB);
# 2. trains the canonical variant for 300 epochs on the GPU and compares its losses with the
#    Python reference's (../shared/reference, or TDW_REFERENCE_DIR) epoch by epoch;
# 3. times training on the GPU (`tdw bench train --device cuda`) side by side with PyTorch +
#    TransformerLens and plain PyTorch on the same GPU, when the Python peer venv exists
#    (scripts/python-peer/setup.sh; skipped otherwise).
# Output: a report on stdout and in target/gpu-check/report.txt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
epochs="${1:-50}"
out="$root/target/gpu-check"
mkdir -p "$out"
exec > >(tee "$out/report.txt") 2>&1

echo "== GPU"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
  echo "nvidia-smi not found: this machine has no NVIDIA driver; the CUDA device will not open" >&2
fi

echo "== build (--features tch, libtorch from .venv-peer)"
bash "$root/scripts/python-peer/setup.sh"
# shellcheck source=tch-env.sh
source "$root/scripts/tch-env.sh"
"$VIRTUAL_ENV/bin/python" -c "import torch; print('torch', torch.__version__, 'cuda available:', torch.cuda.is_available())"
start=$(date +%s)
cargo build --release --locked -p tdw-cli --features tch --bin tdw
echo "built in $(( $(date +%s) - start )) s"
tdw="$root/target/release/tdw"

echo "== fidelity: 300 epochs on cuda against the Python reference"
results="$out/results"
rm -rf "$results"
"$tdw" --device cuda --results-dir "$results" train --epochs 300 --checkpoints 0,100,200
reference="${TDW_REFERENCE_DIR:-$root/../shared/reference}"
python3 - "$results" "$reference" <<'PY'
import json, pathlib, sys
name = "modulo_addition_1layer_p113_seed999_dseed598"
ours = json.loads((pathlib.Path(sys.argv[1]) / "modulo_addition_1layer" / name / "metadata.json").read_text())
ref_path = pathlib.Path(sys.argv[2]) / "modulo_addition_1layer" / name / "metadata.json"
if not ref_path.exists():
    print(f"reference not found at {ref_path}: fidelity not checked")
    sys.exit(0)
ref = json.loads(ref_path.read_text())
worst = {}
for key in ("train_losses", "test_losses"):
    for epoch, (a, b) in enumerate(zip(ours[key], ref[key])):
        band = "0-9" if epoch < 10 else "10-99" if epoch < 100 else "100-299"
        worst[band] = max(worst.get(band, 0.0), abs(a - b) / abs(b))
print("worst relative loss difference vs the reference:", {k: f"{v:.2e}" for k, v in worst.items()})
ok = worst["0-9"] < 1e-4 and worst["10-99"] < 0.05
print("fidelity:", "ok" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY

echo "== speed: seconds per epoch on cuda"
python_args=()
if [ -x "$root/.venv-peer/bin/python" ]; then
  python_args=(--python "$root/.venv-peer/bin/python")
else
  echo "(no .venv-peer: PyTorch not timed; run scripts/python-peer/setup.sh first for the side-by-side)"
fi
"$tdw" --device cuda bench train --epochs "$epochs" --repeats 3 "${python_args[@]}"
echo "report: $out/report.txt"
