"""Parity: for 50 test examples, the served greedy answers equal `tunewise eval --adapter RUN`
predictions exactly (raw text, parsed answer, prompt and answer token counts), with the requests
sent concurrently so that they are batched. The slow test does the same on the embedded model
with a briefly trained adapter, where the answers are real labels."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.serve_support import Server, sentiment_examples, tiny_runs, write_chat


def eval_predictions(cli, data, run) -> list[dict]:
    out = data.parent / f"preds-{run.name}.jsonl"
    r = cli("eval", "--data", str(data), "--adapter", str(run), "--method", "generate",
            "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    return [r for r in rows if "_tunewise" not in r]


def served_answers(server, model: str, examples) -> list:
    client = server.client()

    def ask(ex):
        # what an application sends: its messages without the answer, greedy
        msgs = [m.to_dict() for m in ex.messages if m.role != "assistant"]
        return client.chat.completions.create(model=model, messages=msgs, temperature=0)

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(ask, examples))


def assert_parity(rows, responses, task) -> None:
    assert len(rows) == len(responses) == 50
    mismatches = []
    for row, r in zip(rows, responses):
        text = r.choices[0].message.content
        got = (text, task.parse(text), r.usage.prompt_tokens, r.usage.completion_tokens)
        want = (row["raw"], row["prediction"], row["tokens_in"], row["tokens_out"])
        if got != want:
            mismatches.append((row["index"], want, got))
    assert not mismatches, mismatches[:5]


def test_served_greedy_answers_equal_eval_predictions(tmp_path_factory, cli):
    from tunewise.serving import create_app
    from tunewise.training import load_run
    runs = tiny_runs(tmp_path_factory.mktemp("parity-runs"))
    d = tmp_path_factory.mktemp("parity")
    examples = sentiment_examples(50, seed=5, offset=1000)
    data = d / "test.jsonl"
    write_chat(data, examples)
    rows = eval_predictions(cli, data, runs["a"])
    _, task = load_run(runs["a"])
    with Server(create_app(adapters={"a": str(runs["a"]), "b": str(runs["b"])},
                           max_batch=16)) as server:
        responses = served_answers(server, "a", examples)
        import httpx
        health = httpx.get(server.url + "/health").json()
    assert_parity(rows, responses, task)
    # the answers were batched, not computed one request at a time
    assert health["max_batch_seen"] > 1 and health["batches"] < 50


@pytest.mark.slow
def test_parity_on_the_embedded_model_with_a_trained_adapter(tmp_path, cli):
    from tunewise.serving import create_app
    from tunewise.tasks import ClassificationTask
    from tunewise.training import load_run, train
    task = ClassificationTask(["negative", "positive"])
    train(sentiment_examples(48, seed=2), out=tmp_path / "run", task=task, epochs=1,
          batch_size=8, lr=1e-3, checkpoint_every=0, precision="auto", seed=0,
          say=lambda m: None, progress=False)
    examples = sentiment_examples(50, seed=9, offset=5000)
    data = write_chat(tmp_path / "test.jsonl", examples)
    from pathlib import Path
    rows = eval_predictions(cli, Path(data), tmp_path / "run")
    _, task = load_run(tmp_path / "run")
    with Server(create_app(adapters={"sent": str(tmp_path / "run")})) as server:
        responses = served_answers(server, "sent", examples)
    assert_parity(rows, responses, task)
    # a real model answers with labels, and not all the same one
    preds = [task.parse(r.choices[0].message.content) for r in responses]
    assert sum(p is not None for p in preds) >= 40 and len(set(preds)) >= 2
