"""The dashboard's speed, two ways.

- ``dashboard``: the script headless (streamlit AppTest, embedded store): first render, sign-in,
  the ranking page, a filter change. Python time only: no browser, no network, no drawing.
- ``dashboard_browser``: the real server (``streamlit run serve.py`` on a free localhost port over
  the bench's run; the embedded graph store, or Neo4j with the run loaded into it first) driven
  by Debian's Chromium through Playwright. Each session is a thread with its own Chromium and
  one browser context (its cache warmed by one untimed visit, as a returning user's), signing
  in as the demo commander or analyst in turn and looping :data:`STEPS` a bounded number of
  times: back to back (no think time: heavier than as many people), or pausing before each step
  as a person reads the page (a phase's think time: a seeded uniform draw of 0.5–1.5 times its
  mean, never inside a timed step). Every number of sessions asked for is one phase on the same
  server, its sessions started together.

A step is timed from the user's action (opening the address, submitting the sign-in, a click, a
key press) to the page being ready: its heading and main content drawn (the queue's first case,
the ranking table, the case's network canvas, the search results), Streamlit's script no longer
running, nothing stale and no spinner on the page, all of it holding for 0.2 s (the
moment it began is the one taken). The server's memory is the resident memory of its process
tree, sampled every 0.2 s with psutil; its CPU seconds and the load average frame each phase.

A first round after the server starts (reading the run, building the graph store and the search
index) is timed on its own and kept out of the percentiles: those are for a warm server.
``DASHBOARD_PROFILE_DIR`` starts the server under :mod:`bench.profile_server` (a profile and a
timing line per script run) to find what makes a step slow.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.crowd import run_crowd_member
from bench.dashboard_figures import STEPS, phase_name, step_summary
from bench.dashboard_ready import STEP_TIMEOUT_S, NotReady, shown_count, wait_ready
from bench.stages import PROJECT_ROOT, StageContext, stage, timed

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
VIEWPORT: ViewportSize = {"width": 1440, "height": 1000}
USERS = (("commander", "demo-commander"), ("analyst", "demo-analyst"))
DEFAULT_SESSIONS = {"tiny": (1, 2)}
DEFAULT_SESSIONS_OTHER = (1, 4)
DEFAULT_LOOPS = {"tiny": 2}
DEFAULT_LOOPS_OTHER = 6
SAMPLE_EVERY_S = 0.2
SHOT_STEPS = ("landing", "ranking_filter", "case", "expand", "search")


# --- the AppTest stage ----------------------------------------------------------------------


def forget_ranking_filters(username: str) -> None:
    """Clear the ranking filters the register keeps for ``username`` (an earlier repeat's filter
    would come back on sign-in and make the timed filter change a no-op)."""
    from config import get_settings
    from register.store import Register
    from ui.views.ranking import PREFERENCE

    with Register(get_settings().register_url) as register:
        register.set_preference(username, PREFERENCE, {})


@stage
def stage_dashboard(ctx: StageContext) -> dict:
    """The dashboard headless (streamlit AppTest, embedded store): first render (run loading and
    the login page), sign-in to the ranking page, then a tier filter change."""
    from streamlit.testing.v1 import AppTest

    dash = ctx.work / "dashboard"
    dash.mkdir(parents=True, exist_ok=True)
    for name in ("users.json", "audit.log"):
        (dash / name).unlink(missing_ok=True)
    os.environ.update(
        RUN_DIR=str(ctx.run_dir.resolve()),
        USERS_FILE=str(dash / "users.json"),
        AUDIT_LOG=str(dash / "audit.log"),
        APP_MODE="demo",
        STORE="memory",
    )
    forget_ranking_filters("analyst")
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=1800)
    _, first_s = timed(app.run)
    app.text_input(key="login_user").input("analyst")
    app.text_input(key="login_password").input("demo-analyst")
    _, login_s = timed(lambda: app.button[0].click().run())
    app.session_state["goto"] = "ranking"
    _, ranking_s = timed(app.run)
    shown_before = len(app.dataframe[0].value) if len(app.dataframe) else 0
    _, filter_s = timed(lambda: app.multiselect(key="f_tier").select("red").run())
    errors = [str(e.value) for e in app.exception]
    if errors:
        raise RuntimeError(f"the dashboard raised: {errors[0]}")
    shown_after = len(app.dataframe[0].value) if len(app.dataframe) else 0
    return {
        "seconds": first_s,
        "substages": {
            "first_render": first_s,
            "sign_in": login_s,
            "ranking_page": ranking_s,
            "filter_change": filter_s,
        },
        "rows_before_filter": shown_before,
        "rows_after_filter": shown_after,
    }


_FIRST_CASE_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  const first = [...main.querySelectorAll("button")].find((b) => b.innerText.trim() === "打开案件详情");
  const id = first && first.closest("[data-testid='stVerticalBlock']").querySelector("strong");
  return id ? id.innerText.trim() : "";
}"""


# --- one session: a browser context looping the path ----------------------------------------


@dataclass
class Session:
    """One simulated user: who signs in, what they search for, and what they measured."""

    index: int
    username: str
    password: str
    query: str
    shots: Path | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    first_visit_s: float | None = None
    errors: list[dict] = field(default_factory=list)
    first_cases: list[str] = field(default_factory=list)
    think_s: float = 0.0
    paused_s: float = 0.0

    def __post_init__(self) -> None:
        self._pauses = random.Random(self.index)  # the same pauses in every run of the bench

    def record(self, step: str, seconds: float) -> None:
        """Keep one step's time."""
        self.samples.setdefault(step, []).append(seconds)

    def think(self) -> None:
        """Pause as a person reading the page would: 0.5–1.5 times the mean think time."""
        if self.think_s > 0:
            pause = self.think_s * self._pauses.uniform(0.5, 1.5)
            self.paused_s += pause
            time.sleep(pause)


def _shot(page, session: Session, step: str) -> None:  # noqa: ANN001
    if session.shots is not None and step in SHOT_STEPS:
        session.shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(session.shots / f"{step}.png"), full_page=True)


def drive_path(page, url: str, session: Session) -> dict[str, float]:  # noqa: ANN001
    """One loop of the path in ``page`` (a fresh browser context): sign in, the queue, the
    ranking and a tier filter, a case with its network, expand a party, a search, sign out.
    Returns each step's seconds from the user's action to the page being ready."""
    times: dict[str, float] = {}

    def step(name: str, action: Callable[[], None], arg: object = None) -> None:
        session.think()
        started = time.monotonic()
        action()
        times[name] = wait_ready(page, name, arg) - started
        _shot(page, session, name)

    step("sign_in_page", lambda: page.goto(url, wait_until="commit"))
    page.get_by_label("用户名").fill(session.username)
    page.get_by_label("密码").fill(session.password)
    step("landing", lambda: page.get_by_role("button", name="登录").click())
    session.first_cases.append(page.evaluate(_FIRST_CASE_JS))
    main = page.locator("[data-testid='stMain']")
    sidebar = page.locator("[data-testid='stSidebar']")
    step("ranking", lambda: sidebar.get_by_role("link", name="风险排序").click())
    tiers = main.locator("[data-testid='stMultiSelect']").filter(has_text="风险等级")
    unfiltered = shown_count(page, r"共 (\d+) 件在办纠纷")
    if tiers.get_by_role("button", name="Clear all").count():  # a filter kept from an earlier sign-in
        before = unfiltered
        tiers.get_by_role("button", name="Clear all").first.click()
        page.wait_for_function(
            "b => { const m = document.body.innerText.match(/共 (\\d+) 件在办纠纷/); return m && +m[1] !== b; }",
            arg=before,
        )
        wait_ready(page, "ranking")
        unfiltered = shown_count(page, r"共 (\d+) 件在办纠纷")
    tiers.click()
    step("ranking_filter", lambda: page.get_by_role("option", name="红色").click(), unfiltered)
    page.keyboard.press("Escape")
    # Back to no filter (kept for the next sign-in), so every loop's ranking page is the same.
    tiers.get_by_role("button", name="Clear all").first.click()
    wait_ready(page, "filter_cleared", unfiltered)
    step("case", lambda: main.get_by_role("button", name="打开案件详情").click())
    picker = main.locator("[data-testid='stSelectbox']").filter(has_text="节点")
    picker.click()
    page.keyboard.type("人员")  # the searchable selectbox keeps the persons; Enter takes the first
    page.keyboard.press("Enter")
    wait_ready(page, "party_picked")
    step("expand", lambda: main.get_by_role("button", name="展开", exact=True).click())
    step("search_page", lambda: sidebar.get_by_role("link", name="综合查询").click())
    box = main.locator("input[type=text]").first
    box.fill(session.query)
    step("search", lambda: box.press("Enter"))
    sidebar.get_by_role("button", name="退出登录").click()
    wait_ready(page, "signed_out")
    return times


def run_session(
    url: str, session: Session, loops: int, start: threading.Barrier | None, deadline: float
) -> None:
    """``loops`` rounds of :func:`drive_path` in this thread's own Chromium (Playwright is not
    shared between threads): one browser context for the session, as one person's browser
    (its cache warmed by one untimed visit first, like a returning user's), a new tab and no
    cookies each round. Rounds start once every session has its browser up; a failed round is
    recorded (with a screenshot) and the next one starts afresh. Stops early at ``deadline``
    (``time.monotonic``)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(STEP_TIMEOUT_S * 1000)
        try:
            try:
                warm = context.new_page()
                began = time.monotonic()
                warm.goto(url, wait_until="commit")
                session.first_visit_s = wait_ready(warm, "sign_in_page") - began
                warm.close()
            except (NotReady, PlaywrightError) as exc:
                session.errors.append(
                    {"loop": None, "error": f"first visit: {str(exc).splitlines()[0][:300]}"}
                )
                return
            finally:
                if start is not None:
                    start.wait()
            for loop in range(loops):
                if time.monotonic() > deadline:
                    session.errors.append({"loop": loop, "error": "stage time limit reached"})
                    break
                context.clear_cookies()  # a round that failed half-way may have left a session
                page = context.new_page()
                try:
                    for name, seconds in drive_path(page, url, session).items():
                        session.record(name, seconds)
                except (NotReady, PlaywrightError) as exc:
                    session.errors.append({"loop": loop, "error": str(exc).splitlines()[0][:300]})
                    if session.shots is not None:
                        with contextlib.suppress(PlaywrightError):
                            session.shots.mkdir(parents=True, exist_ok=True)
                            page.screenshot(path=str(session.shots / f"error_{loop}.png"), full_page=True)
                finally:
                    page.close()
                session.shots = None  # pictures of the first round only
        finally:
            context.close()
            browser.close()


# --- the server and its memory --------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_healthy(url: str) -> bool:
    """Whether the Streamlit server at ``url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def process_tree(pid: int) -> list | None:
    """Process ``pid`` and all its descendants (psutil), or None once it is gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None


def tree_rss_mib(pid: int) -> float | None:
    """Resident memory of process ``pid`` and all its descendants (MiB); None once it is gone."""
    import psutil

    processes = process_tree(pid)
    if processes is None:
        return None
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += process.memory_info().rss
    return total / 2**20


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid`` and its living descendants."""
    import psutil

    processes = process_tree(pid)
    if processes is None:
        return None
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = process.cpu_times()
            total += times.user + times.system
    return total


class MemorySampler:
    """Samples :func:`tree_rss_mib` of one process every ``every_s`` seconds in a thread; the peak
    since the last :meth:`reset` (and since the start)."""

    def __init__(self, pid: int, every_s: float = SAMPLE_EVERY_S) -> None:
        self.pid, self.every_s = pid, every_s
        self.peak = self.overall = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            value = tree_rss_mib(self.pid)
            if value is not None:
                self.peak, self.overall = max(self.peak, value), max(self.overall, value)
            self._stop.wait(self.every_s)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def reset(self) -> float:
        """The peak since the last reset (MiB), and start a new one from the current value."""
        peak, self.peak = self.peak, tree_rss_mib(self.pid) or 0.0
        return max(peak, self.peak)


@contextlib.contextmanager
def dashboard_server(run_dir: Path, folder: Path, store: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``streamlit run serve.py`` on a free localhost port over ``run_dir`` with the graph store
    ``store``, users, audit log and sessions in ``folder`` and the bench's register; yields the
    base URL and the process. Its output goes to ``folder/streamlit.log``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("users.json", "audit.log", "streamlit.log"):
        (folder / name).unlink(missing_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "RUN_DIR": str(run_dir.resolve()),
        "USERS_FILE": str(folder / "users.json"),
        "AUDIT_LOG": str(folder / "audit.log"),
        "SESSION_DIR": str(folder / "sessions"),
        "APP_MODE": "demo",
        "STORE": store,
    }
    env.setdefault("REGISTER_URL", f"sqlite:///{(run_dir.parent / 'register.db').resolve()}")
    # DASHBOARD_PROFILE_DIR: the same server with each script run profiled (bench.profile_server).
    launcher = "bench.profile_server" if env.get("DASHBOARD_PROFILE_DIR") else "streamlit"
    command = [sys.executable, "-m", launcher, *(["run"] if launcher == "streamlit" else []),
               str(PROJECT_ROOT / "serve.py"), "--server.address", "127.0.0.1", "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    with (folder / "streamlit.log").open("w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = (folder / "streamlit.log").read_text(encoding="utf-8")[-1500:]
                    raise RuntimeError(f"the dashboard server did not start: {tail}")
                if server_healthy(url):
                    break
                time.sleep(0.3)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- the stage ------------------------------------------------------------------------------


def search_query(run_dir: Path) -> str:
    """What the simulated users search for: the name of a party of the top-ranked dispute (a
    person every role with cases can find)."""
    from jobs.catalog import read_scores, read_tables

    scores = read_scores(run_dir)
    tables = read_tables(run_dir)
    top = str(scores.sort_values("rank")["dispute_id"].iloc[0])
    parties = tables.dispute_parties[tables.dispute_parties["dispute_id"].astype(str) == top]
    names = tables.persons.set_index("person_id")["name"]
    for person in parties["person_id"]:
        name = names.get(person)
        if isinstance(name, str) and name:
            return name
    return top


def run_phase(
    url: str,
    sessions: int,
    loops: int,
    query: str,
    shots: Path | None,
    deadline: float,
    server_pid: int,
    think_s: float = 0.0,
    crowd: int = 0,
) -> dict:
    """``sessions`` browser sessions at once (commander and analyst in turn), each looping the
    path ``loops`` times and pausing ``think_s`` on average before each step, with ``crowd``
    socket sessions (:mod:`bench.crowd`) walking the same path beside them until they are done;
    the browsers' per-step figures pooled, the crowd's apart, their failures, the wall time, the
    server's CPU seconds and the machine's load average (1 min) before and after."""
    people = [
        Session(
            i,
            *USERS[i % len(USERS)],
            query=query,
            shots=shots / f"session{i}" if shots and i == 0 else None,
            think_s=think_s,
        )  # fmt: skip
        for i in range(sessions)
    ]
    crowd_people = [Session(sessions + i, *USERS[(sessions + i) % len(USERS)], query=query, think_s=think_s)
                    for i in range(crowd)]  # fmt: skip
    start = threading.Barrier(sessions) if sessions > 1 else None
    threads = [
        threading.Thread(target=run_session, args=(url, person, loops, start, deadline), daemon=True)
        for person in people
    ]
    stop = threading.Event()
    crowd_threads = [
        threading.Thread(target=run_crowd_member, args=(url, person, stop, deadline), daemon=True)
        for person in crowd_people
    ]
    load_before, cpu_before = os.getloadavg()[0], tree_cpu_seconds(server_pid)
    began = time.perf_counter()
    for thread in crowd_threads + threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    for thread in crowd_threads:
        thread.join()
    wall = time.perf_counter() - began
    cpu_after = tree_cpu_seconds(server_pid)
    steps = {}
    for name in STEPS:
        pooled = [s for person in people for s in person.samples.get(name, [])]
        steps[name] = step_summary(pooled)
        steps[name]["missing"] = sessions * loops - steps[name]["n"]  # loops that failed before it
    errors = [{"session": p.index, "user": p.username, **e} for p in people + crowd_people for e in p.errors]
    crowd_steps = {
        name: step_summary([s for p in crowd_people for s in p.samples.get(name, [])]) for name in STEPS
    }
    return {
        "sessions": sessions,
        "crowd": crowd,
        "crowd_steps": crowd_steps if crowd else {},
        "loops": loops,
        "think_s": think_s,
        "paused_s_per_session": sum(p.paused_s for p in people) / len(people),
        "users": sorted({p.username for p in people}),
        "wall_s": wall,
        "server_cpu_s": None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "first_visit_s": [p.first_visit_s for p in people],
        "steps": steps,
        "errors": errors,
        "first_cases": sorted({c for p in people for c in p.first_cases}),
    }


@stage
def stage_dashboard_browser(ctx: StageContext) -> dict:
    """The dashboard in Chromium over the real server (see the module's docstring): a first loop
    on a cold server, then each number of sessions in ``options['sessions']`` looping the path
    ``options['loops']`` times; p50/p95 per step and the server's peak memory."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    store = str(ctx.options.get("store") or "memory")
    counts = [
        int(n) for n in ctx.options.get("sessions") or DEFAULT_SESSIONS.get(ctx.scale, DEFAULT_SESSIONS_OTHER)
    ]
    loops = int(ctx.options.get("loops") or DEFAULT_LOOPS.get(ctx.scale, DEFAULT_LOOPS_OTHER))
    thinks = [float(s) for s in ctx.options.get("think_s") or [0.0]]
    if len(thinks) not in (1, len(counts)):
        raise ValueError(f"{len(thinks)} think times for {len(counts)} phases: give one, or one per phase")
    thinks = thinks * len(counts) if len(thinks) == 1 else thinks
    crowds = [int(n) for n in ctx.options.get("crowd") or [0]]
    if len(crowds) not in (1, len(counts)):
        raise ValueError(f"{len(crowds)} crowd sizes for {len(counts)} phases: give one, or one per phase")
    crowds = crowds * len(counts) if len(crowds) == 1 else crowds
    folder = ctx.work / "dashboard_browser"
    shots = folder / "shots"
    figures: dict = {"store": store, "loops": loops, "sessions": counts, "crowd": crowds, "phases": []}
    if store == "neo4j":
        from jobs.batch import load_job

        _, figures["neo4j_load_s"] = timed(lambda: load_job(ctx.run_dir, "neo4j"))
    query = search_query(ctx.run_dir)
    figures["query"] = query
    deadline = time.monotonic() + float(ctx.options.get("time_limit_s") or 3000)
    with dashboard_server(ctx.run_dir, folder, store) as (url, process), MemorySampler(process.pid) as memory:
        figures["server_start_rss_mib"] = tree_rss_mib(process.pid)
        cold = run_phase(url, 1, 1, query, shots / "cold", deadline, process.pid)
        figures["cold"] = {"first_visit_s": cold["first_visit_s"][0], "errors": cold["errors"],
                           "steps": {k: v["p50"] for k, v in cold["steps"].items()}}  # fmt: skip
        figures["server_warm_rss_mib"] = memory.reset()
        total = 0.0
        for sessions, think_s, crowd in zip(counts, thinks, crowds, strict=True):
            phase = run_phase(url, sessions, loops, query, shots / f"{sessions}_sessions_think{think_s:g}",
                              deadline, process.pid, think_s, crowd)  # fmt: skip
            phase["server_peak_rss_mib"] = memory.reset()
            figures["phases"].append(phase)
            total += phase["wall_s"]
        figures["server_peak_rss_mib"] = memory.overall
    figures["seconds"] = total
    figures["substages"] = {phase_name(p) + "_wall": p["wall_s"] for p in figures["phases"]}
    figures["shots"] = str(shots)
    return figures
