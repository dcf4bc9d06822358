"""Hardening of `data noise`, `compare --init` and prompt templates (the 2026-12-06 audit's
M6, M7, L10-L14): `--task` is obeyed, one class / few rows / numbers / singletons each get their
own message, seeds are checked, many classes stay bounded in words and JSON, the table stays
readable at 80 columns, and a path through a file is named as such."""
from __future__ import annotations

import json
import os
import random

import pytest


def _chat(path, rows):
    path.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": u}, {"role": "assistant", "content": a}]}) + "\n"
        for u, a in rows))
    return path


def _noise(cli, path, *extra, env=None):
    return cli("data", "noise", str(path), "--features", "tfidf", *extra)


@pytest.mark.parametrize("case,needle", [
    ("one_class", "every example is labelled 'positive'"),
    ("two_rows", "too few"),
    ("numeric", "regression"),
    ("singletons", "300 of 300 classes have a single example"),
])
def test_noise_on_chat_jsonl_names_the_real_problem(tmp_path, cli, case, needle):
    # before: every one of these said "this is generation data (N distinct answers)"
    rows = {"one_class": [(f"text {i}", "positive") for i in range(30)],
            "two_rows": [("good", "pos"), ("bad", "neg")],
            "numeric": [(f"house {i}", f"{1.5 * i}") for i in range(30)],
            "singletons": [(f"text {i}", f"label{i}") for i in range(300)]}[case]
    r = _noise(cli, _chat(tmp_path / f"{case}.jsonl", rows))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "generation data" not in r.stderr.split("(if")[0]
    assert needle in r.stderr
    assert len(r.stderr) < 2000          # the list of classes is cut, not 300 names


def test_noise_obeys_task_for_many_classes_with_compact_json(tmp_path, cli):
    rng = random.Random(0)
    words = [f"w{i}" for i in range(400)]
    rows = [(" ".join(rng.sample(words[5 * c:5 * c + 5], 3)) + f" row {j}", f"intent_{c}")
            for c in range(60) for j in range(2)]
    path = _chat(tmp_path / "intents.jsonl", rows)
    r = _noise(cli, path, "--task", "classification", "--json")
    assert r.returncode == 0, r.stderr     # before: "generation data (60 distinct answers)"
    out = json.loads(r.stdout)
    assert len(out["labels"]) == 60 and out["n_examples"] == 120
    # the confident joint without its zeros: far fewer than 60 x 60 numbers
    joint = out["confident_joint"]
    assert isinstance(joint, dict)
    assert sum(len(row) for row in joint.values()) <= 120
    assert sum(c for row in joint.values() for c in row.values()) <= 120
    assert len(r.stdout.splitlines()) < 60 * 60
    r = _noise(cli, path, "--task", "ner")
    assert r.returncode == 2 and "--task ner" in r.stderr


@pytest.mark.parametrize("seed", ["-1", "99999999999999"])
def test_noise_seed_out_of_range_is_a_usage_error(tmp_path, cli, seed):
    rows = [(f"good fun {i}" if i % 2 else f"bad dull {i}", "pos" if i % 2 else "neg")
            for i in range(40)]
    r = _noise(cli, _chat(tmp_path / "d.jsonl", rows), "--seed", seed)
    assert r.returncode == 2, r.stderr    # before: exit 3 "internal error: ValueError"
    assert "--seed" in r.stderr and "Traceback" not in r.stderr


def test_noise_table_is_readable_at_80_columns(tmp_path, cli):
    rng = random.Random(0)
    pos, neg = "great fun lovely superb".split(), "sad boring awful dull".split()
    rows = []
    for i in range(80):
        c = i % 2
        text = " ".join(rng.choice(pos if c else neg) for _ in range(8)) + " filler " * 10
        rows.append((text, ("enthusiastic" if c else "disappointed") if i % 10
                     else ("disappointed" if c else "enthusiastic")))
    deep = tmp_path / "a_rather_long_folder_name" / "and_another_one"
    deep.mkdir(parents=True)
    path = _chat(deep / "reviews.jsonl", rows)
    env = {**os.environ, "COLUMNS": "80"}
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "tunewise", "data", "noise", str(path),
                        "--features", "tfidf", "--top", "4"], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    table = [ln for ln in r.stdout.splitlines() if ln.startswith("│") and ln.strip("│ ")]
    suspects = [[c.strip() for c in ln.strip("│").split("│")] for ln in table]
    suspects = [cells for cells in suspects if len(cells) == 5 and cells[0]]
    assert len(suspects) == 4
    assert all(len(ln) <= 80 for ln in table)
    for cells in suspects:
        assert cells[0].isdigit()                       # the line number, whole
        assert {cells[1], cells[2]} == {"enthusiastic", "disappointed"}   # labels whole


def test_init_names_the_file_in_the_path_and_warns_about_missing_data(tmp_path, cli):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    r = cli("compare", "--init", str(blocker / "x.yaml"), "--data", str(blocker))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "File exists" not in r.stderr and "is a file, not a folder" in r.stderr
    r = cli("compare", "--init", str(tmp_path / "sub" / "x.yaml"), "--data", "nope.jsonl")
    assert r.returncode == 0, r.stderr
    assert "nope.jsonl does not exist" in r.stderr
    assert (tmp_path / "sub" / "x.yaml").exists()


def test_compare_says_when_one_class_data_becomes_generation(tmp_path, cli):
    _chat(tmp_path / "oneclass.jsonl", [(f"text number {i} here", "positive") for i in range(40)])
    (tmp_path / "one.yaml").write_text(
        "data: {path: oneclass.jsonl}\nmodel: {name: tiny-random}\n"
        "arms: {zero_shot: false, k_shot: [], fine_tune: {enabled: false}}\nn_resamples: 100\n")
    r = cli("compare", str(tmp_path / "one.yaml"), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "with one class there is nothing to classify" in r.stdout
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert any("one class" in w for w in results["warnings"])


@pytest.mark.parametrize("user", ["{input} {input.foo}", "{input} {input.__class__.__mro__}",
                                  "{input} {labels[0]}"])
def test_template_attribute_and_index_access_is_refused(user):
    from tunewise.errors import ConfigError
    from tunewise.tasks import make_task
    with pytest.raises(ConfigError, match="plain name"):
        # before: AttributeError (exit 3), or the attribute was rendered
        make_task("classification", labels=["neg", "pos"], template={"user": user})


def test_template_plain_fields_and_literal_braces_still_render():
    from tunewise.data.records import Example
    from tunewise.tasks import make_task
    task = make_task("classification", labels=["neg", "pos"],
                     template={"system": "One of: {labels}.", "user": "{{json}} {input}"})
    ex = Example.from_text("hi", "pos")
    assert task.render_user(ex) == "{json} hi"
    assert task.system_prompt() == "One of: neg, pos."
