"""Every ``tunewise ...`` command shown in the README and the docs parses against the real CLI.

A reader copies these lines; a renamed command or a dropped flag must fail here, not on their
machine. The test takes every shell code block (```bash, ```sh, ```shell, ```console) of README.md
and docs/*.md, joins backslash continuations, and for each line that runs tunewise
(``tunewise ...``, ``python -m tunewise ...``, ``torchrun ... -m tunewise ...``) walks
``tunewise.cli.main.app`` to the named command and lets click parse the arguments
(``make_context``): the command path exists, every option is one of that command's options, its
value converts, and no argument is left over. Nothing runs. A line whose trailing comment says
``needs a GPU`` or ``needs network`` is still parsed (its flags must exist); it only marks that the
suite cannot run it.

Commands named in prose (inline code such as ``tunewise data clean FILE -o OUT [--log LOG]``) hold
placeholders, so for them the command path must exist and every ``--flag`` must be one of its
options.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHELL_LANGS = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def shell_blocks(text: str):
    """(first line number, lines) of every shell code block in a Markdown text."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(2), m.group(3).lower()
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        if lang in SHELL_LANGS:
            yield i + 2, lines[i + 1:j]
        i = j + 1


def logical_lines(first: int, lines: list[str]):
    """(line number, text) with backslash continuations joined."""
    buf, start = "", first
    for k, line in enumerate(lines):
        if not buf:
            start = first + k
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        yield start, buf + line
        buf = ""
    if buf:
        yield start, buf


def tunewise_args(line: str) -> list[str] | None:
    """The arguments after ``tunewise`` (or ``-m tunewise``) on a shell line, else None."""
    text = line.strip()
    if text.startswith("$ "):
        text = text[2:]
    try:
        words = shlex.split(text, comments=True)
    except ValueError:
        return None
    if words and words[0] == "tunewise":
        return words[1:]
    for k in range(len(words) - 1):
        if words[k] == "-m" and words[k + 1] == "tunewise":
            return words[k + 2:]
    return None


def doc_commands():
    out = []
    for path in doc_files():
        for first, block in shell_blocks(path.read_text(encoding="utf-8")):
            for lineno, line in logical_lines(first, block):
                args = tunewise_args(line)
                if args is not None:
                    out.append(pytest.param(args, id=f"{path.relative_to(ROOT)}:{lineno}"))
    return out


def inline_commands():
    """Inline code spans of the prose that start with ``tunewise `` (synopses and mentions)."""
    out = []
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        prose = re.sub(r"^\s*(`{3,}|~{3,}).*?^\s*\1", "", text, flags=re.S | re.M)
        for span in sorted(set(re.findall(r"`(tunewise [^`]+)`", prose))):
            words = span.replace("[", " ").replace("]", " ").replace("...", " ").split()
            out.append(pytest.param(words[1:], id=f"{path.relative_to(ROOT)}:{span}"))
    return out


COMMANDS = doc_commands()
INLINE = inline_commands()


def _app() -> click.Group:
    from tunewise.cli import main
    main._register()
    return main.app


def test_the_docs_show_commands():
    """The extraction itself works: the README and docs show dozens of commands."""
    assert len(COMMANDS) >= 40, len(COMMANDS)
    names = {tuple(p.values[0][:1]) for p in COMMANDS}
    for cmd in ("data", "eval", "train", "compare", "cost", "serve", "export"):
        assert (cmd,) in names, f"no `tunewise {cmd}` example in the README or docs"


def _resolve(args: list[str]):
    """(context of the deepest group, command, command path, remaining args)."""
    app = _app()
    ctx = app.make_context("tunewise", [], resilient_parsing=True)
    cmd: click.Command = app
    rest = list(args)
    path = ["tunewise"]
    while isinstance(cmd, click.Group) and rest and not rest[0].startswith("-"):
        sub = cmd.get_command(ctx, rest[0])
        assert sub is not None, f"`{' '.join(path)}` has no command {rest[0]!r}"
        path.append(rest.pop(0))
        if isinstance(sub, click.Group):
            ctx = sub.make_context(path[-1], [], parent=ctx, resilient_parsing=True)
        cmd = sub
    return ctx, cmd, path, rest


@pytest.mark.parametrize("args", COMMANDS)
def test_doc_command_parses(args):
    ctx, cmd, path, rest = _resolve(args)
    if "--help" in rest or "-h" in rest:
        return
    parent = ctx.parent if ctx.command is cmd else ctx
    try:
        parsed = cmd.make_context(path[-1], list(rest), parent=parent)
    except click.UsageError as e:  # unknown option, missing value, bad value, extra argument
        pytest.fail(f"`{' '.join(path)} {shlex.join(rest)}` does not parse: {e.format_message()}")
    assert not parsed.args, f"`{' '.join(path)}`: arguments left over: {parsed.args}"


@pytest.mark.parametrize("args", INLINE)
def test_doc_inline_command_flags_exist(args):
    _, cmd, path, rest = _resolve([w.split("|")[0] for w in args])
    known = {"--help", "-h"}
    for param in cmd.params:
        if isinstance(param, click.Option):
            known.update(param.opts, param.secondary_opts)
    for word in rest:
        flag = word.split("=")[0]
        if flag.startswith("-") and len(flag) > 1 and not flag[1:2].isdigit():
            assert flag in known, f"`{' '.join(path)}` has no option {flag}"
