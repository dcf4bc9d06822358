"""`tunewise serve` as a process: --help, errors in words, and SIGTERM draining a request in
flight before the process exits."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx

from tests.serve_support import free_port


def test_serve_help(cli):
    r = cli("serve", "--help")
    assert r.returncode == 0
    for flag in ("--model", "--adapter", "--host", "--port", "--api-key-env", "--max-batch"):
        assert flag in r.stdout
    assert "127.0.0.1" in r.stdout


def test_serve_errors_are_words_not_tracebacks(cli, tmp_path):
    r = cli("serve", "--model", "tiny-random", "--api-key-env", "TW_SURELY_UNSET_VAR",
            env={"TW_SURELY_UNSET_VAR": ""})
    assert r.returncode == 2 and "TW_SURELY_UNSET_VAR" in r.stderr
    r = cli("serve", "--model", "tiny-random", "--adapter", f"x={tmp_path}")
    assert r.returncode == 2 and "not a tunewise run directory" in r.stderr
    assert "Traceback" not in r.stderr


def test_sigterm_drains_the_request_in_flight():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tunewise", "serve", "--model", "tiny-random",
                             "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        lines: list[str] = []
        started = threading.Event()

        def stream():
            with httpx.stream("POST", url + "/v1/chat/completions", timeout=120, json={
                    "model": "tiny-random", "temperature": 0, "max_tokens": 120, "stream": True,
                    "messages": [{"role": "user", "content": "go on"}]}) as r:
                for line in r.iter_lines():
                    if line:
                        lines.append(line)
                        if '"content"' in line:
                            started.set()

        t = threading.Thread(target=stream)
        t.start()
        assert started.wait(60)
        proc.send_signal(signal.SIGTERM)
        t.join(120)
        code = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    # uvicorn finishes the request, then re-raises SIGTERM: killed by it, after draining
    assert code in (0, -signal.SIGTERM)
    assert lines[-1] == "data: [DONE]"
    final = json.loads(lines[-2][len("data: "):])
    assert final["choices"][0]["finish_reason"] == "length"   # ran to its full 120 tokens
    # and nothing listens any more
    try:
        httpx.get(url + "/health", timeout=2)
        raise AssertionError("the server still answers after SIGTERM")
    except httpx.HTTPError:
        pass
