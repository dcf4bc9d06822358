"""Request bodies of the OpenAI API, with OpenAI's field names and ranges.

Validated strictly (a string is not a number) from the raw JSON; an unknown field is an error
naming it rather than an option silently ignored. Options the server does not implement are
accepted only at their no-op value (``n=1``, penalties 0, ``echo=false``...) and otherwise refused
with a 400 naming the parameter (see ``routes``).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

#: what OpenAI allows: up to 4 stop sequences
MAX_STOP = 4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImagePart(BaseModel):
    """Accepted by the schema so the error can say "text only" instead of "invalid"."""
    model_config = ConfigDict(extra="allow")
    type: Literal["image_url", "input_audio", "file"]


class ChatMessage(_Strict):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Union[str, list[Union[TextPart, ImagePart]], None] = None
    name: str | None = None
    tool_calls: list | None = None
    tool_call_id: str | None = None
    refusal: str | None = None


class StreamOptions(_Strict):
    include_usage: bool | None = None


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str


Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]
Stop = Union[str, Annotated[list[str], Field(max_length=MAX_STOP)], None]


class _Common(_Strict):
    model: str = Field(min_length=1)
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    n: Annotated[int, Field(ge=1, le=128)] | None = None
    stop: Stop = None
    seed: int | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None


class ChatCompletionRequest(_Common):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    response_format: ResponseFormat | None = None
    #: vLLM's structured outputs: {"choice": [...]}; checked by ``serving.choices`` (a bad
    #: choice list is a 400 naming it, like a bad response_format schema)
    structured_outputs: Any = None
    #: vLLM's older name for a choice list
    guided_choice: Any = None
    tools: list | None = None
    tool_choice: Union[str, dict, None] = None
    parallel_tool_calls: bool | None = None
    store: bool | None = None
    metadata: dict | None = None


class CompletionRequest(_Common):
    prompt: Union[str, Annotated[list[str], Field(min_length=1)],
                  Annotated[list[int], Field(min_length=1)]]
    logprobs: Annotated[int, Field(ge=0, le=5)] | None = None
    echo: bool | None = None
    suffix: str | None = None
    best_of: Annotated[int, Field(ge=1)] | None = None
