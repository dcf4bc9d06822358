"""Today's hosted models: a reasoning model refuses temperature 0, max_tokens, logprobs and stop
with a 400 naming the parameter, and bills hidden reasoning tokens as output. Against a fake
reasoning-model server over real HTTP, the remote arm learns each refusal once per model, leaves
the parameter out (max_tokens sent as max_completion_tokens), switches to generate scoring with a
note, and counts and prices the reasoning tokens; retirement warnings cite the provider's page."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.serve_support import sentiment_examples
from tunewise.evaluation.arms.remote import RemoteArm
from tunewise.remote import refusals
from tunewise.remote.client import ClientOptions
from tunewise.remote.pricing import RemotePrice
from tunewise.tasks import ClassificationTask

REASONING = 64
#: what OpenAI's reasoning models answer to each parameter they refuse (param, message)
REFUSALS = {
    "temperature": "Unsupported value: 'temperature' does not support 0 with this model. Only "
                   "the default (1) value is supported.",
    "max_tokens": "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                  "'max_completion_tokens' instead.",
    "logprobs": "Unsupported parameter: 'logprobs' is not supported with this model.",
    "stop": "Unsupported parameter: 'stop' is not supported with this model.",
}


class FakeReasoner(BaseHTTPRequestHandler):
    """Refuses the first refused parameter a body carries (400, OpenAI's error body); else
    answers the label the review's adjective says, with reasoning tokens in its usage."""

    log: list = []
    #: what the server does with response_format: "ignore" (answers in words), "answer" (the
    #: label as the JSON object the schema asks for) or "refuse" (400 naming it)
    structured = "ignore"

    def log_message(self, *args):       # quiet
        pass

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        refused = {**REFUSALS, **({"response_format": "Unsupported parameter: "
                                   "'response_format'"} if self.structured == "refuse" else {})}
        bad = next((p for p in refused if p in body
                    and not (p == "temperature" and body[p] == 1)), None)
        self.log.append(bad or "ok")
        if bad:
            out = {"error": {"message": refused[bad], "type": "invalid_request_error",
                             "param": bad, "code": "unsupported_parameter"}}
            return self._send(400, out)
        text = body["messages"][-1]["content"]
        label = "positive" if any(w in text for w in ("great", "lovely", "superb", "fine",
                                                      "moving", "sharp")) else "negative"
        if self.structured == "answer" and "response_format" in body:
            label = json.dumps({"label": label})
        self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": label}}],
                         "usage": {"prompt_tokens": 30, "completion_tokens": 2 + REASONING,
                                   "total_tokens": 32 + REASONING,
                                   "completion_tokens_details": {
                                       "reasoning_tokens": REASONING}}})

    def _send(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def reasoner():
    refusals.forget_all()
    FakeReasoner.log = []
    FakeReasoner.structured = "ignore"
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeReasoner)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    refusals.forget_all()


PRICE = RemotePrice("o-fake", input=1.0, output=4.0, fine_tune=False, source="test", date="x")


def _arm(url, tmp_path, name="o-fake 0-shot"):
    return RemoteArm("o-fake", base_url=url, name=name, price=PRICE, max_cost_usd=None,
                     cache_dir=tmp_path / name, options=ClientOptions(max_retries=0))


def test_reasoning_model_completes_with_generate_scoring_and_priced_reasoning(reasoner,
                                                                               tmp_path):
    task = ClassificationTask(["negative", "positive"])
    examples = sentiment_examples(12, seed=31)
    res = _arm(reasoner, tmp_path).predict(task, examples, progress=False)
    # each refusal once, then every request without the refused parameters
    # (a classification prompt sends no stop sequences: stop is never refused here)
    assert sorted(x for x in FakeReasoner.log if x != "ok") == ["logprobs", "max_tokens",
                                                               "temperature"]
    assert FakeReasoner.log.count("ok") == len(examples)
    assert res.settings["refused"] == {"dropped": ["logprobs", "temperature", "top_logprobs"],
                                       "renamed": {"max_tokens": "max_completion_tokens"}}
    assert {p.extra["method"] for p in res.predictions} == {"generate"}
    assert all(p.pred == p.gold for p in res.predictions)
    notes = " | ".join(res.notes)
    assert "refuses logprobs: labels were read from the generated answers" in notes
    assert "refuses temperature 0" in notes and "max_completion_tokens" in notes
    # reasoning tokens: counted, in the output tokens, and priced as output
    u = res.usage
    assert u["reasoning_tokens"] == REASONING * len(examples)
    assert u["tokens_out"] == (2 + REASONING) * len(examples)
    assert u["cost_usd"] == pytest.approx((30 * 1.0 + (2 + REASONING) * 4.0) * 12 / 1e6)
    assert "hidden reasoning tokens, billed as output tokens" in notes
    from tunewise.comparison.remote_arms import usage_record
    assert usage_record(res)["reasoning_tokens_total"] == REASONING * len(examples)


@pytest.mark.parametrize("server_does,method,sent", [
    ("answer", "structured", ["logprobs", "max_tokens", "temperature"]),
    ("refuse", "generate", ["logprobs", "max_tokens", "response_format", "temperature"])])
def test_auto_scoring_asks_a_json_schema_enum_when_logprobs_are_refused(
        reasoner, tmp_path, server_does, method, sent):
    """auto: no logprobs -> the label asked as a JSON-schema enum (structured outputs); a server
    that refuses response_format too -> the generated text, each refusal learnt once."""
    FakeReasoner.structured = server_does
    task = ClassificationTask(["negative", "positive"])
    examples = sentiment_examples(6, seed=5)
    res = _arm(reasoner, tmp_path).predict(task, examples, progress=False)
    assert sorted(x for x in FakeReasoner.log if x != "ok") == sent
    assert {p.extra["method"] for p in res.predictions} == {method}
    assert all(p.pred == p.gold for p in res.predictions)
    notes = " | ".join(res.notes)
    assert ("labels were asked as a JSON-schema enum" in notes) == (method == "structured")


def test_a_second_arm_on_the_same_model_is_refused_nothing(reasoner, tmp_path):
    task = ClassificationTask(["negative", "positive"])
    _arm(reasoner, tmp_path).predict(task, sentiment_examples(3, seed=1), progress=False)
    n = len(FakeReasoner.log)
    res = _arm(reasoner, tmp_path, "o-fake again").predict(task, sentiment_examples(5, seed=2),
                                                           progress=False)
    assert FakeReasoner.log[n:] == ["ok"] * 5
    assert any("refuses logprobs" in x for x in res.notes)


def test_explicit_logprob_scoring_still_fails_when_logprobs_are_refused(reasoner, tmp_path):
    from tunewise.remote.errors import RemoteNoLogprobsError
    task = ClassificationTask(["negative", "positive"])
    arm = RemoteArm("o-fake", base_url=reasoner, scoring="logprobs", max_cost_usd=None,
                    cache_dir=tmp_path / "c", options=ClientOptions(max_retries=0))
    with pytest.raises(RemoteNoLogprobsError):
        arm.predict(task, sentiment_examples(2, seed=1), progress=False)


def test_a_refusal_of_a_parameter_tunewise_cannot_leave_out_stands(tmp_path):
    from tunewise.remote.errors import RemoteRequestError
    err = RemoteRequestError("refused: 'messages' too long")
    err.param = "messages"
    assert refusals.learn("u", "m", err, {"messages": []}) is None
    err.param = None                 # no param field: the quoted name in the message
    err2 = RemoteRequestError("Unsupported parameter: 'top_p' is not supported")
    assert refusals.refused_param(err2) == "top_p"
    refusals.forget_all()


def test_retirement_warnings_cite_the_providers_page_not_our_tracker():
    import datetime as dt
    from tunewise.cost.retirement import retirement_warnings
    ws = retirement_warnings("openai:gpt-4o-mini", today=dt.date(2026, 12, 1))
    assert ws and all("openai.com/api/docs/deprecations" in w for w in ws)
    assert not any("issue" in w for w in ws)
