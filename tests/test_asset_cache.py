"""The dashboard's vendored scripts are kept by the browser; everything else is left alone."""

from __future__ import annotations

import asyncio

from ui.asset_cache import IMMUTABLE, VendorAssetCache, cache_control
from ui.network_widget import LIBRARY

VENDORED = "/app/static/vendor/cytoscape-3.35.0.esm.min.js"


def test_versioned_vendored_files_are_immutable_everything_else_untouched() -> None:
    assert cache_control("/" + LIBRARY) == IMMUTABLE
    assert cache_control("/base/path" + VENDORED) == IMMUTABLE  # under a server.baseUrlPath too
    assert cache_control("/app/static/vendor/cytoscape-3.35.0.LICENSE") is None  # not a versioned script
    assert cache_control("/app/static/vendor/notes.txt") is None
    assert cache_control("/app/static/logo-1.2.3.png") is None  # not vendored
    assert cache_control("/static/js/main.d79c1b90347d060a0bc2.js") is None  # Streamlit's own
    assert cache_control("/_stcore/health") is None


def _serve(path: str, status: int = 200) -> list[dict]:
    sent: list[dict] = []

    async def inner(scope, receive, send) -> None:  # noqa: ANN001
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/javascript"), (b"Cache-Control", b"public")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"x"})

    async def receive() -> dict:
        return {"type": "http.request"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(VendorAssetCache(inner)({"type": "http", "path": path}, receive, send))
    return sent


def test_the_middleware_replaces_the_header_of_a_good_response_only() -> None:
    start, body = _serve(VENDORED)
    assert start["headers"] == [(b"content-type", b"text/javascript"), (b"cache-control", IMMUTABLE.encode())]
    assert body["body"] == b"x"
    missing = _serve(VENDORED, status=404)[0]
    assert (b"Cache-Control", b"public") in missing["headers"]  # an error is never kept
    other = _serve("/app/static/vendor/notes.txt")[0]
    assert (b"Cache-Control", b"public") in other["headers"]
