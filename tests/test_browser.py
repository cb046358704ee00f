"""The dashboard in a real browser: ``streamlit run serve.py`` driven by Debian's Chromium (Playwright).

Screenshots land in ``test-artifacts/`` (gitignored). Never downloads a browser.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.dashboard import server_healthy
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
    """``streamlit run serve.py`` on a free port with the tiny run; yields the base URL."""
    var = tmp_path_factory.mktemp("browser_var")
    port = free_port()
    env = {**os.environ, "RUN_DIR": str(tiny_run), "USERS_FILE": str(var / "users.json"),
           "AUDIT_LOG": str(var / "audit.log"), "APP_MODE": "demo", "STORE": "memory",
           "REGISTER_URL": register_url_of(tiny_run)}  # fmt: skip
    log = (var / "streamlit.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server_healthy(url):
            break
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
    page.get_by_role("heading", name="我的工作台").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("link", name="总览").click()
    page.get_by_role("heading", name="总览").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
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

    vendored: dict[str, str | None] = {}
    page.on("response", lambda r: vendored.__setitem__(r.url.split("?")[0], r.headers.get("cache-control"))
            if "/app/static/vendor/" in r.url else None)  # fmt: skip
    page.get_by_role("button", name="打开案件详情").click()
    page.get_by_role("heading", name="案件详情").wait_for(timeout=TIMEOUT_MS)
    page.locator(".case-network[data-ready='true'] canvas").first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    shot(page, "05_case")
    assert shot_login is not None
    # The network is drawn in the page itself (no frame) by the vendored Cytoscape.js, kept by the browser.
    assert page.locator("iframe").count() == 0
    assert set(vendored.values()) == {"public, max-age=31536000, immutable"} and len(vendored) == 1, vendored
    page.close()


def test_masked_id_never_in_html(server: str, browser, tiny_run: Path) -> None:  # noqa: ANN001, F811
    tables = read_tables(tiny_run)
    raw_ids = {str(v) for v in tables.persons["id_number"].dropna() if len(str(v)) >= 15}
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    login(page, server, "analyst", "demo-analyst")
    page.get_by_role("link", name="案件详情").click()
    page.get_by_role("heading", name="案件详情").wait_for(timeout=TIMEOUT_MS)
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


def red_cases_with_people(tiny_run: Path, n: int = 3) -> list[tuple[str, set[str]]]:  # noqa: F811
    """The top ``n`` red disputes by the tier in force (the register's decisions over the model's)
    and the names of their 多包一 members, as the register holds them now."""
    from jobs.catalog import read_scores
    from register.store import Register
    from ui.workplace import with_decisions

    scores = read_scores(tiny_run)
    staff = read_tables(tiny_run).staff.set_index("staff_id")["name"]
    with Register(register_url_of(tiny_run)) as register:
        cases = with_decisions(scores, register.tiers_in_force())
        red = cases[cases["tier"].eq("red")].sort_values("rank")
        teams = register.teams_in_force(list(red["dispute_id"]))
    names = teams.assign(name=teams["staff_id"].map(staff)).groupby("dispute_id")["name"].agg(set)
    top = [(d, names.get(d, set())) for d in red["dispute_id"]]
    assert top, "the tiny city has no red dispute"
    return top[:n]


def sign_in(page, url: str, username: str, password: str) -> float:  # noqa: ANN001
    """Fill the form and submit; the moment of submitting (time.monotonic)."""
    page.goto(url, timeout=TIMEOUT_MS)
    page.get_by_label("用户名").fill(username, timeout=TIMEOUT_MS)
    page.get_by_label("密码").fill(password)
    submitted = time.monotonic()
    page.get_by_role("button", name="登录").click()
    return submitted


def card(page, dispute_id: str):  # noqa: ANN001, ANN201
    """The queue card of one dispute."""
    return page.locator("[data-testid='stVerticalBlock']").filter(has_text=dispute_id).last


def test_commander_lands_on_todays_red_cases_with_their_people_and_stays_signed_in(
    server: str,
    browser,  # noqa: ANN001
    tiny_run: Path,  # noqa: F811
) -> None:
    expected = red_cases_with_people(tiny_run)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    submitted = sign_in(page, server, "commander", "demo-commander")
    page.get_by_role("heading", name="我的工作台").wait_for(timeout=TIMEOUT_MS)
    for dispute_id, _ in expected:
        page.get_by_text(dispute_id, exact=False).first.wait_for(timeout=TIMEOUT_MS)
    elapsed = time.monotonic() - submitted
    assert elapsed < 5, f"the queue took {elapsed:.1f} s after submitting"
    for dispute_id, names in expected:
        text = card(page, dispute_id).inner_text()
        assert names and any(name in text for name in names), (dispute_id, names, text)
    wait_idle(page)
    shot(page, "10_commander_workplace")

    page.reload(timeout=TIMEOUT_MS)
    page.get_by_role("heading", name="我的工作台").wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("退出登录").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_label("密码").count() == 0  # no sign-in form after the reload
    shot(page, "11_commander_after_reload")

    page.get_by_role("button", name="退出登录").click()
    page.get_by_label("密码").wait_for(timeout=TIMEOUT_MS)
    page.reload(timeout=TIMEOUT_MS)
    page.get_by_label("密码").wait_for(timeout=TIMEOUT_MS)  # logged out on the server: the reload asks again
    page.close()


def test_a_deep_link_to_a_case_opens_it_after_sign_in(server: str, browser, tiny_run: Path) -> None:  # noqa: ANN001, F811
    dispute_id = red_cases_with_people(tiny_run, 1)[0][0]
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.goto(f"{server}/?dispute={dispute_id}", timeout=TIMEOUT_MS)
    page.get_by_text(f"登录后将打开纠纷 {dispute_id}").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("用户名").fill("analyst", timeout=TIMEOUT_MS)
    page.get_by_label("密码").fill("demo-analyst")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="案件详情").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("heading", name=f"纠纷 {dispute_id}").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    assert f"dispute={dispute_id}" in page.url
    shot(page, "12_deep_link_case")
    page.reload(timeout=TIMEOUT_MS)  # the case stays open after a refresh
    page.get_by_role("heading", name=f"纠纷 {dispute_id}").wait_for(timeout=TIMEOUT_MS)
    context.close()


_NODE_ON_SCREEN_JS = """(kind) => {
  const box = document.querySelector('.case-network-canvas');
  const cy = box._cyreg.cy;  // Cytoscape.js keeps its instance on its container
  const root = cy.nodes('[?_pinned]').first().id();
  const node = cy.nodes(`[label = "${kind}"]`).filter((n) => n.id() !== root).first();
  const at = node.renderedPosition(), frame = box.getBoundingClientRect();
  return {id: node.id(), name: node.data('name'), x: frame.left + at.x, y: frame.top + at.y,
          count: cy.nodes().length, root};
}"""


def test_the_network_canvas_opens_a_node_and_expands_hides_and_pins_it(server: str, browser) -> None:  # noqa: ANN001
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    login(page, server, "analyst", "demo-analyst")
    page.get_by_role("link", name="案件详情").click()
    canvas = page.locator(".case-network[data-ready='true'] canvas").first
    canvas.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    page.locator(".case-network").evaluate("(e) => e.scrollIntoView({block: 'center'})")
    # The scroll event reaches the canvas on the next frame: Cytoscape places clicks by the
    # container's position it last saw, so the click waits for it.
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    node = page.evaluate(_NODE_ON_SCREEN_JS, "Person")
    page.mouse.click(node["x"], node["y"])
    panel = page.locator(".case-network-panel.open")
    panel.wait_for(timeout=TIMEOUT_MS)
    assert panel.locator(".case-network-title").inner_text() == node["name"]  # the node's own text
    assert panel.get_by_role("button").all_inner_texts() == ["展开", "隐藏", "固定", "关闭"]
    shot(page, "06_network_panel")
    panel.get_by_role("button", name="展开").click()  # the action goes to the server: the view is reset-able
    page.get_by_role("button", name="恢复初始视图").wait_for(timeout=TIMEOUT_MS)
    canvas.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    pinned = page.evaluate(_NODE_ON_SCREEN_JS, "Dispute")  # another dispute than the case's own
    page.mouse.click(pinned["x"], pinned["y"])
    panel.get_by_role("button", name="固定").click()
    page.wait_for_function(
        "(id) => { const c = document.querySelector(\".case-network[data-ready='true'] .case-network-canvas\");"
        " return !!c && !!c._cyreg.cy.$id(id).data('_pinned'); }",
        arg=pinned["id"], timeout=TIMEOUT_MS,
    )  # fmt: skip
    wait_idle(page)
    node = page.evaluate(_NODE_ON_SCREEN_JS, "Person")
    page.mouse.click(node["x"], node["y"])
    panel.get_by_role("button", name="隐藏").click()
    page.get_by_text(re.compile(r"已隐藏 1 个节点")).wait_for(timeout=TIMEOUT_MS)
    page.locator(".case-network[data-ready='true'] canvas").first.wait_for(timeout=TIMEOUT_MS)
    ids = page.evaluate(
        "() => document.querySelector('.case-network-canvas')._cyreg.cy.nodes().map((n) => n.id())"
    )
    assert node["id"] not in ids and node["root"] in ids and pinned["id"] in ids  # a pinned node stays
    page.close()


def choose(page, label: str, text: str) -> None:  # noqa: ANN001
    """Pick the option holding ``text`` in the selectbox labelled ``label``."""
    page.locator("[data-testid='stSelectbox']").filter(has_text=label).first.click()
    page.get_by_role("option").filter(has_text=text).first.click()
    wait_idle(page)


def replaceable_member(tiny_run: Path) -> tuple[str, str, str, str]:  # noqa: F811
    """A (dispute, member, replacement, replacement's name) the register's check would accept."""
    from jobs.catalog import read_scores
    from models.assignment import slot_candidates
    from models.team_candidates import ASSIGNMENT_COLUMNS
    from models.teams import effective_tiers
    from register.store import Register

    tables, scores = read_tables(tiny_run), read_scores(tiny_run)
    scores = scores.assign(tier=effective_tiers(scores).to_numpy())
    with Register(register_url_of(tiny_run)) as register:
        teams = register.teams_in_force()
    for row in teams.itertuples():
        found = slot_candidates(
            tables, scores, row.dispute_id, row.role_in_team, teams.reindex(columns=ASSIGNMENT_COLUMNS)
        )
        found = found[
            found["eligible"]
            & ~found["staff_id"].isin(teams.loc[teams["dispute_id"] == row.dispute_id, "staff_id"])
        ]
        if len(found):
            return row.dispute_id, row.staff_id, found["staff_id"].iloc[0], found["name"].iloc[0]
    raise AssertionError("no team member of the tiny city can be replaced")


def test_a_replaced_member_shows_on_the_case_page_at_once(server: str, browser, tiny_run: Path) -> None:  # noqa: ANN001, F811
    dispute_id, old, new, new_name = replaceable_member(tiny_run)
    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    page = context.new_page()
    sign_in(page, server, "commander", "demo-commander")
    page.get_by_role("heading", name="我的工作台").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("link", name="多包一").click()
    page.get_by_role("heading", name="多包一").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    choose(page, "选择纠纷", dispute_id)
    choose(page, "被替换人员", old)
    choose(page, "替换为", new)
    shot(page, "13a_team_before_reason")
    page.get_by_label("理由（必填）").fill("原成员调岗，由辖区同岗位人员接替")
    page.get_by_role("button", name="调整成员").click()
    page.get_by_text("已记录").first.wait_for(timeout=TIMEOUT_MS)
    shot(page, "13_team_replaced")
    page.goto(f"{server}/case?dispute={dispute_id}", timeout=TIMEOUT_MS)  # a new page: the cookie signs it in
    page.get_by_role("heading", name=f"纠纷 {dispute_id}").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    team = (
        page.locator("[data-testid='stDataFrame']")
        .filter(has_text="责任领导")
        .or_(page.locator("[data-testid='stDataFrame']"))
    )
    team.first.wait_for(timeout=TIMEOUT_MS)
    # The grids fill their cells once drawn: wait for the member, then read every cell.
    page.wait_for_function(
        "id => [...document.querySelectorAll(\"[data-testid='stDataFrame'] [role='gridcell']\")]"
        ".some((c) => c.innerText.includes(id))",
        arg=new, timeout=TIMEOUT_MS,
    )  # fmt: skip
    cells = " ".join(page.locator("[data-testid='stDataFrame'] [role='gridcell']").all_inner_texts())
    assert new in cells and new_name in cells, f"{new} {new_name} not on the case page"
    shot(page, "14_case_after_replacement")
    context.close()


@pytest.mark.parametrize(
    ("username", "password", "viewport"),
    [
        ("gridworker", "demo-gridworker", {"width": 390, "height": 844}),
        ("officer", "demo-officer", {"width": 1280, "height": 900}),
        ("analyst", "demo-analyst", {"width": 1280, "height": 900}),
        ("county-commander", "demo-county-commander", {"width": 1280, "height": 900}),
        ("scientist", "demo-scientist", {"width": 1280, "height": 900}),
        ("admin", "demo-admin", {"width": 1280, "height": 900}),
    ],
)
def test_every_role_lands_on_its_workplace(
    server: str, browser, username: str, password: str, viewport: dict
) -> None:  # noqa: ANN001
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, server, username, password)
    page.get_by_role("heading", name="我的工作台").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    if viewport["width"] < 500:  # a phone: the sidebar is out of the way, the queue fits the screen
        sidebar = page.locator("[data-testid='stSidebar']")
        assert sidebar.get_attribute("aria-expanded") != "true"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"] + 1, (
            f"the page is {width} px wide on a {viewport['width']} px screen"
        )
    shot(page, f"20_workplace_{username}")
    context.close()


def test_a_socket_session_walks_the_browsers_path(server: str, tiny_run: Path) -> None:  # noqa: F811
    """The bench's crowd (Streamlit's websocket protocol, no browser) reaches every page the
    browser path reaches, with the same checks on what each page shows."""
    import threading

    from bench.crowd import socket_path
    from bench.dashboard import Session, search_query
    from bench.dashboard_figures import STEPS

    session = Session(5, "commander", "demo-commander", query=search_query(tiny_run))
    times = socket_path(server, session, threading.Event())
    assert list(times) == list(STEPS)
    assert all(0 < seconds < 60 for seconds in times.values()), times
    stopped = threading.Event()
    stopped.set()
    assert socket_path(server, session, stopped) == {}  # asked to stop: not one more step
