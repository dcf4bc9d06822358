"""A request → prompt token ids and decoding settings, exactly as ``tunewise eval`` would.

Chat requests to a run's adapter go through the run's Task, the code eval and training use
(``Task.prompt_messages`` then ``tasks.render.encode_prompt``): the task's system prompt is added
when the request has none, the last user turn goes through the task's template, and the task's
stop strings (NER: a blank line) and answer budget apply. So an application sending the same
messages as its training file gets the prompt the adapter was trained and evaluated on. Requests
to the base model are rendered with the chat template as given.

A text too long for the context by its length alone is refused before it is tokenized: no token
of the vocabulary covers more than ``ServedModels.max_token_chars`` characters, so a text of more
than twice context x that many characters cannot fit. An empty completions prompt starts from the
model's start token (BOS, else EOS), as ``model.generate`` does without input ids.
"""
from __future__ import annotations

from tunewise.serving.adapters import ServedModel, ServedModels
from tunewise.serving.decode import SamplingParams
from tunewise.serving.errors import APIError
from tunewise.serving.schemas import ChatCompletionRequest, CompletionRequest, _Common

#: OpenAI's default for /v1/completions
COMPLETIONS_DEFAULT_MAX_TOKENS = 16


def _message_text(m, i: int) -> str:
    if m.content is None:
        if m.tool_calls:
            raise APIError(400, "tool calls are not supported by tunewise serve",
                           param=f"messages.{i}.tool_calls", code="unsupported_value")
        return ""
    if isinstance(m.content, str):
        return m.content
    parts = []
    for k, part in enumerate(m.content):
        if getattr(part, "type", None) != "text":
            raise APIError(400, f"content part of type {part.type!r}: only text is supported",
                           param=f"messages.{i}.content.{k}", code="unsupported_value")
        parts.append(part.text)
    return "".join(parts)


def chat_messages(req: ChatCompletionRequest) -> list[dict]:
    out = []
    for i, m in enumerate(req.messages):
        if m.role in ("tool", "function") or m.tool_calls:
            raise APIError(400, f"messages[{i}]: role {m.role!r} / tool calls are not supported "
                                "by tunewise serve", param=f"messages.{i}.role",
                           code="unsupported_value")
        role = "system" if m.role == "developer" else m.role
        out.append({"role": role, "content": _message_text(m, i)})
    return out


def check_length(served: ServedModels, chars: int, param: str) -> None:
    """400 context_length_exceeded for a text that cannot fit whatever its tokens (before
    spending the time to tokenize it); the factor 2 leaves room for normalization."""
    limit = 2 * served.context_length * served.max_token_chars
    if chars > limit:
        raise APIError(400, f"the input has {chars} characters: more than the model's context of "
                            f"{served.context_length} tokens can hold", param=param,
                       code="context_length_exceeded")


def chat_prompt(served: ServedModels, entry: ServedModel, req: ChatCompletionRequest) -> list[int]:
    from tunewise.tasks.render import encode_prompt
    msgs = chat_messages(req)
    # every non-system turn reaches the prompt (a run's task may replace the system prompt)
    check_length(served, sum(len(m["content"]) for m in msgs if m["role"] != "system"),
                 "messages")
    if entry.task is not None:
        if msgs[-1]["role"] == "assistant":
            # the Task answers the conversation up to its last user turn; dropping a trailing
            # assistant message silently would answer a different question
            raise APIError(400, f"the last message is the assistant's: the adapter {entry.id!r} "
                                "answers after a user message (its task renders prompts as in "
                                "training)", param=f"messages.{len(msgs) - 1}.role",
                           code="invalid_value")
        from tunewise.data.records import Example, Message
        ex = Example(messages=[Message(m["role"], m["content"]) for m in msgs])
        msgs = entry.task.prompt_messages(ex)
    return encode_prompt(served.tokenizer, msgs)


def completion_prompt(served: ServedModels, req: CompletionRequest) -> list[int]:
    p = req.prompt
    if isinstance(p, list) and p and isinstance(p[0], int):
        vocab = len(served.tokenizer)
        bad = [t for t in p if not 0 <= t < vocab]
        if bad:
            raise APIError(400, f"prompt token id {bad[0]} is outside the vocabulary (0..{vocab - 1})",
                           param="prompt", code="invalid_value")
        return list(p)
    if isinstance(p, list):
        if len(p) != 1:
            raise APIError(400, f"got {len(p)} prompts: tunewise serve answers one prompt per "
                                "request (send them as concurrent requests; they are batched)",
                           param="prompt", code="unsupported_value")
        p = p[0]
    check_length(served, len(p), "prompt")
    ids = served.tokenizer(p)["input_ids"]
    if not ids:  # "" (OpenAI accepts it): continue from the start of a text
        tok = served.tokenizer
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        if start is None:
            raise APIError(400, "the prompt is empty and this model's tokenizer has no BOS or EOS "
                                "token to start from: send some text", param="prompt",
                           code="invalid_value")
        ids = [start]
    return list(ids)


def _refuse(param: str, value, why: str) -> APIError:
    return APIError(400, f"{param}={value!r} is not supported: {why}", param=param,
                    code="unsupported_value")


def _check_common(req: _Common) -> None:
    if req.n not in (None, 1):
        raise _refuse("n", req.n, "tunewise serve returns one choice per request (n=1)")
    for p in ("presence_penalty", "frequency_penalty"):
        if getattr(req, p) not in (None, 0, 0.0):
            raise _refuse(p, getattr(req, p), "penalties are not implemented")
    if req.logit_bias:
        raise _refuse("logit_bias", "{...}", "logit bias is not implemented")
    if req.stream_options is not None and not req.stream:
        raise APIError(400, "stream_options is only allowed with stream=true",
                       param="stream_options", code="invalid_value")


def _stops(req: _Common) -> list[str]:
    stop = req.stop
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if any(s == "" for s in stops):
        raise APIError(400, "stop sequences may not be empty", param="stop", code="invalid_value")
    return stops


def sampling_params(served: ServedModels, entry: ServedModel, req: _Common, prompt_len: int,
                    *, max_tokens_limit: int, chat: bool) -> SamplingParams:
    """Decoding settings for ``req``; APIError (400) when it cannot run as asked."""
    _check_common(req)
    if chat:
        # response_format: text, or a json_schema enum (checked by ``choices.choice_spec``)
        if req.tools:
            raise _refuse("tools", "[...]", "tool calling is not implemented")
        if req.tool_choice not in (None, "none"):
            raise _refuse("tool_choice", req.tool_choice, "tool calling is not implemented")
        if req.top_logprobs and not req.logprobs:
            raise APIError(400, "top_logprobs needs logprobs=true", param="top_logprobs",
                           code="invalid_value")
        asked = req.max_completion_tokens or req.max_tokens
        param = "max_completion_tokens" if req.max_completion_tokens else "max_tokens"
        logprobs, top = bool(req.logprobs), int(req.top_logprobs or 0)
    else:
        if req.echo:
            raise _refuse("echo", True, "the prompt is not echoed")
        if req.suffix:
            raise _refuse("suffix", "...", "insertion is not implemented")
        if req.best_of not in (None, 1):
            raise _refuse("best_of", req.best_of, "one candidate per request")
        asked, param = req.max_tokens, "max_tokens"
        logprobs, top = req.logprobs is not None, int(req.logprobs or 0)
    stops = _stops(req)
    if entry.task is not None and chat:
        from tunewise.prompting.predict import stop_strings
        stops = [*stops, *[s for s in stop_strings(entry.task) if s not in stops]]
    room = served.context_length - prompt_len
    if room < 1:
        raise APIError(400, f"the prompt has {prompt_len} tokens: no room to answer in the "
                            f"model's context of {served.context_length} tokens",
                       param="messages" if chat else "prompt", code="context_length_exceeded")
    if asked is not None:
        if asked > max_tokens_limit:
            raise APIError(400, f"{param}={asked} is over this server's limit of "
                                f"{max_tokens_limit} (tunewise serve --max-tokens-limit)",
                           param=param, code="invalid_value")
        if asked > room:
            raise APIError(400, f"{prompt_len} prompt tokens + {param}={asked} exceed the model's "
                                f"context of {served.context_length} tokens",
                           param=param, code="context_length_exceeded")
        max_tokens = asked
    elif entry.task is not None and chat:
        # the budget `tunewise eval` gives this task
        from tunewise.prompting.predict import default_max_new_tokens
        max_tokens = min(default_max_new_tokens(entry.task, served.tokenizer), room)
    else:
        max_tokens = min(max_tokens_limit if chat else COMPLETIONS_DEFAULT_MAX_TOKENS, room)
    temperature = 1.0 if req.temperature is None else float(req.temperature)
    top_p = 1.0 if req.top_p is None else float(req.top_p)
    return SamplingParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                          seed=req.seed, stop=tuple(stops), logprobs=logprobs, top_logprobs=top)
