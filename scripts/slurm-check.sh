#!/usr/bin/env bash
# Checks `tdw sweep --slurm` against a real Slurm: installs Debian's slurm-wlm and munge (root,
# apt), starts a one-node cluster on this machine (slurmctld + slurmd, state under
# target/slurm-check), writes a six-variant sweep of the 2-layer MLP family as a job array, has
# `sbatch --test-only` validate it, submits it and waits until all six variants are trained.
# Not part of CI (it needs root and starts daemons); run by hand: bash scripts/slurm-check.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
work=$root/target/slurm-check
rm -rf "$work" && mkdir -p "$work/state" "$work/spool" "$work/results"

command -v slurmctld >/dev/null || apt-get install -y -q slurm-wlm munge >/dev/null
mkdir -p /etc/munge /run/munge /var/log/munge
[ -f /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
chown munge:munge /etc/munge/munge.key 2>/dev/null || true
chmod 400 /etc/munge/munge.key
pgrep munged >/dev/null || munged --force

host=$(hostname)
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=tdw
SlurmctldHost=$host
AuthType=auth/munge
SlurmUser=root
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
ReturnToService=2
SlurmctldPidFile=$work/ctld.pid
SlurmdPidFile=$work/d.pid
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
pkill -x slurmctld || true
pkill -x slurmd || true
slurmctld -D >"$work/ctld.log" 2>&1 &
sleep 3
slurmd -D >"$work/d.log" 2>&1 &
sleep 3
sinfo

cargo build --release -p tdw-cli --bin tdw
tdw=$root/target/release/tdw
"$tdw" --results-dir "$work/results" sweep --family modulo_addition_2layer_mlp \
  --param prime=7,11 --param seed=1,2,3 --epochs 20 --slurm "$work/sweep.sh" --time 00:10:00
bash -n "$work/sweep.sh"
(cd "$work" && sbatch --test-only sweep.sh)
(cd "$work" && sbatch --wait sweep.sh)
trained=$(ls "$work"/results/modulo_addition_2layer_mlp/*/checkpoints/checkpoint_epoch_00019.safetensors | wc -l)
echo "variants trained by the job array: $trained of 6"
[ "$trained" = 6 ]
