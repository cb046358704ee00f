"""Scan a repository's tracked files for committed secrets: ``python -m security.secret_scan PATH``.

Rules (each finding prints ``file:line: rule: message`` with the value redacted; exit 1 if any):

- ``private-key``: a PEM/OpenSSH private key header (``-----BEGIN ... PRIVATE KEY-----``), in any file.
- ``aws-access-key``: an AWS access key id (``AKIA``/``ASIA`` + 16 upper-case letters or digits), in any
  file; ``aws-secret-key``: ``aws_secret_access_key`` set to a 40-character value.
- ``hard-coded-secret``: in non-test files, a string literal assigned to a variable, keyword,
  dict key or environment variable whose name ends in password, passwd, secret, token or
  api_key (``password = "..."``, ``password="..."``, ``"password": "..."``, ``PASSWORD=...``).
  Values shorter than 4 characters, one repeated character (``****``) and placeholders
  (``${VAR}``, ``<...>``) are not secrets.
- ``undocumented-default``: a secret-named environment lookup with a literal fallback
  (``env.get("NEO4J_PASSWORD", "...")``, ``${NEO4J_PASSWORD:-...}``) whose fallback is not the
  development default documented in ``.env.example``.

Allowed on purpose:

- ``.env.example`` may carry a non-empty secret only on a line directly below a comment that
  says it is a (development) default; that value is then the documented dev default, which
  code may use as the fallback of the same environment variable (see ``config.py``).
- Test code (``tests/``, ``test_*.py``, ``conftest.py``) may hold fake passwords.
- A line carrying the marker ``secret-scan: allow`` (with its reason on the same line, e.g.
  the public demo accounts of ``security/demo_accounts.py``) is skipped for the hard-coded-secret rule.

Files are those of ``git ls-files`` under PATH (or every file when PATH is not in a git
work tree); binary files and files over 2 MB are skipped.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 2_000_000
ALLOW_MARKER = "secret-scan: allow"
_SENSITIVE_WORDS = r"(?:password|passwd|secret|token|api_?key)"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"

PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
AWS_ACCESS_KEY = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")
AWS_SECRET_KEY = re.compile(
    r"aws_secret_access_key\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])", re.I
)
# NAME = "value" / NAME: str = "value" / name="value" (keyword) — quotes possibly JSON-escaped.
ASSIGNED_LITERAL = re.compile(
    rf"(?<![A-Za-z0-9_.])(?P<name>{_NAME})\s*(?::\s*[A-Za-z_][\w\[\], |.]*)?\s*=\s*\\?(?P<q>[\"'])"
    rf"(?P<value>[^\"'\\]*)\\?(?P=q)"
)
# "name": "value" (dict literal, JSON, YAML with quotes)
KEYED_LITERAL = re.compile(
    r"\\?[\"'](?P<name>[\w.-]+)\\?[\"']\s*:\s*\\?(?P<q>[\"'])(?P<value>[^\"'\\]*)\\?(?P=q)"
)
# NAME=value in dotenv files and shell (unquoted or quoted)
ENV_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>\S*)")
# get("NAME", "fallback") / getenv("NAME", "fallback") / ${NAME:-fallback}
ENV_FALLBACK = re.compile(
    r"(?:get|getenv)\(\s*[\"'](?P<name>[A-Za-z_][A-Za-z0-9_]*)[\"']\s*,\s*[\"'](?P<value>[^\"']*)[\"']"
    r"|\$\{(?P<shname>[A-Za-z_][A-Za-z0-9_]*):?-(?P<shvalue>[^}]*)\}"
)
# The name must *end* in a secret word (NEO4J_PASSWORD, client_secret, auth_token, api_key),
# so TOKEN_TYPE, password_regex or SecretButton are not taken for secrets.
SECRET_NAME = re.compile(rf"(?:^|[_.-]){_SENSITIVE_WORDS}$", re.I)
MIN_SECRET_LENGTH = 4


@dataclass(frozen=True)
class Finding:
    """One suspected secret: where, which rule, and a message that never repeats the secret."""

    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


def is_test_path(path: str) -> bool:
    """Whether ``path`` (relative, '/'-separated) is test code, where fake passwords are fine."""
    parts = path.split("/")
    name = parts[-1]
    return (
        "tests" in parts[:-1]
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def _is_placeholder(value: str) -> bool:
    value = value.strip().strip("\"'")
    return (
        len(value) < MIN_SECRET_LENGTH
        or len(set(value)) == 1
        or value.startswith(("$", "<", "{", "%("))
        or value in {"None", "null"}
    )


def _redact(value: str) -> str:
    return f"{len(value)}-character value"


def documented_defaults(env_example: str) -> dict[str, str]:
    """Secret-named variables of a ``.env.example`` text whose value sits directly below a comment
    calling it a default: ``{NAME: value}``."""
    defaults: dict[str, str] = {}
    previous = ""
    for raw in env_example.splitlines():
        line = raw.strip()
        match = ENV_ASSIGNMENT.match(line)
        if match and SECRET_NAME.search(match["name"]) and not _is_placeholder(match["value"]):
            if previous.startswith("#") and "default" in previous.lower():
                defaults[match["name"]] = match["value"].strip("\"'")
        if line:
            previous = line
    return defaults


def scan_text(path: str, text: str, defaults: dict[str, str]) -> Iterator[Finding]:
    """Findings in one file's text (``path`` relative, used for the test-code and dotenv rules)."""
    name = path.split("/")[-1]
    is_env_file = name.startswith(".env") or name.endswith(".env")
    is_env_example = name.endswith(".example") or name.endswith(".sample")
    test_code = is_test_path(path)
    previous = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if PRIVATE_KEY.search(line):
            yield Finding(path, number, "private-key", "private key block")
        if AWS_ACCESS_KEY.search(line):
            yield Finding(path, number, "aws-access-key", "AWS access key id")
        if AWS_SECRET_KEY.search(line):
            yield Finding(path, number, "aws-secret-key", "AWS secret access key")
        stripped = line.strip()
        if not test_code and ALLOW_MARKER not in line:
            yield from _hard_coded(path, number, stripped, previous, is_env_file, is_env_example)
            for match in ENV_FALLBACK.finditer(line):
                var = match["name"] or match["shname"]
                value = match["value"] if match["name"] else match["shvalue"]
                if SECRET_NAME.search(var) and not _is_placeholder(value) and defaults.get(var) != value:
                    yield Finding(
                        path, number, "undocumented-default",
                        f"{var} falls back to a {_redact(value)} not documented as the default in .env.example",
                    )  # fmt: skip
        if stripped:
            previous = stripped


def _hard_coded(
    path: str, number: int, line: str, previous: str, is_env_file: bool, is_env_example: bool
) -> Iterator[Finding]:
    if is_env_file or path.endswith((".sh", ".bash")) or path.split("/")[-1] == "Makefile":
        match = ENV_ASSIGNMENT.match(line)
        if match and SECRET_NAME.search(match["name"]) and not _is_placeholder(match["value"]):
            documented = previous.startswith("#") and "default" in previous.lower()
            if not (is_env_example and documented):
                yield Finding(
                    path, number, "hard-coded-secret", f"{match['name']} set to a {_redact(match['value'])}"
                )
                return
    if line.startswith("#") and not path.endswith((".py", ".ipynb")):
        return
    for pattern in (ASSIGNED_LITERAL, KEYED_LITERAL):
        for match in pattern.finditer(line):
            if SECRET_NAME.search(match["name"]) and not _is_placeholder(match["value"]):
                yield Finding(
                    path, number, "hard-coded-secret", f"{match['name']} set to a {_redact(match['value'])}"
                )


def tracked_files(root: Path) -> list[Path]:
    """Files tracked by git under ``root``; every regular file when ``root`` is not in a work tree."""
    try:
        listing = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True, timeout=60
        ).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        skip = {".git", ".venv", "node_modules", "__pycache__"}
        return sorted(p for p in root.rglob("*") if p.is_file() and not skip & set(p.relative_to(root).parts))
    return [root / name for name in listing.decode("utf-8", "replace").split("\0") if name]


def _read_text(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", "replace")


def scan(root: Path | str, files: Iterable[Path] | None = None) -> list[Finding]:
    """All findings in the tracked files under ``root`` (or in ``files``)."""
    root = Path(root).resolve()
    example = root / ".env.example"
    defaults = documented_defaults(example.read_text(encoding="utf-8")) if example.is_file() else {}
    findings: list[Finding] = []
    for path in files if files is not None else tracked_files(root):
        text = _read_text(path)
        if text is None:
            continue
        relative = (
            path.resolve().relative_to(root).as_posix() if path.resolve().is_relative_to(root) else str(path)
        )
        findings.extend(scan_text(relative, text, defaults))
    return findings


def main(argv: list[str] | None = None) -> int:
    """Command line: print findings and return 1 if any, else 0."""
    parser = argparse.ArgumentParser(
        prog="python -m security.secret_scan", description=__doc__.splitlines()[0]
    )
    parser.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    args = parser.parse_args(argv)
    root = Path(args.path)
    if not root.is_dir():
        print(f"error: {root} is not a directory", file=sys.stderr)
        return 2
    findings = scan(root)
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} suspected secret(s) found", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
