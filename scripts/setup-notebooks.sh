#!/usr/bin/env bash
# One command for the notebook set-up on a fresh machine:
#   1. tdw-kernel, the workbench's own Jupyter kernel (crates/tdw-kernel, its own workspace and
#      lock file; ~15-20 minutes to build on 2 cores the first time, then incremental),
#   2. a Python virtual environment .venv-notebooks with jupyter_client/nbclient/pytest (tests)
#      and JupyterLab with jupyterlab-widgets (people; skipped with --tests-only),
#   3. the kernel spec "Rust (Training Dynamics Workbench)" inside that venv: it runs tdw-kernel
#      with EVCXR_CONFIG_DIR=notebooks/evcxr-config (init.evcxr loads tdw-kernel-ext, prelude.rs its
#      prelude), build slots under target/evcxr/slots and the workspace's Cargo.lock,
#   4. a first kernel started once, so the workbench is compiled into a build slot now (~6-9
#      minutes the first time) and every later kernel starts from it in seconds.
# Then: .venv-notebooks/bin/jupyter lab notebooks/
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
tests_only=false
[ "${1:-}" = "--tests-only" ] && tests_only=true

echo "building tdw-kernel (crates/tdw-kernel)..."
started=$SECONDS
cargo build --release --locked --manifest-path crates/tdw-kernel/Cargo.toml --target-dir target/kernel
kernel=$root/target/kernel/release/tdw-kernel
echo "kernel: $kernel ($((SECONDS - started)) s)"
# evcxr's type inference and completion (rust-analyzer) read the standard library's sources, a
# cargo workspace of their own whose dependencies must be in cargo's cache too: cells resolve
# offline, and without them rust-analyzer has no std (every `let x = f()?;` then fails).
rustup component add rust-src >/dev/null 2>&1 || echo "note: rust-src not added"
RUSTC_BOOTSTRAP=1 cargo fetch --manifest-path "$(rustc --print sysroot)/lib/rustlib/src/rust/library/Cargo.toml"

# Cells resolve the workbench's dependencies offline against the workspace's Cargo.lock: every
# package it names must be in cargo's cache, for every platform (cargo fetch does that).
cargo fetch --locked

venv=$root/.venv-notebooks
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/notebooks/requirements-test.txt
# papermill's translator for Rust cells; papermill 2.x has no plugin entry point for translators,
# so a one-line .pth registers it when papermill.translators is first imported (nothing else).
"$venv/bin/pip" install --quiet --disable-pip-version-check scripts/notebooks/papermill_rust
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "import tdw_papermill_rust.hook" > "$site/tdw_papermill_rust.pth"
if ! $tests_only; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/notebooks/requirements-lab.txt
fi

spec=$venv/share/jupyter/kernels/tdw
mkdir -p "$spec"
"$venv/bin/python" - "$kernel" "$root" "$spec/kernel.json" <<'PY'
import json, os, sys
kernel, root, out = sys.argv[1:]
spec = {
    "argv": [kernel, "--connection-file", "{connection_file}"],
    "display_name": "Rust (Training Dynamics Workbench)",
    "language": "rust",
    "interrupt_mode": "message",
    "env": {
        "EVCXR_CONFIG_DIR": os.path.join(root, "notebooks", "evcxr-config"),
        "TDW_KERNEL_SLOTS": os.path.join(root, "target", "evcxr", "slots"),
        "TDW_KERNEL_LOCKFILE": os.path.join(root, "Cargo.lock"),
    },
}
tmp = out + ".tmp"
json.dump(spec, open(tmp, "w"), indent=1)
os.replace(tmp, out)
PY
echo "kernel spec: $spec/kernel.json"
"$venv/bin/jupyter" kernelspec list 2>/dev/null | grep -E "^\s+tdw\s" || { echo "kernel spec not found by jupyter" >&2; exit 1; }

started=$SECONDS
"$venv/bin/python" scripts/notebooks/warm_kernel.py
echo "warm build slot ready ($((SECONDS - started)) s)"
$tests_only || echo "open the notebooks with: $venv/bin/jupyter lab notebooks/"
