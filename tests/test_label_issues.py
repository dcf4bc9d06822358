"""Label-issue finding: the confident-learning core against a hand-computed example, the public
API on data with planted label flips, and the CLI on inputs it cannot handle."""
from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest

from tunewise.data import confident_learning as cl

# 7 examples, 2 classes; p1 = probability of class 1 (p0 = 1 - p1)
LABELS = [0, 0, 0, 0, 1, 1, 1]
P1 = [0.1, 0.2, 0.9, 0.45, 0.8, 0.7, 0.3]
PROBS = np.array([[1 - p, p] for p in P1])


def test_thresholds_by_hand():
    # t0 = mean p0 over labels 0 = (.9 + .8 + .1 + .55) / 4; t1 = (.8 + .7 + .3) / 3
    t = cl.per_class_thresholds(LABELS, PROBS)
    assert t == pytest.approx([2.35 / 4, 0.6])


def test_confident_joint_by_hand():
    # ex0, ex1: p0 >= .5875 -> (0, 0); ex2: only p1 .9 >= .6 -> (0, 1);
    # ex3: p0 .55 < .5875 and p1 .45 < .6 -> not counted; ex4, ex5: (1, 1); ex6: p0 .7 -> (1, 0)
    cj = cl.confident_joint(LABELS, PROBS)
    assert cj.tolist() == [[2, 1], [1, 2]]


def test_calibrated_joint_and_noise_rate_by_hand():
    cj = np.array([[2, 1], [1, 2]])
    joint = cl.calibrate_joint(cj, [4, 3])
    # row 0 rescaled to 4 examples: [8/3, 4/3]; row 1 already sums to 3; total 7
    assert joint == pytest.approx(np.array([[8 / 21, 4 / 21], [3 / 21, 6 / 21]]))
    assert cl.noise_rates(joint) == pytest.approx([1 / 3, 1 / 3])


def test_prune_by_noise_rate_by_hand():
    res = cl.find_issues(LABELS, PROBS)
    # n * Q[0][1] = 7 * 4/21 = 1.33 -> 1 example labelled 0, largest p1 - p0: ex2 (0.8);
    # n * Q[1][0] = 7 * 3/21 = 1 -> 1 example labelled 1, largest p0 - p1: ex6 (0.4)
    assert sorted(res["flagged"].tolist()) == [2, 6]
    assert res["suggested"][2] == 1 and res["suggested"][6] == 0
    # ranked by self-confidence: ex2 has p(given) .1, ex6 .3
    assert res["flagged"].tolist() == [2, 6]


def test_never_flags_an_example_the_model_agrees_with():
    # a large noise estimate cannot flag examples whose most probable class is the given one
    labels = [0, 0, 0, 1, 1, 1]
    probs = np.array([[.9, .1], [.8, .2], [.6, .4], [.4, .6], [.3, .7], [.45, .55]])
    res = cl.find_issues(labels, probs)
    assert res["flagged"].tolist() == []


def test_rank_scores():
    probs = np.array([[.5, .3, .2], [.1, .2, .7]])
    assert cl.rank_scores([1, 0], probs).tolist() == pytest.approx([.3, .1])
    assert cl.rank_scores([1, 0], probs, "normalized_margin").tolist() == pytest.approx([-.2, -.6])


def test_unused_class_has_no_threshold():
    probs = np.array([[.9, .05, .05], [.8, .1, .1], [.1, .85, .05], [.2, .7, .1]])
    cj = cl.confident_joint([0, 0, 1, 1], probs)
    assert cj[:, 2].sum() == 0


# ----------------------------------------------------------------------------------------
def _planted(tmp_path, n_per_class=40, flip=6, seed=0):
    """A CSV whose classes are told apart by their words, with ``flip`` labels flipped."""
    rng = random.Random(seed)
    words = {"sport": ["match", "goal", "team", "league", "coach", "score", "player"],
             "cooking": ["recipe", "oven", "flour", "simmer", "garlic", "bake", "sauce"]}
    rows = []
    for lab, vocab in words.items():
        for _ in range(n_per_class):
            rows.append([" ".join(rng.choice(vocab) for _ in range(6)), lab])
    rng.shuffle(rows)
    flipped = set(rng.sample(range(len(rows)), flip))
    for i in flipped:
        rows[i][1] = "cooking" if rows[i][1] == "sport" else "sport"
    path = tmp_path / "planted.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path, {i + 2 for i in flipped}        # file lines: header is line 1


def test_find_label_issues_finds_planted_flips_with_file_lines(tmp_path):
    from tunewise.data import find_label_issues
    path, lines = _planted(tmp_path)
    res = find_label_issues(path, features="tfidf", progress=False)
    got = {s.line for s in res.suspects}
    assert got == lines
    assert res.n_flagged == len(lines) == len(res.suspects)
    for s in res.suspects:
        assert s.suggested != s.given and s.confidence > 0.5
    assert set(res.noise_rate) == {"cooking", "sport"}
    assert 0 < sum(res.noise_rate.values()) / 2 < 0.3
    top = find_label_issues(path, features="tfidf", top=2, progress=False)
    assert [s.line for s in top.suspects] == [s.line for s in res.suspects[:2]]
    assert top.n_flagged == res.n_flagged


def test_lm_features_path_runs_on_the_tiny_model(tmp_path, tiny):
    from tunewise.data import find_label_issues
    path, _ = _planted(tmp_path)
    res = find_label_issues(path, lm=tiny, features="lm+tfidf", progress=False)
    assert res.probabilities.shape == (80, 2)
    assert np.allclose(res.probabilities.sum(axis=1), 1.0)
    assert res.features == "lm+tfidf" and "features_seconds" in res.timing


def test_cli_json_shape(tmp_path, cli):
    path, lines = _planted(tmp_path)
    r = cli("data", "noise", str(path), "--features", "tfidf", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {s["line"] for s in out["suspects"]} == lines
    assert set(out["suspects"][0]) >= {"line", "given", "suggested", "confidence"}
    conf = [s["given_probability"] for s in out["suspects"]]
    assert conf == sorted(conf)                    # most suspicious first
    assert set(out["noise_rate"]) == {"cooking", "sport"}


def _write_csv(path, rows):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


@pytest.mark.parametrize("case,needle", [
    ("regression", "regression"),
    ("one_class", "one class"),
    ("five_rows", "too few"),
    ("generation", "classification data"),
])
def test_cli_bad_inputs_get_a_clear_message(tmp_path, cli, case, needle):
    rng = random.Random(1)
    if case == "regression":
        path = _write_csv(tmp_path / "prices.csv",
                          [[f"house {i} with {rng.randint(1, 5)} rooms", f"{rng.uniform(1, 9):.2f}"]
                           for i in range(60)])
    elif case == "one_class":
        path = _write_csv(tmp_path / "one.csv", [[f"text number {i}", "spam"] for i in range(30)])
    elif case == "five_rows":
        path = _write_csv(tmp_path / "five.csv",
                          [[f"text {i}", "a" if i % 2 else "b"] for i in range(5)])
    else:
        path = tmp_path / "gen.jsonl"
        path.write_text("".join(json.dumps({"messages": [
            {"role": "user", "content": f"Write a poem about {i}"},
            {"role": "assistant", "content": f"A long poem about the number {i}, " * 3}]}) + "\n"
            for i in range(30)))
    r = cli("data", "noise", str(path), "--features", "tfidf")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert needle in r.stderr.lower()
    assert str(path.name) in r.stderr


def test_embed_stops_at_the_middle_layer_with_the_same_features(tiny):
    import torch
    from tunewise.quality.text_features import embed_texts
    texts = ["a short one", "a somewhat longer text about cooking pasta", "goal!"]
    feats = embed_texts(texts, lm=tiny, bf16=False, progress=False)
    tok, net = tiny.tokenizer, tiny.model
    mid = net.config.num_hidden_layers // 2
    for i, t in enumerate(texts):
        ids = torch.tensor([tok(t, add_special_tokens=False)["input_ids"]])
        with torch.inference_mode():
            h = net(input_ids=ids, output_hidden_states=True).hidden_states[mid][0].float()
        want = torch.cat([h[-1], h.mean(0)]).numpy()
        assert np.allclose(feats[i], want, atol=1e-4)


def test_clean_drop_label_issues_logs_each_removal(tmp_path, cli):
    from tunewise.data import find_label_issues
    path, planted = _planted(tmp_path)
    flagged = {s.line for s in find_label_issues(path, model="tiny-random",
                                                 progress=False).suspects}
    assert len(flagged & planted) >= 4
    out, log = tmp_path / "clean.jsonl", tmp_path / "log.jsonl"
    r = cli("data", "clean", str(path), "-o", str(out), "--log", str(log),
            "--drop-label-issues", "--model", "tiny-random", "--near-dup-threshold", "2",
            "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    dropped = [e for e in entries if e.get("reason") == "label_issue"]
    assert {e["line"] for e in dropped} == flagged
    for e in dropped:
        assert e["action"] == "removed" and e["suggested"] != e["label"]
        assert 0.5 < e["confidence"] <= 1
    assert res["removed"].get("label_issue") == len(flagged)
    kept = out.read_text().splitlines()
    assert len(kept) + res["removed_rows"] == 80
