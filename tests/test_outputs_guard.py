"""Outputs never replace inputs: each careless command line of issue #8 (1-4) is refused with
exit 2, a message naming both paths and a fix, and every input byte-for-byte unchanged."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tunewise.errors import UsageError
from tunewise.outputs_guard import check_outputs, check_run_folder, same_file


def sha(p: Path) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def write_chat(path: Path, n: int = 24) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            lab = "positive" if i % 2 else "negative"
            fh.write(json.dumps({"messages": [
                {"role": "user", "content": f"a {'great' if i % 2 else 'dull'} film, take {i}"},
                {"role": "assistant", "content": lab}]}) + "\n")
    return path


def assert_refused(r, *paths):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert "inputs are never modified" in r.stderr or "would overwrite" in r.stderr \
        or "not a tunewise run" in r.stderr, r.stderr
    flat = " ".join(r.stderr.split())
    for p in paths:
        assert str(p) in flat, (p, r.stderr)
    assert "fix:" in r.stderr


# -- the rule itself ---------------------------------------------------------------------------
def test_same_file_follows_symlinks_and_hard_links(tmp_path):
    a = write_chat(tmp_path / "a.jsonl")
    (tmp_path / "link.jsonl").symlink_to(a)
    os.link(a, tmp_path / "hard.jsonl")
    assert same_file(a, tmp_path / "link.jsonl")
    assert same_file(a, tmp_path / "hard.jsonl")
    assert same_file(a, tmp_path / "sub" / ".." / "a.jsonl")
    assert not same_file(a, tmp_path / "b.jsonl")


def test_check_outputs_names_both_paths(tmp_path):
    a = write_chat(tmp_path / "a.jsonl")
    os.link(a, tmp_path / "hard.jsonl")
    with pytest.raises(UsageError) as e:
        check_outputs({"input": a}, {"output": tmp_path / "hard.jsonl"})
    assert str(a) in e.value.message and "hard.jsonl" in e.value.message
    check_outputs({"input": a}, {"output": tmp_path / "new.jsonl"})      # a new file is fine


def test_check_run_folder(tmp_path):
    data = write_chat(tmp_path / "d" / "train.jsonl")
    check_run_folder(tmp_path / "new", {"--train file": data})           # new folder: fine
    (tmp_path / "empty").mkdir()
    check_run_folder(tmp_path / "empty", {"--train file": data})         # empty folder: fine
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a tunewise run"):
        check_run_folder(tmp_path / "mine", {"--train file": data})
    with pytest.raises(UsageError, match="inside the run folder"):
        check_run_folder(tmp_path / "d", {"--train file": data})


# -- issue #8 cases 1-4 through the CLI --------------------------------------------------------
def test_1_clean_default_log_would_be_the_input(tmp_path, cli):
    src = write_chat(tmp_path / "X.log.jsonl")
    before = sha(src)
    r = cli("data", "clean", str(src), "-o", str(tmp_path / "X.jsonl"))
    assert_refused(r, src)
    assert "log" in r.stderr
    assert sha(src) == before
    assert not (tmp_path / "X.jsonl").exists()


def test_1b_clean_output_is_a_symlink_to_the_input(tmp_path, cli):
    src = write_chat(tmp_path / "data.jsonl")
    (tmp_path / "out.jsonl").symlink_to(src)
    before = sha(src)
    r = cli("data", "clean", str(src), "-o", str(tmp_path / "out.jsonl"))
    assert_refused(r, src)
    assert sha(src) == before


@pytest.mark.parametrize("name", ["train.jsonl", "val.jsonl", "test.jsonl", "manifest.json"])
def test_2_split_into_the_inputs_own_folder(tmp_path, cli, name):
    d = tmp_path / "DIR"
    src = write_chat(d / name, 40)
    before = sha(src)
    r = cli("data", "split", str(src), "-o", str(d))
    assert_refused(r, src)
    assert sha(src) == before
    assert sorted(p.name for p in d.iterdir()) == [name]


def test_2b_split_into_the_inputs_folder_is_fine_when_names_differ(tmp_path, cli):
    d = tmp_path / "DIR"
    src = write_chat(d / "all.jsonl", 40)
    before = sha(src)
    r = cli("data", "split", str(src), "-o", str(d), "--json")
    assert r.returncode == 0, r.stderr
    assert sha(src) == before
    assert (d / "train.jsonl").exists()


@pytest.mark.parametrize("which", ["--data", "--train", "--shots-from"])
def test_3_eval_out_is_an_input(tmp_path, cli, which):
    data = write_chat(tmp_path / "test.jsonl")
    train = write_chat(tmp_path / "train.jsonl", 30)
    shots = write_chat(tmp_path / "shots.jsonl", 10)
    target = {"--data": data, "--train": train, "--shots-from": shots}[which]
    sums = {p: sha(p) for p in (data, train, shots)}
    args = ["eval", "--data", str(data), "--out", str(target)]
    if which == "--shots-from":
        args += ["--shots", "2", "--shots-from", str(shots)]
    else:
        args += ["--arm", "classical", "--train", str(train)]
    r = cli(*args)
    assert_refused(r, target)
    assert {p: sha(p) for p in sums} == sums


def test_4_train_into_a_folder_of_the_users_files(tmp_path, cli):
    d = tmp_path / "DIR"
    data = write_chat(d / "data" / "train.jsonl", 24)
    cfg = d / "config.yaml"
    cfg.write_text("epochs: 1\n")
    sums = {p: sha(p) for p in (data, cfg)}
    r = cli("train", "--train", str(data), "--config", str(cfg), "--model", "tiny-random",
            "-o", str(d))
    assert_refused(r, d)
    assert {p: sha(p) for p in sums} == sums
    assert not (d / "run.json").exists()


def test_4b_train_into_a_non_empty_folder_that_is_not_a_run(tmp_path, cli):
    data = write_chat(tmp_path / "train.jsonl", 24)
    d = tmp_path / "results"
    d.mkdir()
    (d / "notes.md").write_text("my notes")
    r = cli("train", "--train", str(data), "--model", "tiny-random", "-o", str(d))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "not a tunewise run" in r.stderr and "notes.md" in r.stderr
    assert (d / "notes.md").read_text() == "my notes"
