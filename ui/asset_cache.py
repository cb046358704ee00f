"""Browser caching of the graph widget's files.

Streamlit serves a component's files with ``Cache-Control: public`` and no lifetime or validator,
so the browser downloads the widget's scripts (about 0.9 MB) again on every page that draws a
network, from a server that is busy drawing that page. The bundles carry a content hash in their
names, so they never change under the same name: this middleware lets the browser keep them.
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

COMPONENT_PREFIX = "/component/"
HASHED = re.compile(r"(^|\.)[0-9a-f]{16,}\.")  # name.<hash>.bundle.js, <hash>.ttf
STATIC_SUFFIXES = (".js", ".css", ".svg", ".png", ".ttf", ".woff", ".woff2")
IMMUTABLE = "public, max-age=31536000, immutable"
AN_HOUR = "public, max-age=3600"


def cache_control(path: str) -> str | None:
    """The ``Cache-Control`` a component file at ``path`` is served with (None: leave Streamlit's):
    a content-hashed file for a year, another static file for an hour, a page never."""
    if COMPONENT_PREFIX not in path:
        return None
    name = path.rsplit("/", 1)[-1]
    if HASHED.search(name):
        return IMMUTABLE
    if name.endswith(STATIC_SUFFIXES):
        return AN_HOUR
    return None


class ComponentAssetCache:
    """ASGI middleware setting :func:`cache_control` on successful component file responses."""

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
