"""`tunewise eval` / `tunewise cost` on remote models, through the CLI (subprocesses) and over real
HTTP against `tunewise serve`: the remote arm's accuracy equals local `tunewise eval` on the same
model, a rerun sends nothing, `--json` carries usage and cost, and each failure (missing or wrong
key, unreachable host, unknown model, cost over `--max-cost`) is one clear message with its exit
code, no traceback and no key."""
from __future__ import annotations

import json

import pytest

from tests.remote_support import CountingApp
from tests.serve_support import Server, free_port, sentiment_examples, tiny_runs, write_chat
from tunewise.errors import UsageError
from tunewise.evaluation import EvalOptions, evaluate

EXAMPLES = sentiment_examples(30, seed=3, offset=500)
SERVER_KEY = "tw-right-key-0123456789abcdef"
WRONG_KEY = "sk-wrong-key-9876543210zyxwvuts"
#: a served name that is also a hosted model of the price table (priced, with retirement dates)
PRICED = "gpt-4o-mini"


#: gpt-4o-mini stays a hosted model that answers, whatever today's date (conftest)
pytestmark = pytest.mark.usefixtures("gpt_4o_mini_answering")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tiny_runs(tmp_path_factory.mktemp("remote-eval-runs"))


@pytest.fixture(scope="module")
def server(runs):
    from tunewise.serving import create_app
    app = CountingApp(create_app(model="tiny-random",
                                 adapters={"tiny-lora": str(runs["a"]), PRICED: str(runs["a"])}))
    with Server(app) as s:
        s.counter = app
        yield s


@pytest.fixture(scope="module")
def keyed_server():
    from tunewise.serving import create_app
    with Server(create_app(model="tiny-random", api_key=SERVER_KEY)) as s:
        yield s


@pytest.fixture(scope="module")
def test_file(tmp_path_factory):
    return write_chat(tmp_path_factory.mktemp("remote-eval-data") / "test.jsonl", EXAMPLES)


def failed(r, code: int) -> str:
    """stdout + stderr of a run that must fail with ``code``: one message, no traceback."""
    text = r.stdout + r.stderr
    assert r.returncode == code, text
    assert "Traceback" not in text
    assert text.count("error:") == 1, text
    return text


def test_remote_eval_equals_local_and_rerun_sends_nothing(cli, server, runs, test_file,
                                                          tmp_path):
    local = cli("eval", "--data", test_file, "--adapter", str(runs["a"]), "--json")
    assert local.returncode == 0, local.stderr
    loc = json.loads(local.stdout)
    # no --cache-dir: the cache lives under $TUNEWISE_HOME/remote-cache
    env = {"TUNEWISE_HOME": str(tmp_path / "home")}
    args = ("eval", "--data", test_file, "--model", "tiny-lora", "--base-url",
            server.url + "/v1", "--concurrency", "4", "--json")
    before = server.counter.count
    r = cli(*args, env=env)
    assert r.returncode == 0, r.stderr
    rem = json.loads(r.stdout)
    assert rem["arm"] == "remote" and rem["model"] == "tiny-lora" and rem["n"] == len(EXAMPLES)
    assert abs(rem["metrics"]["accuracy"]["value"] - loc["metrics"]["accuracy"]["value"]) <= 0.01
    assert rem["metrics"]["accuracy"]["ci"] is not None and "macro_f1" in rem["metrics"]
    assert server.counter.count - before == len(EXAMPLES)
    u = rem["usage"]
    assert u["requests"] == len(EXAMPLES) and u["cache_hits"] == 0 and u["retries"] == 0
    # the same Task prompts as the local arm: the server counted the same prompt tokens
    assert u["tokens_in"] == loc["timing"]["tokens_in"] and u["tokens_out"] > 0
    assert u["cost_usd"] is None                   # a local server's model has no price
    s = rem["settings"]
    assert s["base_url"] == server.url + "/v1" and s["shots"] == 0 and s["method"] == "auto"
    assert isinstance(rem["notes"], list)
    assert list((tmp_path / "home" / "remote-cache").rglob("*.json"))

    mark = server.counter.count
    again = cli(*args, env=env)
    assert again.returncode == 0, again.stderr
    assert server.counter.count == mark            # zero HTTP requests at the server
    a = json.loads(again.stdout)
    assert a["usage"]["requests"] == 0 and a["usage"]["cache_hits"] == len(EXAMPLES)
    assert a["metrics"] == rem["metrics"]

    human = cli(*args[:-1], env=env)
    assert human.returncode == 0, human.stderr
    assert "remote usage: 0 requests, 30 from the cache, 0 retries" in human.stdout
    assert "cost: unknown" in human.stdout and server.counter.count == mark


def test_priced_model_reports_cost_and_retirement(cli, server, test_file, tmp_path):
    # openai:NAME at another base URL: priced from the table, billed from the server's usage
    r = cli("eval", "--data", test_file, "--model", f"openai:{PRICED}", "--base-url",
            server.url + "/v1", "--cache-dir", str(tmp_path), "--limit", "8", "--json",
            env={"OPENAI_API_KEY": "sk-test-anything"})
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    u = d["usage"]
    price = u["price"]
    assert price["entry"].startswith(PRICED) and u["requests"] == 8
    assert u["cost_usd"] == pytest.approx((u["tokens_in"] * price["usd_per_1m_input"]
                                           + u["tokens_out"] * price["usd_per_1m_output"]) / 1e6)
    assert u["cost_usd"] > 0 and u["cost_usd_this_run"] == pytest.approx(u["cost_usd"])
    assert u["estimated_cost_usd"] >= u["cost_usd"] * 0.5
    # gpt-4o-mini has retirement dates in the table: within 90 days (or past) from 2026-10-16 on
    assert any("retire" in w for w in d["retirement_warnings"])
    assert "sk-test-anything" not in r.stdout + r.stderr
    human = cli("eval", "--data", test_file, "--model", f"openai:{PRICED}", "--base-url",
                server.url + "/v1", "--cache-dir", str(tmp_path), "--limit", "8",
                env={"OPENAI_API_KEY": "sk-test-anything"})
    assert human.returncode == 0, human.stderr
    assert "remote usage: 0 requests, 8 from the cache" in human.stdout
    assert "paid by this run" in human.stdout and "$0.00 paid" in human.stdout
    assert "warning:" in human.stdout and "retire" in human.stdout


def test_json_notes_unparseable_answers(cli, server, test_file, tmp_path):
    # the random base model puts no label among its top logprobs and answers blank lines
    r = cli("eval", "--data", test_file, "--model", "tiny-random", "--base-url",
            server.url + "/v1", "--cache-dir", str(tmp_path), "--limit", "6", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["usage"]["unparseable"] > 0
    assert any("6 of 6 answers were read from the generated text" in n for n in d["notes"])
    assert any("named no label (counted wrong)" in n for n in d["notes"])


def test_max_cost_refusal_names_the_estimate_and_the_flag(cli, server, test_file, tmp_path):
    before = server.counter.count
    r = cli("eval", "--data", test_file, "--model", f"openai:{PRICED}", "--base-url",
            server.url + "/v1", "--cache-dir", str(tmp_path), "--max-cost", "0.000001",
            env={"OPENAI_API_KEY": "sk-test-anything"})
    text = failed(r, 2)
    assert "estimated at $" in text and "--max-cost" in text and "max_cost_usd=$1e-06" in text
    assert server.counter.count == before          # refused before any request


def test_missing_key(cli, test_file, tmp_path):
    r = cli("eval", "--data", test_file, "--model", f"openai:{PRICED}", "--cache-dir",
            str(tmp_path), "--api-key-env", "TW_TEST_NO_SUCH_KEY")
    text = failed(r, 2)
    assert "TW_TEST_NO_SUCH_KEY is unset or empty" in text and "export TW_TEST_NO_SUCH_KEY" in text


def test_wrong_key_is_refused_and_never_shown(cli, keyed_server, test_file, tmp_path):
    r = cli("eval", "--data", test_file, "--model", "tiny-random", "--base-url",
            keyed_server.url + "/v1", "--api-key-env", "TW_TEST_KEY", "--cache-dir",
            str(tmp_path), env={"TW_TEST_KEY": WRONG_KEY})
    text = failed(r, 2)
    assert "HTTP 401" in text and "TW_TEST_KEY" in text
    assert WRONG_KEY not in text and WRONG_KEY[3:15] not in text


def test_unreachable_host(cli, test_file, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"       # nothing listens there
    r = cli("eval", "--data", test_file, "--model", "m", "--base-url", url, "--retries", "0",
            "--cache-dir", str(tmp_path))
    text = failed(r, 2)
    assert f"cannot connect to {url}" in text


def test_unknown_model(cli, server, test_file, tmp_path):
    r = cli("eval", "--data", test_file, "--model", "no-such-model", "--base-url",
            server.url + "/v1", "--cache-dir", str(tmp_path))
    text = failed(r, 2)
    assert "HTTP 404" in text and "'no-such-model'" in text and "tiny-lora" in text


def test_remote_flags_on_a_local_model_are_refused(cli, test_file):
    r = cli("eval", "--data", test_file, "--model", "tiny-random", "--scoring", "logprobs")
    text = failed(r, 2)
    assert "--scoring apply to remote models only" in text


def test_which_arm_a_model_name_means():
    assert EvalOptions(model="openai:gpt-4.1-mini").arm_kind() == "remote"
    assert EvalOptions(model="qwen", base_url="http://127.0.0.1:1/v1").arm_kind() == "remote"
    assert EvalOptions(model="tiny-random").arm_kind() == "prompt"
    assert EvalOptions(model="HuggingFaceTB/SmolLM2-135M-Instruct").arm_kind() == "prompt"
    assert EvalOptions(model="tiny-random", adapter="runs/a").arm_kind() == "finetuned"
    with pytest.raises(UsageError, match="a remote model takes none"):
        EvalOptions(model="openai:gpt-4.1-mini", adapter="runs/a").check()


def test_python_hosted_model_without_a_price_is_refused_before_any_request(tmp_path):
    """A hosted model is priced from the table by evaluate() itself; one the table does not
    know cannot have its cost limit checked, so it is refused before any request."""
    from tunewise.evaluation.arms.remote import RemoteArm
    from tunewise.evaluation.evaluator import EvalOptions
    priced = RemoteArm.from_options(EvalOptions(model="openai:gpt-4.1-mini", cache_dir=tmp_path))
    assert priced.price is not None
    with pytest.raises(UsageError) as e:
        evaluate(EXAMPLES, model="openai:gpt-7-unpriced", cache_dir=tmp_path, progress=False)
    assert "no price is known for openai:gpt-7-unpriced" in str(e.value)
    assert "TUNEWISE_PRICES" in e.value.fix and "--max-cost none" in e.value.fix


def test_cost_accepts_the_provider_prefix(cli, tmp_path):
    data = write_chat(tmp_path / "train.jsonl", sentiment_examples(12, seed=2))
    r = cli("cost", "--data", data, "--model", f"openai:{PRICED}", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    plain = json.loads(cli("cost", "--data", data, "--model", PRICED, "--json").stdout)
    assert d["model"] == plain["model"] and d["model"].startswith(PRICED)
    assert d["arms"] == plain["arms"]
    assert isinstance(d["retirement_warnings"], list)
    bad = cli("cost", "--data", data, "--model", "openai:gpt-9")
    text = failed(bad, 2)
    assert "no hosted model 'gpt-9'" in text
