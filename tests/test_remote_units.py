"""Model specs, key scrubbing, Retry-After, label scores from top_logprobs, remote prices and
retirement warnings (no HTTP)."""
from __future__ import annotations

import datetime as dt
import email.utils
import time

import pytest

from tunewise.cost.remote_prices import remote_price
from tunewise.cost.retirement import retirement_warnings
from tunewise.errors import UsageError
from tunewise.remote import RemoteAuthError, parse_model_spec, request_key, retry_after_seconds
from tunewise.remote.errors import scrub
from tunewise.remote.labels import best_label, label_scores

TODAY = dt.date(2026, 11, 30)


def test_provider_spec_and_base_url_spec(monkeypatch):
    s = parse_model_spec("openai:gpt-4.1-mini")
    assert (s.model, s.base_url, s.api_key_env) == \
        ("gpt-4.1-mini", "https://api.openai.com/v1", "OPENAI_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123456")
    assert s.api_key() == "sk-secret-value-123456"
    assert "sk-secret" not in repr(s) and "sk-secret" not in str(s.to_dict())
    local = parse_model_spec("qwen", base_url="http://127.0.0.1:8000/v1/")
    assert local.base_url == "http://127.0.0.1:8000/v1" and local.provider is None
    monkeypatch.delenv("OPENAI_API_KEY")
    assert local.api_key() == "none"             # a keyless local server
    named = parse_model_spec("qwen", base_url="http://h:1/v1", api_key_env="VLLM_KEY")
    monkeypatch.delenv("VLLM_KEY", raising=False)
    with pytest.raises(RemoteAuthError, match="VLLM_KEY"):
        named.api_key()
    ft = parse_model_spec("openai:ft:gpt-4o-mini-2024-07-18:acme::abc")
    assert ft.model == "ft:gpt-4o-mini-2024-07-18:acme::abc"


@pytest.mark.parametrize("model, base_url", [("gpt-4.1-mini", None), ("", None),
                                             ("m", "ftp://host/v1"), ("m", "localhost:8000")])
def test_bad_specs_are_usage_errors(model, base_url):
    with pytest.raises(UsageError):
        parse_model_spec(model, base_url=base_url)


def test_scrub_hides_the_key_and_pieces_of_it():
    key = "sk-proj-ABCDEFGHIJKLMNOP1234"
    said = f"Incorrect API key provided: sk-proj-ABCD****1234 (full {key}); {key[5:20]}"
    out = scrub(said, key)
    assert key not in out and key[5:20] not in out and "Incorrect API key" in out


def test_retry_after_seconds_ms_and_http_date():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after_seconds({"retry-after": when}) <= 31
    assert retry_after_seconds({}) is None and retry_after_seconds({"retry-after": "soon"}) is None


def test_label_scores_from_first_token_alternatives():
    alts = [(" Positive", -0.2), ("pos", -2.0), ("neg", -1.5), ("The", -3.0)]
    s = label_scores(alts, ["negative", "positive", "neutral"])
    assert s["neutral"] is None and s["negative"] == pytest.approx(-1.5)
    assert s["positive"] > -0.2                     # both spellings add up
    assert best_label(s) == "positive"
    # labels sharing their first token cannot be told apart: the generated text decides
    tie = label_scores([("very", -0.1)], ["very good", "very bad"])
    assert best_label(tie) is None and best_label({"a": None, "b": None}) is None


def test_request_key_depends_on_url_model_and_request():
    r = {"messages": [{"role": "user", "content": "x"}], "temperature": 0}
    k = request_key("http://a/v1", "m", r)
    assert k == request_key("http://a/v1/", "m", dict(reversed(list(r.items()))))
    assert k != request_key("http://b/v1", "m", r) != request_key("http://a/v1", "n", r)
    assert k != request_key("http://a/v1", "m", {**r, "temperature": 1})


def test_remote_prices_base_and_fine_tune():
    base = remote_price("openai:gpt-4.1-mini")
    assert (base.input, base.output, base.fine_tune) == (0.40, 1.60, False)
    ft = remote_price("ft:gpt-4o-mini-2024-07-18:acme::abc")
    assert (ft.input, ft.output, ft.fine_tune) == (0.30, 1.20, True)
    assert remote_price("my-local-model") is None
    assert base.cost(1_000_000, 500_000) == pytest.approx(0.40 + 0.80)


def test_retirement_warnings_within_90_days():
    w = retirement_warnings("openai:gpt-4o-mini", today=TODAY)
    assert len(w) == 2
    assert "retires on 2027-01-14, in 45 days" in w[0]
    assert "new fine-tuning jobs on gpt-4o-mini-2024-07-18 end on 2027-01-06, in 37 days" in w[1]
    ft = retirement_warnings("ft:gpt-4.1-mini-2025-04-14:acme::x", today=TODAY)
    assert "(and its fine-tunes) retires" in ft[0] and "cannot be retrained" in ft[1]
    assert retirement_warnings("gpt-4.1", today=dt.date(2026, 6, 1)) == []     # 227 days away
    assert "retired on 2027-01-14, 17 days ago" in \
        retirement_warnings("gpt-4o", today=dt.date(2027, 1, 31))[0]
    assert retirement_warnings("my-local-model", today=TODAY) == []
    # a model only prompted (no fine-tuning route): one warning, naming the replacement
    mini = retirement_warnings("openai:gpt-5-mini", today=TODAY)
    assert len(mini) == 1 and "gpt-5-mini-2025-08-07 retires on 2026-12-11, in 11 days" in mini[0]
    assert "replacement named by the provider: gpt-6.1-terra" in mini[0]
    assert "developers.openai.com/api/docs/deprecations" in mini[0]


def test_from_options_prices_a_hosted_model_from_the_table(tmp_path):
    """evaluate()/tunewise eval on `openai:MODEL` find its price themselves; a local server's
    model is not priced (it is not billed)."""
    from tunewise.evaluation.arms.remote import RemoteArm
    from tunewise.evaluation.evaluator import EvalOptions
    hosted = RemoteArm.from_options(EvalOptions(model="openai:gpt-4o-mini",
                                                cache_dir=str(tmp_path)))
    assert hosted.price is not None and hosted.price.input > 0
    local = RemoteArm.from_options(EvalOptions(model="gpt-4o-mini",
                                               base_url="http://127.0.0.1:9/v1",
                                               cache_dir=str(tmp_path)))
    assert local.price is None
