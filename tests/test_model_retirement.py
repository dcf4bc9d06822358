"""Hosted models past their shutdown day are refused before any request, naming the replacement
the provider gives and the page the date comes from (issue #21 part 3); prompted-only models
(no fine-tuning route) price their calls but refuse a hosted fine-tuning estimate."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.serve_support import sentiment_examples
from tunewise.cost.prices import load_prices
from tunewise.cost.retirement import ModelRetiredError, check_not_retired
from tunewise.data.formats.writers import write_chat_jsonl

TODAY = dt.date(2026, 12, 6)


def test_a_model_past_its_shutdown_is_refused_with_its_replacement():
    with pytest.raises(ModelRetiredError) as e:
        check_not_retired("openai:gpt-3.5-turbo", today=TODAY)
    assert "was shut down on 2026-10-23" in e.value.message
    assert "gpt-5.6-terra" in e.value.fix and e.value.exit_code == 2
    # a fine-tune of a shut-down base goes with it, and the fix says it does not move
    with pytest.raises(ModelRetiredError) as e:
        check_not_retired("ft:gpt-4.1-nano-2025-04-14:acme::x1", today=TODAY)
    assert "a fine-tune of gpt-4.1-nano-2025-04-14" in e.value.message
    assert "fine-tune anew" in e.value.fix


def test_models_before_their_shutdown_and_unknown_names_pass():
    check_not_retired("gpt-5-mini", today=TODAY)                  # retires 2026-12-11: warned
    check_not_retired("gpt-6-luna", today=TODAY)                  # no date announced
    check_not_retired("my-local-model", today=TODAY)
    # the day itself: the model no longer answers
    with pytest.raises(ModelRetiredError):
        check_not_retired("gpt-5-mini", today=dt.date(2026, 12, 11))
    with pytest.raises(ModelRetiredError) as e:
        check_not_retired("gpt-4o-mini", today=dt.date(2027, 1, 14))
    assert "gpt-6-luna" in e.value.fix


def test_a_user_price_file_can_move_a_date(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("models:\n  gpt-3.5-turbo-0125: {retires: '2027-06-01'}\n")
    check_not_retired("gpt-3.5-turbo", today=TODAY, prices=load_prices(f))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("retire-data")
    write_chat_jsonl(d / "train.jsonl", sentiment_examples(16, seed=1, offset=100))
    write_chat_jsonl(d / "test.jsonl", sentiment_examples(8, seed=2, offset=300))
    return d


def test_eval_refuses_a_shut_down_model_before_any_request(cli, data):
    # nothing listens on port 9: a request would fail differently (and no key is set)
    r = cli("eval", "--model", "openai:o4-mini", "--base-url", "http://127.0.0.1:9/v1",
            "--data", str(data / "test.jsonl"), "--task", "classification",
            env={"OPENAI_API_KEY": ""})
    text = r.stdout + r.stderr
    assert r.returncode == 2, text
    assert "Traceback" not in text and "shut down on 2026-10-23" in text
    assert "gpt-5.6-terra" in text


def test_compare_refuses_a_shut_down_remote_arm_before_any_arm_runs(data, tmp_path):
    from tunewise.comparison import compare
    cfg = {"data": {"train": str(data / "train.jsonl"), "test": str(data / "test.jsonl")},
           "task": {"kind": "classification"}, "model": {"name": "tiny-random"},
           "arms": {"classical": True, "zero_shot": False, "k_shot": [],
                    "fine_tune": False,
                    "remote": [{"model": "openai:gpt-3.5-turbo",
                                "base_url": "http://127.0.0.1:9/v1", "shots": 0}]}}
    with pytest.raises(ModelRetiredError) as e:
        compare(cfg, out=tmp_path / "out", say=lambda m: None, progress=False)
    assert "gpt-5.6-terra" in e.value.fix
    assert not list((tmp_path / "out").glob("arms/*.json"))       # no arm ran
    # the same name served by a local server is that server's own model: not refused
    cfg["arms"]["remote"][0]["model"] = "gpt-3.5-turbo"
    from tunewise.comparison.remote_arms import retirement_notes
    from tunewise.comparison.config import load_config
    retirement_notes(load_config(cfg), today=TODAY)                # does not raise


def test_cost_of_a_prompted_only_model_names_the_fine_tunable_ones(cli, data):
    r = cli("cost", "--data", str(data / "train.jsonl"), "--model", "gpt-6-luna")
    text = r.stdout + r.stderr
    assert r.returncode == 2 and "Traceback" not in text, text
    assert "no fine-tuning price" in text and "gpt-4.1-mini-2025-04-14" in text
    r = cli("cost", "--data", str(data / "train.jsonl"), "--model", "gpt-3.5-turbo")
    assert r.returncode == 2 and "shut down" in r.stdout + r.stderr
    # a fine-tunable model still answering (its shutdown moved out, so this holds after 2027-01-14)
    later = data / "later.yaml"
    later.write_text("models:\n  gpt-4.1-mini-2025-04-14: {retires: '2099-01-01'}\n")
    r = cli("cost", "--data", str(data / "train.jsonl"), "--model", "gpt-4.1-mini", "--json",
            env={"TUNEWISE_PRICES": str(later)})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["model"].startswith("gpt-4.1-mini")
