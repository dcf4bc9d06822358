"""Base URLs of remote servers: checked once, and shown or recorded only with their secrets out.

A base URL may carry credentials: ``http://user:password@host/v1`` (userinfo) or a token in the
query (``?api_key=...``, ``?token=...``). The request needs them; nothing else may keep them.
``redact_url`` is the one function that takes them out: results.json, the arms cache, reports,
predictions headers, messages and reprs hold its output, never the URL as given.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tunewise.errors import UsageError

#: a query parameter whose name says it holds a secret (``api_key``, ``access_token``, ``sig``..)
_SECRET_PARAM = re.compile(r"key|token|secret|passw|pwd|auth|sig|credential|session|code",
                           re.IGNORECASE)
#: what a redacted secret reads as
HIDDEN = "***"


def check_url(url: str) -> str:
    """``url`` without a trailing slash when it is a usable http(s) URL with a host; otherwise
    ``UsageError`` (exit 2) saying what is wrong (the message shows the redacted URL)."""
    shown = redact_url(url)
    fix = "e.g. http://127.0.0.1:8000/v1"
    if not isinstance(url, str) or any(c.isspace() or ord(c) < 32 for c in url):
        raise UsageError(f"base URL {shown!r} holds spaces or control characters", fix=fix)
    import httpx
    try:
        parts = urlsplit(url)
        parts.port                                 # noqa: B018 - raises on a bad port
        httpx.URL(url)                             # what the client will parse
    except (ValueError, httpx.InvalidURL) as e:    # InvalidURL is no ValueError
        raise UsageError(f"base URL {shown!r} is not a valid URL ({_strip(str(e), url)})",
                         fix=fix) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"base URL {shown!r} is not an http(s) URL with a host", fix=fix)
    return url.rstrip("/")


def redact_url(url) -> str:
    """``url`` with its userinfo replaced by ``***`` and the values of secret-looking query
    parameters hidden: ``http://u:pw@h:8000/v1?api_key=x&v=2`` ->
    ``http://***@h:8000/v1?api_key=***&v=2``. A URL that does not parse is hidden whole past
    its scheme when it holds an ``@`` or a query."""
    text = str(url)
    try:
        parts = urlsplit(text)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{HIDDEN}@{netloc.rpartition('@')[2]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, HIDDEN if _SECRET_PARAM.search(k) else v) for k, v in pairs],
                              safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        if "@" in text or "?" in text:
            scheme, sep, _ = text.partition("://")
            return f"{scheme}{sep}{HIDDEN}" if sep else HIDDEN
        return text


def _strip(message: str, url: str) -> str:
    """An error message about ``url`` with the URL itself (and its secrets) replaced."""
    return message.replace(url, redact_url(url)) if url else message

