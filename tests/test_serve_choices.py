"""`tunewise serve` answers with labels: a choice list (vLLM's ``structured_outputs`` /
``guided_choice``) or a string-enum JSON schema (``response_format``) is scored like eval's label
scoring, over real HTTP: 50 served choice answers equal `tunewise eval --adapter RUN` (default
label scoring) with the requests batched, each choice's probability comes back as logprobs, the
openai SDK's ``response_format`` and ``parse`` calls work, bad schemas are 400s naming the
parameter, and a batch of choice requests is one forward pass of its rows."""
from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import httpx
import pytest
from pydantic import BaseModel

from tests.serve_support import Server, sentiment_examples, tiny_runs, write_chat

LABELS = ["negative", "positive"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tiny_runs(tmp_path_factory.mktemp("choice-runs"))


@pytest.fixture(scope="module")
def server(runs):
    from tunewise.serving import create_app
    with Server(create_app(adapters={"a": str(runs["a"]), "b": str(runs["b"])},
                           max_batch=16)) as s:
        yield s


def _msgs(ex) -> list[dict]:
    return [m.to_dict() for m in ex.messages if m.role != "assistant"]


def test_served_choice_answers_equal_eval_label_scoring(tmp_path, cli, runs, server):
    examples = sentiment_examples(50, seed=7, offset=3000)
    data = write_chat(tmp_path / "test.jsonl", examples)
    out = tmp_path / "preds.jsonl"
    r = cli("eval", "--data", str(data), "--adapter", str(runs["a"]), "--out", str(out),
            "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    rows = [x for x in rows if "_tunewise" not in x]
    assert {x["extra"]["method"] for x in rows} == {"score"}
    client = server.client()
    before = httpx.get(server.url + "/health").json()

    def ask(ex):
        return client.chat.completions.create(
            model="a", messages=_msgs(ex), logprobs=True, top_logprobs=2,
            extra_body={"structured_outputs": {"choice": LABELS}})
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, examples))
    got = [a.choices[0].message.content for a in answers]
    want = [x["prediction"] for x in rows]
    assert got == want
    for a, x in zip(answers, rows):
        # each choice's probability: eval's label log-likelihoods, normalized over the labels
        s = x["extra"]["scores"]
        lse = math.log(sum(math.exp(v) for v in s.values()))
        top = {t.token: t.logprob for t in a.choices[0].logprobs.content[0].top_logprobs}
        assert set(top) == set(LABELS)
        for lab in LABELS:
            assert top[lab] == pytest.approx(s[lab] - lse, abs=1e-3)
        assert a.usage.prompt_tokens == x["tokens_in"]
        assert a.usage.completion_tokens == x["tokens_out"]
    after = httpx.get(server.url + "/health").json()
    assert after["max_batch_seen"] > 1 and after["batches"] - before["batches"] < 50
    # the labels to ask for are on the adapter's model card
    assert client.models.retrieve("a").model_extra["labels"] == LABELS


def test_openai_sdk_response_format_enum_and_parse(server):
    client = server.client()
    ex = sentiment_examples(1, seed=3)[0]
    r = client.chat.completions.create(
        model="a", messages=_msgs(ex),
        response_format={"type": "json_schema", "json_schema": {
            "name": "label", "schema": {"type": "string", "enum": LABELS}}})
    assert json.loads(r.choices[0].message.content) in LABELS

    class Verdict(BaseModel):
        label: Literal["negative", "positive"]
    parsed = client.chat.completions.parse(model="a", messages=_msgs(ex),
                                           response_format=Verdict)
    v = parsed.choices[0].message.parsed
    assert isinstance(v, Verdict) and v.label in LABELS
    # the same answer in every form, also from the base model and the older guided_choice
    plain = client.chat.completions.create(model="a", messages=_msgs(ex),
                                           extra_body={"guided_choice": LABELS})
    assert plain.choices[0].message.content == v.label == json.loads(
        r.choices[0].message.content)
    base = client.chat.completions.create(model="tiny-random", messages=_msgs(ex),
                                          extra_body={"structured_outputs":
                                                      {"choice": ["yes", "no", "maybe"]}})
    assert base.choices[0].message.content in ("yes", "no", "maybe")


def test_a_streamed_choice_request_sends_the_answer(server):
    client = server.client()
    ex = sentiment_examples(1, seed=4)[0]
    parts = list(client.chat.completions.create(model="a", messages=_msgs(ex), stream=True,
                                                extra_body={"guided_choice": LABELS}))
    text = "".join(p.choices[0].delta.content or "" for p in parts if p.choices)
    assert text in LABELS and parts[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("extra, param", [
    ({"response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "schema": {"type": "object", "properties": {
            "a": {"type": "string", "enum": ["x"]}, "b": {"type": "integer"}}}}}},
     "response_format"),
    ({"response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "schema": {"type": "integer", "enum": [1, 2]}}}}, "response_format"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
     "response_format"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"structured_outputs": {"regex": "[a-z]+"}}, "structured_outputs"),
    ({"structured_outputs": {"choice": []}}, "structured_outputs.choice"),
    ({"structured_outputs": {"choice": ["a", "a"]}}, "structured_outputs.choice"),
    ({"guided_choice": ["a", ""]}, "guided_choice"),
    ({"guided_choice": "a"}, "guided_choice"),
    ({"guided_choice": ["a"], "structured_outputs": {"choice": ["a"]}}, "structured_outputs"),
])
def test_bad_choice_requests_are_400_naming_the_param(server, extra, param):
    body = {"model": "a", "messages": [{"role": "user", "content": "hi"}], **extra}
    r = httpx.post(server.url + "/v1/chat/completions", json=body, timeout=60)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == param, err


def test_a_batch_of_choice_requests_is_one_forward_pass_of_its_rows(runs):
    """The engine scores a batch of choice jobs with the same choices in one pass of its rows
    (plus one of their shared prefix), counted at the model body."""
    from tunewise.serving import create_app
    from tunewise.serving.choices import ChoiceSpec
    from tunewise.serving.decode import Job
    from tunewise.serving.sampling import SamplingParams
    from tunewise.tasks.render import encode_prompt
    app = create_app(adapters={"a": str(runs["a"])})
    state = app.state.tunewise
    engine = state.engine
    tok = state.served.tokenizer
    calls = []
    body = engine.chooser._scorer(engine.chooser.answers(ChoiceSpec(tuple(LABELS))), 12).body
    hook = body.register_forward_hook(lambda m, a, k=None: calls.append(1))
    try:
        spec = ChoiceSpec(tuple(LABELS))
        jobs = []
        for ex in sentiment_examples(12, seed=8):
            j = Job(prompt=encode_prompt(tok, _msgs(ex)), params=SamplingParams(max_tokens=8),
                    adapter="a")
            j.choices, j.choice_ids = spec, engine.chooser.answers(spec)
            jobs.append(j)
        engine._work(jobs)
    finally:
        hook.remove()
    assert all(j.finish == "stop" and j.text in LABELS for j in jobs)
    assert len(calls) <= 2          # the rows' pass, and the shared prefix's


@pytest.mark.slow
def test_choice_parity_on_the_embedded_model_with_a_trained_adapter(tmp_path, cli):
    """Real labels that differ between examples: a briefly trained adapter on the embedded
    model; served choice answers equal eval's label scoring on 50 examples."""
    from tunewise.serving import create_app
    from tunewise.tasks import ClassificationTask
    from tunewise.training import train
    task = ClassificationTask(LABELS)
    train(sentiment_examples(48, seed=2), out=tmp_path / "run", task=task, epochs=1,
          batch_size=8, lr=1e-3, checkpoint_every=0, precision="auto", seed=0,
          say=lambda m: None, progress=False)
    examples = sentiment_examples(50, seed=9, offset=5000)
    data = write_chat(tmp_path / "test.jsonl", examples)
    out = tmp_path / "preds.jsonl"
    r = cli("eval", "--data", str(data), "--adapter", str(tmp_path / "run"), "--out", str(out),
            "--json")
    assert r.returncode == 0, r.stderr
    want = [x["prediction"] for x in map(json.loads, out.read_text().splitlines())
            if "_tunewise" not in x]
    with Server(create_app(adapters={"sent": str(tmp_path / "run")})) as server:
        client = server.client()
        with ThreadPoolExecutor(16) as pool:
            got = list(pool.map(lambda ex: client.chat.completions.create(
                model="sent", messages=_msgs(ex),
                extra_body={"structured_outputs": {"choice": LABELS}}).choices[0].message.content,
                examples))
    assert got == want and len(set(want)) == 2
