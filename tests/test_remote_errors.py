"""Missing / invalid key, unreachable host, unknown model, a server without logprobs: each a
typed error with its documented exit code, a message naming what happened and a fix, rendered by
the CLI without a traceback, and never the key."""
from __future__ import annotations

import pytest

from tests.remote_support import CountingApp, FaultProxy
from tests.serve_support import Server, free_port, sentiment_examples
from tunewise.evaluation.arms.remote import RemoteArm
from tunewise.remote import (ClientOptions, RemoteAuthError, RemoteModelError,
                             RemoteNoLogprobsError, RemoteUnreachableError)
from tunewise.tasks import ClassificationTask

TASK = ClassificationTask(["negative", "positive"])
EXAMPLES = sentiment_examples(4, seed=6, offset=800)
SERVER_KEY = "tw-right-key-0123456789abcdef"
WRONG_KEY = "sk-wrong-key-9876543210zyxwvuts"
FAST = ClientOptions(concurrency=2, timeout_s=30, max_retries=1, backoff_s=0.01)


@pytest.fixture(scope="module")
def server():
    from tunewise.serving import create_app
    with Server(CountingApp(create_app(model="tiny-random"))) as s:
        yield s


@pytest.fixture(scope="module")
def keyed_server():
    from tunewise.serving import create_app
    with Server(create_app(model="tiny-random", api_key=SERVER_KEY)) as s:
        yield s


def shown(error, capfd) -> str:
    """What the CLI prints for ``error`` (its renderer, as ``tunewise`` uses it)."""
    from tunewise.cli.output import render_error
    capfd.readouterr()
    render_error(error)
    out = capfd.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return text


def arm(url, tmp_path, **kw):
    return RemoteArm(kw.pop("model", "tiny-random"), base_url=url + "/v1", cache_dir=tmp_path,
                     options=FAST, **kw)


def test_missing_key_for_the_openai_api(monkeypatch, tmp_path, capfd):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    a = RemoteArm("openai:gpt-4.1-mini", cache_dir=tmp_path, options=FAST)
    with pytest.raises(RemoteAuthError) as e:
        a.predict(TASK, EXAMPLES, progress=False)
    assert e.value.exit_code == 2
    assert "OPENAI_API_KEY" in shown(e.value, capfd) and "export OPENAI_API_KEY" in e.value.fix


def test_missing_key_in_a_named_variable(monkeypatch, keyed_server, tmp_path):
    monkeypatch.delenv("TW_TEST_REMOTE_KEY", raising=False)
    with pytest.raises(RemoteAuthError, match="TW_TEST_REMOTE_KEY is unset or empty"):
        arm(keyed_server.url, tmp_path, api_key_env="TW_TEST_REMOTE_KEY").predict(
            TASK, EXAMPLES, progress=False)


def test_invalid_key_is_refused_and_never_shown(monkeypatch, keyed_server, tmp_path, capfd):
    monkeypatch.setenv("TW_TEST_REMOTE_KEY", WRONG_KEY)
    a = arm(keyed_server.url, tmp_path, api_key_env="TW_TEST_REMOTE_KEY")
    with pytest.raises(RemoteAuthError) as e:
        a.predict(TASK, EXAMPLES, progress=False)
    text = shown(e.value, capfd)
    assert "HTTP 401" in text and "incorrect API key" in text and "TW_TEST_REMOTE_KEY" in text
    assert e.value.exit_code == 2
    for where in (text, repr(e.value), repr(a), repr(a.client), str(a.settings(TASK))):
        assert WRONG_KEY not in where and WRONG_KEY[3:15] not in where
    # the right key works, and is written nowhere: not in the cache, not in the results
    monkeypatch.setenv("TW_TEST_REMOTE_KEY", SERVER_KEY)
    result = arm(keyed_server.url, tmp_path, api_key_env="TW_TEST_REMOTE_KEY").predict(
        TASK, EXAMPLES, progress=False)
    assert result.usage["requests"] == len(EXAMPLES)
    files = [p.read_text() for p in tmp_path.rglob("*.json")]
    assert len(files) == len(EXAMPLES)
    assert not any(SERVER_KEY in f for f in files)
    assert SERVER_KEY not in repr(result)


def test_unreachable_host(tmp_path, capfd):
    url = f"http://127.0.0.1:{free_port()}"          # nothing listens there
    with pytest.raises(RemoteUnreachableError) as e:
        arm(url, tmp_path).predict(TASK, EXAMPLES, progress=False)
    text = shown(e.value, capfd)
    assert f"cannot connect to {url}/v1" in text and "connection refused" in text
    assert e.value.exit_code == 2 and "server is running" in e.value.fix


def test_unknown_model_names_the_served_ones(server, tmp_path, capfd):
    with pytest.raises(RemoteModelError) as e:
        arm(server.url, tmp_path, model="no-such-model").predict(TASK, EXAMPLES, progress=False)
    text = shown(e.value, capfd)
    assert "HTTP 404" in text and "'no-such-model'" in text and "the server lists: tiny-random" \
        in text
    assert e.value.exit_code == 2


@pytest.mark.parametrize("fault", ["no_logprobs", "refuse_logprobs"])
def test_server_without_logprobs(server, tmp_path, capfd, fault):
    with FaultProxy(server.url, lambda n: fault) as proxy:
        with pytest.raises(RemoteNoLogprobsError) as e:
            arm(proxy.url, tmp_path, scoring="logprobs").predict(TASK, EXAMPLES, progress=False)
        text = shown(e.value, capfd)
        assert "logprobs" in text and "scoring='generate'" in e.value.fix
        assert e.value.exit_code == 2
        # "auto" (the default) then asks for the label as a JSON-schema enum, which
        # `tunewise serve` answers (structured outputs), and says so
        result = arm(proxy.url, tmp_path).predict(TASK, EXAMPLES, progress=False)
    assert {p.extra["method"] for p in result.predictions} == {"structured"}
    assert any("gives no logprobs: labels were asked as a JSON-schema enum" in n
               for n in result.notes), result.notes
    assert len(result.predictions) == len(EXAMPLES)
