"""One check of tunewise on a GPU (issue #19): train, evaluate, serve, QLoRA, gradient checkpointing.

    python bench/gpu_check.py                          # on a CUDA machine: GPU and CPU side by side
    python bench/gpu_check.py --device cpu --model tiny-random --examples 64   # the CPU smoke test

What it does, each step timed and caught (a failing step is reported, the others still run):

1. data: the 1,000 shipped movie reviews (tests/fixtures/real/mr, 500 per class): ``--examples``
   for training, 100 held out;
2. for the device (and the CPU, unless ``--no-cpu``): a LoRA run of one epoch (examples/s), then
   the held-out accuracy of its adapter evaluated on that device;
3. serve: ``tunewise serve --device DEVICE --adapter RUN`` on a free loopback port, 10 chat
   requests (stdlib HTTP client), answers counted and timed;
4. gradient checkpointing: the same run with ``--gradient-checkpointing true`` (peak GPU memory
   with and without);
5. QLoRA: the same run with ``--quantize 4bit`` (CUDA + bitsandbytes; otherwise the clear error
   tunewise gives is recorded).

Prints ONE JSON line: per device examples/s, accuracy, peak GPU memory; serve results; the
QLoRA / checkpointing outcomes; every failure with its message. Budget: the embedded model on an
H100 is about a minute per step, 5-6 minutes in all; the CPU part dominates (``--no-cpu`` skips it).

On a borrowed GPU machine without network: torch, transformers, peft and accelerate are there;
tunewise's other dependencies travel as wheels: ``bash bench/gpu_wheels.sh`` (on this machine)
fills ``.whl/part1``, ``part2``, ... (git-ignored, < 64 MiB each: one device call each), and
``--wheels .whl`` installs them there first. The
embedded model's GGUF (98 MB) does not fit one transfer: the model cache ``.cache/tunewise/models/
smollm2-135m-instruct`` (safetensors, ~540 MB) does not either, so on such a machine use
``--model tiny-random`` for the plumbing plus ``--model`` of any model already on that machine.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MR = ROOT / "tests" / "fixtures" / "real" / "mr" / "rt-polarity.sample"


def reviews():
    rows = []
    for line in MR.read_bytes().decode("cp1252").split("\n"):
        lab, _, text = line.strip().partition(" ")
        if lab in ("0", "1") and text.strip():
            rows.append((text.strip(), "positive" if lab == "1" else "negative"))
    # interleave the classes (the file holds 500 negatives, then 500 positives)
    neg, pos = [r for r in rows if r[1] == "negative"], [r for r in rows if r[1] == "positive"]
    return [r for pair in zip(neg, pos) for r in pair]


def write_chat(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for text, label in rows:
            fh.write(json.dumps({"messages": [{"role": "user", "content": text},
                                              {"role": "assistant", "content": label}]}) + "\n")
    return path


def peak_gib():
    import torch
    if not torch.cuda.is_available():
        return None
    return round(torch.cuda.max_memory_allocated() / 1024 ** 3, 3)


def reset_peak():
    import torch
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def step(report: dict, name: str, fn):
    t0 = time.perf_counter()
    try:
        out = fn()
        report[name] = {**(out or {}), "seconds": round(time.perf_counter() - t0, 1)}
    except Exception as e:  # noqa: BLE001 - a failing step is a finding, not the end
        msg = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
        report.setdefault("failures", []).append({"step": name, "error": str(msg)[:500],
                                                  "where": traceback.format_exc(limit=2)[-400:]})
        report[name] = {"ok": False, "seconds": round(time.perf_counter() - t0, 1)}


def train_and_eval(model, device, train_file, test_rows, out, **extra):
    import tunewise
    from tunewise.models.device import use_device
    reset_peak()
    with use_device(device):
        res = tunewise.train(str(train_file), model=model, out=out, epochs=1, progress=False,
                             say=lambda m: None, device=device, eval_batch_size=32,
                             checkpoint_every=0, max_eval_examples=64, **extra)
        train_peak = peak_gib()
        from tunewise.data.records import Example
        test = [Example.from_text(t, lab, label=lab) for t, lab in test_rows]
        ev = tunewise.evaluate(test, adapter=str(res.run_dir), progress=False, n_resamples=200)
    info = json.loads((Path(out) / "run.json").read_text())
    return {"ok": True, "examples_per_second": round(res.timing["train_examples_per_second"], 2),
            "accuracy": round(float(ev.metrics.get("accuracy", float("nan"))), 4),
            "peak_gpu_gib": train_peak, "hardware": info.get("hardware"),
            "run_dir": str(res.run_dir)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_check(model, device, run_dir, n=10):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tunewise", "serve", "--model", model,
                             "--adapter", f"ft={run_dir}", "--port", str(port), "--device", device],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("serve exited: " + (proc.stderr.read() or "")[-300:])
                time.sleep(0.2)
        answers, latencies = [], []
        for i in range(n):
            body = json.dumps({"model": "ft", "max_tokens": 4, "temperature": 0, "messages": [
                {"role": "user", "content": f"a {'wonderful' if i % 2 else 'dreadful'} film"}]})
            req = urllib.request.Request(base + "/v1/chat/completions", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
            t0 = time.perf_counter()
            out = json.loads(urllib.request.urlopen(req, timeout=120).read())
            latencies.append(time.perf_counter() - t0)
            answers.append(out["choices"][0]["message"]["content"])
        latencies.sort()
        return {"ok": len(answers) == n, "answered": len(answers), "sample": answers[:2],
                "p50_seconds": round(latencies[len(latencies) // 2], 3)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--examples", type=int, default=512)
    ap.add_argument("--no-cpu", action="store_true", help="skip the CPU comparison run")
    ap.add_argument("--wheels", default=None, help="install these wheels first (no network)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.wheels:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--no-index",
                               "--no-deps", *map(str, Path(args.wheels).rglob("*.whl"))])
    from tunewise.models.device import resolve_device
    device = resolve_device(args.device)
    device_name = str(device) if device.type != "cuda" else f"cuda:{device.index or 0}"
    out = Path(args.out or tempfile.mkdtemp(prefix="gpu-check-"))
    rows = reviews()
    test_rows, train_rows = rows[:100], rows[100:100 + args.examples]
    train_file = write_chat(out / "train.jsonl", train_rows)
    report: dict = {"device": device_name, "model": args.model, "examples": len(train_rows)}
    devices = [device_name] + ([] if device.type == "cpu" or args.no_cpu else ["cpu"])
    for d in devices:
        step(report, f"train_eval_{d}", lambda d=d: train_and_eval(
            args.model, d, train_file, test_rows, out / f"run-{d.replace(':', '')}"))
    first = report.get(f"train_eval_{device_name}", {})
    if first.get("ok"):
        step(report, "serve", lambda: serve_check(args.model, device_name, first["run_dir"]))
    step(report, "gradient_checkpointing", lambda: train_and_eval(
        args.model, device_name, train_file, test_rows, out / "run-ckpt",
        gradient_checkpointing="true"))
    step(report, "qlora", lambda: train_and_eval(
        args.model, device_name, train_file, test_rows, out / "run-qlora", quantize="4bit"))
    if device.type == "cpu":     # QLoRA is CUDA-only: the clear refusal is the expected outcome
        report["qlora"]["expected_refusal"] = any(
            f["step"] == "qlora" and "CUDA" in f["error"] for f in report.get("failures", []))
    print(json.dumps(report), flush=True)
    return report


if __name__ == "__main__":
    main()
