"""The graph widget's files are cached by the browser; pages and everything else are left alone."""

from __future__ import annotations

import asyncio

from ui.asset_cache import AN_HOUR, IMMUTABLE, ComponentAssetCache, cache_control

BASE = "/component/streamlit_cytoscape.component.streamlit_cytoscape/"


def test_hashed_bundles_are_immutable_other_files_an_hour_pages_untouched() -> None:
    assert cache_control(BASE + "cytoscape.d79c1b90347d060a0bc2.bundle.js") == IMMUTABLE
    assert cache_control(BASE + "32b01d6a21d9433a251c.ttf") == IMMUTABLE
    assert cache_control(BASE + "icons/person.svg") == AN_HOUR
    assert cache_control(BASE + "index.html") is None
    assert cache_control(BASE) is None
    assert cache_control("/static/js/main.d79c1b90347d060a0bc2.js") is None  # not a component's
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

    asyncio.run(ComponentAssetCache(inner)({"type": "http", "path": path}, receive, send))
    return sent


def test_the_middleware_replaces_the_header_of_a_good_response_only() -> None:
    start, body = _serve(BASE + "vendors.b5fe41f71a01197edd92.bundle.js")
    assert start["headers"] == [(b"content-type", b"text/javascript"), (b"cache-control", IMMUTABLE.encode())]
    assert body["body"] == b"x"
    missing = _serve(BASE + "vendors.b5fe41f71a01197edd92.bundle.js", status=404)[0]
    assert (b"Cache-Control", b"public") in missing["headers"]  # an error is never kept
    page = _serve(BASE + "index.html")[0]
    assert (b"Cache-Control", b"public") in page["headers"]
