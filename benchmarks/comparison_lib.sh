# Shared by the *_comparison.sh scripts (sourced): train runs of $recipe into $out, two lanes at a time.
# train NAME OVERRIDES...   one run, one thread; a run that finished before is kept
# lane KIND:SEED ...        runs one after another, each named KIND-sSEED
train() {
    local name=$1; shift
    [ -f "$out/$name/final_metrics.json" ] && return 0  # finished before: keep it
    OMP_NUM_THREADS=1 .venv/bin/qmolgen --quiet train "$recipe" "$@" --out "$out/$name" --force
}
lane() { for spec in "$@"; do kind=${spec%:*}; seed=${spec#*:}; train "$kind-s$seed" generator.kind="$kind" seed="$seed"; done; }
