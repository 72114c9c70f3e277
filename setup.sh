#!/usr/bin/env bash
# One-command setup for a fresh machine: a virtual environment in .venv with qmolgen and its test tools.
# torch 2.13.0 (CPU) goes in first: any looser torch requirement would pull several GB of CUDA packages.
# Elsewhere, point pip at the CPU wheels first, e.g. PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev,qiskit,dp,ray]"
if .venv/bin/python -m pip list 2>/dev/null | grep -i nvidia; then
    echo "setup.sh: CUDA (nvidia) packages were installed; install a CPU build of torch 2.13.0 first" >&2
    exit 1
fi
.venv/bin/qmolgen --version
