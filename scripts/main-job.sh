#!/usr/bin/env bash
# The main job on a fresh machine: build the workbench (pure-Rust CPU backend) and train a small
# grokking variant with progress shown (p = 59, training fraction 0.5, 3,000 epochs: memorisation
# within ~300 epochs, then the test loss collapses around epochs 2,000-2,700; a few minutes on
# 2 cores). Rerunning it reports the existing run instead of retraining (pass --force to retrain).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --bin tdw
tdw=target/release/tdw
variant=modulo_addition_1layer_p59_seed999_dseed598
checkpoints=$(seq -s, 0 100 2900)
if [ "${1:-}" = "--force" ] || [ -z "$($tdw variants | grep "^$variant " || true)" ]; then
  $tdw train --family modulo_addition_1layer --param prime=59 --param seed=999 --param data_seed=598 \
    --fraction 0.5 --epochs 3000 --checkpoints "$checkpoints" ${1:+--force}
fi
$tdw info "$variant"
