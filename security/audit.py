"""Append-only, hash-chained audit log of every read of personal data and every decision.

One JSON object per line::

    {"seq": 7, "at": "2025-11-20T08:15:02.123456+00:00", "user": "gw-w1", "role": "grid_worker",
     "action": "view", "object": "dispute:D-R1", "fields": ["name", "phone"], "reason": "",
     "detail": {...}, "prev": "<hash of entry 6>", "hash": "<sha256(prev + canonical body)>"}

``hash`` is the SHA-256 of the previous entry's hash followed by this entry's canonical JSON
(sorted keys, no spaces, without the ``hash`` key); the first entry chains from
:data:`GENESIS`. Editing, deleting or reordering any line breaks the chain at that line.
Dropping the *last* lines cannot be seen from the chain alone, so each append also rewrites a
small head file (``<log>.head``: last seq and hash) that :func:`verify` checks; copy the head
elsewhere (or export it) for evidence that survives a rewrite of both files.

The log is only ever opened for appending (``"a"``); appends from several processes are
serialised with an exclusive ``flock`` so the chain stays linear.

A write cut short by a crash leaves a torn last line. Reading skips it, and the next append
first ends it with a newline, then records a ``gap`` entry (chained to the last whole entry)
that names the torn line, its length and its SHA-256; :func:`verify` accepts a non-entry line
only when the entry right after it is the gap that describes it, and :func:`gaps` lists them.
The fragment itself stays in the file as evidence.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from security.exports import neutralise_frame

GENESIS = "0" * 64
AUDIT_ACTIONS = frozenset(
    {"view", "export", "assign", "override", "unmask", "record", "login", "logout", "denied", "admin", "gap"}
)
AUDIT_COLUMNS = [
    "seq",
    "at",
    "user",
    "role",
    "action",
    "object",
    "fields",
    "reason",
    "detail",
    "prev",
    "hash",
]


def canonical_json(body: dict) -> str:
    """The canonical form hashed for an entry: sorted keys, compact separators, UTF-8 kept."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, body: dict) -> str:
    """SHA-256 hex of ``prev_hash`` followed by the canonical JSON of ``body`` (without ``hash``)."""
    clean = {k: v for k, v in body.items() if k != "hash"}
    return hashlib.sha256((prev_hash + canonical_json(clean)).encode("utf-8")).hexdigest()


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def lines_backwards(path: Path, block: int = 65536) -> Iterator[tuple[int, bytes]]:
    """(byte offset, line without its newline) of every non-empty line of ``path``, last first."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        pos = handle.tell()
        rest = b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            handle.seek(pos)
            chunk = handle.read(step) + rest
            parts = chunk.split(b"\n")
            rest = parts[0]  # may continue in the previous block
            offset = pos + len(chunk)
            for line in reversed(parts[1:]):
                offset -= len(line) + 1
                if line.strip():
                    yield offset + 1, line
        if rest.strip():
            yield 0, rest


def parse_entry(line: bytes | str) -> dict | None:
    """The entry on one log line, or None when the line is not a whole entry (e.g. torn)."""
    try:
        entry = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("seq"), int)
        or not isinstance(entry.get("hash"), str)
    ):
        return None
    return entry


def _tail(path: Path) -> tuple[dict | None, tuple[int, bytes] | None]:
    """(last whole entry, the torn line after it as (offset, bytes) if the file ends in one)."""
    if not path.exists():
        return None, None
    torn = None
    for offset, line in lines_backwards(path):
        entry = parse_entry(line)
        if entry is not None:
            return entry, torn
        if torn is None:
            torn = (offset, line)
    return None, torn


def _gap_detail(path: Path, offset: int, fragment: bytes) -> dict:
    with path.open("rb") as handle:
        line = handle.read(offset).count(b"\n") + 1
    return {
        "line": line,
        "offset": offset,
        "bytes": len(fragment),
        "sha256": hashlib.sha256(fragment).hexdigest(),
    }


def _write_head(path: Path, seq: int, last_hash: str) -> None:
    """Replace the head file atomically, so a crash never leaves it half written."""
    head = _head_path(path)
    tmp = head.with_name(head.name + ".tmp")
    tmp.write_text(json.dumps({"seq": seq, "hash": last_hash}) + "\n", encoding="utf-8")
    os.replace(tmp, head)


@dataclass
class AuditLog:
    """The audit log at ``path`` (usually ``get_settings().audit_log``)."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    def record(
        self,
        user: str,
        role: str,
        action: str,
        obj: str,
        fields: list[str] | tuple[str, ...] = (),
        reason: str = "",
        detail: dict | None = None,
        now: datetime | None = None,
    ) -> dict:
        """Append one entry and return it. ``action`` is one of :data:`AUDIT_ACTIONS`."""
        if action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; expected one of {sorted(AUDIT_ACTIONS)}")
        at = (now or datetime.now(UTC)).isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                previous, torn = _tail(self.path)
                seq, prev = (
                    (1, GENESIS) if previous is None else (int(previous["seq"]) + 1, str(previous["hash"]))
                )
                if torn is not None:
                    handle.write("\n")  # end the torn line; it stays as evidence
                    handle.flush()
                    gap = {
                        "seq": seq, "at": at, "user": "system", "role": "", "action": "gap", "object": "audit",
                        "fields": [], "reason": "a write was cut short (torn line)",
                        "detail": _gap_detail(self.path, *torn), "prev": prev,
                    }  # fmt: skip
                    gap_hash = entry_hash(prev, gap)
                    handle.write(canonical_json({**gap, "hash": gap_hash}) + "\n")
                    seq, prev = seq + 1, gap_hash
                body = {
                    "seq": seq,
                    "at": at,
                    "user": user,
                    "role": role,
                    "action": action,
                    "object": obj,
                    "fields": list(fields),
                    "reason": reason,
                    "detail": detail or {},
                    "prev": prev,
                }
                entry = {**body, "hash": entry_hash(prev, body)}
                handle.write(canonical_json(entry) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
                _write_head(self.path, seq, str(entry["hash"]))
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return entry

    def entries(self) -> pd.DataFrame:
        """Every entry as a DataFrame (for the admin's audit viewer); see :func:`read_entries`."""
        return read_entries(self.path)


def record_override(
    audit: AuditLog,
    user: str,
    role: str,
    dispute_id: str,
    model_tier: str | None,
    decided_tier: str,
    reason: str,
    now: datetime | None = None,
) -> dict:
    """Audit a person's decision that differs from the model's advice; a reason is required.

    The model advises, people decide: the decision and its reason are kept beside the tier the
    model gave, so the monthly review can see where and why people overrode it.
    """
    if not (reason or "").strip():
        raise ValueError("an override needs a reason")
    return audit.record(
        user,
        role,
        "override",
        f"dispute:{dispute_id}",
        fields=["tier"],
        reason=reason.strip(),
        detail={"model_tier": model_tier, "decided_tier": decided_tier},
        now=now,
    )


def _explains(gap: dict, line_no: int, raw: bytes) -> bool:
    detail = gap.get("detail") or {}
    return (
        gap.get("action") == "gap"
        and detail.get("line") == line_no
        and detail.get("sha256") == hashlib.sha256(raw).hexdigest()
    )


def verify(path: Path | str) -> tuple[bool, int | None]:
    """Check the hash chain of the log at ``path``.

    Returns ``(True, None)`` when every line is intact (a torn line counts as intact only when
    the gap entry right after it records it) and the head file (if present) matches the last
    line, else ``(False, n)`` with ``n`` the first bad 1-based line number (for a truncated
    log: the line number where the missing entry should be). A log that was never written is
    ok; a removed one (its head file still there) is not.
    """
    path = Path(path)
    if not path.exists():
        # A head without its log means the log was removed.
        return (False, 1) if _head_path(path).exists() else (True, None)
    prev = GENESIS
    line_no = 0
    last_seq = 0
    pending: tuple[int, bytes] | None = None  # a non-entry line waiting for its gap entry
    with path.open("rb") as handle:
        for line_no, raw_line in enumerate(handle, start=1):
            raw = raw_line.rstrip(b"\n")
            entry = parse_entry(raw)
            if entry is None:
                if pending is not None:
                    return False, pending[0]
                pending = (line_no, raw)
                continue
            if pending is not None and not _explains(entry, *pending):
                return False, pending[0]
            pending = None
            if entry.get("prev") != prev or entry.get("seq") != last_seq + 1:
                return False, line_no
            if entry.get("hash") != entry_hash(prev, entry):
                return False, line_no
            prev, last_seq = str(entry["hash"]), int(entry["seq"])
    if pending is not None:
        return False, pending[0]
    head = _head_path(path)
    if head.exists():
        try:
            recorded = json.loads(head.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return False, line_no + 1
        if recorded.get("seq") != last_seq or recorded.get("hash") != prev:
            truncated = isinstance(recorded.get("seq"), int) and recorded["seq"] > last_seq
            return False, (line_no + 1) if truncated else max(line_no, 1)
    return True, None


def gaps(path: Path | str) -> list[dict]:
    """The recorded gaps of the log: ``{"line", "bytes", "seq"}`` of each torn line."""
    entries = read_entries(path)
    found = entries[entries["action"] == "gap"]
    return [
        {"line": int(d["line"]), "bytes": int(d["bytes"]), "seq": int(seq)}
        for seq, d in zip(found["seq"], found["detail"], strict=True)
    ]


def read_entries(path: Path | str) -> pd.DataFrame:
    """All whole entries of the log as a DataFrame with :data:`AUDIT_COLUMNS` (``at`` as UTC
    timestamps); a torn line is not an entry and is left out (see :func:`verify`)."""
    path = Path(path)
    rows = []
    if path.exists():
        with path.open("rb") as handle:
            rows = [entry for line in handle if line.strip() and (entry := parse_entry(line)) is not None]
    frame = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
    return frame


def export_entries(
    path: Path | str,
    out: Path | str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Write the entries in ``[since, until)`` to ``out`` as CSV (UTF-8 with BOM, for Excel).

    ``fields`` and ``detail`` are written as JSON text, and text that a spreadsheet would run
    as a formula is neutralised (:mod:`security.exports`: a username typed at the sign-in page
    lands here). Returns the number of rows written. The caller is responsible for auditing the
    export itself.
    """
    frame = read_entries(path)
    if since is not None:
        frame = frame[frame["at"] >= pd.Timestamp(since)]
    if until is not None:
        frame = frame[frame["at"] < pd.Timestamp(until)]
    frame = frame.assign(
        fields=frame["fields"].map(lambda v: json.dumps(v, ensure_ascii=False)),
        detail=frame["detail"].map(lambda v: json.dumps(v, ensure_ascii=False, default=str)),
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    neutralise_frame(frame).to_csv(out, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return len(frame)
