"""``RemoteClient``: chat completions on an OpenAI-compatible server, robustly.

- the official ``openai`` SDK is the HTTP client (its own retries off: the policy is here);
- bounded concurrency: ``concurrency`` requests in flight at most (threads);
- retries on 429, 408/409, 5xx, timeouts, dropped connections and malformed bodies, with
  exponential backoff and jitter (``backoff_s * 2**attempt``, times 0.5-1.0, at most
  ``max_backoff_s``), honouring ``Retry-After`` (seconds or an HTTP date; ``retry-after-ms``);
- a wall-clock deadline per attempt (``timeout_s``, ``remote.deadline``): a server trickling
  its answer byte by byte is cut off at the deadline, not kept alive by every byte;
- every body is checked against the shape of a chat completion (``remote.response_shape``)
  before it is cached: valid JSON with wrong inner types is a malformed answer (retried, then
  ``RemoteProtocolError``), never a crash in the code that reads it;
- every finished response is written to the ``ResponseCache`` at once, so a rerun makes no
  request and an interrupted run repeats no finished one;
- failures are typed errors (``tunewise.remote.errors``) naming what the server did, with the
  API key scrubbed from anything the server said, answers included; the base URL is shown
  without its credentials.
"""
from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Sequence
from urllib.parse import urlsplit

from tunewise.remote import deadline
from tunewise.remote.cache import ResponseCache, request_key
from tunewise.remote.errors import (RemoteAuthError, RemoteError, RemoteModelError,
                                    RemoteNoLogprobsError, RemoteProtocolError,
                                    RemoteRequestError, RemoteRetriesExhausted,
                                    RemoteUnreachableError, scrub, scrub_strings)
from tunewise.remote.response_shape import completion_problem
from tunewise.remote.spec import RemoteSpec

RETRY_STATUS = {408, 409, 429}


@dataclass
class ClientOptions:
    """How hard the client tries (defaults suit hosted APIs; tests shorten the waits)."""

    #: requests in flight at most
    concurrency: int = 8
    #: seconds one attempt may take, wall clock (connect + the whole answer)
    timeout_s: float = 60.0
    #: retries per request after the first attempt
    max_retries: int = 6
    #: first backoff in seconds; doubles per retry, with jitter
    backoff_s: float = 1.0
    #: longest wait between two attempts (a longer Retry-After is capped here)
    max_backoff_s: float = 60.0


@dataclass
class Stats:
    """What the client did (JSON-able via ``to_dict``)."""

    requests: int = 0          # responses received from the server this run
    cache_hits: int = 0        # responses taken from the cache
    attempts: int = 0          # HTTP attempts, retries included
    retries: int = 0
    waits_s: list = field(default_factory=list)   # each backoff slept, in seconds
    events: dict = field(default_factory=dict)    # what triggered retries: {"HTTP 429": 2...}

    def to_dict(self) -> dict:
        return {"requests": self.requests, "cache_hits": self.cache_hits,
                "attempts": self.attempts, "retries": self.retries,
                "retry_causes": dict(self.events)}


class _Retry(Exception):
    """One failed attempt that may succeed when repeated."""

    def __init__(self, what: str, retry_after: float | None = None, *, unreachable=False):
        super().__init__(what)
        self.what, self.retry_after, self.unreachable = what, retry_after, unreachable


def retry_after_seconds(headers) -> float | None:
    """``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date) as seconds, or None."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RemoteClient:
    """Chat completions for one ``RemoteSpec`` with a cache, retries and bounded concurrency."""

    def __init__(self, spec: RemoteSpec, *, cache: ResponseCache | None = None,
                 options: ClientOptions | None = None):
        self.spec = spec
        self.cache = cache if cache is not None else ResponseCache()
        self.options = options or ClientOptions()
        self.stats = Stats()
        self._lock = threading.Lock()
        self._sdk = None

    def __repr__(self) -> str:  # no key in here, ever
        return f"RemoteClient({self.spec.display!r}, base_url={self.spec.redacted_url!r})"

    # -- the SDK client (made on first use: the key is read from the environment then) -------
    def _client(self):
        """The SDK's async client (its calls run on ``remote.deadline``'s loop, each bounded
        by the deadline); the full base URL, credentials included, is used only here."""
        with self._lock:
            if self._sdk is None:
                from openai import AsyncOpenAI
                self._key = self.spec.api_key()
                self._sdk = AsyncOpenAI(base_url=self.spec.base_url, api_key=self._key,
                                        max_retries=0, timeout=self.options.timeout_s)
        return self._sdk

    def _scrub(self, text) -> str:
        """What a server or the HTTP stack said, without the key or the base URL's
        credentials (an error may quote the full URL)."""
        text = str(text)
        netloc = urlsplit(self.spec.base_url).netloc
        if "@" in netloc:
            text = text.replace(netloc.rpartition("@")[0] + "@", "***@")
        return scrub(text, getattr(self, "_key", None))

    def key(self, request: dict) -> str:
        return request_key(self.spec.base_url, self.spec.model, request)

    def cached(self, request: dict) -> dict | None:
        return self.cache.get(self.key(request))

    # -- many requests ------------------------------------------------------------------------
    def chat_many(self, requests: Sequence[dict],
                  on_done: Callable[[int, dict, bool], None] | None = None) -> list[dict]:
        """The responses (dicts) of ``requests`` (chat-completion bodies without ``model``), in
        order. Cached ones are not sent. The first unrecoverable failure stops new requests,
        lets those in flight finish (and be cached) and is raised."""
        out: list = [None] * len(requests)
        todo = []
        for i, req in enumerate(requests):
            hit = self.cached(req)
            if hit is not None:
                out[i] = hit
                self.stats.cache_hits += 1
                if on_done:
                    on_done(i, hit, True)
            else:
                todo.append(i)
        if not todo:
            return out
        self._client()
        stop = threading.Event()

        def one(i):
            if stop.is_set():
                return
            try:
                out[i] = self.chat(requests[i], _checked=True, _stop=stop)
            except BaseException:
                stop.set()
                raise
            if on_done:
                on_done(i, out[i], False)

        pool = ThreadPoolExecutor(max(1, int(self.options.concurrency)))
        futures: list = []
        try:
            futures = [pool.submit(one, i) for i in todo]
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:
            # an error or Ctrl-C: start nothing new, let requests in flight finish (and be cached)
            stop.set()
            for f in futures:
                f.cancel()
            pool.shutdown(wait=True)
        for f in futures:
            if f.done() and not f.cancelled() and f.exception() is not None:
                raise f.exception()
        return out

    # -- one request --------------------------------------------------------------------------
    def chat(self, request: dict, *, _checked: bool = False,
             _stop: threading.Event | None = None) -> dict:
        """One chat completion (from the cache when it is there), retried as the options say."""
        key = self.key(request)
        if not _checked:
            hit = self.cache.get(key)
            if hit is not None:
                with self._lock:
                    self.stats.cache_hits += 1
                return hit
        opts = self.options
        last: _Retry | None = None
        for attempt in range(opts.max_retries + 1):
            if attempt:
                wait_s = self._backoff(attempt, last)
                with self._lock:
                    self.stats.retries += 1
                    self.stats.waits_s.append(wait_s)
                if _stop is not None and _stop.wait(wait_s):
                    raise self._gave_up(last)          # the run is stopping: no more retries
                if _stop is None:
                    time.sleep(wait_s)
            with self._lock:
                self.stats.attempts += 1
            try:
                body = self._attempt(request)
            except _Retry as e:
                last = e
                with self._lock:
                    self.stats.events[e.what.split(":")[0]] = \
                        self.stats.events.get(e.what.split(":")[0], 0) + 1
                continue
            self.cache.put(key, body, request=request)
            with self._lock:
                self.stats.requests += 1
            return body
        raise self._gave_up(last)

    def _backoff(self, attempt: int, last: _Retry | None) -> float:
        opts = self.options
        if last is not None and last.retry_after is not None:
            return min(last.retry_after, opts.max_backoff_s)
        base = opts.backoff_s * (2 ** (attempt - 1))
        return min(opts.max_backoff_s, base * (0.5 + 0.5 * random.random()))

    def _gave_up(self, last: _Retry | None) -> RemoteError:
        n = self.options.max_retries + 1
        where = self.spec.redacted_url
        if last is not None and last.unreachable:
            return RemoteUnreachableError(
                f"cannot connect to {where} ({last.what}; {n} attempts)",
                fix="check the base URL (host, port, /v1) and that the server is running")
        what = last.what if last else "no answer"
        if last is not None and last.what.startswith("malformed"):
            return RemoteProtocolError(
                f"{where} answered {n} times with {what}",
                fix="check that the base URL points at an OpenAI-compatible API (ending in /v1) "
                    "and not at a web page or a proxy's error page")
        return RemoteRetriesExhausted(
            f"{where} kept failing for model {self.spec.model!r}: {what} ({n} attempts)",
            fix="retry later (finished responses are cached and will not be requested again), "
                "or lower the concurrency / raise the timeout or retries")

    def _attempt(self, request: dict) -> dict:
        import openai
        sdk = self._client()
        timeout = self.options.timeout_s

        known, extra = _split_sdk_params(sdk, request)

        async def create():
            raw = await sdk.chat.completions.with_raw_response.create(
                model=self.spec.model, **known, **({"extra_body": extra} if extra else {}))
            return raw.http_response
        try:
            resp = deadline.call(create, timeout)
        except (openai.APITimeoutError, deadline.DeadlineExceeded):
            raise _Retry(f"timeout: no answer within {timeout:g} s (the wall-clock deadline "
                         "of each attempt)") from None
        except openai.APIConnectionError as e:
            cause = e.__cause__
            refused = _could_not_connect(e)
            raise _Retry(f"connection {'refused or host not found' if refused else 'dropped'}: "
                         f"{self._scrub(cause or e)}", unreachable=refused) from None
        except openai.APIStatusError as e:
            self._status_error(e)
        return self._body(resp)

    def _status_error(self, e) -> None:
        status = e.status_code
        said = self._scrub(_server_message(e))
        if status in RETRY_STATUS or status >= 500:
            raise _Retry(f"HTTP {status}: {said}", retry_after_seconds(e.response.headers))
        where, model = self.spec.redacted_url, self.spec.model
        if status in (401, 403):
            if self.spec.api_key_env is None:
                raise RemoteAuthError(
                    f"{where} wants an API key (HTTP {status}: {said}); none was sent: a "
                    "provider's key (OPENAI_API_KEY) goes only to that provider's own host",
                    fix="put this server's key in an environment variable and name it with "
                        "--api-key-env VAR (api_key_env in a compare config)")
            raise RemoteAuthError(
                f"{where} refused the API key (HTTP {status}: {said})",
                fix=f"set a valid key in the environment variable {self.spec.api_key_env}")
        if status == 404:
            raise RemoteModelError(
                f"{where}: HTTP 404 for model {model!r} ({said}){self._served_models()}",
                fix="check the model name (for a fine-tune, the full ft:... id) and that the "
                    "base URL ends in /v1")
        if "logprob" in said.lower():
            err: RemoteError = RemoteNoLogprobsError(
                f"{where} refused logprobs for {model!r} (HTTP {status}: {said})",
                fix="score by generation instead (scoring='generate')")
        else:
            fix = "check the model's options (max tokens, logprobs...)"
            if "max_completion_tokens" in said:
                fix = "this model takes max_completion_tokens: RemoteArm(..., " \
                      "token_param='max_completion_tokens')"
            err = RemoteRequestError(f"{where} refused the request (HTTP {status}: {said})",
                                     fix=fix)
        err.param = _server_param(e)      # what remote.refusals learns from
        raise err

    def _served_models(self) -> str:
        sdk = self._client()

        async def listed():
            return (await sdk.models.list()).data
        try:
            names = [str(m.id) for m in deadline.call(listed, self.options.timeout_s)][:20]
        except Exception:  # noqa: BLE001 - only a hint
            return ""
        return f"; the server lists: {', '.join(names)}" if names else ""

    def _body(self, resp) -> dict:
        ctype = resp.headers.get("content-type", "")
        text = resp.text
        if "json" not in ctype.lower():
            raise _Retry(f"malformed answer: HTTP {resp.status_code} with content type "
                         f"{ctype or 'none'!r} (expected application/json): "
                         f"{self._scrub(text[:80])!r}")
        try:
            body = json.loads(text)
        except ValueError as e:
            raise _Retry(f"malformed answer: HTTP {resp.status_code} body is not valid JSON "
                         f"({e.msg} at char {e.pos}): {self._scrub(text[:80])!r}") from None
        except RecursionError:
            raise _Retry("malformed answer: JSON nested too deeply") from None
        problem = completion_problem(body)
        if problem is not None:
            raise _Retry(f"malformed answer: not a chat completion ({self._scrub(problem)}): "
                         f"{self._scrub(text[:80])!r}")
        # a server that echoes the key in an answer must not get it cached or written
        return scrub_strings(body, getattr(self, "_key", None))


def _could_not_connect(e: BaseException) -> bool:
    """Whether the connection was never made (refused, host not found), as opposed to dropped:
    the chain of causes holds a ``ConnectError`` (httpx / httpcore, whichever the SDK ships) or
    the OS's refusal / name-resolution failure."""
    import socket
    seen = 0
    while e is not None and seen < 10:
        if type(e).__name__ == "ConnectError" or isinstance(
                e, (ConnectionRefusedError, socket.gaierror)):
            return True
        e, seen = e.__cause__ or e.__context__, seen + 1
    return False


def _server_message(e) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
    try:
        return e.response.text[:200]
    except Exception:  # noqa: BLE001
        return str(e)[:200]


def _server_param(e) -> str | None:
    """The ``param`` an OpenAI-style error body names (the refused request parameter)."""
    body = getattr(e, "body", None)
    err = body.get("error", body) if isinstance(body, dict) else None
    param = err.get("param") if isinstance(err, dict) else None
    return param if isinstance(param, str) and param else None


def _split_sdk_params(sdk, request: dict) -> tuple[dict, dict]:
    """(keywords the SDK's ``create`` takes, the rest): a server's own fields (vLLM's
    ``structured_outputs``) travel in the body as ``extra_body``."""
    import inspect
    params = inspect.signature(sdk.chat.completions.create).parameters
    known = {k: v for k, v in request.items() if k in params}
    return known, {k: v for k, v in request.items() if k not in params}
