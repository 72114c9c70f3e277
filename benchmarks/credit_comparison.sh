#!/usr/bin/env bash
# The credit comparison in the README: every generator kind x 3 seeds with the default credit recipe, the
# hybrid with differential privacy (credit_dp, epsilon 10), two ablations, SDV's GaussianCopula, CTGAN and TVAE on the same
# split, then the table. Two runs at a time, one thread each (about 30 minutes on 2 cores).
#   bash benchmarks/credit_comparison.sh [OUT_DIR]
set -euo pipefail
out=${1:-runs/credit-comparison}
mkdir -p "$out"
recipe=credit
source "$(dirname "$0")/comparison_lib.sh"
lane hybrid:0 hybrid:1 hybrid:2 size_matched:0 size_matched:1 size_matched:2 &
# The patch GAN has only circuit angles: they train at 0.01 (at the recipe's 2e-4 they barely move).
{ lane classical:0 classical:1 classical:2
  for seed in 0 1 2; do train "quantum_patch-s$seed" generator.kind=quantum_patch train.lr_quantum=0.01 seed="$seed"; done; } &
wait
# Ablations: the circuit at the digits recipe's learning rate, and the classical GAN with an 8-value Gaussian
# latent (the circuit's noise has 8 values, not 16).
for seed in 0 1 2; do train "hybrid-lrq1e-2-s$seed" train.lr_quantum=0.01 seed="$seed"; done &
for seed in 0 1 2; do train "classical-latent8-s$seed" generator.kind=classical quantum.readout=z seed="$seed"; done &
OMP_NUM_THREADS=1 .venv/bin/python benchmarks/credit_baselines.py "$out" --seeds 0 1 2 &
wait
recipe=credit_dp
for seed in 0 1 2; do train "hybrid-dp-s$seed" seed="$seed"; done
.venv/bin/python benchmarks/comparison_table.py "$out"
