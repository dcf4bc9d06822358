"""Shared fixtures: the tiny random model, excerpts of real datasets shipped in tests/fixtures, a
CLI runner."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"

os.environ.setdefault("TUNEWISE_HOME", str(ROOT / ".cache" / "tunewise"))
os.environ["TUNEWISE_NO_PROGRESS"] = "1"
# training runs made by tests must not fill the user's run registry
import tempfile as _tempfile
os.environ["TUNEWISE_RUNS_DB"] = os.path.join(_tempfile.mkdtemp(prefix="tunewise-test-"), "runs.db")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# under pytest-xdist (`make test` runs a worker per core) each worker, and every CLI process it
# starts, uses one thread: two workers x two torch threads on two cores run slower than one
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"


#: small excerpts of the public datasets, shipped with the tests (sources, licences: README.md)
REAL = Path(__file__).parent / "fixtures" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """tests/fixtures/real: excerpts of public datasets (mr, wnut17, alpaca; sources and
    licences in its README.md) in their published layout, shipped so that the real-data tests
    run in a fresh clone."""
    return REAL


@pytest.fixture(scope="session")
def mr_reviews(real_data) -> list[tuple[str, str]]:
    """(label "0"/"1", text) of the 1,000 movie reviews (500 per class) in
    tests/fixtures/real/mr, in file order.

    The file is cp1252 and holds byte 0x85 (a line break to str.splitlines()): split on \\n only.
    """
    path = real_data / "mr" / "rt-polarity.sample"
    rows = []
    for line in path.read_bytes().decode("cp1252").split("\n"):
        lab, _, text = line.strip().partition(" ")
        if lab in ("0", "1") and text.strip():
            rows.append((lab, text.strip()))
    return rows


@pytest.fixture(scope="session")
def tiny():
    """The tiny random Llama with the real SmolLM2 tokenizer (LoadedModel)."""
    from tunewise.models import load_model
    return load_model("tiny-random")


@pytest.fixture(scope="session")
def tokenizer(tiny):
    return tiny.tokenizer


def run_cli(*args: str, cwd: str | os.PathLike | None = None, timeout: int = 600,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m tunewise ARGS`` in a subprocess (exit code, stdout, stderr)."""
    return subprocess.run([sys.executable, "-m", "tunewise", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def gpt_4o_mini_answering(monkeypatch, tmp_path_factory):
    """``TUNEWISE_PRICES`` set to a price file that keeps hosted gpt-4o-mini answering on any
    day (tests/remote_support.py): for tests about pricing, retries and secrets, which must not
    start failing on its shutdown (2027-01-14); the shipped dates are tested with fixed days."""
    from tests.remote_support import gpt_4o_mini_answering as price_file
    monkeypatch.setenv("TUNEWISE_PRICES", price_file(tmp_path_factory.mktemp("prices")))


@pytest.fixture
def cli():
    """``cli(*args, cwd=, timeout=, env=)`` -> CompletedProcess of ``tunewise ARGS``: run in this
    process (tests/cli_runner.py says what that keeps and what not), or as ``run_cli``'s
    subprocess when ``TUNEWISE_TEST_CLI=subprocess``. ``serve`` always runs as a subprocess: a
    server that starts by mistake (a bad flag accepted) must end at the timeout with
    ``TimeoutExpired``, not hold the test worker."""
    if os.environ.get("TUNEWISE_TEST_CLI") == "subprocess":
        return run_cli
    from tests.cli_runner import run_in_process

    def run(*args: str, cwd=None, timeout: int = 600, env: dict | None = None):
        if args[:1] == ("serve",):
            return run_cli(*args, cwd=cwd, timeout=timeout, env=env)
        return run_in_process(args, cwd=cwd, timeout=timeout, env=env)
    return run


def pytest_collection_modifyitems(config, items):
    """The tests marked ``slow`` (minutes on the real model) go first, in their collected order,
    the rest after them in theirs: with a worker per core (``make test``) a long test started
    last would leave the other worker idle until it ends (longest first is the usual cure for
    that tail). The order is a pure function of the collected items, so every xdist worker
    collects the same list, as xdist requires."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
