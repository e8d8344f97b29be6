#!/usr/bin/env bash
# All tests: formatting, then every Rust test of the workspace (unit + integration), built once in
# release mode (burn is ~30x slower unoptimised). Tests that compare with the Python reference
# read ../shared/reference (or $TDW_REFERENCE_DIR) and are reported as ignored, with the reason,
# when it is absent. Then the notebooks, executed in the real evcxr kernel (scripts/notebooks/test.sh:
# installs the kernel on first use; set TDW_SKIP_NOTEBOOKS=1 to run only the Rust tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo fmt --all -- --check
cargo test --workspace --release "$@"
if [ "${TDW_SKIP_NOTEBOOKS:-0}" != 1 ]; then
  bash scripts/notebooks/test.sh
fi
