"""Running a real `tunewise serve` app (uvicorn on a free port) for the serving tests."""
from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time

from tunewise.data.records import Example


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving ``app`` in a background thread of this process, set up as `tunewise serve`
    sets it up (read deadline, connection cap, drain: ``tunewise.serving.server``)."""

    def __init__(self, app):
        from tunewise.serving.server import build_server
        self.app, self.port = app, free_port()
        self.server = build_server(app, host="127.0.0.1", port=self.port)
        self.config = self.server.config
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)

    def client(self, api_key: str = "none", **kw):
        from openai import OpenAI
        return OpenAI(base_url=self.url + "/v1", api_key=api_key, max_retries=0, timeout=120, **kw)


@contextlib.contextmanager
def serving(app):
    with Server(app) as s:
        yield s


def sentiment_examples(n: int, seed: int = 0, offset: int = 0) -> list[Example]:
    """Short synthetic reviews with a positive/negative label (chat: user text, assistant label)."""
    rng = random.Random(seed)
    good = ["great", "lovely", "superb", "fine", "moving", "sharp"]
    bad = ["awful", "dull", "poor", "bad", "tedious", "flat"]
    nouns = ["film", "movie", "story", "script", "cast", "ending"]
    out = []
    for i in range(n):
        lab = "positive" if rng.random() < 0.5 else "negative"
        w = rng.choice(good if lab == "positive" else bad)
        text = f"a {w} {rng.choice(nouns)}, take {i + offset}" + " indeed" * rng.randint(0, 4)
        out.append(Example.from_text(text, lab, label=lab,
                                     meta={"source": "syn.jsonl", "line": i + 1}))
    return out


def write_chat(path, examples) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        for ex in examples:
            fh.write(json.dumps(ex.to_chat_dict()) + "\n")
    return str(path)


_RUNS: dict = {}

FAST_TRAIN = dict(model="tiny-random", batch_size=8, checkpoint_every=0, precision="fp32",
                  eval_batch_size=32, epochs=1)


def tiny_runs(root) -> dict:
    """Two finished LoRA runs on tiny-random (trained once per test process): "a" learnt to
    answer a label, "b" is a different adapter (other rank, targets and seed)."""
    if not _RUNS:
        from tunewise.tasks import ClassificationTask
        from tunewise.training import train
        task = ClassificationTask(["negative", "positive"])
        data = sentiment_examples(24, seed=1)
        for name, kw in (("a", dict(lr=3e-2, seed=0, lora_r=8,
                                    lora_targets=["q_proj", "k_proj", "v_proj", "o_proj"])),
                         ("b", dict(lr=1e-2, seed=1, lora_r=4, lora_targets=["q_proj", "v_proj"]))):
            train(data, out=root / f"run-{name}", task=task, say=lambda m: None, progress=False,
                  **FAST_TRAIN, **kw)
            _RUNS[name] = root / f"run-{name}"
    return dict(_RUNS)
