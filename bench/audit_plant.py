"""Planted defects for bench/audit_bench.py: a clean base set, and the rows planted into it.

- ``clean_base``: drop exact duplicates (normalised) and near-duplicates at word 3-gram Jaccard
  >= 0.5 (looser than `tunewise data clean`'s 0.9: TweetEval holds the same tweet with other
  hashtags, which the audit rightly reports as leakage), so no leakage or duplicate pre-exists;
- ``edit``: a small edit of a sentence (one word replaced, dropped or inserted, a typo, the
  case and punctuation changed, the last words cut);
- ``with_pii``: a sentence with one synthetic piece of personal data of a given kind, in one of
  several formats (every card number passes Luhn, every IBAN its checksum);
- ``HARD_NEGATIVES``: sentences that look like personal data and are not (a number that fails
  Luhn, a date, a version string, a price, a year range).
"""
from __future__ import annotations

import json
import random
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT))


def load_clinc() -> list[tuple[str, str]]:
    """(utterance, intent) of clinc150's training split."""
    data = json.loads((SHARED / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return [(t, lab) for t, lab in data["train"]]


def load_alpaca() -> list[str]:
    """Instruction (plus input) of each of the 175 alpaca seed tasks' instances."""
    out = []
    for line in (SHARED / "alpaca" / "seed_tasks.jsonl").read_text(encoding="utf-8").split("\n"):
        if line.strip():
            task = json.loads(line)
            for inst in task["instances"]:
                out.append((task["instruction"] + " " + inst.get("input", "")).strip())
    return out


def clean_base(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    from tunewise.data import dedup
    seen, kept = set(), []
    for text, lab in rows:
        k = dedup.normalize(text)
        if k and k not in seen:
            seen.add(k)
            kept.append((text, lab))
    index = dedup.NearDuplicateIndex(dedup.NearDupConfig(threshold=0.5))
    for text, _ in kept:
        index.add(dedup.normalize(text))
    twins = index.greedy_twins()
    return [r for i, r in enumerate(kept) if i not in twins]


_FILLERS = ["really", "very", "quite", "just", "also", "still", "truly", "so"]


def edit(text: str, rng: random.Random) -> str:
    """One small edit (or two) of ``text``: what a copy-paste with a touch-up looks like."""
    words = text.split()
    kind = rng.choice(["replace", "drop", "insert", "typo", "case_punct", "cut", "two"])
    if len(words) < 4 and kind in ("drop", "cut"):
        kind = "insert"
    i = rng.randrange(len(words))
    if kind == "replace":
        words[i] = rng.choice(_FILLERS)
    elif kind == "drop":
        del words[i]
    elif kind == "insert":
        words.insert(i, rng.choice(_FILLERS))
    elif kind == "typo":
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        else:
            words[i] = w + w[-1]
    elif kind == "case_punct":
        return text.upper().rstrip(".!? ") + " !!"
    elif kind == "cut":
        words = words[:max(3, int(len(words) * 0.85))]
    else:
        words.insert(i, rng.choice(_FILLERS))
        j = rng.randrange(len(words))
        words[j] = rng.choice(_FILLERS)
    return " ".join(words)


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    from tunewise.data.pii import luhn_ok
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return next(body + d for d in string.digits if luhn_ok(body + d))


def _iban(rng: random.Random) -> str:
    country, bban_len = rng.choice([("DE", 18), ("GB", 18), ("FR", 23), ("NL", 14), ("ES", 20)])
    if country == "GB":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + \
            "".join(rng.choice(string.digits) for _ in range(14))
    elif country == "NL":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + \
            "".join(rng.choice(string.digits) for _ in range(10))
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(bban_len))
    num = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    iban = f"{country}{98 - num % 97:02d}{bban}"
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.5 else iban


def pii_value(kind: str, rng: random.Random) -> str:
    first = rng.choice(["anna", "j.smith", "li.wei", "omar_k", "sam+news", "m.dupont"])
    if kind == "EMAIL":
        return f"{first}{rng.randint(1, 99)}@{rng.choice(['example.com', 'mail.co.uk', 'uni-bonn.de', 'corp.example.org'])}"
    if kind == "PHONE":
        d = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
        return rng.choice([f"+1 {rng.randint(201, 989)} {d(3)} {d(4)}", f"({rng.randint(201, 989)}) {d(3)}-{d(4)}",
                           f"{rng.randint(201, 989)}-{d(3)}-{d(4)}", f"+44 20 {d(4)} {d(4)}",
                           f"07{d(3)} {d(6)}", f"+49 30 {d(8)}", f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}"])
    if kind == "CARD":
        num = rng.choice([_luhn_complete("4", 16, rng), _luhn_complete("5" + str(rng.randint(1, 5)), 16, rng),
                          _luhn_complete("3" + rng.choice("47"), 15, rng), _luhn_complete("6011", 16, rng)])
        if len(num) == 16 and rng.random() < 0.6:
            return " ".join(num[i:i + 4] for i in range(0, 16, 4)).replace(" ", rng.choice([" ", "-"]))
        return num
    if kind == "IBAN":
        return _iban(rng)
    if kind == "IP":
        if rng.random() < 0.75:
            return ".".join(str(rng.randint(1, 254)) for _ in range(4))
        return "2001:db8:" + ":".join(f"{rng.randint(0, 65535):x}" for _ in range(3)) + "::1"
    alphabet = string.ascii_letters + string.digits
    tok = lambda n: "".join(rng.choice(alphabet) for _ in range(n))  # noqa: E731
    return rng.choice([f"sk-proj-{tok(40)}", f"AKIA{''.join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))}",
                       f"ghp_{tok(36)}", f"hf_{tok(34)}", f"xoxb-{rng.randint(10**9, 10**10)}-{tok(24)}"])


_PHRASES = {"EMAIL": "write to {} for details", "PHONE": "call me on {}", "CARD": "my card is {}",
            "IBAN": "refund to {}", "IP": "posted from {}", "API_KEY": "using key {}"}


def with_pii(text: str, kind: str, rng: random.Random) -> tuple[str, str]:
    value = pii_value(kind, rng)
    phrase = _PHRASES[kind].format(value)
    return (f"{text} {phrase}" if rng.random() < 0.5 else f"{phrase} . {text}"), value


HARD_NEGATIVES = [
    "order 4111 1111 1111 1112 never arrived , what a film", "released on 12/03/2004 in 1,234 theaters",
    "version 1.2.3.4.5 of the director's cut", "it cost $12,500,000 and grossed 98,765,432",
    "from 1999 - 2005 the series ran for 120 episodes", "rated 10/10 by 3,456 critics",
    "runtime 1:45:30 and worth it", "ISBN 978-3-16-148410-0 is the novel it adapts",
    "scene 42 at 3.14 minutes", "the sequel , part 2 , 2003 2004 2005",
]
