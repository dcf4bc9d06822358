"""ArmRecord (tunewise.arm_record): a results.json arm read once, of any tunewise version, and
asked which arm it is; and no code in comparison/ or report/ compares an arm's kind as a string
read from a dict (they ask the record)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tunewise.arm_record import KINDS, ArmRecord, ArmRole, records
from tunewise.errors import InputError

ROOT = Path(__file__).resolve().parents[1]

#: a fine-tuned and a prompting arm as results.json held them on 2026-11-27 (schema_version 1,
#: before remote arms): no per-arm model, hardware spelled "cpu"
OLD_FT = {"name": "finetune-n64-s0", "kind": "finetune", "train_size": 64, "seed": 0,
          "metrics": {"accuracy": {"value": 0.8, "ci": [0.7, 0.9]}}, "n_test": 50,
          "timing": {"examples_per_second": 40.0, "train_seconds": 6.4, "hardware": "cpu"},
          "tokens": {"prompt": 60.0, "output": 1.0, "train_total": 3840},
          "run_dir": "runs/finetune-n64-s0", "reused": True}
OLD_PROMPT = {"name": "4-shot", "kind": "prompt", "shots": 4, "seed": 0,
              "metrics": {"accuracy": {"value": 0.6, "ci": None}}}
#: a remote arm as compare writes it now, and a raw record (the cache) with its predictions
NEW_REMOTE = {"name": "gpt-4.1-mini 0-shot", "kind": "remote", "shots": 0,
              "model": "openai/gpt-4.1-mini", "base_url": "https://api.openai.com/v1",
              "metrics": {"accuracy": {"value": 0.9, "ci": [0.85, 0.95]}},
              "timing": {"examples_per_second": 5.0, "hardware": "remote"},
              "usage": {"n": 50, "requests": 50, "usd_per_request": 0.0002}}
RAW_CLASSICAL = {"name": "classical", "kind": "classical", "train_size": 900,
                 "preds": ["pos", "neg"], "label_logprobs": [[-0.1, -2.3], [-1.9, -0.2]],
                 "timing": {"examples_per_second": 900.0, "hardware": "cpu (CPU)"}}


def test_old_results_arms_read_with_the_compare_model_and_their_hardware():
    ft = ArmRecord.from_dict(OLD_FT, model="HuggingFaceTB/SmolLM2-135M-Instruct")
    assert ft.role is ArmRole.FINETUNE and ft.is_finetune and not ft.is_prompting
    assert (ft.name, ft.train_size, ft.seed, ft.hardware) == ("finetune-n64-s0", 64, 0, "cpu")
    assert ft.model == "HuggingFaceTB/SmolLM2-135M-Instruct"    # the compare's, not named per arm
    assert ft.value("accuracy") == 0.8 and ft.ci("accuracy") == [0.7, 0.9]
    assert ft.examples_per_second == 40.0 and ft.reused and ft.get("run_dir") == OLD_FT["run_dir"]
    assert ft.label == "fine-tuned" and ft.kind == "finetune"
    p = ArmRecord.from_dict(OLD_PROMPT)
    assert p.is_prompting and p.is_local_prompt and p.is_kshot and not p.remote
    assert p.model is None and p.hardware is None and p.ci("accuracy") is None
    assert p.value("macro_f1") is None and p.usd_per_request is None


def test_new_shapes_remote_arm_and_raw_record():
    r = ArmRecord.from_dict(NEW_REMOTE, model="local-model")
    assert r.role is ArmRole.REMOTE and r.remote and r.is_prompting and not r.is_local_prompt
    assert not r.is_kshot and not r.role.runs_locally
    assert r.model == "openai/gpt-4.1-mini"                     # its own model wins
    assert r.hardware == "remote" and r.usd_per_request == 0.0002
    c = ArmRecord.from_dict(RAW_CLASSICAL)
    assert c.is_classical and c.preds == ["pos", "neg"] and c.get("label_logprobs")
    assert c.raw is RAW_CLASSICAL                               # nothing copied, nothing changed
    # a remote arm with no timing is still measured "remote"
    assert ArmRecord.from_dict({"name": "x", "kind": "remote"}).hardware == "remote"


def test_every_kind_and_the_registry_spelling():
    assert KINDS == ("majority", "classical", "probe", "prompt", "remote", "finetune")
    for kind in KINDS:
        assert ArmRecord.from_dict({"name": "a", "kind": kind}).kind == kind
    # the arm registry calls a fine-tuned arm "finetuned" (evaluate(arm="finetuned"))
    assert ArmRole.parse("finetuned") is ArmRole.FINETUNE
    assert [r.order for r in ArmRole] == sorted(r.order for r in ArmRole)
    assert ArmRole.lookup("nonsense") is None and ArmRole.lookup(None) is None


def test_example_results_read_and_kept_as_written():
    from tunewise.report import example_results
    res = example_results()
    recs = records(res["arms"], model=res["model"])
    assert [r.kind for r in recs] == [a["kind"] for a in res["arms"]]
    assert {r.role for r in recs} == {ArmRole.MAJORITY, ArmRole.CLASSICAL, ArmRole.PROMPT,
                                      ArmRole.FINETUNE}
    assert all(r.model == res["model"] for r in recs)
    assert records(recs) == recs                                # records pass through


@pytest.mark.parametrize("arm, words", [
    ({"name": "a", "kind": "fine-tuned"}, ["arms[0] (a)", "unknown arm kind 'fine-tuned'"]),
    ({"name": "a"}, ["unknown arm kind None"]),
    ({"kind": "prompt"}, ["arms[0]", "no name"]),
    ("finetune", ["arms[0]", "JSON object"]),
])
def test_a_bad_arm_is_a_clear_error(arm, words):
    with pytest.raises(InputError) as e:
        records([arm])
    for w in words:
        assert w in e.value.message
    assert e.value.fix and e.value.exit_code == 2
    if "unknown" in words[-1]:
        assert "finetune" in e.value.fix                        # the known kinds are listed


def test_validate_results_names_an_unknown_kind():
    from tunewise.comparison.schema import validate_results
    from tunewise.report import example_results
    res = example_results()
    res["arms"][0]["kind"] = "baseline"
    assert any("arms[0].kind must be majority|classical|probe|prompt|remote|finetune" in p
               for p in validate_results(res))


# -- no kind strings compared in comparison/ and report/ -----------------------------------------

def _reads_kind(node) -> bool:
    """``x["kind"]`` or ``x.get("kind", ...)``."""
    if isinstance(node, ast.Subscript):
        s = node.slice
        return isinstance(s, ast.Constant) and s.value == "kind"
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get" and bool(node.args)
            and isinstance(node.args[0], ast.Constant) and node.args[0].value == "kind")


def _names_kind(node) -> bool:
    """``kind``, ``x.kind`` or ``getattr(x, "kind", ...)``."""
    if isinstance(node, ast.Name):
        return node.id == "kind"
    if isinstance(node, ast.Attribute):
        return node.attr == "kind"
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "getattr" and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant) and node.args[1].value == "kind")


#: every spelling of "which arm" there has been
ARM_WORDS = {*KINDS, "finetuned", "fine-tune", "k-shot", "zero-shot"}


def _arm_words(node) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in ARM_WORDS
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_arm_words(e) for e in node.elts)
    return False


def kind_string_comparisons(source: str) -> list[int]:
    """Lines comparing an arm's kind as a string: a ``kind`` read from a dict compared with
    anything (or used as a key of a lookup), or a ``kind`` name compared with an arm's word."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            ops = [node.left, *node.comparators]
            if any(_reads_kind(o) for o in ops) or (
                    any(_names_kind(o) for o in ops) and any(_arm_words(o) for o in ops)):
                lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and _reads_kind(node.slice):
            lines.append(node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and node.args and _reads_kind(node.args[0])):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_each_pattern_it_forbids():
    bad = ['r["kind"] == "finetune"', 'a.get("kind") in ("prompt", "remote")',
           'a.get("kind", "") != x', 'kind == "finetuned"', 'p.arm.kind not in ("remote",)',
           'getattr(p.arm, "kind", None) != "remote"', '{"none": 1}[rec["kind"]]',
           'ORDER.get(a.get("kind"), 9)']
    for src in bad:
        assert kind_string_comparisons(src) == [1], src
    fine = ['rec.is_finetune', 'ArmRole.parse(a.get("kind")) is ArmRole.FINETUNE',
            'task.kind != "generation"', 'cost.get("mode") == "remote"',
            'row = [a["name"], a.get("kind", "")]', '{"kind": "finetune"}']
    for src in fine:
        assert kind_string_comparisons(src) == [], src


@pytest.mark.parametrize("package", ["comparison", "report"])
def test_no_arm_kind_is_compared_as_a_string(package):
    found = []
    for path in sorted((ROOT / "tunewise" / package).rglob("*.py")):
        for line in kind_string_comparisons(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(ROOT)}:{line}")
    assert not found, ("compare arm kinds through tunewise.arm_record (ArmRecord.from_dict(d)."
                       f"is_finetune, ArmRole.parse(kind)...), not as strings: {found}")
