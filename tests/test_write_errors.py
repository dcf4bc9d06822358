"""Write failures for real (file-size limit, a full disk, a read-only folder, --out naming a
folder): exit 2 with the path, the operating system's reason and a fix; checked before long work
where it can be; a previous output survives intact and no temporary file is left behind."""
from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli


def write_chat(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            lab = "positive" if i % 2 else "negative"
            fh.write(json.dumps({"messages": [
                {"role": "user", "content": f"review number {i}: " + "words " * 30},
                {"role": "assistant", "content": lab}]}) + "\n")
    return path


def run_limited(args, fsize: int) -> subprocess.CompletedProcess:
    """``python -m tunewise ARGS`` with RLIMIT_FSIZE = ``fsize`` bytes (a write past it: EFBIG)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return subprocess.run([sys.executable, "-m", "tunewise", *args], text=True,
                          capture_output=True, timeout=300, preexec_fn=limit, env=dict(os.environ))


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def assert_write_error(r, *any_of: Path, reason: str):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    err = " ".join(r.stderr.split())
    assert any(str(p) in err for p in any_of), err
    assert reason in err, err
    assert "fix:" in err


def test_file_size_limit_efbig_keeps_the_previous_output(tmp_path):
    src = write_chat(tmp_path / "in.jsonl", 300)                   # ~70 KB
    out, log = tmp_path / "out" / "clean.jsonl", tmp_path / "out" / "clean.log.jsonl"
    out.parent.mkdir()
    out.write_text("previous output\n")
    log.write_text("previous log\n")
    r = run_limited(["data", "clean", str(src), "-o", str(out), "--near-dup-threshold", "2"],
                    fsize=4096)
    assert_write_error(r, out, log, reason="File too large")
    assert "ulimit" in r.stderr
    assert out.read_text() == "previous output\n"
    assert log.read_text() == "previous log\n"
    assert no_temp_files(out.parent)


def test_file_size_limit_on_split(tmp_path):
    src = write_chat(tmp_path / "in.jsonl", 300)
    r = run_limited(["data", "split", str(src), "-o", str(tmp_path / "s")], fsize=4096)
    assert_write_error(r, tmp_path / "s" / "train.jsonl", reason="File too large")
    assert no_temp_files(tmp_path / "s")


@contextlib.contextmanager
def mounted_tmpfs(where: Path, options: str):
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {r.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True)


def test_disk_full_enospc_keeps_the_previous_output(tmp_path):
    src = write_chat(tmp_path / "in.jsonl", 600)                   # ~140 KB
    with mounted_tmpfs(tmp_path / "small", "size=48k") as small:
        out = small / "clean.jsonl"
        out.write_text("previous output\n")
        r = run_cli("data", "clean", str(src), "-o", str(out), "--near-dup-threshold", "2")
        assert_write_error(r, out, small / "clean.log.jsonl", reason="No space left on device")
        assert "free space" in r.stderr
        assert out.read_text() == "previous output\n"
        assert no_temp_files(small)


def _read_only_folder(tmp_path: Path):
    """A folder this process cannot write to: a read-only mount as root (root ignores mode
    bits), mode 0555 otherwise."""
    if os.geteuid() == 0:
        return mounted_tmpfs(tmp_path / "ro", "ro,size=16k")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    return contextlib.nullcontext(d)


def test_read_only_folder_is_refused_before_the_work(tmp_path):
    data = write_chat(tmp_path / "test.jsonl", 20)
    train = write_chat(tmp_path / "train.jsonl", 40)
    with _read_only_folder(tmp_path) as ro:
        out = ro / "pred.jsonl"
        r = run_cli("eval", "--data", str(data), "--arm", "classical", "--train", str(train),
                    "--out", str(out))
        assert_write_error(r, out, reason="not writable")
        assert "accuracy" not in r.stdout            # refused before evaluating anything
        r = run_cli("data", "clean", str(data), "-o", str(ro / "c.jsonl"))
        assert_write_error(r, ro / "c.jsonl", reason="not writable")
        r = run_cli("train", "--train", str(train), "--model", "tiny-random",
                    "-o", str(ro / "run"))
        assert_write_error(r, ro, reason="not writable")


def test_out_naming_a_folder_is_refused_before_the_work(tmp_path):
    data = write_chat(tmp_path / "test.jsonl", 20)
    train = write_chat(tmp_path / "train.jsonl", 40)
    (tmp_path / "preds").mkdir()
    r = run_cli("eval", "--data", str(data), "--arm", "classical", "--train", str(train),
                "--out", str(tmp_path / "preds"))
    assert_write_error(r, tmp_path / "preds", reason="is a folder")
    assert "accuracy" not in r.stdout


def test_out_under_a_file_is_refused(tmp_path):
    data = write_chat(tmp_path / "test.jsonl", 20)
    r = run_cli("data", "clean", str(data), "-o", str(tmp_path / "test.jsonl" / "x.jsonl"))
    assert_write_error(r, tmp_path / "test.jsonl", reason="is a file, not a folder")
    assert data.stat().st_size > 0


def test_atomic_write_keeps_previous_file_on_failure(tmp_path, monkeypatch):
    import errno

    from tunewise.errors import OutputError
    from tunewise.fileio import atomic_write
    p = tmp_path / "f.txt"
    p.write_text("old")

    def full(fd):                       # the disk fills up when the data is flushed to it
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    import tunewise.fileio as fileio
    monkeypatch.setattr(fileio.os, "fsync", full)
    with pytest.raises(OutputError) as e:
        with atomic_write(p) as fh:
            fh.write("new")
    monkeypatch.undo()
    assert p.read_text() == "old"
    assert e.value.errno == errno.ENOSPC and str(p) in e.value.message
    assert no_temp_files(tmp_path)


def test_a_read_error_inside_atomic_write_is_not_reported_as_a_write_error(tmp_path):
    from tunewise.fileio import atomic_write
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(FileNotFoundError):
        with atomic_write(p) as fh:
            fh.write("new")
            open(tmp_path / "missing.jsonl")          # the input, not the output, fails
    assert p.read_text() == "old"
    assert no_temp_files(tmp_path)
