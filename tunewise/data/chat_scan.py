"""The streaming fast path of ``check`` for chat JSONL.

Each line is decoded with msgspec into a strict schema (validated in C) and tested with a handful
of cheap conditions that together mean
"this line is a plainly valid chat example" (messages of system/user/assistant with non-empty
string content, optional name/weight done right, an assistant answer, no possible duplicate key,
no special-token text, label in the declared set, a length bound under the context). Such a line
can produce no problem except the summary tallies (missing system / user message), which the fast
path counts itself. Every other line goes through the full diagnosis (``openai_chat.to_example`` +
``ExampleChecker``), so the problems reported are the same as the slow path would give.

The file is read in blocks of whole lines; a large uncompressed file is split into byte ranges
checked by worker processes, whose problems are merged back with their line numbers shifted.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from tunewise.data.formats import openai_chat
from tunewise.data.formats.jsonrecords import BAD, diagnose_line
from tunewise.data.formats.options import ReadOptions
from tunewise.data.formats.problem_log import ProblemLog
from tunewise.data.formats.textio import InputFile, open_bytes

BLOCK = 8 << 20                  # bytes read at a time
PARALLEL_MIN_BYTES = 48 << 20    # smaller files are checked in this process


class _FastMessage(msgspec.Struct, forbid_unknown_fields=True):
    """A message the fast path accepts as is; anything else is diagnosed in full."""

    role: Literal["system", "user", "assistant"]
    content: Annotated[str, Meta(min_length=1)]
    name: str | UnsetType = UNSET
    weight: Literal[0, 1] | UnsetType = UNSET


class _FastRecord(msgspec.Struct, forbid_unknown_fields=True):
    messages: Annotated[list[_FastMessage], Meta(min_length=1)]
    label: Annotated[str, Meta(min_length=1)] | UnsetType = UNSET
    reference: str | UnsetType = UNSET


_DECODER = msgspec.json.Decoder(_FastRecord)


@dataclass
class ScanStats:
    n_records: int = 0
    n_examples: int = 0
    n_over_context: int = 0
    workers: int = 1


@dataclass
class _Settings:
    """Everything a worker needs to rebuild the checker (picklable)."""

    source: str
    task: str | None
    labels: tuple | None
    model: str | None
    count_tokens: bool
    keep_per_category: int
    #: model name -> token counter (a module-level function, so it pickles by name)
    token_counter: object = None


def _special_pattern(checker) -> re.Pattern:
    alts = [r"<\|[A-Za-z0-9_\-]{1,40}\|>"] + [re.escape(t) for t in checker.model_specials]
    return re.compile("|".join(alts))


class _Scanner:
    def __init__(self, opts: ReadOptions, log: ProblemLog, checker):
        self.opts = opts
        self.log = log
        self.checker = checker
        self.labels = checker.labels if checker.task in (None, "classification") else None
        self.special = _special_pattern(checker)
        counter = checker.counter
        self.counter = counter
        if counter is not None:
            self.ctx = counter.context_length
            self.per_msg = counter.per_message_overhead + 1
            self.per_conv = counter.per_conversation_overhead
        self.n_records = 0
        self.n_examples = 0
        self.no_system = 0
        self.no_system_lines: list[int] = []
        self.no_user = 0
        self.no_user_lines: list[int] = []

    def slow(self, raw: bytes, line: int) -> None:
        if not raw.strip():
            self.log.tally("blank_lines", line, message="{count} blank line(s) skipped",
                           fix="remove blank lines: some uploaders (OpenAI's) reject them")
            return
        self.n_records += 1
        obj = diagnose_line(raw, line, self.log)
        if obj is BAD:
            return
        ex = openai_chat.to_example(obj, line, self.opts, self.log)
        if ex is not None:
            self.n_examples += 1
            self.checker.check(ex)

    def scan(self, lines: list[bytes], first: int) -> None:
        decode = _DECODER.decode
        Invalid = (ValueError, RecursionError)   # msgspec errors, UnicodeDecodeError
        slow = self.slow
        special = self.special.search
        labels = self.labels
        counter = self.counter
        n_ok = 0
        for i, raw in enumerate(lines, first):
            try:
                rec = decode(raw)     # the schema checks types, roles, keys, non-empty content
            except Invalid:
                slow(raw, i)
                continue
            msgs = rec.messages
            has_a = has_u = has_s = lt = False
            last = None
            for m in msgs:
                r = m.role
                c = m.content
                if "<" in c:
                    lt = True
                if r == "assistant":
                    if c.isspace():
                        break
                    has_a = True
                    last = c
                elif r == "user":
                    has_u = True
                else:
                    has_s = True
            else:
                if not has_a:
                    slow(raw, i)
                    continue
                label = rec.label
                n_keys = 1 + 2 * len(msgs) + (label is not UNSET) + (rec.reference is not UNSET)
                # Duplicate keys: every key in the text is followed by one structural colon, so
                # colons >= keys in the text >= keys after decoding (duplicates collapse).
                n_colons = raw.count(b":")
                if n_colons != n_keys:
                    extra = 0     # names / weights present: count them, check weight placement
                    for m in msgs:
                        if m.name is not UNSET:
                            extra += 1
                        if m.weight is not UNSET:
                            extra += 1
                            if m.role != "assistant":
                                extra = -1_000_000
                    n_keys += extra
                    if n_colons != n_keys and (
                            raw.count(b'":') != n_keys or b'" :' in raw or b'"\t:' in raw
                            or b'"\r:' in raw):
                        slow(raw, i)   # colons in the text: count key-ending quotes instead
                        continue
                if (lt or (label is not UNSET and "<" in label)) and (
                        any(special(m.content) for m in msgs)
                        or (label is not UNSET and special(label))):
                    slow(raw, i)
                    continue
                if labels is not None and (label if label is not UNSET else last) not in labels:
                    slow(raw, i)
                    continue
                n_ok += 1
                if not has_s:
                    self.no_system += 1
                    if len(self.no_system_lines) < 20:
                        self.no_system_lines.append(i)
                if not has_u:
                    self.no_user += 1
                    if len(self.no_user_lines) < 20:
                        self.no_user_lines.append(i)
                if counter is not None and len(raw) + len(msgs) * self.per_msg + self.per_conv > self.ctx:
                    conv = [{"role": m.role, "content": m.content,
                             **({"name": m.name} if m.name is not UNSET else {})} for m in msgs]
                    self.checker.maybe_too_long(i, conv, len(raw))
                continue
            slow(raw, i)
        self.n_records += n_ok
        self.n_examples += n_ok

    def finish(self) -> None:
        self.checker.flush()
        self.log.tally_many("missing_system_message", self.no_system, self.no_system_lines,
                            message=openai_chat.MISSING_SYSTEM, fix=openai_chat.MISSING_SYSTEM_FIX)
        self.log.tally_many("missing_user_message", self.no_user, self.no_user_lines,
                            message=openai_chat.MISSING_USER, fix=openai_chat.MISSING_USER_FIX)


def _blocks(fh, first_strip_bom: bool = True):
    """Yield lists of complete lines (without b"\\n") read BLOCK bytes at a time."""
    tail = b""
    first = True
    while True:
        buf = fh.read(BLOCK)
        if not buf:
            if tail:
                yield [tail]
            return
        if first and first_strip_bom and buf.startswith(b"\xef\xbb\xbf"):
            buf = buf[3:]
        first = False
        buf = tail + buf
        cut = buf.rfind(b"\n")
        if cut < 0:
            tail = buf
            continue
        tail = buf[cut + 1:]
        yield buf[:cut].split(b"\n")


def _single(info: InputFile, opts, log, checker, advance) -> ScanStats:
    import gzip
    import zlib
    from tunewise.data.formats.textio import _corrupt
    sc = _Scanner(opts, log, checker)
    line = 1
    try:
        with open_bytes(info) as fh:
            for lines in _blocks(fh):
                sc.scan(lines, line)
                line += len(lines)
                advance(sum(map(len, lines)) + len(lines))
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise _corrupt(info, e) from None
    sc.finish()
    return ScanStats(sc.n_records, sc.n_examples, checker.n_over_context, 1)


# -- worker processes ------------------------------------------------------------------------------
def _worker_checker(st: _Settings, log: ProblemLog):
    from tunewise.data.example_checks import ExampleChecker
    counter = st.token_counter(st.model) if st.count_tokens and st.token_counter else None
    return ExampleChecker(log, task=st.task, labels=list(st.labels) if st.labels else None,
                          counter=counter)


def _scan_range(args) -> tuple[int, ProblemLog, int, int, int, int]:
    path, start, end, st = args
    log = ProblemLog(st.source, keep_per_category=st.keep_per_category)
    checker = _worker_checker(st, log)
    opts = ReadOptions(st.source, st.task)
    sc = _Scanner(opts, log, checker)
    with open(path, "rb") as fh:
        fh.seek(start)
        buf = fh.read(end - start)
    if start == 0 and buf.startswith(b"\xef\xbb\xbf"):
        buf = buf[3:]
    n_lines = buf.count(b"\n") + (0 if buf.endswith(b"\n") or not buf else 1)
    if buf.endswith(b"\n"):
        buf = buf[:-1]
    lines = buf.split(b"\n") if buf else []
    del buf
    sc.scan(lines, 1)
    sc.finish()
    return n_lines, log, sc.n_records, sc.n_examples, checker.n_over_context, end - start


def _ranges(path: str, size: int, n: int) -> list[tuple[int, int]]:
    step = max(size // n, 1)
    starts = [0]
    with open(path, "rb") as fh:
        for k in range(1, n):
            fh.seek(k * step)
            fh.readline()
            pos = fh.tell()
            if pos < size and pos > starts[-1]:
                starts.append(pos)
    ends = starts[1:] + [size]
    return list(zip(starts, ends))


def _parallel(info: InputFile, opts, log, checker, workers: int, advance,
              token_counter=None) -> ScanStats:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    path = os.path.expanduser(info.path)
    st = _Settings(opts.source, checker.task,
                   tuple(checker.label_list) if checker.label_list else None,
                   checker.counter.name if checker.counter is not None else None,
                   checker.counter is not None, log.keep_per_category, token_counter)
    n_chunks = max(workers * 4, info.size // (16 << 20))
    ranges = _ranges(path, info.size, n_chunks)
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    stats = ScanStats(workers=workers)
    offset = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        for n_lines, wlog, n_rec, n_ex, n_over, nbytes in ex.map(
                _scan_range, [(path, a, b, st) for a, b in ranges]):
            log.merge(wlog, line_offset=offset)
            offset += n_lines
            stats.n_records += n_rec
            stats.n_examples += n_ex
            stats.n_over_context += n_over
            advance(nbytes)
    return stats


def _auto_workers(info: InputFile) -> int:
    if info.gz or info.size < PARALLEL_MIN_BYTES:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:   # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def scan_chat_jsonl(info: InputFile, opts, log: ProblemLog, checker, *, workers: int | None = None,
                    progress: bool = True, token_counter=None) -> ScanStats:
    """Check every line of a chat JSONL file; problems go to ``log``. ``token_counter``: model
    name -> counter, for the worker processes to rebuild ``checker``'s counter."""
    from tunewise.progress import bar
    n = _auto_workers(info) if workers is None else max(1, workers)
    if info.gz:
        n = 1
    with bar(f"checking {info.name}", info.size if not info.gz else None,
             disable=not progress) as advance:
        if n == 1:
            return _single(info, opts, log, checker, advance)
        return _parallel(info, opts, log, checker, n, advance, token_counter)
