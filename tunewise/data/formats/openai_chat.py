"""OpenAI chat-format records ({"messages": [...]}) -> Example, with OpenAI's format rules.

The rules follow OpenAI's published fine-tuning data checks (entry not an object, missing messages
list, message missing role/content, unrecognized key, unrecognized role, missing content, no
assistant message; warnings for a missing system or user message), without the known flaws of the
community checker: a numeric ``weight`` is validated (0 or 1) rather than crashing, and ``tool``
messages / assistant ``tool_calls`` are understood. tunewise's own gold keys (label, entities,
tokens, reference, meta) are accepted beside ``messages``.
"""
from __future__ import annotations

from typing import Any

from tunewise.data.records import Entity, Example, Message
from tunewise.registry import did_you_mean

NAME = "chat"
ROLES = ("system", "user", "assistant", "tool", "function")
MESSAGE_KEYS = frozenset(("role", "content", "name", "weight", "tool_calls", "tool_call_id",
                          "function_call"))
#: top-level keys OpenAI's upload accepts
OPENAI_KEYS = frozenset(("messages", "tools", "functions", "parallel_tool_calls"))
#: tunewise's own keys, written by write_chat_jsonl (fine here; stripped for an OpenAI upload)
GOLD_KEYS = frozenset(("label", "entities", "tokens", "reference", "meta"))
KNOWN_KEYS = OPENAI_KEYS | GOLD_KEYS

MISSING_SYSTEM = "{count} example(s) have no system message"
MISSING_SYSTEM_FIX = ("fine if intended; otherwise add the system prompt you will use at "
                      "inference time to every example")
MISSING_USER = "{count} example(s) have no user message"
MISSING_USER_FIX = "add the user's input as a user message"


def record_kind(obj: Any) -> str | None:
    """Which JSON record format an object looks like: chat, prompt_completion, alpaca or None."""
    if type(obj) is not dict:
        return None
    if "messages" in obj:
        return "chat"
    if "prompt" in obj or "completion" in obj:
        return "prompt_completion"
    if "instruction" in obj or "instances" in obj or ("output" in obj and "input" in obj):
        return "alpaca"
    return None


def _is_number(v) -> bool:
    return type(v) in (int, float)


def _check_tool_calls(calls, where: str, line: int, log) -> list[str]:
    ids = []
    if type(calls) is not list or not calls:
        log.error("invalid_tool_calls", "tool_calls must be a non-empty list",
                  'write [{"id": "call_1", "type": "function", "function": {"name": ..., '
                  '"arguments": "{...}"}}]', line=line, field=where)
        return ids
    for j, c in enumerate(calls):
        f = f"{where}[{j}]"
        fn = c.get("function") if type(c) is dict else None
        if type(fn) is not dict or type(fn.get("name")) is not str:
            log.error("invalid_tool_calls", "a tool call needs a function object with a name",
                      '{"id": "call_1", "type": "function", "function": {"name": "f", '
                      '"arguments": "{}"}}', line=line, field=f)
            continue
        if "arguments" in fn and type(fn["arguments"]) is not str:
            log.error("invalid_tool_calls", "function.arguments must be a JSON-encoded string",
                      "encode the arguments object as a string (json.dumps)", line=line,
                      field=f"{f}.function.arguments")
        if c.get("type", "function") != "function":
            log.error("invalid_tool_calls", f"tool call type {c.get('type')!r} is not 'function'",
                      'set "type": "function"', line=line, field=f"{f}.type")
        if type(c.get("id")) is str:
            ids.append(c["id"])
    return ids


def _content_ok(content, where: str, line: int, log) -> bool:
    if type(content) is str:
        return True
    if type(content) is list:   # content parts (text / image_url)
        ok = True
        for j, part in enumerate(content):
            if type(part) is not dict or part.get("type") not in ("text", "image_url", "input_audio"):
                log.error("invalid_content", "a content part must be an object with type 'text' or "
                          "'image_url'", 'use {"type": "text", "text": "..."}', line=line,
                          field=f"{where}[{j}]")
                ok = False
            elif part["type"] == "text" and type(part.get("text")) is not str:
                log.error("invalid_content", "a text content part needs a string 'text'",
                          'use {"type": "text", "text": "..."}', line=line, field=f"{where}[{j}]")
                ok = False
        return ok
    log.error("invalid_content", f"content must be a string, not {type(content).__name__}",
              "write the content as a JSON string", line=line, field=where)
    return False


#: between the text parts of one message's content. OpenAI's chat format does not document how
#: text parts are joined; tunewise joins them with a newline (as vLLM's OpenAI-compatible server
#: does), so "Describe 0" + "please" never becomes "Describe 0please".
TEXT_PART_SEPARATOR = "\n"


def _text_of(content) -> str | None:
    if type(content) is list:
        return TEXT_PART_SEPARATOR.join(p.get("text", "") for p in content
                                        if type(p) is dict and p.get("type") == "text")
    return content


def _non_text_parts(content) -> list[str]:
    """The types of the content parts a text model cannot use (image_url, input_audio)."""
    if type(content) is not list:
        return []
    return [p["type"] for p in content if type(p) is dict and p.get("type") not in (None, "text")]


def to_example(obj: Any, line: int, opts, log) -> Example | None:
    """Validate one chat record; returns the Example or None (errors are in ``log``)."""
    msgs = _messages(obj, line, log)
    if msgs is None:
        return None
    for k in obj:
        if k not in KNOWN_KEYS:
            log.warning("unrecognized_top_level_key", f"unknown key {k!r} beside 'messages'",
                        "remove it (OpenAI's upload accepts messages, tools, functions, "
                        "parallel_tool_calls), or write the file with write_chat_jsonl(openai=True)",
                        line=line, field=k)
    out: list[Message] = []
    call_ids: list[str] = []
    dropped_parts: list[str] = []
    bad = False
    for i, m in enumerate(msgs):
        msg, ok = _message(i, m, line, log, call_ids, dropped_parts)
        bad |= not ok
        if msg is not None:
            out.append(msg)
    roles = {m.role for m in out}
    if "assistant" not in roles and not bad:
        log.error("missing_assistant_message", "the example has no assistant message",
                  "add the answer the model should learn as an assistant message", line=line)
        bad = True
    gold = _gold(obj, line, log)
    if bad or gold is None:
        return None
    # summary warnings count valid examples only (an invalid one is reported already)
    if "system" not in roles:
        log.tally("missing_system_message", line, message=MISSING_SYSTEM, fix=MISSING_SYSTEM_FIX)
    if "user" not in roles:
        log.tally("missing_user_message", line, message=MISSING_USER, fix=MISSING_USER_FIX)
    label, entities, tokens, reference, meta = gold
    meta = {**meta, "source": opts.source, "line": line}
    meta.setdefault("id", str(line))
    if dropped_parts:       # `data clean` logs the row as changed (non_text_parts_dropped)
        meta["dropped_parts"] = dropped_parts
    return Example(out, label=label, entities=entities, tokens=tokens, reference=reference,
                   meta=meta)


def _messages(obj: Any, line: int, log) -> list | None:
    """The record's non-empty 'messages' list, or None (the error logged)."""
    if type(obj) is not dict:
        log.error("not_an_object", f"the record is a JSON {_json_type(obj)}, not an object",
                  'each line must be an object: {"messages": [...]}', line=line)
        return None
    msgs = obj.get("messages")
    if type(msgs) is list and msgs:
        return msgs
    kind = record_kind(obj)
    if kind not in (None, "chat"):
        log.error("mixed_formats", f"this record is {kind} format, but the file is chat format",
                  "use one format in a file; convert it to {\"messages\": [...]}", line=line)
    elif "messages" not in obj:
        log.error("missing_messages_list", "no 'messages' list",
                  'each record needs "messages": [{"role": ..., "content": ...}, ...]',
                  line=line)
    else:
        what = "empty" if msgs == [] else f"a {_json_type(msgs)}, not a list"
        log.error("missing_messages_list", f"'messages' is {what}",
                  'give a list of messages: [{"role": "user", ...}, {"role": "assistant", ...}]',
                  line=line, field="messages")
    return None


def _message(i: int, m: Any, line: int, log, call_ids: list[str],
             dropped_parts: list[str]) -> tuple[Message | None, bool]:
    """(the Message, or None when it has no valid role; True when it has no error). Tool call ids
    are added to ``call_ids``, the kinds of non-text parts left out to ``dropped_parts``."""
    f = f"messages[{i}]"
    if type(m) is not dict:
        log.error("message_not_an_object", f"message {i} is a JSON {_json_type(m)}, not an "
                  "object", 'write {"role": ..., "content": ...}', line=line, field=f)
        return None, False
    bad = False
    for k in m:
        if k not in MESSAGE_KEYS:
            log.error("message_unrecognized_key", f"unrecognized key {k!r} in message {i}",
                      f"remove it; {did_you_mean(k, sorted(MESSAGE_KEYS))}", line=line,
                      field=f"{f}.{k}")
            bad = True
    role = m.get("role")
    if "role" not in m:
        log.error("message_missing_key", f"message {i} has no 'role'",
                  "add \"role\": one of system, user, assistant, tool", line=line, field=f)
        return None, False
    if role not in ROLES:
        log.error("unrecognized_role", f"message {i} has role {role!r}",
                  did_you_mean(str(role), ROLES[:4]), line=line, field=f"{f}.role")
        return None, False
    calls = m.get("tool_calls")
    if calls is not None:
        if role != "assistant":
            log.error("invalid_tool_calls", f"tool_calls on a {role} message",
                      "only assistant messages carry tool_calls", line=line,
                      field=f"{f}.tool_calls")
            bad = True
        n_before = log.n_errors
        call_ids += _check_tool_calls(calls, f"{f}.tool_calls", line, log)
        bad |= log.n_errors > n_before
    content = m.get("content")
    bad |= not _content_valid(m, i, f, role, calls, line, log)
    bad |= not _fields_valid(m, i, f, role, call_ids, line, log)
    dropped = _non_text_parts(content)
    if dropped:
        kinds = ", ".join(sorted(set(dropped)))
        log.warning("non_text_content", f"message {i} has {len(dropped)} {kinds} part(s) that "
                    "a text model cannot use; only its text parts are kept",
                    "describe the image/audio in a text part, or remove the example",
                    line=line, field=f"{f}.content")
        dropped_parts.extend(dropped)
    msg = Message(role, _text_of(content) if type(content) is list else content,
                  m.get("name") if type(m.get("name")) is str else None,
                  m.get("weight") if _is_number(m.get("weight")) else None,
                  calls if type(calls) is list else None,
                  m.get("tool_call_id") if type(m.get("tool_call_id")) is str else None)
    return msg, not bad


def _content_valid(m: dict, i: int, f: str, role: str, calls, line: int, log) -> bool:
    """The message's content: present, not null, well-formed, not empty (unless it calls)."""
    content = m.get("content")
    has_call = calls is not None or m.get("function_call") is not None
    if "content" not in m and not has_call:
        log.error("message_missing_key", f"message {i} ({role}) has no 'content'",
                  "add \"content\": the message text", line=line, field=f)
        return False
    if content is None and not has_call:
        log.error("missing_content", f"message {i} ({role}) has null content",
                  "give the message text as a string", line=line, field=f"{f}.content")
        return False
    if content is not None and not _content_ok(content, f"{f}.content", line, log):
        return False
    if not has_call and not (_text_of(content) or "").strip():
        if role == "assistant":
            log.error("empty_assistant_content", f"message {i} (assistant) is empty",
                      "give the answer the model should learn, or drop the example",
                      line=line, field=f"{f}.content")
        else:
            log.error("missing_content", f"message {i} ({role}) has empty content",
                      "give the message text, or drop the message", line=line,
                      field=f"{f}.content")
        return False
    return True


def _fields_valid(m: dict, i: int, f: str, role: str, call_ids: list[str], line: int,
                  log) -> bool:
    """weight (0 or 1, assistant only), name (a string), a tool message's tool_call_id."""
    ok = True
    if "weight" in m:
        w = m["weight"]
        if not _is_number(w) or w not in (0, 1):
            log.error("invalid_weight", f"weight {w!r} in message {i}: must be 0 or 1",
                      "use 1 to train on this assistant message, 0 to skip it", line=line,
                      field=f"{f}.weight")
            ok = False
        elif role != "assistant":
            log.error("invalid_weight", f"weight on a {role} message",
                      "weight applies to assistant messages only; remove it", line=line,
                      field=f"{f}.weight")
            ok = False
    if "name" in m and type(m["name"]) is not str:
        log.error("invalid_name", f"name in message {i} must be a string", "write a string",
                  line=line, field=f"{f}.name")
        ok = False
    if role == "tool":
        tcid = m.get("tool_call_id")
        if type(tcid) is not str:
            log.error("missing_tool_call_id", f"tool message {i} has no tool_call_id",
                      "set tool_call_id to the id of the assistant's tool call it answers",
                      line=line, field=f"{f}.tool_call_id")
            ok = False
        elif tcid not in call_ids:
            log.warning("unmatched_tool_call_id", f"tool message {i} answers {tcid!r}, which "
                        "no earlier assistant tool call has", "match the tool_calls id",
                        line=line, field=f"{f}.tool_call_id")
    return ok


def _gold(obj: dict, line: int, log):
    label = obj.get("label")
    ok = True
    if label is not None and type(label) not in (str, int, bool):
        log.error("invalid_label", f"label must be a string, not {_json_type(label)}",
                  "write the label as a string", line=line, field="label")
        ok = False
    elif label is not None:
        label = str(label).lower() if type(label) is bool else str(label)
    tokens = obj.get("tokens")
    if tokens is not None and (type(tokens) is not list or any(type(t) is not str for t in tokens)):
        log.error("invalid_tokens", "tokens must be a list of strings", "write [\"tok\", ...]",
                  line=line, field="tokens")
        ok = False
        tokens = None
    ents = obj.get("entities")
    entities = None
    if ents is not None:
        try:
            entities = [Entity.from_dict(e) for e in ents]
            n = len(tokens) if tokens is not None else None
            for e in entities:
                if e.start < 0 or e.end <= e.start or (n is not None and e.end > n):
                    raise ValueError(f"span {e.start}:{e.end} outside the {n} tokens")
        except (TypeError, KeyError, ValueError, AttributeError) as e:
            log.error("invalid_entities", f"entities must be a list of {{type, start, end}} spans "
                      f"over tokens ({e})", 'write [{"type": "person", "start": 0, "end": 2}]',
                      line=line, field="entities")
            ok = False
        if tokens is None and ok:
            log.error("invalid_entities", "entities are given without tokens",
                      "add the tokens the spans refer to", line=line, field="tokens")
            ok = False
    ref = obj.get("reference")
    if ref is not None and type(ref) is not str:
        log.error("invalid_reference", "reference must be a string", "write a string", line=line,
                  field="reference")
        ok = False
    meta = obj.get("meta")
    if meta is not None and type(meta) is not dict:
        log.warning("invalid_meta", "meta must be an object; ignored", "write an object",
                    line=line, field="meta")
        meta = None
    if not ok:
        return None
    return label, entities, tokens, ref, dict(meta or {})


def is_record_of(obj: Any, name: str, line: int, log, *, display: str, shape: str,
                 missing: str) -> bool:
    """True when ``obj`` is a JSON object of the format ``name``; else the error is logged:
    not an object (``shape``: the record to write), another format's record (mixed formats) or
    neither (``missing``: what is absent)."""
    if type(obj) is not dict:
        log.error("not_an_object", f"the record is a JSON {_json_type(obj)}, not an object",
                  f"each record must be {shape}", line=line)
        return False
    found = record_kind(obj)
    if found == name:
        return True
    if found is not None:
        log.error("mixed_formats", f"this record is {found} format, but the file is {display} "
                  "format", "use one format in a file", line=line)
    else:
        log.error("missing_key", f"no {missing}", f"write {shape}", line=line)
    return False


def _json_type(v) -> str:
    return {dict: "object", list: "array", str: "string", int: "number", float: "number",
            bool: "boolean", type(None): "null"}.get(type(v), type(v).__name__)
