"""The ``Host`` check: a request names a host this server answers to, or gets 421.

A web page can make a browser send requests to ``127.0.0.1:8000`` (a "simple" POST), and with DNS
rebinding (``evil.example`` resolving to 127.0.0.1) it can even read the answers, because the
browser thinks it talks to ``evil.example``. The browser still sends ``Host: evil.example``, so a
server that answers only the names it is reached by defeats it. Accepted:

- no ``Host`` header (HTTP/1.0 clients; browsers always send one);
- ``localhost`` and ``*.localhost`` (they resolve to loopback by definition, RFC 6761) and every
  loopback address;
- the address or name the server is bound to (``--host``); with a wildcard bind (0.0.0.0, ::)
  every IP address, since clients then reach it by whichever address the machine has (a rebinding
  page always uses a name, never an address);
- the ``--allowed-host`` values: a name, ``.example.com`` / ``*.example.com`` for it and its
  subdomains, or ``*`` for any host (behind a proxy that checks it).
"""
from __future__ import annotations

import ipaddress
import re
from typing import Sequence

from fastapi.responses import JSONResponse

from tunewise.serving.errors import error_body

_HOST = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::\d{1,5})?$")
WILDCARDS = ("0.0.0.0", "::", "")


def _ip(name: str):
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def host_name(value: str) -> str | None:
    """The host of a ``Host`` header value ("[::1]:8000" → "::1"), lower case, without a
    trailing dot; None when it is not a host name or address at all."""
    m = _HOST.match(value.strip())
    if not m:
        return None
    return (m.group("v6") or m.group("name")).lower().rstrip(".")


class HostPolicy:
    """Which ``Host`` values a server bound to ``bind`` accepts (see the module docstring)."""

    def __init__(self, bind: str, allowed: Sequence[str] = ()):
        self.bind = (bind or "").strip().lower().strip("[]").rstrip(".")
        self.any = "*" in allowed
        names = [a.strip().lower().rstrip(".") for a in allowed if a.strip() != "*"]
        self.suffixes = tuple("." + n.lstrip("*.") for n in names if n.startswith((".", "*.")))
        self.names = {n for n in names if not n.startswith((".", "*."))}

    def allows(self, name: str) -> bool:
        if self.any or name == "localhost" or name.endswith(".localhost"):
            return True
        if name == self.bind or name in self.names or name.endswith(self.suffixes):
            return True
        if any(name == s[1:] for s in self.suffixes):
            return True
        ip = _ip(name)
        if ip is None:
            return False
        return ip.is_loopback or self.bind in WILDCARDS or ip == _ip(self.bind)


def bad_host_response(value: str, name: str | None) -> JSONResponse:
    shown = (name or value)[:100]
    fix = (f"; if clients reach this server as {name!r}, start it with --allowed-host {name}"
           if name else "")
    body = error_body(421, f"this server does not answer to the host {shown!r} (a DNS "
                           f"rebinding guard){fix}", code="invalid_host")
    return JSONResponse(body, status_code=421)


class HostGuard:
    """ASGI middleware: 421 (OpenAI's error JSON) for a request whose ``Host`` is not allowed."""

    def __init__(self, app, policy: HostPolicy):
        self.app, self.policy = app, policy

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            values = [v for k, v in scope.get("headers", ()) if k == b"host"]
            if values:
                value = values[0].decode("latin-1")
                name = host_name(value)
                if len(values) > 1 or name is None or not self.policy.allows(name):
                    await bad_host_response(value, name)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
