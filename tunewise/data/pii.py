"""Personal data and secrets in text: e-mail addresses, phone numbers, payment card numbers,
IBANs, IP addresses and API-key-like strings, found with regular expressions and then checked
(Luhn for cards, the ISO 13616 mod-97 checksum and country length for IBANs, ``ipaddress`` for
IP addresses, digit counts and shapes for phone numbers), so a random 16-digit number or a
version string is not reported.

    spans = find_pii("mail me at ann@example.org or +44 20 7946 0958")
    redacted, counts = redact("card 4111 1111 1111 1111")   # "card <CARD>", {"CARD": 1}

This layer is always on and needs nothing beyond the standard library. Names and street
addresses need a language model (``tunewise[presidio]``; ``tunewise.audit.pii_check``).
Used by ``tunewise data audit`` (the personal-data check) and ``tunewise data clean --redact``
(typed placeholders such as ``<EMAIL>``).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

#: the kinds, in the order overlapping matches are resolved (first wins: a checksum-valid IBAN
#: beats the Luhn-valid card number that one in ten of its digit runs forms by chance)
KINDS = ("API_KEY", "EMAIL", "IBAN", "CARD", "IP", "PHONE")

KIND_HELP = {
    "EMAIL": "e-mail address", "PHONE": "phone number", "CARD": "payment card number (Luhn)",
    "IBAN": "IBAN (checksum)", "IP": "IP address", "API_KEY": "API-key-like string",
}


@dataclass(frozen=True)
class PiiSpan:
    """One finding: text[start:end] is personal data of ``kind``."""

    kind: str
    start: int
    end: int
    text: str


_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
                    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])")
# digits with optional single spaces or hyphens between them (cards); no digit on either side
_CARD = re.compile(r"(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d-]|[.,]\d)")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
_IPV6 = re.compile(r"(?<![:\w])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![:\w])")
# a phone number: an optional +country code, then digit groups separated by a space, "-", "."
# or a bracketed area code; the digit count is checked afterwards
_PHONE = re.compile(r"(?<![\w+/.-])(?:\+|00)?\(?\d{1,4}\)?(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w/]|[.-]\d)")
_DATEISH = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
_KEYS = re.compile(
    r"(?<![\w-])(?:"
    r"sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"             # OpenAI / Anthropic
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"                       # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"   # GitHub
    r"|glpat-[A-Za-z0-9_-]{20,}"                        # GitLab
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"                    # Slack
    r"|AIza[0-9A-Za-z_-]{35}"                           # Google
    r"|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"     # Stripe
    r"|hf_[A-Za-z0-9]{30,}"                             # Hugging Face
    r"|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"   # JSON web token
    r")(?![\w-])")
# key = value / key: value where the key names a secret and the value looks random
_ASSIGNED = re.compile(r"(?i)\b(?:api[_-]?key|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token"
                       r"|token|password|passwd|bearer)\b[\"']?\s*[:=]?\s*[\"']?"
                       r"([A-Za-z0-9_\-+/=.]{20,})")

#: IBAN length per country (ISO 13616 registry, the countries in common use)
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_prefix_ok(digits: str) -> bool:
    """An issuer prefix of a card network (Visa, Mastercard, Amex, Discover, JCB, Diners,
    UnionPay, Maestro) with one of its lengths."""
    n, p2, p4 = len(digits), int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if p2 in (30, 36, 38, 39):
        return 14 <= n <= 19
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649 or 3528 <= p4 <= 3589:
        return 16 <= n <= 19
    if p2 == 62 or p2 in (50, 56, 57, 58, 67):   # UnionPay, Maestro
        return 12 <= n <= 19
    return False


def iban_ok(text: str) -> bool:
    """ISO 13616: the country's length and the mod-97 checksum (remainder 1)."""
    iban = text.replace(" ", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _iban_end(match: str) -> int:
    """Length of the valid IBAN at the start of ``match`` (0: none). The pattern is greedy, so
    a capitalised word or a number after the IBAN may have joined the match: the country's
    length decides where the IBAN ends."""
    want = IBAN_LENGTHS.get(match[:2])
    if want is None:
        return 0
    count = 0
    for i, ch in enumerate(match):
        if ch != " ":
            count += 1
            if count == want:
                return i + 1 if iban_ok(match[:i + 1]) else 0
    return 0


def _isbn(match: str, before: str) -> bool:
    """A book number, not a phone: named "ISBN" just before, or 13 digits starting 978/979 whose
    ISBN-13 check digit holds."""
    if "isbn" in before.lower():
        return True
    d = re.sub(r"\D", "", match)
    return len(d) == 13 and d[:3] in ("978", "979") and \
        sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(d)) % 10 == 0


def _phone_ok(match: str) -> bool:
    digits = re.sub(r"\D", "", match)
    plus = match.startswith(("+", "00"))
    if not (8 if plus else 9) <= len(digits) <= 15:
        return False
    if _DATEISH.match(match.strip()) or len(set(digits)) < 3:
        return False
    groups = re.findall(r"\d+", match)
    if all(len(g) == 4 and 1900 <= int(g) <= 2099 for g in groups):
        return False                     # a run of years
    if len(groups) == 1:                 # one unbroken run: only with a country code
        return plus
    if not plus and "." in match and (len(groups) > 2 and max(map(len, groups)) <= 2
                                      or len(groups) >= 4 and max(map(len, groups)) <= 3):
        return False                     # 1.2.3.4.5 (versions, outlines), 999.10.10.10

    return True


def _ip_ok(match: str) -> bool:
    try:
        ip = ipaddress.ip_address(match)
    except ValueError:
        return False
    if ip.version == 6:
        return match.count(":") >= 2 and any(c.isdigit() or c in "abcdefABCDEF" for c in match)
    return not ip.is_unspecified


def _candidates(text: str):
    """(kind, start, end) of every checked match, overlapping ones included."""
    for m in _KEYS.finditer(text):
        yield "API_KEY", m.start(), m.end()
    for m in _ASSIGNED.finditer(text):
        value = m.group(1)
        if sum(c.isdigit() for c in value) >= 2 and sum(c.isalpha() for c in value) >= 4:
            yield "API_KEY", m.start(1), m.end(1)
    if "@" in text:
        for m in _EMAIL.finditer(text):
            yield "EMAIL", m.start(), m.end()
    if sum(c.isdigit() for c in text) < 7:
        # every other kind needs at least seven digits (an IPv4 address has four; IPv6 may
        # have none)
        if "." in text or ":" in text:
            yield from _ips(text)
        return
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and _card_prefix_ok(digits):
            yield "CARD", m.start(), m.end()
    for m in _IBAN.finditer(text):
        end = _iban_end(m.group())
        if end:
            yield "IBAN", m.start(), m.start() + end
    yield from _ips(text)
    for m in _PHONE.finditer(text):
        if _phone_ok(m.group()) and not _isbn(m.group(), text[max(0, m.start() - 8):m.start()]):
            yield "PHONE", m.start(), m.end()


def _ips(text: str):
    if "." in text:
        for m in _IPV4.finditer(text):
            if _ip_ok(m.group()):
                yield "IP", m.start(), m.end()
    if text.count(":") >= 2:
        for m in _IPV6.finditer(text):
            if _ip_ok(m.group()):
                yield "IP", m.start(), m.end()


def find_pii(text: str) -> list[PiiSpan]:
    """The personal data in ``text``, non-overlapping, in text order. Where matches overlap the
    kind earlier in ``KINDS`` wins, then the longer match."""
    if not text:
        return []
    rank = {k: i for i, k in enumerate(KINDS)}
    cands = sorted(set(_candidates(text)), key=lambda c: (rank[c[0]], -(c[2] - c[1]), c[1]))
    taken: list[tuple[int, int]] = []
    out = []
    for kind, s, e in cands:
        if any(s < te and ts < e for ts, te in taken):
            continue
        taken.append((s, e))
        out.append(PiiSpan(kind, s, e, text[s:e]))
    return sorted(out, key=lambda p: p.start)


def redact(text: str, spans: list[PiiSpan] | None = None) -> tuple[str, dict[str, int]]:
    """``text`` with each finding replaced by its typed placeholder (``<EMAIL>``, ``<PHONE>``,
    ``<CARD>``, ``<IBAN>``, ``<IP>``, ``<API_KEY>``) and the count per kind."""
    spans = find_pii(text) if spans is None else spans
    counts: dict[str, int] = {}
    parts, pos = [], 0
    for sp in spans:
        parts.append(text[pos:sp.start])
        parts.append(f"<{sp.kind}>")
        pos = sp.end
        counts[sp.kind] = counts.get(sp.kind, 0) + 1
    parts.append(text[pos:])
    return "".join(parts), counts


def mask(value: str) -> str:
    """A finding as it may be shown in a report: the first and last two characters, the rest
    starred (the report names where personal data is without copying it)."""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def redact_example(ex):
    """(a copy of the ``Example`` with personal data replaced by typed placeholders in every
    message, the reference and the tokens, count per kind); the example itself when it holds
    none. Token-aligned examples (NER) are redacted token by token, so entity spans stay valid."""
    from tunewise.data.records import Entity, Example, Message
    counts: dict[str, int] = {}

    def red(text):
        if not isinstance(text, str):
            return text
        new, c = redact(text)
        for k, v in c.items():
            counts[k] = counts.get(k, 0) + v
        return new

    if ex.tokens is not None:
        tokens = [red(t) for t in ex.tokens]
        if not counts:
            return ex, {}
        msgs = [Message(m.role, " ".join(tokens) if m.role == "user" else m.content, m.name,
                        m.weight, m.tool_calls, m.tool_call_id) for m in ex.messages]
        ents = None if ex.entities is None else [
            Entity(e.type, e.start, e.end, " ".join(tokens[e.start:e.end])) for e in ex.entities]
        return Example(messages=msgs, label=ex.label, entities=ents, tokens=tokens,
                       reference=ex.reference, meta=ex.meta), counts
    msgs = [Message(m.role, red(m.content), m.name, m.weight, m.tool_calls, m.tool_call_id)
            for m in ex.messages]
    reference = red(ex.reference)
    if not counts:
        return ex, {}
    return Example(messages=msgs, label=ex.label, entities=ex.entities, tokens=ex.tokens,
                   reference=reference, meta=ex.meta), counts
