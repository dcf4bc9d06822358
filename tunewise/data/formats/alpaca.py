"""Alpaca records ({instruction, input, output}) -> Example; JSON array or JSON Lines.

user = instruction + ("\\n\\n" + input if input), assistant = output, reference = output.
Self-Instruct seed tasks ({instruction, instances: [{input, output}, ...]}) give one example per
instance.
"""
from __future__ import annotations

from typing import Any

from tunewise.data.formats.openai_chat import _json_type, is_record_of
from tunewise.data.records import Example

NAME = "alpaca"
KEYS = frozenset(("instruction", "input", "output", "instances", "id", "name",
                  "is_classification", "text", "meta", "label", "system"))


def _user_text(instruction: str, inp: str) -> str:
    return instruction + ("\n\n" + inp if inp and inp.strip() else "")


def to_examples(obj: Any, line: int, opts, log) -> list[Example]:
    if not is_record_of(obj, NAME, line, log, display="alpaca",
                        shape='{"instruction": "...", "input": "", "output": "..."}',
                        missing="'instruction' / 'output' keys"):
        return []
    instr = obj.get("instruction")
    if type(instr) is not str or not instr.strip():
        what = "missing" if instr is None else ("empty" if type(instr) is str else
                                                f"a {_json_type(instr)}, not a string")
        log.error("missing_content" if instr is not None else "missing_key",
                  f"'instruction' is {what}", "give the instruction as a string", line=line,
                  field="instruction")
        return []
    for k in obj:
        if k not in KEYS:
            log.warning("unrecognized_key", f"unknown key {k!r}", "remove it", line=line, field=k)
    base_id = str(obj["id"]) if obj.get("id") is not None else str(line)
    if "instances" in obj and "output" not in obj:
        inst = obj["instances"]
        if type(inst) is not list or not inst:
            log.error("missing_key", "'instances' must be a non-empty list of {input, output}",
                      "give at least one instance", line=line, field="instances")
            return []
        items = [(f"instances[{j}].", d, f"{base_id}-{j}") for j, d in enumerate(inst)]
    else:
        items = [("", obj, base_id)]
    out = []
    for prefix, d, ex_id in items:
        if type(d) is not dict:
            log.error("not_an_object", f"{prefix or 'record'} is not an object",
                      "write {\"input\": ..., \"output\": ...}", line=line, field=prefix.rstrip(".") or None)
            continue
        inp, output = d.get("input", ""), d.get("output")
        if inp is None:
            inp = ""
        if type(inp) is not str:
            log.error("invalid_content", f"{prefix}input must be a string, not {_json_type(inp)}",
                      "write a string (\"\" when there is no input)", line=line, field=f"{prefix}input")
            continue
        if output is None:
            log.error("missing_key", f"no '{prefix}output'", "add the expected output", line=line,
                      field=f"{prefix}output")
            continue
        if type(output) is not str:
            log.error("invalid_content", f"{prefix}output must be a string, not {_json_type(output)}",
                      "write a string", line=line, field=f"{prefix}output")
            continue
        if not output.strip():
            log.error("empty_assistant_content", f"{prefix}output is empty",
                      "give the expected output, or drop the example", line=line,
                      field=f"{prefix}output")
            continue
        meta = dict(obj["meta"]) if type(obj.get("meta")) is dict else {}
        meta.update(source=opts.source, line=line, id=ex_id)
        system = obj.get("system") if type(obj.get("system")) is str else None
        label = obj.get("label")
        out.append(Example.from_text(_user_text(instr, inp), output, system=system,
                                     reference=output,
                                     label=str(label) if label is not None else None, meta=meta))
    return out
