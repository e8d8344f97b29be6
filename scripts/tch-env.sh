# Environment for building and running tdw with `--features tch` (libtorch from the Python peer's
# PyPI torch wheel, spec/BURN.md §1d). Source it: `source scripts/tch-env.sh [VENV_DIR]`.
tdw_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VIRTUAL_ENV="${1:-$tdw_root/.venv-peer}"
export PATH="$VIRTUAL_ENV/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
# torch-sys 0.22 pins torch 2.9.0; the peer installs 2.9.1, which works.
export LIBTORCH_BYPASS_VERSION_CHECK=1
tdw_torch_lib="$(ls -d "$VIRTUAL_ENV"/lib/python3*/site-packages/torch/lib 2>/dev/null | head -1)"
export LD_LIBRARY_PATH="$tdw_torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
