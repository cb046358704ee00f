"""The dashboard in a real browser: ``streamlit run app.py`` driven by Debian's Chromium (Playwright).

Screenshots land in ``test-artifacts/`` (gitignored). Never downloads a browser.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.catalog import read_tables
from tests.run_fixtures import register_url_of, tiny_run  # noqa: F401

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
TIMEOUT_MS = 90_000


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    """``streamlit run app.py`` on a free port with the tiny run; yields the base URL."""
    var = tmp_path_factory.mktemp("browser_var")
    port = free_port()
    env = {**os.environ, "RUN_DIR": str(tiny_run), "USERS_FILE": str(var / "users.json"),
           "AUDIT_LOG": str(var / "audit.log"), "APP_MODE": "demo", "STORE": "memory",
           "REGISTER_URL": register_url_of(tiny_run)}  # fmt: skip
    log = (var / "streamlit.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.terminate()
        pytest.fail(f"streamlit did not start; log: {(var / 'streamlit.log').read_text()[-2000:]}")
    yield url
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def login(page, url: str, username: str, password: str) -> None:  # noqa: ANN001
    """Log in through the form and wait for the app frame."""
    page.goto(url, timeout=TIMEOUT_MS)
    page.get_by_label("用户名").fill(username, timeout=TIMEOUT_MS)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("退出登录").wait_for(timeout=TIMEOUT_MS)


def wait_idle(page) -> None:  # noqa: ANN001
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=TIMEOUT_MS)


def shot(page, name: str) -> Path:  # noqa: ANN001
    """Save a full-page screenshot under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_commander_flow(server: str, browser) -> None:  # noqa: ANN001
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    shot_login = None
    page.goto(server, timeout=TIMEOUT_MS)
    page.get_by_text("演示账号").wait_for(timeout=TIMEOUT_MS)
    shot_login = shot(page, "01_login")
    login(page, server, "commander", "demo-commander")
    wait_idle(page)
    page.get_by_role("heading", name="总览").wait_for(timeout=TIMEOUT_MS)
    page.locator("canvas").first.wait_for(timeout=TIMEOUT_MS)
    shot(page, "02_overview")

    page.get_by_role("link", name="风险排序").click()
    page.get_by_role("heading", name="风险排序").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    caption = page.get_by_text(re.compile(r"共 \d+ 件在办纠纷"))
    before = int(re.search(r"共 (\d+) 件", caption.inner_text()).group(1))
    shot(page, "03_ranking")
    page.get_by_text("辅助研判建议").first.wait_for()
    # Filter on a tier: open the tier multiselect and pick 绿色.
    page.locator("[data-testid='stMultiSelect']").filter(has_text="风险等级").click()
    page.get_by_role("option", name="绿色").click()
    page.keyboard.press("Escape")
    wait_idle(page)
    page.wait_for_function(
        "before => { const m = document.body.innerText.match(/共 (\\d+) 件在办纠纷/); return m && +m[1] !== before; }",
        arg=before, timeout=TIMEOUT_MS,
    )  # fmt: skip
    after = int(
        re.search(r"共 (\d+) 件", page.get_by_text(re.compile(r"共 \d+ 件在办纠纷")).inner_text()).group(1)
    )
    assert 0 < after < before
    shot(page, "04_ranking_filtered")

    page.get_by_role("button", name="打开案件详情").click()
    page.get_by_role("heading", name="案件详情").wait_for(timeout=TIMEOUT_MS)
    page.locator(".js-plotly-plot").first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    assert page.locator(".js-plotly-plot .scatterlayer .point").count() > 1
    shot(page, "05_case")
    assert shot_login is not None
    page.close()


def test_masked_id_never_in_html(server: str, browser, tiny_run: Path) -> None:  # noqa: ANN001, F811
    tables = read_tables(tiny_run)
    raw_ids = {str(v) for v in tables.persons["id_number"].dropna() if len(str(v)) >= 15}
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    login(page, server, "analyst", "demo-analyst")
    page.get_by_role("link", name="案件详情").click()
    page.get_by_role("heading", name="案件详情").wait_for(timeout=TIMEOUT_MS)
    page.locator(".js-plotly-plot").first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    page.get_by_text("身份证号").first.wait_for(state="attached", timeout=TIMEOUT_MS)
    html = page.content()
    # Glide data grids draw on canvas: read their cells through the accessible table too.
    cells = " ".join(page.locator("[data-testid='stDataFrame'] [role='gridcell']").all_inner_texts())
    leaked = [v for v in raw_ids if v in html or v in cells]
    assert not leaked, f"raw ID numbers reached the page: {leaked[:3]}"
    assert "*" in cells or "****" in html
    shot(page, "06_case_analyst")
    page.close()
