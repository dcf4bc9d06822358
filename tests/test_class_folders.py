"""The class-folder format: FOLDER/<label>/*.txt read as classification data by every command."""
from __future__ import annotations

import json

import pytest

from tunewise.data import read
from tunewise.data.formats import resolve_format
from tunewise.errors import InputError


def _tree(root, files: dict[str, str]):
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def folder(tmp_path):
    files = {f"pos/p{i}.txt": f"a  fine\nfilm {i}" for i in range(6)}
    files.update({f"neg/n{i}.txt": f"a poor film {i}" for i in range(6)})
    files["neg/empty.txt"] = "  \n"
    files[".git/x.txt"] = "hidden folders are not classes"
    return _tree(tmp_path / "docs", files)


def test_folder_is_read_as_labelled_examples(folder):
    exs = read(folder)
    assert [(e.label, e.input) for e in exs] == (
        [("neg", f"a poor film {i}") for i in range(6)]
        + [("pos", f"a fine film {i}") for i in range(6)])
    assert exs[0].answer == "neg" and exs[0].source.endswith("n0.txt")
    assert resolve_format("folders").name == "folder"


def test_comparison_reader_is_the_data_format(folder):
    from tunewise.comparison.datasets import read_class_folders
    skipped: list = []
    exs = read_class_folders(folder, skipped=skipped)
    assert [e.input for e in exs] == [e.input for e in read(folder)]
    assert len(skipped) == 1 and skipped[0].endswith("empty.txt")


def test_data_check_accepts_a_folder(cli, folder):
    res = cli("data", "check", str(folder), "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    rep = json.loads(res.stdout)
    assert rep["format"] == "folder" and rep["n_examples"] == 12
    assert any(p["category"] == "empty_file" for p in rep["problems"])


def test_a_folder_without_class_folders_is_still_an_input_error(tmp_path, cli):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.txt").write_text("x")
    with pytest.raises(InputError):
        read(tmp_path / "flat")
    res = cli("data", "check", str(tmp_path / "flat"))
    assert res.returncode == 2
