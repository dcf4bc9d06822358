"""Opening input files safely: ``.gz`` transparently, encoding detection, unreadable inputs.

- A missing path, a directory, an unreadable, binary or empty file raises ``UnreadableInput``
  (an ``InputError``, exit code 2) naming the file and the fix.
- Encoding: a BOM wins (UTF-8, UTF-16, UTF-32); otherwise UTF-8 if the whole file decodes, else
  Windows-1252 (cp1252; the five bytes cp1252 leaves undefined are read as latin-1), reported as a
  warning with the first line that is not UTF-8.
- Lines are split on ``\\n`` only (``\\r\\n`` is handled by the readers): never ``str.splitlines``,
  which also splits on U+0085, U+2028 and friends that occur inside real text (cp1252 byte 0x85).
"""
from __future__ import annotations

import codecs
import gzip
import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from tunewise.data.problems import ERROR, Problem
from tunewise.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
CHUNK = 1 << 20
#: what the cp1252 fallback is called in messages, and the codec that implements it
CP1252 = "cp1252"
_CP1252_CODEC = "sloppy-windows-1252"

_BOMS = [  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
]

_MAGIC = [
    (b"PK\x03\x04", "a ZIP archive (an .xlsx/.docx file or a .zip)",
     "export the sheet as CSV (File > Save as > CSV UTF-8) or unzip it"),
    (b"%PDF", "a PDF document", "extract the text into a CSV or JSONL file"),
    (b"\x89PNG", "a PNG image", "pass the dataset file, not an image"),
    (b"\xff\xd8\xff", "a JPEG image", "pass the dataset file, not an image"),
    (b"GIF8", "a GIF image", "pass the dataset file, not an image"),
    (b"PAR1", "a Parquet file",
     "convert it: pandas.read_parquet(f).to_json('out.jsonl', orient='records', lines=True)"),
    (b"\x7fELF", "an executable program", "pass the dataset file"),
    (b"SQLite format 3\x00", "a SQLite database", "export the table as CSV or JSONL"),
    (b"BZh", "a bzip2 archive", "decompress it first (bunzip2) or recompress with gzip"),
    (b"\xfd7zXZ\x00", "an xz archive", "decompress it first (unxz) or recompress with gzip"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive", "decompress it first (unzstd) or recompress with gzip"),
    (b"\x80\x04\x95", "a Python pickle", "save the data as JSONL instead (never load untrusted pickles)"),
    (b"\x93NUMPY", "a NumPy array file", "save the data as CSV or JSONL"),
]


class UnreadableInput(InputError):
    """The input cannot be read at all (exit 2). ``category`` is a stable machine name."""

    def __init__(self, path: str, category: str, message: str, fix: str):
        super().__init__(f"{path}: {message}", fix=fix)
        self.path = path
        self.category = category
        self.detail = message

    def problem(self) -> Problem:
        return Problem(ERROR, self.category, self.detail, self.fix or "", self.path)


@dataclass
class InputFile:
    """What we learned about an input file before reading it."""

    path: str           # the path as the user gave it (used in every message)
    gz: bool            # gzip-compressed (by content, whatever the name)
    size: int           # bytes on disk
    head: bytes         # the first bytes of the (decompressed) content, BOM included
    bom_encoding: str | None = None   # codec named by a byte-order mark, if any

    @property
    def bare_cr(self) -> bool:
        """Lines end in a bare carriage return (classic Mac OS, some spreadsheet exports): the
        head holds "\\r" and no "\\n"."""
        return b"\r" in self.head and b"\n" not in self.head

    @property
    def name(self) -> str:
        """File name without a trailing .gz (for extension-based format detection)."""
        n = Path(self.path).name
        return n[:-3] if n.lower().endswith(".gz") else n

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix.lower()


def _dir_hint(p: Path) -> str:
    try:
        files = sorted(x.name for x in p.iterdir() if x.is_file() and not x.name.startswith("."))
    except OSError:
        files = []
    data = [f for f in files if Path(f.removesuffix(".gz")).suffix.lower() in
            (".jsonl", ".json", ".csv", ".tsv", ".conll", ".txt", ".ndjson", ".iob")]
    if data:
        return f"pass a file, not a folder; data files in it: {', '.join(data[:5])}"
    return "pass a data file (JSONL, JSON, CSV/TSV or CoNLL), not a folder"


def _link_problem(p: Path) -> tuple[str, str, str] | None:
    """Why a path that does not resolve fails, when a symbolic link is the reason: a loop of
    links, or a link to a missing target. None when the path is simply absent."""
    import errno
    try:
        os.stat(p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return ("symlink_loop", "is a loop of symbolic links (a link that points back to itself)",
                    f"point the link at the real file (ls -l {p} shows where it points)")
    for link in (p, *p.parents):
        if link.is_symlink() and not link.exists():
            target = os.readlink(link)
            where = "" if link == p else f" ({link} is part of the path)"
            return ("broken_symlink", f"is a symbolic link to {target}, which does not exist{where}",
                    "fix the link or pass the real file")
    return None


def inspect(path: str | os.PathLike) -> InputFile:
    """Check that ``path`` is a readable, non-empty text file; raise UnreadableInput if not."""
    shown = os.fspath(path)
    p = Path(shown).expanduser()
    if not p.exists() and _link_problem(p):
        category, message, hint = _link_problem(p)
        raise UnreadableInput(shown, category, message, hint)
    if not p.exists():
        hint = "check the path"
        if p.parent.is_dir():
            import difflib
            close = difflib.get_close_matches(p.name, [x.name for x in p.parent.iterdir()], n=3)
            if close:
                hint += f"; did you mean {' or '.join(close)}?"
        raise UnreadableInput(shown, "not_found", "no such file", hint)
    if p.is_dir():
        raise UnreadableInput(shown, "is_directory", "is a directory, not a file", _dir_hint(p))
    if not p.is_file():
        raise UnreadableInput(shown, "not_a_file", "is not a regular file (a device or a pipe?)",
                              "save the data to a regular file first")
    try:
        with open(p, "rb") as fh:
            raw_head = fh.read(HEAD_BYTES)
    except PermissionError:
        raise UnreadableInput(shown, "permission_denied", "permission denied",
                              "make the file readable (chmod +r) or copy it somewhere readable") from None
    except OSError as e:
        raise UnreadableInput(shown, "unreadable", f"cannot be read ({e.strerror or e})",
                              "check the file and the disk") from None
    size = p.stat().st_size
    gz = raw_head[:2] == GZIP_MAGIC
    head = raw_head
    if gz:
        try:
            with gzip.open(p, "rb") as fh:
                head = fh.read(HEAD_BYTES)
        except (OSError, EOFError, zlib.error) as e:
            raise UnreadableInput(shown, "corrupt_gzip", f"is not a valid gzip file ({e})",
                                  "recompress it with gzip, or pass the uncompressed file") from None
    info = InputFile(shown, gz, size, head)
    if not head.strip():
        what = "is empty (0 bytes)" if not head else "contains only whitespace"
        raise UnreadableInput(shown, "empty_file", what,
                              "pass the file that holds your examples (one per line)")
    for bom, enc in _BOMS:
        if head.startswith(bom):
            info.bom_encoding = enc
            return info
    for magic, what, fix in _MAGIC:
        if head.startswith(magic):
            raise UnreadableInput(shown, "binary_file", f"is {what}, not a text dataset", fix)
    if gz and head[:2] == GZIP_MAGIC:
        raise UnreadableInput(shown, "binary_file", "is gzip-compressed twice",
                              "decompress it once (gunzip) and pass the .gz")
    nul = head.count(b"\x00")
    if nul:
        # UTF-16 without a BOM: every other byte is NUL for ASCII text
        if len(head) >= 4 and head[1::2].count(0) > 0.4 * len(head) / 2:
            info.bom_encoding = "utf-16-le"
            return info
        if len(head) >= 4 and head[0::2].count(0) > 0.4 * len(head) / 2:
            info.bom_encoding = "utf-16-be"
            return info
    controls = sum(head.count(bytes([c])) for c in range(0x20) if c not in (9, 10, 13, 12, 27))
    if nul > max(8, len(head) // 100) or controls > len(head) * 0.1:
        raise UnreadableInput(shown, "binary_file",
                              f"looks binary ({nul:,} NUL bytes and {controls:,} control bytes in "
                              f"the first {len(head):,} bytes)",
                              "pass a text dataset (JSONL, JSON, CSV/TSV or CoNLL)")
    return info


def open_bytes(info: InputFile) -> BinaryIO:
    """The raw (decompressed) byte stream."""
    p = Path(info.path).expanduser()
    return gzip.open(p, "rb") if info.gz else open(p, "rb")  # type: ignore[return-value]


def _corrupt(info: InputFile, e: Exception) -> UnreadableInput:
    return UnreadableInput(info.path, "corrupt_gzip", f"the compressed data is damaged ({e})",
                           "recompress the original file with gzip")


def _split_cr(fh) -> Iterator[bytes]:
    """Byte lines of a bare-CR file, each ending in b"\\r"."""
    rest = b""
    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            break
        parts = (rest + chunk).split(b"\r")
        rest = parts.pop()
        for p in parts:
            yield p + b"\r"
    if rest:
        yield rest


def iter_byte_lines(info: InputFile) -> Iterator[bytes]:
    """Lines as bytes, split on b"\\n" (kept; on b"\\r" in a bare-CR file), a UTF-8 BOM
    removed from the first line. A UTF-16 / UTF-32 file (by its BOM) is decoded and each line
    given back as UTF-8, so JSON Lines in those encodings read like any other."""
    if info.bom_encoding and info.bom_encoding != "utf-8-sig":
        for line in iter_text_lines(info, info.bom_encoding):
            yield line.encode("utf-8")
        return
    try:
        with open_bytes(info) as fh:
            first = True
            for line in (_split_cr(fh) if info.bare_cr else fh):
                if first:
                    first = False
                    if line.startswith(codecs.BOM_UTF8):
                        line = line[3:]
                yield line
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise _corrupt(info, e) from None


def detect_encoding(info: InputFile, log=None, explicit: str | None = None) -> str:
    """The codec to read ``info`` with; warns in ``log`` when falling back to cp1252."""
    if explicit:
        try:
            return codecs.lookup(explicit).name
        except LookupError:
            raise UnreadableInput(info.path, "unknown_encoding", f"unknown encoding {explicit!r}",
                                  "use a Python codec name such as utf-8, cp1252 or latin-1") from None
    if info.bom_encoding:
        return info.bom_encoding
    dec = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    try:
        with open_bytes(info) as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    dec.decode(b"", final=True)
                    return "utf-8"
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError as e:
                    bad_line = lines_before + chunk.count(b"\n", 0, max(e.start, 0)) + 1
                    break
                lines_before += chunk.count(b"\n")
    except UnicodeDecodeError:   # a truncated sequence at the very end
        bad_line = lines_before + 1
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise _corrupt(info, e) from None
    import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-1252)
    if log is not None:
        log.warning("encoding", f"the file is not UTF-8 (first at line {bad_line}); read it as "
                    "Windows-1252 (cp1252)",
                    "re-save it as UTF-8, or pass --encoding if it is another encoding",
                    line=bad_line, encoding=CP1252)
    return _CP1252_CODEC


def iter_text_lines(info: InputFile, encoding: str) -> Iterator[str]:
    """Decoded lines split on "\\n" only ("\\n" kept; a BOM or a U+FEFF at the start removed)."""
    if encoding == _CP1252_CODEC:
        import ftfy.bad_codecs  # noqa: F401
    try:
        with open_bytes(info) as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, errors="strict",
                                    newline="\r" if info.bare_cr else "\n")
            first = True
            n = 0
            try:
                for line in text:
                    n += 1
                    if first:
                        first = False
                        line = line.lstrip("\ufeff")
                    yield line
            except UnicodeDecodeError as e:
                raise UnreadableInput(
                    info.path, "encoding", f"cannot be decoded as {encoding} near line {n + 1} ({e.reason})",
                    "pass the right --encoding (e.g. utf-8, cp1252, latin-1)") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise _corrupt(info, e) from None
