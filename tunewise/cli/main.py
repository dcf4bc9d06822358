"""Entry point: ``tunewise <command>``. Renders TunewiseError without a traceback.

Exit codes: 0 ok, 1 problems found (data problems, failed run), 2 usage error, unreadable input or
an output that cannot be written (disk full, file-size limit, read-only folder: the message names
the path, the reason and a fix; a previous file there is left intact), 3 internal error (a bug:
please report it; TUNEWISE_DEBUG=1 shows the traceback), 130 interrupted.
"""
from __future__ import annotations

import os
import sys

import click

from tunewise.version import __version__
from tunewise.errors import TunewiseError


#: command name -> the module under tunewise.cli that registers it (one file per command group).
#: Imported on first use: ``tunewise data check`` need not import torch, the evaluation arms
#: or the server (a command's module imports what it needs).
COMMAND_MODULES = {"data": "data", "eval": "eval", "train": "train", "runs": "runs",
                   "cost": "cost", "compare": "compare", "serve": "serve", "export": "export",
                   "doctor": "doctor"}


class LazyGroup(click.Group):
    """A click group whose commands are imported when named (click's documented lazy-loading
    pattern): ``list_commands`` knows every name, ``get_command`` imports the one asked for."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx, name):
        if name not in self.commands and name in COMMAND_MODULES:
            import importlib
            importlib.import_module(f"tunewise.cli.{COMMAND_MODULES[name]}").register(self)
        return self.commands.get(name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tunewise")
def app():
    """Should you fine-tune or is prompting enough? Measure it on your own task and data.

    \b
    tunewise data check FILE      validate a dataset
    tunewise eval --data FILE     prompting / classical / fine-tuned arm on a split
    tunewise train --train FILE   fine-tune (LoRA or full) with answer-only loss
    tunewise compare CONFIG.yaml  learning curve vs prompting, cost, recommendation
    """


def _register() -> None:
    """Import and add every command now (``main`` leaves it to ``LazyGroup``; a caller that
    walks ``app.commands`` wants them all)."""
    for name in COMMAND_MODULES:
        app.get_command(None, name)


def main(argv: list[str] | None = None) -> None:
    from tunewise.cli.output import err_console, render_error, safe
    import signal
    if hasattr(signal, "SIGXFSZ"):
        # past a file-size limit (ulimit -f) a write then fails with EFBIG, which is reported
        # with the path, instead of the process being killed by the signal without a word
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    code = 0
    try:
        rv = app.main(args=argv, prog_name="tunewise", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.exceptions.Abort:
        err_console.print("aborted")
        code = 130
    except click.ClickException as e:
        e.show()
        code = 2
    except TunewiseError as e:
        render_error(e)
        code = e.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        code = 130
    except BrokenPipeError:
        code = 0
    except OSError as e:
        if os.environ.get("TUNEWISE_DEBUG"):
            raise
        # a file-system failure no command anticipated: still the path, the reason and a fix
        from tunewise.outputs_guard import os_error_message
        err_console.print(f"[bold red]error:[/] {safe(os_error_message(e))}")
        err_console.print("[yellow]fix:[/] check the path, free space and permissions, then retry")
        code = 2
    except Exception as e:  # a bug: say so, in words
        if os.environ.get("TUNEWISE_DEBUG"):
            raise
        from tunewise.models.device import is_out_of_memory
        if is_out_of_memory(e):     # a model or batch too big for the device: not a bug
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            err_console.print(f"[bold red]error:[/] out of memory: {safe(first)}")
            err_console.print("[yellow]fix:[/] a smaller batch (--batch-size, or --batch-size auto "
                              "for train), --gradient-checkpointing true, --quantize 4bit (CUDA), "
                              "a shorter --max-length, or a smaller model")
            sys.exit(1)
        err_console.print(f"[bold red]internal error:[/] {safe(type(e).__name__)}: {safe(str(e))}")
        err_console.print("this is a bug in tunewise; rerun with TUNEWISE_DEBUG=1 for the traceback")
        code = 3
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
