#!/usr/bin/env bash
# The main job on a fresh machine: build the workbench (pure-Rust CPU backend), train a small
# grokking variant with progress shown, run every analyzer over its checkpoints, then write the
# variant's HTML report (every chart on one self-contained page) and print its path.
#
# Variant: p = 59, training fraction 0.5, 1,500 epochs, a checkpoint every 50 epochs. It memorises
# the training pairs within ~150 epochs while the test loss stays high, then the test loss falls
# below 0.01 around epoch 600 (train a few minutes on 2 cores, analyze well under a minute).
# Rerunning reports the existing run and only fills in missing analyses; --force retrains.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --bin tdw
tdw=target/release/tdw
variant=modulo_addition_1layer_p59_seed999_dseed598
if [ "${1:-}" = "--force" ] || [ -z "$($tdw variants | grep "^$variant .*trained\|^$variant .*analyzed" || true)" ]; then
  $tdw train --family modulo_addition_1layer --param prime=59 --param seed=999 --param data_seed=598 \
    --fraction 0.5 --epochs 1500 --checkpoints "$(seq -s, 0 50 1450)" ${1:+--force}
fi
$tdw analyze "$variant"
$tdw info "$variant"
$tdw report "$variant"
