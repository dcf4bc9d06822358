"""The README is a front door and docs/ is a site that builds.

* ``mkdocs build --strict`` (mkdocs.yml) passes: no link to a missing page or anchor, no page left
  out of the nav;
* the README stays short (at most 250 lines) with ``make demo`` and ``make test`` in its first 40
  lines, and its links and picture point at files that exist;
* the "writing an arm" example in docs/arms.md runs as printed.

Every ``tunewise ...`` command of the README and docs is parsed by tests/test_doc_commands.py.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_README_LINES = 250
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def test_site_builds_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                        "--site-dir", str(tmp_path / "site")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stdout}\n{r.stderr}"
    assert (tmp_path / "site" / "index.html").is_file()


def test_readme_is_a_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines (at most {MAX_README_LINES}): move the detail into docs/")
    head = "\n".join(lines[:40])
    for cmd in ("make demo", "make test"):
        assert cmd in head, f"`{cmd}` is not in the README's first 40 lines"


def _anchors(md: Path) -> set[str]:
    """The heading ids mkdocs gives a page (Python-Markdown's toc slugify)."""
    from markdown.extensions.toc import slugify
    text = re.sub(r"```.*?```", "", md.read_text(encoding="utf-8"), flags=re.S)
    return {slugify(re.sub(r"[`*]", "", h), "-")
            for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, flags=re.M)}


def test_readme_links_point_at_files_that_exist():
    text = re.sub(r"```.*?```", "", README.read_text(encoding="utf-8"), flags=re.S)
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]
    assert any(t.startswith("docs/") for t in targets), "the README links to no docs page"
    for target in targets:
        path, _, anchor = target.partition("#")
        file = ROOT / path if path else README
        assert file.exists(), f"README links to {target}: no such file"
        if anchor:
            assert anchor in _anchors(file), f"README links to {target}: no such heading"


def test_readme_picture_is_small_and_real():
    text = README.read_text(encoding="utf-8")
    pictures = [t for t in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)
                if not re.match(r"[a-z]+:", t)]
    assert pictures, "the README shows no picture of the report"
    for pic in pictures:
        file = ROOT / pic
        assert file.is_file(), pic
        assert file.stat().st_size < 200_000, f"{pic}: {file.stat().st_size} bytes"


def test_writing_an_arm_example_runs(tmp_path):
    """docs/arms.md's EchoArm registers and answers through ``evaluate`` (a fresh process, so
    the toy kind never reaches the other tests' registry)."""
    block = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "arms.md").read_text("utf-8"),
                      flags=re.S).group(1)
    script = tmp_path / "echo_arm.py"
    script.write_text(block + "\nfrom tunewise.evaluation import evaluate\n"
                      f"r = evaluate({str(ROOT / 'tests' / 'data' / 'read_labels.csv')!r}, "
                      "arm='echo', progress=False)\n"
                      "print(r.metrics['accuracy'].value)\n", encoding="utf-8")
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "1.0"
