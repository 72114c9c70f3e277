#!/usr/bin/env bash
# The digits comparison in the README: every generator kind x 3 seeds with the default digits recipe
# (2,000 samples each in final_metrics.json), two ablations of the hybrid's lead, then the table.
# Two runs at a time, one thread each (about 2 hours on 2 cores, the ablations included).
#   bash benchmarks/digits_comparison.sh [OUT_DIR]
set -euo pipefail
out=${1:-runs/digits-comparison}
mkdir -p "$out"
recipe=digits
source "$(dirname "$0")/comparison_lib.sh"
lane hybrid:0 hybrid:1 hybrid:2 size_matched:0 size_matched:1 size_matched:2 &
lane classical:0 classical:1 classical:2 quantum_patch:0 quantum_patch:1 quantum_patch:2 &
wait
# Ablations: the circuit trained at the decoder's learning rate (nearly a fixed random feature map), and
# the classical GAN with an 8-value Gaussian latent (the circuit's noise has 8 values, not 16).
ablate() { for seed in 0 1 2; do train "$1-s$seed" generator.kind="$2" seed="$seed" "${@:3}"; done; }
ablate hybrid-lrq2e-4 hybrid train.lr_quantum=0.0002 &
ablate classical-latent8 classical quantum.readout=z &
wait
.venv/bin/python benchmarks/comparison_table.py "$out"
