"""`tunewise.data.audit`: each check on small fixtures (tests/fixtures/real excerpts and rows made
here): leakage pairs, duplicates and templates, label balance, off-task rows and answers of the
wrong form, train-vs-production shift, personal data, and inputs left unchanged."""
from __future__ import annotations

import csv
import hashlib
import random
from pathlib import Path

import numpy as np
import pytest

from tunewise.audit import audit
from tunewise.data.records import Example

REAL = Path(__file__).parent / "fixtures" / "real"


def _csv(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


def _tweets() -> list[str]:
    out, words = [], []
    for line in (REAL / "wnut17" / "wnut17train.conll").read_text(encoding="utf-8").split("\n"):
        if line.strip():
            words.append(line.split("\t")[0])
        elif words:
            out.append(" ".join(words))
            words = []
    return [t for t in out if len(t.split()) >= 5]


@pytest.fixture(scope="module")
def reviews(mr_reviews) -> list[tuple[str, str]]:
    return [(t, "positive" if lab == "1" else "negative") for lab, t in mr_reviews]


def test_leakage_finds_edited_test_rows_with_their_lines(reviews, tmp_path):
    train, test = reviews[:600], reviews[600:800]
    rng = random.Random(0)
    copies = []
    for i in range(10):                        # test rows 0..9 copied into training, edited
        words = test[i][0].split()
        words[rng.randrange(len(words))] = "really"
        copies.append((" ".join(words), test[i][1]))
    copies.append((test[10][0].upper() + " !", test[10][1]))     # exact after normalising
    tr = _csv(tmp_path / "train.csv", train + copies)
    te = _csv(tmp_path / "test.csv", test)
    before = hashlib.sha256(tr.read_bytes()).hexdigest()
    rep = audit(tr, te, progress=False)
    f = rep.find("leakage_test")
    assert f.severity == "error"
    assert f.metrics["leaked"] == 11 and f.metrics["exact"] == 1
    wheres = {e.where for e in f.evidence}
    assert {f"{te}:{i + 2}" for i in range(11)} == wheres        # header is line 1
    pair = next(e for e in f.evidence if e.where == f"{te}:2")
    assert pair.detail["train"] == f"{tr}:{600 + 2}" and pair.detail["kind"] == "near"
    assert hashlib.sha256(tr.read_bytes()).hexdigest() == before  # the input is only read


def test_no_leakage_between_disjoint_rows(reviews, tmp_path):
    rep = audit(_csv(tmp_path / "a.csv", reviews[:300]), _csv(tmp_path / "b.csv", reviews[300:400]),
                progress=False)
    assert rep.find("leakage_test").severity == "ok"


def test_near_duplicates_and_a_one_template_class(reviews, tmp_path):
    rng = random.Random(1)
    cities = ["paris", "rome", "oslo", "lima", "kyiv", "doha", "cairo", "quito", "hanoi", "riga"]
    rows = [(f"please book me a flight to {rng.choice(cities)} for tomorrow morning", "book")
            for _ in range(40)]
    rows += [(t, "review") for t, _ in reviews[:60]]                 # every row its own wording
    rows += [("what time is it in tokyo right now please", "review")] * 5   # one row, 5 times
    rep = audit(_csv(tmp_path / "t.csv", rows), progress=False)
    dup = rep.find("near_duplicates")
    assert dup.metrics["distinct"] < len(rows) - 4
    assert any(e.detail["cluster_rows"] >= 5 for e in dup.evidence)
    cls = rep.find("class_diversity")
    assert cls.severity == "warning" and cls.metrics["flagged"] == ["book"]


def test_label_balance_names_the_majority_and_the_metric(reviews, tmp_path):
    rows = [r for r in reviews if r[1] == "positive"][:300] + \
        [r for r in reviews if r[1] == "negative"][:20]
    f = audit(_csv(tmp_path / "t.csv", rows), progress=False).find("label_balance")
    assert f.severity == "warning" and f.metrics["majority_share"] > 0.9
    assert "macro-F1" in f.summary and "'positive'" in f.summary


def test_answer_of_the_wrong_form(tmp_path):
    rows = [Example.from_text(f"review {i}: the acting was {'good' if i % 2 else 'bad'}",
                              "positive" if i % 2 else "negative", meta={"line": i + 1})
            for i in range(30)]
    rows.append(Example.from_text("review 30: fine", "I think this review is rather positive "
                                  "overall, but it is hard to say", meta={"line": 31}))
    rep = audit(rows, progress=False)
    f = rep.find("answer_form")
    assert f.severity == "warning" and f.metrics["rows"] == 1
    assert f.evidence[0].where.endswith(":31") and "label is expected" in f.evidence[0].detail["why"]


def test_production_from_another_domain(reviews, tmp_path):
    tweets = _tweets()
    prod = tmp_path / "prod.txt"
    prod.write_text("\n".join(tweets[:300]) + "\n", encoding="utf-8")
    rep = audit(_csv(tmp_path / "t.csv", reviews[:600]), production=prod, progress=False)
    dom = rep.find("domain_classifier")
    assert dom.metrics["auc_tfidf"] >= 0.9 and dom.severity == "error"
    cov = rep.find("coverage")
    assert cov.metrics["far_share"] > 0.2 and cov.evidence[0].where.startswith(str(prod))
    assert rep.find("uncovered_inputs").metrics["kinds"]
    for name in ("length_shift", "language_shift", "vocabulary_shift"):
        assert rep.find(name) is not None


def test_same_distribution_is_indistinguishable(reviews, tmp_path):
    rep = audit(_csv(tmp_path / "t.csv", reviews[:700]), _csv(tmp_path / "s.csv", reviews[700:]),
                progress=False)
    assert rep.find("domain_classifier").metrics["auc_tfidf"] <= 0.6
    assert rep.find("coverage").severity in ("ok", "info")
    assert "the test split stands in for production" in " ".join(rep.notes)


def test_language_shift_names_the_missing_language(reviews, tmp_path):
    french = ["le film est vraiment très bon et les acteurs sont excellents",
              "je ne recommande pas ce film , il est long et ennuyeux",
              "une histoire touchante avec une musique magnifique pour tous"] * 10
    rep = audit(_csv(tmp_path / "t.csv", reviews[:200]), production=french, progress=False)
    f = rep.find("language_shift")
    assert f.severity == "warning" and "fr" in f.metrics["missing_in_train"]


def test_personal_data_counts_per_kind_with_lines(reviews, tmp_path):
    rows = reviews[:50] + [("contact ann@example.org about it", "positive"),
                           ("card 4111 1111 1111 1111 was charged", "negative"),
                           ("refund to DE89370400440532013000 please", "negative"),
                           ("key sk-proj-abcdefghijklmnopqrstuvwx1234 leaked", "negative"),
                           ("from 10.0.0.12 and call +44 20 7946 0958", "positive"),
                           ("order 4111 1111 1111 1112 on 12/03/2004", "positive")]
    rep = audit(_csv(tmp_path / "t.csv", rows), progress=False)
    f = rep.find("personal_data_train")
    assert f.severity == "error"
    assert f.metrics["counts"] == {"EMAIL": 1, "CARD": 1, "IBAN": 1, "API_KEY": 1, "IP": 1,
                                   "PHONE": 1}
    assert [e.where.rsplit(":", 1)[1] for e in f.evidence] == ["52", "53", "54", "55", "56"]
    text = " ".join(e.text + " ".join(e.detail["values"]) for e in f.evidence)
    assert "ann@example.org" not in text and "4111 1111 1111 1111" not in text   # masked


def test_what_could_not_be_checked_is_said(reviews, tmp_path):
    rep = audit(_csv(tmp_path / "t.csv", reviews[:50]), progress=False)
    whys = {(s.check, s.what): s.why for s in rep.not_checked}
    assert "no production sample" in whys[("representativeness", "train vs production")]
    assert "no model loaded" in whys[("representativeness", "language-model embeddings")]
    assert "no test split" in whys[("leakage", "train vs test")]
    assert "--presidio" in whys[("personal_data", "names and street addresses")]


def test_embeddings_with_a_model(reviews, tiny, tmp_path):
    prod = [t for t in _tweets()[:40]]
    rep = audit(_csv(tmp_path / "t.csv", reviews[:40]), production=prod, features="lm+tfidf",
                lm=tiny, progress=False)
    assert 0.0 <= rep.find("domain_classifier").metrics["auc_embeddings"] <= 1.0
    assert not any(s.what == "language-model embeddings" for s in rep.not_checked)


def test_presidio_layer_with_a_stand_in_engine(reviews):
    from tunewise.audit import pii_check
    from tunewise.audit.inputs import Split

    class Result:
        def __init__(self, kind, start, end):
            self.entity_type, self.start, self.end = kind, start, end

    class Engine:
        def analyze(self, text, language, entities, score_threshold):
            i = text.find("Ada Lovelace")
            return [Result("PERSON", i, i + 12)] if i >= 0 else []

    texts = ["a film by Ada Lovelace", "nothing here"]
    split = Split("train", "t", texts, ["t:1", "t:2"], full=texts)
    f = pii_check.check_names(split, Engine())
    assert f.metrics["counts"] == {"NAME": 1} and f.evidence[0].where == "t:1"
    assert "Ada Lovelace" not in str(f.to_dict())


UTTERANCES = [
    "how do i reset my router password", "transfer 200 dollars to my savings account",
    "set an alarm for six thirty am", "what is the capital of mongolia",
    "convert 30 celsius to fahrenheit", "remind me to buy milk after work",
    "what is my checking account balance", "book a table for two at eight tonight",
    "how long should i boil an egg", "turn the living room lights off",
    "when is my next dentist appointment", "add eggs to my shopping list",
    "what is the exchange rate for euros", "play some jazz in the kitchen",
    "how many calories are in an apple", "cancel my three pm meeting",
    "what is the weather in oslo tomorrow", "find a gas station near me",
    "pay my electricity bill today", "spell the word necessary",
]


def test_off_task_rows_rank_first(reviews, tmp_path):
    """20 assistant requests planted among 400 movie reviews (5%): most rank in the top 20."""
    from tunewise.audit.relevance import centroid_scores, outlier_scores
    texts = [t for t, _ in reviews[:400]] + UTTERANCES
    planted = set(range(400, 420))
    top = set(np.argsort(-outlier_scores(texts))[:20].tolist())
    base = set(np.argsort(-centroid_scores(texts))[:20].tolist())
    assert len(top & planted) >= 10 and len(top & planted) > len(base & planted) + 3, \
        (len(top & planted), len(base & planted))
    # labelled as a classification set: the reviews' own labels, the requests' drawn at random
    labels = [lab for _, lab in reviews[:400]] + [("positive", "negative")[i % 2] for i in range(20)]
    top = set(np.argsort(-outlier_scores(texts, labels=labels))[:20].tolist())
    assert len(top & planted) >= 10, len(top & planted)
    rep = audit([Example.from_text(t, lab, label=lab, meta={"line": i + 1})
                 for i, (t, lab) in enumerate(zip(texts, labels))], progress=False)
    f = rep.find("off_task")
    lines = [int(e.where.rsplit(":", 1)[1]) for e in f.evidence]
    assert sum(ln > 400 for ln in lines[:5]) >= 4 and sum(ln > 400 for ln in lines) >= 7


def test_off_task_reference_share_and_label_signals(reviews):
    """The seed's signals each point at the planted rows: with a test split of the task as the
    reference, few of a planted row's neighbours are reference rows; a label drawn at random
    is a label the input does not predict. Too small a reference is not used."""
    from tunewise.audit import offtask_signals as ots
    texts = [t for t, _ in reviews[:400]] + UTTERANCES
    labels = [lab for _, lab in reviews[:400]] + [("positive", "negative")[i % 2] for i in range(20)]
    reference = [t for t, _ in reviews[400:600]]
    x, x_ref = ots.style_features(texts, reference)
    assert x.shape[1] > x_ref.shape[0] and x.shape[0] == len(texts)
    share = ots.reference_share(x, x_ref)
    planted = np.arange(400, 420)
    assert share[planted].mean() > share[:400].mean() + 0.1, (share[planted].mean(), share[:400].mean())
    assert ots.reference_share(x, x_ref[:ots.MIN_REFERENCE - 1]) is None
    ent, nll = ots.label_signals(x, labels)
    assert nll[planted].mean() > nll[:400].mean() and ent[planted].mean() > ent[:400].mean()
    assert ots.label_signals(x, ["a"] * len(texts)) is None
    # the whole ranking with the reference: most planted rows in the top 20
    from tunewise.audit.relevance import outlier_scores
    top = set(np.argsort(-outlier_scores(texts, labels=labels, reference=reference))[:20].tolist())
    assert len(top & set(planted.tolist())) >= 10, len(top & set(planted.tolist()))


def test_off_task_finding_names_the_test_split_it_compared_with(reviews, tmp_path):
    train = [(t, lab) for t, lab in reviews[:300]] + [(u, "positive") for u in UTTERANCES]
    tr = _csv(tmp_path / "train.csv", train)
    te = _csv(tmp_path / "test.csv", reviews[300:400])
    f = audit(tr, te, progress=False).find("off_task")
    assert f.metrics["reference_rows"] == 100 and "test.csv" in f.summary
    f = audit(tr, progress=False).find("off_task")
    assert f.metrics["reference_rows"] == 0 and "--test" in f.summary


def test_style_features_big_set_path_matches_one_piece(reviews, monkeypatch):
    """Above PARALLEL_ROWS the rows are transformed in chunks on every core: same matrix; above
    FIT_ROWS the vocabulary comes from a sample, still one row per text."""
    from tunewise.audit import offtask_signals as ots
    texts = [t for t, _ in reviews[:300]]
    whole, = ots.style_features(texts)
    monkeypatch.setattr(ots, "PARALLEL_ROWS", 50)
    chunked, = ots.style_features(texts)
    assert chunked.shape == whole.shape and abs(chunked - whole).max() < 1e-6
    monkeypatch.setattr(ots, "FIT_ROWS", 100)
    sampled, other = ots.style_features(texts, texts[:7])
    assert sampled.shape[0] == 300 and other.shape == (7, sampled.shape[1])


def test_form_tokens_say_how_a_row_starts_and_ends():
    """The form block: first word(s), last word(s), the kind of the first character; rows of
    one template share them whatever their words in between."""
    from tunewise.audit import offtask_signals as ots
    a = ots.form_tokens("Create a list of salty snacks.")
    assert {"^create", "^create a", "$.", "$snacks .", "^shape:Aa"} == set(a)
    assert "^shape:@" in ots.form_tokens("@user this is #awful") and ots.form_tokens("  ") == []
    b = set(ots.form_tokens("Create a birthday checklist."))
    assert {"^create", "^create a", "$.", "^shape:Aa"} <= b
    texts = ["Create a list.", "Create a plan.", "@user wow", "@user no"]
    x, x_other = ots.form_features(texts, ["Create a poem."], min_df=1)
    assert x.shape[0] == 4 and x_other.shape == (1, x.shape[1])
    assert abs(np.linalg.norm(x[0].toarray()) - ots.FORM_WEIGHT) < 1e-5


def test_self_training_folds_in_parallel_give_the_same_scores(reviews, monkeypatch):
    """Above PARALLEL_FITS the 5 folds of a round are fitted on every core: same scores as one
    after the other (same fold assignment, same fits)."""
    from tunewise.audit import relevance
    texts = [t for t, _ in reviews[:200]] + UTTERANCES
    monkeypatch.setattr(relevance, "PARALLEL_FITS", 10 ** 9)
    one = relevance.outlier_scores(texts, rounds=2)
    monkeypatch.setattr(relevance, "PARALLEL_FITS", 0)
    both = relevance.outlier_scores(texts, rounds=2)
    assert np.allclose(one, both, atol=1e-8)
