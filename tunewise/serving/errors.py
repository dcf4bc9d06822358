"""Every error the server answers is OpenAI's JSON shape, never a stack trace::

    {"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens",
               "code": "integer_below_min_value"}}

Status codes: 400 a request the server understood but will not run (bad values, too long for the
context, unsupported options), 401 missing or wrong API key, 404 unknown model or route, 405 wrong
method, 408 a request not received within ``--read-timeout``, 413 request body over the size
limit, 415 a POST body not declared ``application/json``, 421 a ``Host`` header this server does
not answer to (DNS rebinding), 422 a body that does not match the schema (wrong types, missing or
unknown fields), 500 a bug (logged on the server, not shown), 503 shutting down
(``shutting_down``) or too busy (``server_overloaded``, with ``Retry-After``). A client that hangs
up before its body is complete is one quiet log line, not a traceback.
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

log = logging.getLogger("tunewise.serving")

_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
          404: "invalid_request_error", 405: "invalid_request_error",
          408: "invalid_request_error", 413: "invalid_request_error",
          415: "invalid_request_error", 421: "invalid_request_error",
          422: "invalid_request_error", 500: "server_error", 503: "server_error"}


class APIError(Exception):
    """An error answered to the client with ``status`` and OpenAI's error body."""

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, type: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.type = type or _TYPES.get(status, "invalid_request_error")
        self.headers = dict(headers or {})


def error_body(status: int, message: str, *, param: str | None = None, code: str | None = None,
               type: str | None = None) -> dict:
    return {"error": {"message": message, "type": type or _TYPES.get(status, "invalid_request_error"),
                      "param": param, "code": code}}


def error_response(err: APIError) -> JSONResponse:
    headers = {**({"WWW-Authenticate": "Bearer"} if err.status == 401 else {}), **err.headers}
    return JSONResponse(error_body(err.status, err.message, param=err.param, code=err.code,
                                   type=err.type), status_code=err.status, headers=headers)


_TYPE_TAGS = {"str", "int", "float", "bool", "none", "dict", "list"}


def _loc_param(loc) -> str | None:
    """("messages", 0, "role") → "messages.0.role"; stops at pydantic's union-member tags
    ("str", "list[str]", "TextPart"...), which are not part of the request's field path."""
    parts = []
    for p in loc:
        if p == "body":
            continue
        if isinstance(p, str) and (p in _TYPE_TAGS or p[:1].isupper() or any(
                c in p for c in "[-,")):
            break
        parts.append(str(p))
    return ".".join(parts) if parts else None


def validation_error(errors: list[dict]) -> APIError:
    """Pydantic's error list → one APIError naming the first offending field (422), or 400 for a
    body that is not JSON at all."""
    first = errors[0] if errors else {"msg": "invalid request", "loc": (), "type": "invalid"}
    if first.get("type") == "json_invalid":
        return APIError(400, f"the request body is not valid JSON: {first.get('msg')}",
                        code="invalid_json")
    param = _loc_param(first.get("loc", ()))
    msgs = []
    for e in errors[:5]:
        p = _loc_param(e.get("loc", ()))
        msg = e.get("msg", "invalid value")
        if e.get("type") == "extra_forbidden":
            msg = "unsupported parameter (tunewise serve does not implement it)"
        elif e.get("type") == "missing":
            msg = "required parameter is missing"
        msgs.append(f"{p}: {msg}" if p else msg)
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return APIError(422, "; ".join(msgs) + more, param=param, code=first.get("type"))


def install_handlers(app: FastAPI) -> None:
    """OpenAI-shaped answers for our errors, FastAPI's validation errors, unknown routes and
    methods, and anything unexpected (logged with its traceback on the server only)."""

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError):
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return error_response(validation_error(list(exc.errors())))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect):
        client = request.client.host if request.client else "?"
        log.info("client %s disconnected before sending its whole request (%s %s)", client,
                 request.method, request.url.path)
        return Response(status_code=400)  # nobody is there to read it

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            msg, code = f"no such endpoint: {request.method} {request.url.path}", "unknown_url"
        elif exc.status_code == 405:
            msg, code = f"method {request.method} is not allowed on {request.url.path}", \
                "method_not_allowed"
        else:
            msg, code = str(exc.detail), None
        return error_response(APIError(exc.status_code, msg, code=code))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.exception("internal error answering %s %s", request.method, request.url.path)
        return error_response(APIError(500, "internal server error (logged on the server)",
                                       code="internal_error"))
