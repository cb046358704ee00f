"""Browser caching of the dashboard's vendored scripts.

Streamlit serves ``static/`` at ``app/static/`` with a validator but no lifetime, so a browser asks
again for the network canvas's Cytoscape.js (440 kB) on every new visit, from a server that is
busy drawing the page. A file under ``static/vendor`` carries its version in its name and never
changes under that name: this middleware lets the browser keep it for a year.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

VENDOR_PREFIX = "/app/static/vendor/"
VERSIONED = re.compile(r"-\d+\.\d+\.\d+\.(?:[\w-]+\.)*(?:js|css)$")  # name-3.35.0.esm.min.js
IMMUTABLE = "public, max-age=31536000, immutable"


def cache_control(path: str) -> str | None:
    """The ``Cache-Control`` a file at ``path`` is served with (None: leave Streamlit's): a
    versioned vendored file for a year."""
    if VENDOR_PREFIX not in path:
        return None
    return IMMUTABLE if VERSIONED.search(path.rsplit("/", 1)[-1]) else None


class VendorAssetCache:
    """ASGI middleware setting :func:`cache_control` on successful responses for vendored files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = cache_control(str(scope.get("path", ""))) if scope.get("type") == "http" else None
        if policy is None:
            await self.app(scope, receive, send)
            return

        async def send_cached(message: Message) -> None:
            if message.get("type") == "http.response.start" and message.get("status") == 200:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message["headers"] = [*headers, (b"cache-control", policy.encode("ascii"))]
            await send(message)

        await self.app(scope, receive, send_cached)
