"""Typed errors. Library code raises these; the CLI renders them without a traceback.

Every message should say what is wrong, where (file, line, field) and how to fix it.
"""
from __future__ import annotations


class TunewiseError(Exception):
    """Base class for every error a user can act on."""

    #: process exit code the CLI uses for this error
    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message if not self.fix else f"{self.message}\n  fix: {self.fix}"


class UsageError(TunewiseError):
    """Bad arguments or an input that cannot be read at all (exit 2)."""

    exit_code = 2


class InputError(UsageError):
    """The input file cannot be opened or read (missing, a directory, binary, empty...)."""


class OutputError(UsageError):
    """An output file cannot be written (disk full, file-size limit, read-only or missing folder):
    exit 2, with the path, the operating system's reason and a fix. The previous file at that
    path, if any, is left as it was (outputs are written to a temporary file and renamed)."""

    def __init__(self, message: str, *, fix: str | None = None, path: str | None = None,
                 errno: int | None = None):
        super().__init__(message, fix=fix)
        self.path = path
        self.errno = errno


class ConfigError(TunewiseError):
    """A configuration file or option has invalid values; lists every problem at once."""

    exit_code = 2

    def __init__(self, problems: list[str] | str, *, source: str | None = None,
                 fix: str | None = None):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        head = f"invalid configuration{f' in {source}' if source else ''}"
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{head}:\n{body}", fix=fix or (
            f"correct the setting(s) named above{f' in {source}' if source else ''} "
            "(every problem found is listed) and run again"))


class DataError(TunewiseError):
    """The dataset has problems. ``problems`` holds every one found (see data.problems.Problem)."""

    exit_code = 1

    def __init__(self, message: str, problems: list | None = None, *, fix: str | None = None):
        super().__init__(message, fix=fix)
        self.problems = list(problems or [])


class ModelError(TunewiseError):
    """A model cannot be found, loaded or converted."""

    exit_code = 2


class UnknownNameError(UsageError):
    """A name looked up in a registry (format, task, model, price entry...) does not exist."""


class TrainingError(TunewiseError):
    """Training cannot start or continue (e.g. an answer truncated away, a corrupt checkpoint)."""

    exit_code = 1
