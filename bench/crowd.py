"""The crowd beside the measured browser: dashboard sessions that speak Streamlit's websocket
protocol (:mod:`bench.ws_client`) and walk the same path as a browser session, as commanders and
analysts in turn, pausing as people do. They load the server as many users would without ten
Chromiums taking the two cores from it; their own step times are the server's (nothing drawn)."""

from __future__ import annotations

import re
import threading
import time

from bench.dashboard_ready import STEP_TIMEOUT_S
from bench.ws_client import Page, ScriptFailed, StreamlitClient

_SHOWN = re.compile(r"共 (\d+) 件在办纠纷")


def _count(page: Page) -> int | None:
    found = _SHOWN.search(page.text())
    return int(found.group(1)) if found else None


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise ScriptFailed(what)


def _button(page: Page, label: str):  # noqa: ANN202 - an element tree Button
    found = [b for b in page.tree.button if b.label == label]
    _expect(bool(found), f"no button {label!r} on the page")
    return found[0]


def socket_path(url: str, session, stop: threading.Event) -> dict[str, float]:  # noqa: ANN001 - bench.dashboard.Session
    """One loop of the browser's path over a new socket (a new tab, no cookie): each step's
    seconds from the request to the end of the server's script run. Stops between steps once
    ``stop`` is set (the steps done so far are returned)."""
    times: dict[str, float] = {}

    def step(name: str, action, check) -> Page:  # noqa: ANN001
        session.think()
        if stop.is_set():
            raise InterruptedError
        started = time.monotonic()
        page = action()
        times[name] = time.monotonic() - started
        check(page)
        return page

    client = StreamlitClient(url, timeout_s=STEP_TIMEOUT_S)
    try:
        page = step(
            "sign_in_page", client.rerun, lambda p: _expect(len(p.tree.text_input) >= 2, "no sign-in")
        )
        name_box, password_box = list(page.tree.text_input)[:2]
        client.type_text(name_box, session.username)
        client.type_text(password_box, session.password)
        heading = lambda title: lambda p: _expect(title in [h.value for h in p.tree.title], f"no {title}")  # noqa: E731
        step("landing", lambda: client.click(_button(page, "登录")), heading("我的工作台"))
        page = step("ranking", lambda: client.open_page("风险排序"), heading("风险排序"))
        tiers = page.tree.multiselect(key="f_tier")
        client.choose_many(tiers, [o for o in tiers.options if "红色" in o])
        # Not "fewer than before": the ranking filters are kept per user, and the crowd shares
        # its two accounts, so the page may open filtered already.
        page = step("ranking_filter", client.submit, lambda p: _expect(_count(p) is not None, "no ranking"))
        client.choose_many(page.tree.multiselect(key="f_tier"), [])  # back to no filter, as the browser does
        page = client.submit()
        page = step("case", lambda: client.click(page.tree.button(key="open_case")), heading("案件详情"))
        picker = next(s for s in page.tree.selectbox if s.label == "节点")
        party = next((o for o in picker.options if o.startswith("人员")), None)
        _expect(party is not None, "no party in the network")
        page = client.choose(picker, str(party))
        step("expand", lambda: client.click(_button(page, "展开")),
             lambda p: _expect(any(b.label == "恢复初始视图" for b in p.tree.button), "not expanded"))  # fmt: skip
        page = step("search_page", lambda: client.open_page("综合查询"), heading("综合查询"))
        client.type_text(list(page.tree.text_input)[0], session.query)
        page = step(
            "search",
            client.submit,
            lambda p: _expect("条结果" in p.text() or "没有找到" in p.text(), "no results"),
        )
        client.click(_button(page, "退出登录"))
    except InterruptedError:
        pass
    finally:
        client.close()
    return times


def run_crowd_member(url: str, session, stop: threading.Event, deadline: float) -> None:  # noqa: ANN001
    """Loop :func:`socket_path` until ``stop`` is set or ``deadline`` (``time.monotonic``) passes;
    a failed loop is recorded and the next starts afresh."""
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            for name, seconds in socket_path(url, session, stop).items():
                session.record(name, seconds)
        except Exception as exc:  # noqa: BLE001 - a page not as expected, a closed socket, a timeout
            session.errors.append({"loop": None, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
