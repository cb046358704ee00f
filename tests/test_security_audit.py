"""The hash-chained audit log: appends, verification, tamper detection, export."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from security.audit import (
    GENESIS,
    AuditLog,
    entry_hash,
    export_entries,
    gaps,
    read_entries,
    record_override,
    verify,
)

T0 = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)


def filled_log(tmp_path: Path, n: int = 5) -> AuditLog:
    log = AuditLog(tmp_path / "var" / "audit.log")
    for i in range(n):
        log.record(
            "gw-w1",
            "grid_worker",
            "view",
            f"dispute:D-R{i}",
            fields=["phone", "name"],
            detail={"rows": i},
            now=T0.replace(minute=i),
        )
    return log


def lines(log: AuditLog) -> list[str]:
    return log.path.read_text(encoding="utf-8").splitlines(keepends=True)


def rewrite(log: AuditLog, new_lines: list[str]) -> None:
    log.path.write_text("".join(new_lines), encoding="utf-8")


def test_entries_chain_from_genesis(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    entries = [json.loads(line) for line in lines(log)]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0]["prev"] == GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after["prev"] == before["hash"]
        assert after["hash"] == entry_hash(before["hash"], after)
    assert entries[0]["fields"] == ["phone", "name"]
    assert verify(log.path) == (True, None)


def test_unknown_action_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        AuditLog(tmp_path / "a.log").record("u", "admin", "delete_everything", "x")


def test_edited_line_is_detected(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    content = lines(log)
    content[2] = content[2].replace('"gw-w1"', '"someone-else"')
    rewrite(log, content)
    assert verify(log.path) == (False, 3)


def test_edited_line_with_recomputed_own_hash_is_detected_at_the_next_line(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    content = lines(log)
    entry = json.loads(content[1])
    entry["reason"] = "补录"
    entry["hash"] = entry_hash(entry["prev"], entry)
    content[1] = json.dumps(entry, ensure_ascii=False) + "\n"
    rewrite(log, content)
    assert verify(log.path) == (False, 3)


def test_deleted_line_is_detected(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    content = lines(log)
    del content[1]
    rewrite(log, content)
    assert verify(log.path) == (False, 2)


def test_reordered_lines_are_detected(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    content = lines(log)
    content[1], content[2] = content[2], content[1]
    rewrite(log, content)
    assert verify(log.path) == (False, 2)


def test_dropped_last_line_is_detected_by_the_head(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    rewrite(log, lines(log)[:-1])
    assert verify(log.path) == (False, 5)


def test_removed_log_is_detected_by_the_head(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    log.path.unlink()
    assert verify(log.path) == (False, 1)


def test_garbage_line_is_detected(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    content = lines(log)
    content.insert(3, "not json\n")
    rewrite(log, content)
    assert verify(log.path) == (False, 4)


def test_appends_continue_the_chain_across_instances(tmp_path: Path) -> None:
    log = filled_log(tmp_path, n=2)
    AuditLog(log.path).record("admin", "admin", "admin", "users", now=T0)
    assert verify(log.path) == (True, None)
    assert list(read_entries(log.path)["seq"]) == [1, 2, 3]


def test_log_is_opened_for_appending_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = filled_log(tmp_path, n=1)
    modes: list[str] = []
    original = Path.open

    def spy(self: Path, mode: str = "r", *args, **kwargs):
        if self == log.path:
            modes.append(mode)
        return original(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    log.record("u", "analyst", "view", "ranking")
    assert "a" in modes and not {"w", "r+", "w+"} & set(modes)


def test_override_needs_a_reason(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.log")
    with pytest.raises(ValueError, match="reason"):
        record_override(log, "cmd", "commander", "D-R1", "orange", "red", " ")
    entry = record_override(log, "cmd", "commander", "D-R1", "orange", "red", "当事人扬言报复")
    assert entry["action"] == "override" and entry["reason"] == "当事人扬言报复"
    assert entry["detail"] == {"model_tier": "orange", "decided_tier": "red"}


def test_export_writes_the_window(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    out = tmp_path / "export.csv"
    n = export_entries(log.path, out, since=T0.replace(minute=1), until=T0.replace(minute=3))
    assert n == 2
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert list(frame["object"]) == ["dispute:D-R1", "dispute:D-R2"]
    assert json.loads(frame["fields"].iloc[0]) == ["phone", "name"]


def test_missing_and_empty_logs(tmp_path: Path) -> None:
    assert verify(tmp_path / "none.log") == (True, None)
    assert read_entries(tmp_path / "none.log").empty


# --- a torn last line (a write cut short by a crash) -------------------------------------------


def torn(log: AuditLog) -> bytes:
    """Cut the last entry of ``log`` in half, as a crash in the middle of its write would."""
    data = log.path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    fragment = data[start : start + (len(data) - start) // 2]
    log.path.write_bytes(data[:start] + fragment)
    return fragment


def test_a_torn_last_line_is_recovered_with_a_recorded_gap(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    fragment = torn(log)
    # Reading still works (the fragment is not an entry) and says where the damage is.
    assert read_entries(log.path)["seq"].tolist() == [1, 2, 3, 4]
    assert verify(log.path) == (False, 5)
    entry = log.record("gw-w1", "grid_worker", "view", "dispute:D-R9", now=T0.replace(minute=9))
    gap = read_entries(log.path).iloc[-2]
    assert gap["action"] == "gap" and gap["seq"] == 5
    assert gap["detail"]["line"] == 5 and gap["detail"]["bytes"] == len(fragment)
    assert entry["seq"] == 6 and entry["prev"] == gap["hash"]
    assert verify(log.path) == (True, None)
    assert lines(log)[4].rstrip("\n").encode() == fragment  # the fragment stays as evidence
    assert gaps(log.path) == [{"line": 5, "bytes": len(fragment), "seq": 5}]


def test_a_damaged_line_in_the_middle_is_not_explained_by_a_gap(tmp_path: Path) -> None:
    log = filled_log(tmp_path)
    content = lines(log)
    content[2] = content[2][:40] + "\n"
    rewrite(log, content)
    assert verify(log.path) == (False, 3)
