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
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from security.exports import neutralise_frame

GENESIS = "0" * 64
AUDIT_ACTIONS = frozenset(
    {"view", "export", "assign", "override", "unmask", "login", "logout", "denied", "admin"}
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


def _last_line(path: Path) -> str | None:
    """The last non-empty line of ``path`` (read backwards in blocks), or None if empty/missing."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        block = 4096
        data = b""
        pos = end
        while pos > 0:
            step = min(block, pos)
            pos -= step
            handle.seek(pos)
            data = handle.read(step) + data
            stripped = data.rstrip(b"\n")
            if b"\n" in stripped:
                return stripped.rsplit(b"\n", 1)[1].decode("utf-8")
        stripped = data.rstrip(b"\n")
        return stripped.decode("utf-8") if stripped else None


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
                last = _last_line(self.path)
                if last is None:
                    seq, prev = 1, GENESIS
                else:
                    previous = json.loads(last)
                    seq, prev = int(previous["seq"]) + 1, str(previous["hash"])
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


def verify(path: Path | str) -> tuple[bool, int | None]:
    """Check the hash chain of the log at ``path``.

    Returns ``(True, None)`` when every line is intact and the head file (if present) matches
    the last line, else ``(False, n)`` with ``n`` the first bad 1-based line number (for a
    truncated log: the line number where the missing entry should be). A log that was never
    written is ok; a removed one (its head file still there) is not.
    """
    path = Path(path)
    if not path.exists():
        # A head without its log means the log was removed.
        return (False, 1) if _head_path(path).exists() else (True, None)
    prev = GENESIS
    line_no = 0
    last_seq = 0
    with path.open("r", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                return False, line_no
            if not isinstance(entry, dict) or entry.get("prev") != prev or entry.get("seq") != last_seq + 1:
                return False, line_no
            if entry.get("hash") != entry_hash(prev, entry):
                return False, line_no
            prev, last_seq = str(entry["hash"]), int(entry["seq"])
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


def read_entries(path: Path | str) -> pd.DataFrame:
    """All entries of the log as a DataFrame with :data:`AUDIT_COLUMNS` (``at`` as UTC timestamps)."""
    path = Path(path)
    rows = []
    if path.exists():
        with path.open("r", encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
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
