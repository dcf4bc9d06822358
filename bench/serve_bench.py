"""Serving throughput: `tunewise serve` under 32 concurrent clients vs a naive per-request
``model.generate`` server answering the same requests one at a time.

Both servers run as their own processes on 127.0.0.1 with the same model (the embedded
SmolLM2-135M by default) and answer the same chat requests: short movie reviews from
../shared/datasets/mr with a one-word sentiment instruction, greedy (temperature 0),
``max_tokens`` 8. The naive server is a tiny FastAPI app whose handler renders the chat template
and calls ``model.generate`` for that one request. Printed: requests/s, p50/p95 latency, the
ratio, and how many answers differ between the two servers (they must not).

``--duration S`` then keeps 32 clients sending requests to `tunewise serve` for S seconds and
counts requests, failures and answers that differ from the first pass (none may).

Measured on the shared 2-core machine under heavy load from other jobs (load average 15-17),
OMP_NUM_THREADS=1 for both servers, 32 requests, 2026-11-30
(``OMP_NUM_THREADS=1 python bench/serve_bench.py --n 32 --duration 300``):

    naive generate, 1 at a time :   0.48 req/s  p50 2.127s  p95 2.639s
    tunewise serve, 32 clients  :   1.86 req/s  p50 14.623s p95 16.344s
    ratio 3.90x requests/s; answers differing: 0 of 32
    soak 352 s, 32 clients: sent 224, ok 224, failed 0, answers changed 0

An earlier run of the same command, before the shared prompt prefix was computed once per
batch, gave 1.82x (0.17 vs 0.31 req/s at load 14-16; soak: 97 sent, 97 ok, 0 failed).

After the hardening of 2026-12-06 (per-row error handling, float64 sampling, abort checks, read
deadline, Host / Content-Type checks), same machine at load average 1.9-2.8, OMP_NUM_THREADS=1:

    --n 64:  naive 1.39 req/s, tunewise 5.28 req/s: 3.79x; answers differing 0 of 64
    --n 32 --duration 60: 1.58 vs 4.89 req/s (3.10x), 0 of 32 differing; soak 63 s: sent 353,
    ok 353, failed 0, answers changed 0

With choice requests (issue #21), 2026-12-06, load average 3.0-3.7, OMP_NUM_THREADS=1
(``--n 64 --choices``): naive 2.06 req/s, tunewise 7.52 req/s: 3.64x, 0 of 64 differing; the
same 64 requests as choice requests: 11.43 req/s in 4 batches of 16, each one pass of its rows
(plus its shared prefix); 6 of 64 generated answers began with the label the scoring chose (the
base model's generation and its label scores disagree on this prompt: scoring is what eval does).

``--choices`` also sends the same requests as choice requests (``structured_outputs``: the two
labels), which the server scores instead of generating: requests/s, and how many batches served
them.

Usage::

    python bench/serve_bench.py                      # 128 requests each way
    python bench/serve_bench.py --n 64 --duration 300 > bench/out/serve.log
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TUNEWISE_HOME", str(ROOT / ".cache" / "tunewise"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SYSTEM = "Classify the sentiment of the movie review. Answer with one word: positive or negative."


# -- the naive baseline server ---------------------------------------------------------------
import fastapi  # noqa: E402  (the naive server's annotation is resolved from module globals)


def naive_app(model_name: str):
    """FastAPI app: one ``model.generate`` call per request (the plain way to serve a model)."""
    import torch
    from fastapi import FastAPI

    from tunewise.models import load_model
    lm = load_model(model_name)
    tok, model = lm.tokenizer, lm.model
    stop = [tok.convert_tokens_to_ids("<|im_end|>"), tok.eos_token_id]
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: "fastapi.Request"):
        body = await request.json()
        text = tok.apply_chat_template(body["messages"], tokenize=False,
                                       add_generation_prompt=True)
        ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 max_new_tokens=int(body.get("max_tokens") or 16),
                                 do_sample=False, eos_token_id=stop, pad_token_id=tok.pad_token_id)
        new = out[0, ids.shape[1]:].tolist()
        answer = tok.decode([t for t in new if t not in stop], skip_special_tokens=True)
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                             "finish_reason": "stop"}]}
    return app


def run_naive_server(model: str, port: int) -> None:
    import uvicorn
    uvicorn.run(naive_app(model), host="127.0.0.1", port=port, log_level="warning")


# -- clients ---------------------------------------------------------------------------------

def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], url: str, log_path: Path) -> subprocess.Popen:
    import httpx
    fh = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=str(ROOT),
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}); see {log_path}")
        try:
            httpx.post(url + "/v1/chat/completions", json={}, timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    sys.exit(f"server did not start; see {log_path}")


#: the labels a choice request (``--choices``) asks the server to choose from
CHOICES = ["positive", "negative"]


def ask(client, url: str, model: str, text: str, max_tokens: int,
        choices: bool = False) -> tuple[str, float]:
    body = {"model": model, "temperature": 0, "max_tokens": max_tokens,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]}
    if choices:       # scored, not generated (tunewise.serving.choices)
        body["structured_outputs"] = {"choice": CHOICES}
    t0 = time.perf_counter()
    r = client.post(url + "/v1/chat/completions", json=body, timeout=600)
    r.raise_for_status()
    return r.json()["choices"][0]["message"]["content"], time.perf_counter() - t0


def measure(url: str, model: str, texts: list[str], clients: int, max_tokens: int,
            choices: bool = False) -> dict:
    import httpx
    local = threading.local()

    def one(text):
        if not hasattr(local, "c"):
            local.c = httpx.Client()
        return ask(local.c, url, model, text, max_tokens, choices)

    t0 = time.perf_counter()
    if clients == 1:
        results = [one(t) for t in texts]
    else:
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(one, texts))
    wall = time.perf_counter() - t0
    lat = sorted(r[1] for r in results)
    return {"answers": [r[0] for r in results], "rps": len(texts) / wall, "wall": wall,
            "p50": statistics.median(lat), "p95": lat[min(len(lat) - 1, int(0.95 * len(lat)))]}


def soak(url: str, model: str, texts: list[str], expected: dict, clients: int, seconds: float,
         max_tokens: int) -> dict:
    """``clients`` threads send requests back to back for ``seconds``; count everything."""
    import httpx
    counts = {"sent": 0, "ok": 0, "failed": 0, "wrong": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    errors: list[str] = []

    def worker(k: int):
        rng = random.Random(k)
        with httpx.Client() as c:
            while time.monotonic() < stop_at:
                text = rng.choice(texts)
                with lock:
                    counts["sent"] += 1
                try:
                    answer, _ = ask(c, url, model, text, max_tokens)
                except Exception as e:  # a lost or failed request: counted, never hidden
                    with lock:
                        counts["failed"] += 1
                        errors.append(f"{type(e).__name__}: {e}")
                    continue
                with lock:
                    counts["ok"] += 1
                    counts["wrong"] += int(answer != expected[text])

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts["seconds"] = time.perf_counter() - t0
    counts["rps"] = counts["ok"] / counts["seconds"]
    counts["first_errors"] = errors[:5]
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--n", type=int, default=128, help="requests in each pass")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=8)
    ap.add_argument("--duration", type=float, default=0, help="soak seconds after the comparison")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--choices", action="store_true",
                    help="also send the requests as choice requests (structured_outputs "
                         "choice list) and count the server's batches")
    ap.add_argument("--naive-server", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.naive_server is not None:
        return run_naive_server(args.model, args.naive_server)

    from mr import load_mr
    rows = load_mr()
    rng = random.Random(args.seed)
    texts = [t for t, _ in rng.sample([r for r in rows if len(r[0]) < 160], args.n)]
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    from tunewise.models.load import resolve
    model_id = resolve(args.model)[0]

    p_naive, p_tw = free_port(), free_port()
    naive_url, tw_url = f"http://127.0.0.1:{p_naive}", f"http://127.0.0.1:{p_tw}"
    print(f"{args.n} requests, model {model_id}, max_tokens {args.max_tokens}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    naive = start([py, __file__, "--naive-server", str(p_naive), "--model", args.model],
                  naive_url, out / "serve_naive.log")
    try:
        ask(__import__("httpx").Client(), naive_url, model_id, texts[0], args.max_tokens)  # warm
        base = measure(naive_url, model_id, texts, 1, args.max_tokens)
    finally:
        naive.terminate()
        naive.wait(30)
    print(f"naive generate, 1 at a time : {base['rps']:6.2f} req/s  p50 {base['p50']:.3f}s  "
          f"p95 {base['p95']:.3f}s  ({base['wall']:.1f}s)", flush=True)

    tw = start([py, "-m", "tunewise", "serve", "--model", args.model, "--port", str(p_tw),
                "--max-batch", str(args.clients)], tw_url, out / "serve_tunewise.log")
    try:
        measure(tw_url, model_id, texts[:args.clients], args.clients, args.max_tokens)  # warm
        res = measure(tw_url, model_id, texts, args.clients, args.max_tokens)
        print(f"tunewise serve, {args.clients} clients: {res['rps']:6.2f} req/s  "
              f"p50 {res['p50']:.3f}s  p95 {res['p95']:.3f}s  ({res['wall']:.1f}s)", flush=True)
        differ = sum(a != b for a, b in zip(base["answers"], res["answers"]))
        print(f"ratio {res['rps'] / base['rps']:.2f}x requests/s; answers differing: "
              f"{differ} of {len(texts)}", flush=True)
        for a, b, t in list(zip(base["answers"], res["answers"], texts)):
            if a != b:
                print(f"  differs: {t[:60]!r}: naive {a!r} vs tunewise {b!r}")
        if args.choices:
            import httpx
            measure(tw_url, model_id, texts[:args.clients], args.clients, args.max_tokens, True)
            before = httpx.get(tw_url + "/health").json()
            ch = measure(tw_url, model_id, texts, args.clients, args.max_tokens, True)
            after = httpx.get(tw_url + "/health").json()
            batches = after["batches"] - before["batches"]
            agree = sum(a.strip().lower().startswith(b) for a, b in
                        zip(res["answers"], ch["answers"]))
            print(f"choice requests, {args.clients} clients: {ch['rps']:6.2f} req/s  p50 "
                  f"{ch['p50']:.3f}s  p95 {ch['p95']:.3f}s; {len(texts)} requests in {batches} "
                  f"batches ({len(texts) / max(batches, 1):.1f} per batch, each scored in one "
                  f"pass of its rows); generated answers starting with the chosen label: "
                  f"{agree} of {len(texts)}", flush=True)
        if args.duration > 0:
            expected = dict(zip(texts, res["answers"]))
            s = soak(tw_url, model_id, texts, expected, args.clients, args.duration,
                     args.max_tokens)
            health = __import__("httpx").get(tw_url + "/health").json()
            print(f"soak {s['seconds']:.0f}s, {args.clients} clients: sent {s['sent']}, ok "
                  f"{s['ok']}, failed {s['failed']}, answers different from the first pass "
                  f"{s['wrong']}, {s['rps']:.2f} req/s; server: {health}", flush=True)
            for e in s["first_errors"]:
                print(f"  error: {e}")
    finally:
        tw.terminate()
        tw.wait(60)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
