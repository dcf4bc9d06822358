"""Simple shifts between the training inputs and the production inputs: length, language and
vocabulary. Each is a number a reader can check by hand.

- length: words per input (median, 90th percentile) and the two-sample Kolmogorov-Smirnov
  statistic D (the largest gap between the two cumulative distributions);
- language: the writing system of each input (Latin, Cyrillic, CJK, Arabic...) and, for Latin
  script, the language whose common function words it uses most (English, French, German,
  Spanish, Italian, Portuguese, Dutch); compared by total variation distance;
- vocabulary: the share of production words never seen in training, against the same share for
  held-out training rows (what "normal" looks like for this data), and the words most
  over-represented in production (smoothed log-odds).
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from tunewise.audit.inputs import Split
from tunewise.audit.report import Finding, worse

#: rows per side read for the language and vocabulary shifts (a sample beyond that)
MAX_ROWS = 20000

_WORD = re.compile(r"\w+", re.UNICODE)
_SCRIPTS = [
    ("Latin", re.compile(r"[A-Za-z\u00c0-\u024f]")), ("Cyrillic", re.compile(r"[\u0400-\u04ff]")),
    ("Greek", re.compile(r"[\u0370-\u03ff]")), ("Arabic", re.compile(r"[\u0600-\u06ff]")),
    ("Hebrew", re.compile(r"[\u0590-\u05ff]")), ("Devanagari", re.compile(r"[\u0900-\u097f]")),
    ("CJK", re.compile(r"[\u4e00-\u9fff\u3040-\u30ff]")), ("Hangul", re.compile(r"[\uac00-\ud7af]")),
    ("Thai", re.compile(r"[\u0e00-\u0e7f]")),
]
_FUNCTION_WORDS = {
    "en": "the and of to is in it that you for this was with not are be have but",
    "fr": "le la les et des est un une du que pas pour dans ce qui sur je vous avec",
    "de": "der die das und ist nicht ich ein eine zu den mit von sie es auf für",
    "es": "el la los las y de que en es un una por no se con para del lo",
    "it": "il lo la gli le e di che è un una per non con del della sono",
    "pt": "o a os as e de que em um uma para não com do da é se",
    "nl": "de het een en van is dat niet ik je op te met zijn voor",
}
_FW = {lang: set(words.split()) for lang, words in _FUNCTION_WORDS.items()}


def language_of(text: str) -> str:
    """The writing system of ``text`` and, for Latin script, a language guess ("en", "fr"...;
    "Latin" when no function word decides), "none" for text without letters."""
    best, best_n = "none", 0
    for name, rx in _SCRIPTS:
        n = len(rx.findall(text))
        if n > best_n:
            best, best_n = name, n
    if best != "Latin":
        return best
    words = [w.lower() for w in _WORD.findall(text)]
    hits = {lang: sum(w in fw for w in words) for lang, fw in _FW.items()}
    lang, n = max(hits.items(), key=lambda kv: kv[1])
    return lang if n >= 2 or (n == 1 and len(words) <= 4) else "Latin"


def _sample(texts: list[str], k: int, seed: int) -> list[str]:
    if len(texts) <= k:
        return texts
    rng = np.random.default_rng(seed)
    return [texts[i] for i in np.sort(rng.choice(len(texts), k, replace=False))]


def check_length(train: Split, prod: Split) -> Finding:
    from scipy.stats import ks_2samp
    lt = np.array([len(_WORD.findall(t)) for t in train.texts])
    lp = np.array([len(_WORD.findall(t)) for t in prod.texts])
    d = float(ks_2samp(lt, lp).statistic)
    med_t, med_p = float(np.median(lt)), float(np.median(lp))
    p90_t, p90_p = float(np.quantile(lt, 0.9)), float(np.quantile(lp, 0.9))
    sev = "ok" if d < 0.15 else "info" if d < 0.3 else "warning"
    summary = (f"words per input: training median {med_t:g} (90th percentile {p90_t:g}), "
               f"{prod.role} median {med_p:g} ({p90_p:g}); Kolmogorov-Smirnov D = {d:.2f}")
    fix = "" if sev == "ok" else (
        f"add training examples of the lengths met in {prod.role}"
        + ("; check the model's context holds the longer inputs" if med_p > med_t else ""))
    return Finding("representativeness", "length_shift", sev, summary, fix,
                   {"ks_d": round(d, 4), "median_train": med_t, "median_production": med_p,
                    "p90_train": p90_t, "p90_production": p90_p})


def _share(counter: Counter) -> dict[str, float]:
    n = sum(counter.values()) or 1
    return {k: round(v / n, 4) for k, v in counter.most_common()}


def check_language(train: Split, prod: Split, seed: int = 0) -> Finding:
    ct = Counter(language_of(t) for t in _sample(train.texts, MAX_ROWS, seed))
    cp = Counter(language_of(t) for t in _sample(prod.texts, MAX_ROWS, seed))
    st, sp = _share(ct), _share(cp)
    tv = 0.5 * sum(abs(st.get(k, 0) - sp.get(k, 0)) for k in set(st) | set(sp))
    missing = [k for k, v in sp.items() if v >= 0.01 and st.get(k, 0) < 0.001 and k != "none"]
    sev = "ok" if tv < 0.05 else "info" if tv < 0.2 else "warning"
    if missing:
        sev = "warning" if sum(sp[k] for k in missing) >= 0.05 else worse(sev, "info")
    top = ", ".join(f"{k} {100 * v:.0f}%" for k, v in list(sp.items())[:4])
    summary = (f"languages of {prod.role} inputs: {top}; of training: "
               + ", ".join(f"{k} {100 * v:.0f}%" for k, v in list(st.items())[:4])
               + f" (total variation {tv:.2f})")
    if missing:
        summary += f"; absent from training: {', '.join(missing)}"
    fix = "" if sev == "ok" else "add training examples in the languages production uses"
    return Finding("representativeness", "language_shift", sev, summary, fix,
                   {"train": st, "production": sp, "total_variation": round(tv, 4),
                    "missing_in_train": missing,
                    "method": "writing system; for Latin script, the most used function words"})


def _words(texts: list[str]) -> list[list[str]]:
    return [[w.lower() for w in _WORD.findall(t)] for t in texts]


def _oov(vocab: set, docs: list[list[str]]) -> float:
    n = sum(len(d) for d in docs)
    return sum(1 for d in docs for w in d if w not in vocab) / n if n else 0.0


def check_vocabulary(train: Split, prod: Split, seed: int = 0) -> Finding:
    tw = _words(_sample(train.texts, MAX_ROWS, seed))
    pw = _words(_sample(prod.texts, MAX_ROWS, seed + 1))
    rng = np.random.default_rng(seed)
    held = rng.random(len(tw)) < 0.1
    ref_vocab = {w for d, h in zip(tw, held) if not h for w in d}
    ref_oov = _oov(ref_vocab, [d for d, h in zip(tw, held) if h]) if held.any() else 0.0
    vocab = {w for d in tw for w in d}
    prod_oov = _oov(vocab, pw)
    ct, cp = Counter(w for d in tw for w in d), Counter(w for d in pw for w in d)
    nt, np_ = sum(ct.values()) or 1, sum(cp.values()) or 1
    v = len(set(ct) | set(cp)) or 1
    a = 0.5
    over = sorted(((np.log((c + a) / (np_ + a * v)) - np.log((ct.get(w, 0) + a) / (nt + a * v)), w)
                   for w, c in cp.items() if c >= 3), reverse=True)[:12]
    ratio = prod_oov / ref_oov if ref_oov > 0 else (float("inf") if prod_oov > 0 else 1.0)
    sev = "ok" if prod_oov < 0.02 or ratio < 1.5 else "info" if ratio < 2.5 else "warning"
    summary = (f"{100 * prod_oov:.1f}% of {prod.role} words never occur in training (held-out "
               f"training rows: {100 * ref_oov:.1f}%)")
    if sev != "ok" and over:
        summary += f"; most over-represented in {prod.role}: {', '.join(w for _, w in over[:8])}"
    fix = "" if sev == "ok" else f"add training examples that use the {prod.role} vocabulary"
    return Finding("representativeness", "vocabulary_shift", sev, summary, fix,
                   {"oov_production": round(prod_oov, 4), "oov_heldout_train": round(ref_oov, 4),
                    "over_represented": [w for _, w in over]})
