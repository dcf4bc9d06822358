"""Run ``tunewise ARGS`` inside the test process, with what a subprocess would give the test.

Why: a CLI subprocess pays for importing torch, transformers, scikit-learn and the openai SDK
again (3-5 s on the 2-core machine) before it does anything; the suite starts ~150 of them.
In-process, each pytest worker imports them once. What stays the same as ``python -m tunewise``:
the entry point (``tunewise.cli.main.main``: the same error rendering and exit codes), the
environment (``env`` merged into ``os.environ`` for the call, then restored exactly), the working
folder (``cwd``), an empty stdin, stdout / stderr captured as text, not terminals, consoles made
under the call's environment, log records of WARNING and above on stderr. A call that
outlives ``timeout`` dumps every thread's stack and ends the worker (as ``subprocess.run``'s
timeout would end the test), so a hang cannot stall the suite.

What it cannot give: a fresh interpreter (a module that reads the environment at import time sees
the worker's), process-level output of C code or child processes (it goes to the worker's own
fds), signal handling, Python warnings printed on stderr (pytest records them). Tests about
those start ``python -m tunewise`` themselves (``tests.conftest.run_cli``). ``TUNEWISE_TEST_CLI=subprocess`` runs every ``cli`` call as a
subprocess again, to check the suite both ways.
"""
from __future__ import annotations

import contextlib
import faulthandler
import io
import os
import subprocess
import sys
import traceback


class _Captured(io.TextIOWrapper):
    """A text stream over bytes, like a pipe: not a terminal, no file descriptor."""

    def __init__(self, errors: str):
        super().__init__(io.BytesIO(), encoding="utf-8", errors=errors, write_through=True)

    def isatty(self) -> bool:
        return False

    def text(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode("utf-8", errors="replace")


@contextlib.contextmanager
def _environment(env: dict | None, cwd):
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    try:
        os.environ.update({k: str(v) for k, v in (env or {}).items()})
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


@contextlib.contextmanager
def _fresh_consoles():
    """The CLI's two consoles as a new interpreter would make them under the call's environment
    (rich fixes the width from ``COLUMNS`` when a console is created), put back afterwards."""
    from tunewise.cli import output
    consoles = (output.console, output.err_console)
    saved = [dict(c.__dict__) for c in consoles]
    try:
        for c in consoles:
            fresh = output.new_console(stderr=c.stderr)
            c.__dict__.clear()
            c.__dict__.update(fresh.__dict__)
        yield
    finally:
        for c, d in zip(consoles, saved):
            c.__dict__.clear()
            c.__dict__.update(d)


@contextlib.contextmanager
def _log_warnings_to(stream):
    """Log records of WARNING and above go to ``stream`` during the call: in a fresh process no
    handler is configured and logging's last resort prints them on stderr (here pytest's own
    handler on the root logger would take them instead)."""
    import logging
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)


def _torch_threads() -> int | None:
    """torch's intra-op threads if torch is imported (a command may change them), else None."""
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "get_num_threads"):
        return None
    return torch.get_num_threads()


def run_in_process(args: tuple[str, ...], *, cwd=None, timeout: int = 600,
                   env: dict | None = None) -> subprocess.CompletedProcess:
    from tunewise.cli.main import main
    out, err = _Captured("strict"), _Captured("backslashreplace")
    threads = _torch_threads()
    saved = sys.stdin, sys.stdout, sys.stderr
    code = 0
    faulthandler.dump_traceback_later(timeout, exit=True, file=sys.__stderr__)
    try:
        with _environment(env, cwd):
            sys.stdin, sys.stdout, sys.stderr = io.StringIO(""), out, err
            try:
                with _fresh_consoles(), _log_warnings_to(err):
                    main(list(args))
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if e.code is not None and not isinstance(e.code, int):
                    print(e.code, file=err)
            except KeyboardInterrupt:
                raise
            except BaseException:  # what the interpreter prints for an uncaught exception
                traceback.print_exc(file=err)
                code = 1
    finally:
        faulthandler.cancel_dump_traceback_later()
        sys.stdin, sys.stdout, sys.stderr = saved
        if threads is not None:
            sys.modules["torch"].set_num_threads(threads)
    return subprocess.CompletedProcess([sys.executable, "-m", "tunewise", *args], code,
                                       out.text(), err.text())
