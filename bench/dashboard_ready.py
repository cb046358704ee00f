"""When a dashboard page is ready, judged in the page itself: Streamlit's script no longer
running, nothing stale, no spinner, and each step's own content drawn (:data:`READY_JS`), all
of it holding for :data:`STABLE_MS` (used by :mod:`bench.dashboard`)."""

from __future__ import annotations

import time

STEP_TIMEOUT_S = 90.0
STABLE_MS = 200  # "ready" must hold this long: a page between two script runs is not ready


# --- readiness: what the page must show, checked in the page --------------------------------

# Streamlit's own state on the app root: the script is not running, no element is left over
# from the previous run (stale) and no spinner is turning.
_IDLE_JS = """
const app = document.querySelector("[data-testid='stApp']");
if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
if (document.querySelector("[data-stale='true'], [data-testid='stSpinner']")) return false;
const main = document.querySelector("[data-testid='stMain']");
if (!main) return false;
const heading = (text) => [...main.querySelectorAll("h1")].some((h) => h.innerText.trim() === text);
const buttons = (text) => [...main.querySelectorAll("button")].filter((b) => b.innerText.trim() === text);
const table = () => [...main.querySelectorAll("[data-testid='stDataFrame']")].some(
  (d) => d.getBoundingClientRect().height > 0 && d.querySelector("canvas"));
const network = () => {
  const canvas = main.querySelector(".case-network[data-ready='true'] canvas");
  return !!canvas && canvas.width > 0 && canvas.height > 0;
};
const count = (re) => { const m = main.innerText.match(re); return m ? +m[1] : null; };
"""
# What each step waits for (JavaScript returning true when ready; ``arg`` is the step's input).
_READY_JS: dict[str, str] = {
    "sign_in_page": "return !!document.querySelector(\"input[aria-label='用户名']\") "
    "&& !!document.querySelector(\"input[aria-label='密码']\") && table();",
    "landing": """if (!heading("我的工作台")) return false;
const first = buttons("打开案件详情")[0];
const card = first && first.closest("[data-testid='stVerticalBlock']");
const id = card && card.querySelector("strong");
return !!id && id.innerText.trim().length > 0;""",
    "ranking": "return heading('风险排序') && count(/共 (\\d+) 件在办纠纷/) !== null && table();",
    "ranking_filter": "const n = count(/共 (\\d+) 件在办纠纷/); "
    "return heading('风险排序') && n !== null && n !== arg && table();",
    "case": "return heading('案件详情') && [...main.querySelectorAll('h3')].some((h) => "
    "h.innerText.startsWith('纠纷 ')) && network();",
    "expand": "return heading('案件详情') && buttons('恢复初始视图').length > 0 && network();",
    "search_page": "return heading('综合查询') && !!main.querySelector('input[type=text]');",
    "search": "return heading('综合查询') && (count(/共 (\\d+) 条结果/) !== null "
    "|| main.innerText.includes('没有找到匹配结果'));",
    "signed_out": "return !!document.querySelector(\"input[aria-label='密码']\");",
    "filter_cleared": "const n = count(/共 (\\d+) 件在办纠纷/); return n !== null && n === arg && table();",
    "party_picked": "return buttons('展开').length > 0 && network();",
}

_WAIT_JS = """async ([arg, stableMs, timeoutMs]) => {
  const ready = () => { try { %s
%s } catch (e) { return false; } };
  const began = performance.now();
  let since = null;
  while (performance.now() - began < timeoutMs) {
    if (ready()) {
      if (since === null) since = performance.now();
      if (performance.now() - since >= stableMs) return performance.now() - since;
    } else {
      since = null;
    }
    await new Promise((r) => setTimeout(r, 15));
  }
  return null;
}"""


class NotReady(RuntimeError):
    """A step's page did not become ready within the step's time limit."""


def wait_ready(page, step: str, arg: object = None, timeout_s: float = STEP_TIMEOUT_S) -> float:  # noqa: ANN001
    """Wait in the page until ``step``'s page is ready and has stayed so for ``STABLE_MS``; the
    moment it became ready (``time.monotonic``)."""
    script = _WAIT_JS % (_IDLE_JS, _READY_JS[step])
    held_ms = page.evaluate(script, [arg, STABLE_MS, timeout_s * 1000])
    returned = time.monotonic()
    if held_ms is None:
        raise NotReady(f"{step}: not ready within {timeout_s:.0f} s")
    return returned - held_ms / 1000


def shown_count(page, pattern: str) -> int | None:  # noqa: ANN001
    """The number in the main area's first text matching ``pattern`` (one group), or None."""
    found = page.evaluate(
        "(re) => { const m = document.querySelector(\"[data-testid='stMain']\").innerText.match(new RegExp(re)); "
        "return m ? +m[1] : null; }",
        pattern,
    )
    return None if found is None else int(found)
