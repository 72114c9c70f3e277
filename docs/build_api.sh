#!/usr/bin/env bash
# API reference from the docstrings: docs/api/index.html (pdoc; installed by setup.sh). Usage: docs/build_api.sh [OUT]
# The public API is qmolgen (Synthesizer and the errors), the domain contract, recipes and run folders.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/api}
.venv/bin/pdoc --docformat google -o "$OUT" qmolgen qmolgen.api qmolgen.domain qmolgen.errors qmolgen.config qmolgen.runs
echo "wrote $OUT/index.html"
