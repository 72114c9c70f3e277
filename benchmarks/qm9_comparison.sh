#!/usr/bin/env bash
# The QM9 comparison in the README: every generator kind x 3 seeds with the default qm9 recipe, the
# PacGAN ablation (critic.pack=1), then the table. Two runs at a time, one thread each (a 2-core machine).
#   bash benchmarks/qm9_comparison.sh [OUT_DIR]      (about 90 minutes on 2 cores)
set -euo pipefail
out=${1:-runs/qm9-comparison}
mkdir -p "$out"
recipe=qm9
source "$(dirname "$0")/comparison_lib.sh"
lane hybrid:0 hybrid:1 hybrid:2 size_matched:0 size_matched:1 size_matched:2 &
lane classical:0 classical:1 classical:2 quantum_patch:0 quantum_patch:1 quantum_patch:2 &
wait
pack1() { for seed in "$@"; do train "hybrid-s$seed-pack1" generator.kind=hybrid seed="$seed" critic.pack=1; done; }
pack1 0 2 &
pack1 1 &
wait
.venv/bin/python benchmarks/comparison_table.py "$out"
