"""``tunewise.data.audit`` / ``tunewise data audit``: every check on one training file (and
optionally a test file and a production sample), one report.

    from tunewise.data import audit
    report = audit("train.jsonl", test="test.jsonl", production="inputs.txt")
    for f in report.findings: print(f.severity, f.check, f.summary)

The inputs are only read. Checks that cannot run (no production sample, no model loaded, too
few rows) are listed in ``report.not_checked`` with the reason.
"""
from __future__ import annotations

import os
import time
from typing import Sequence

from tunewise.audit import diversity, leakage, pii_check, relevance, representativeness, shift
from tunewise.audit.inputs import (Split, from_examples, read_production, read_split,
                                   refuse_same_files)
from tunewise.audit.report import AuditReport
from tunewise.data.records import Example
from tunewise.errors import UsageError

FEATURES = ("tfidf", "lm+tfidf", "lm")
#: fewest rows (per side) the statistical checks need
MIN_ROWS = 10
#: fewest rows the off-task ranking needs (K neighbours and a spread to compare with)
MIN_RELEVANCE_ROWS = 20


def _load(role: str, src, reader: dict, task=None) -> tuple[list[Example], int, str]:
    if isinstance(src, (str, os.PathLike)):
        examples, rejected = read_split(role, src, reader=reader)
        return examples, rejected, os.fspath(src)
    examples = list(src)
    if not examples:
        raise UsageError(f"the {role} examples are empty", fix=f"pass a non-empty {role} set")
    return examples, 0, f"<{role}>"


def _production(src, reader: dict) -> Split:
    if isinstance(src, (str, os.PathLike)):
        return read_production(src, reader=reader)
    items = list(src)
    if not items:
        raise UsageError("the production sample is empty", fix="pass at least one input")
    if all(isinstance(x, str) for x in items):
        return Split("production", "<production>", items,
                     [f"<production>#{i + 1}" for i in range(len(items))],
                     [None] * len(items), [None] * len(items), items)
    return from_examples("production", items, None)


def audit(train, test=None, production=None, *, format: str | None = None,
          task: str | None = None, text_column: str | None = None,
          label_column: str | None = None, encoding: str | None = None,
          features: str = "tfidf", model: str | None = None, lm=None, presidio: bool = False,
          seed: int = 0, output: str | os.PathLike | None = None,
          progress: bool = True) -> AuditReport:
    """Audit ``train`` (a dataset path or a list of ``Example``) against ``test`` (same) and
    ``production`` (a path, a list of ``Example`` or of input strings). ``features``: "tfidf"
    (default, no model), "lm+tfidf" or "lm" (also the embeddings of ``model`` / ``lm``, default
    the embedded model). ``output``: also write the report as JSON there (never over an input).
    """
    from tunewise.progress import bar
    from tunewise.tasks.factory import data_task
    if features not in FEATURES:
        raise UsageError(f"unknown features {features!r}", fix=f"use one of {', '.join(FEATURES)}")
    refuse_same_files(train, test, production)
    if output is not None:
        from tunewise.outputs_guard import check_outputs
        check_outputs({"training file": train, "test file": test, "production sample": production},
                      {"report": output}, fix="write the report (-o) to a new file")
    reader = {k: v for k, v in (("format", format), ("task", task), ("text_column", text_column),
                                ("label_column", label_column), ("encoding", encoding)) if v}
    started = time.perf_counter()
    ex_train, rej, name = _load("training", train, reader)
    kind = data_task(task, ex_train[:2000])
    tr = from_examples("train", ex_train, kind, name, rej)
    te = None
    if test is not None:
        ex_test, rej_t, name_t = _load("test", test, reader)
        te = from_examples("test", ex_test, kind, name_t, rej_t)
    prod = _production(production, reader) if production is not None else None
    report = AuditReport(files={"train": tr.name, **({"test": te.name} if te else {}),
                                **({"production": prod.name} if prod else {})},
                         rows={s.role: len(s) for s in (tr, te, prod) if s is not None},
                         task=kind.kind, features=features)
    for s in (tr, te):
        if s is not None and s.rejected:
            report.notes.append(f"{s.rejected:,} rows of {s.name} were rejected by the reader and "
                                f"not audited (`tunewise data check {s.name}` lists them)")
    steps = _plan(report, tr, te, prod, features, presidio)
    with bar("audit", len(steps), disable=not progress) as advance:
        for label, fn in steps:
            t0 = time.perf_counter()
            fn(report, tr, te, prod, seed=seed, model=model, lm=lm)
            report.timing[label] = round(time.perf_counter() - t0, 2)
            advance(1, info=label)
    report.timing["total_seconds"] = round(time.perf_counter() - started, 2)
    if output is not None:
        from tunewise.fileio import write_json
        write_json(output, report.to_dict())
    return report


def _plan(report: AuditReport, tr: Split, te, prod, features: str, presidio: bool) -> list:
    """The checks that can run, in report order; the others go to ``report.not_checked``."""
    steps = []
    target = prod if prod is not None else te
    if target is None:
        report.skip("representativeness", "train vs production",
                    "no production sample (--production) and no test split (--test) to compare with")
    elif len(tr) < MIN_ROWS or len(target) < MIN_ROWS:
        report.skip("representativeness", "train vs production",
                    f"needs at least {MIN_ROWS} rows on each side (train {len(tr)}, "
                    f"{target.role} {len(target)})")
    else:
        if prod is None:
            report.notes.append("no production sample: the test split stands in for production")
        steps.append(("representativeness", _representativeness))
    if features == "tfidf":
        report.skip("representativeness", "language-model embeddings",
                    "no model loaded (use --features lm+tfidf, optionally with --model NAME)")
    if len(tr) < 2:
        report.skip("diversity", "near-duplicates, class diversity, label balance",
                    "one training row: nothing to compare it with")
    else:
        steps.append(("diversity", _diversity))
    if len(tr) < MIN_RELEVANCE_ROWS:
        report.skip("relevance", "off-task inputs",
                    f"needs at least {MIN_RELEVANCE_ROWS} training rows (has {len(tr)})")
        steps.append(("relevance", _answer_form_only))
    else:
        steps.append(("relevance", _relevance))
    if te is None:
        report.skip("leakage", "train vs test", "no test split (--test)")
    if te is not None or prod is not None:
        steps.append(("leakage", _leakage))
    steps.append(("personal_data", _personal_data))
    if not presidio:
        report.skip("personal_data", "names and street addresses",
                    "needs --presidio (pip install 'tunewise[presidio]' and a spaCy model)")
    else:
        steps.append(("names", _names))
    return steps


def _representativeness(report, tr, te, prod, *, seed, model, lm):
    target = prod if prod is not None else te
    emb = None
    if report.features != "tfidf":
        from tunewise.audit.features import embeddings
        all_emb = embeddings(tr.texts + target.texts, model=model, lm=lm)
        emb = (all_emb[:len(tr)], all_emb[len(tr):])
    report.add(representativeness.check_domain(tr, target, seed=seed, emb=emb))
    for f in representativeness.check_coverage(tr, target, seed=seed):
        report.add(f)
    report.add(shift.check_length(tr, target))
    report.add(shift.check_language(tr, target, seed))
    report.add(shift.check_vocabulary(tr, target, seed))


def _diversity(report, tr, te, prod, *, seed, model, lm):
    report.add(diversity.check_duplicates(tr, diversity.cluster_ids(tr.texts)))
    if report.task != "classification":
        report.skip("diversity", "per-class diversity and label balance",
                    f"a {report.task} task has no class labels"
                    + (" (entity counts: `tunewise data stats`)" if report.task == "ner" else ""))
        return
    report.add(diversity.check_class_diversity(tr, diversity.template_ids(tr.texts)))
    report.add(diversity.check_balance(tr))


def _relevance(report, tr, te, prod, *, seed, model, lm):
    for f in relevance.check_relevance(tr, seed=seed, with_answers=report.task != "ner",
                                       reference=te):
        report.add(f)


def _answer_form_only(report, tr, te, prod, *, seed, model, lm):
    if report.task != "ner":
        report.add(relevance._form_finding(tr, relevance.answer_form(tr)))


def _leakage(report, tr, te, prod, *, seed, model, lm):
    for other in (te, prod):
        if other is not None:
            report.add(leakage.check_leakage(tr, other))


def _personal_data(report, tr, te, prod, *, seed, model, lm):
    for s in (tr, te, prod):
        if s is not None:
            report.add(pii_check.check_personal_data(s))


def _names(report, tr, te, prod, *, seed, model, lm):
    try:
        engine = pii_check.presidio_engine()
    except (ImportError, OSError, ValueError) as e:
        report.skip("personal_data", "names and street addresses",
                    f"Presidio could not start ({type(e).__name__}: {e}); install "
                    "'tunewise[presidio]' and a spaCy model (python -m spacy download en_core_web_lg)")
        return
    for s in (tr, te, prod):
        if s is not None:
            report.add(pii_check.check_names(s, engine))


def audit_examples(train: Sequence[Example], test: Sequence[Example] | None = None, *,
                   task=None, seed: int = 0) -> AuditReport:
    """The audit compare runs on its splits (TF-IDF features, no progress bar)."""
    return audit(list(train), list(test) if test else None, task=task, seed=seed,
                 progress=False)
