"""The secret scanner on small throw-away repositories (and on this repository)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from config import PROJECT_ROOT
from security.secret_scan import documented_defaults, main, scan, scan_text

# Built from pieces so this file itself holds no key-shaped string.
PEM_HEADER = "-----BEGIN " + "RSA PRIVATE KEY-----"
OPENSSH_HEADER = "-----BEGIN " + "OPENSSH PRIVATE KEY-----"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"

ENV_EXAMPLE = """# Graph store.
STORE=memory
# Development default only; set a real secret anywhere else.
NEO4J_PASSWORD=dispute-dev-pass
PSEUDONYM_KEY=
"""


def make_repo(root: Path, files: dict[str, str]) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    return root


def rules(findings) -> list[tuple[str, int, str]]:
    return sorted((f.path, f.line, f.rule) for f in findings)


def test_clean_repository_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(
        tmp_path,
        {
            ".env.example": ENV_EXAMPLE,
            "config.py": 'password = env.get("NEO4J_PASSWORD", "dispute-dev-pass")\nhash = f(password)\n',
            "app.py": 'token = secrets.token_urlsafe(32)\npassword = ""\nmask = "****"\n',
            "tests/test_login.py": 'password = "hunter2hunter2"\n',
        },
    )
    assert scan(repo) == []
    assert main([str(repo)]) == 0
    assert capsys.readouterr().out == ""


def test_each_rule_reports_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(
        tmp_path,
        {
            ".env.example": ENV_EXAMPLE,
            "deploy/key.pem": f"{PEM_HEADER}\nMIIB...\n",
            "tests/fixtures/id_ed25519": f"{OPENSSH_HEADER}\n",
            "ops/aws.ini": f"[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n",
            "db.py": 'x = 1\nNEO4J_PASSWORD = "s3cr3t-prod"\nconnect(password="hunter2hunter2")\n',
            "settings.json": '{"api_key": "abcd1234efgh"}\n',
            "run.sh": "export ADMIN_TOKEN=abcdef123456\npw=${NEO4J_PASSWORD:-other-pass}\n",
            "cfg.py": 'pw = os.environ.get("NEO4J_PASSWORD", "not-the-documented-one")\n',
        },
    )
    found = rules(scan(repo))
    assert found == [
        ("cfg.py", 1, "undocumented-default"),
        ("db.py", 2, "hard-coded-secret"),
        ("db.py", 3, "hard-coded-secret"),
        ("deploy/key.pem", 1, "private-key"),
        ("ops/aws.ini", 2, "aws-access-key"),
        ("ops/aws.ini", 3, "aws-secret-key"),
        ("run.sh", 1, "hard-coded-secret"),
        ("run.sh", 2, "undocumented-default"),
        ("settings.json", 1, "hard-coded-secret"),
        ("tests/fixtures/id_ed25519", 1, "private-key"),
    ]
    assert main([str(repo)]) == 1
    out = capsys.readouterr().out
    assert "db.py:2: hard-coded-secret" in out
    for secret in ("s3cr3t-prod", "hunter2hunter2", AWS_SECRET, "abcdef123456"):
        assert secret not in out  # findings never repeat the secret


def test_untracked_files_are_not_scanned(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"ok.py": "x = 1\n"})
    (repo / "local.py").write_text('password = "only-on-my-machine"\n', encoding="utf-8")
    assert scan(repo) == []


def test_env_example_values_need_a_default_comment() -> None:
    assert documented_defaults(ENV_EXAMPLE) == {"NEO4J_PASSWORD": "dispute-dev-pass"}
    undocumented = "STORE=memory\nNEO4J_PASSWORD=dispute-dev-pass\n"
    assert [f.rule for f in scan_text(".env.example", undocumented, {})] == ["hard-coded-secret"]
    assert [f.rule for f in scan_text(".env", ENV_EXAMPLE, {})] == ["hard-coded-secret"]


def test_allow_marker_and_names_that_are_not_secrets() -> None:
    text = (
        'DEMO = User(password="demo-commander")  # secret-scan: allow (public demo account)\n'
        'TOKEN_TYPE = "bearer"\npassword_regex = "[a-z]+"\nparser.add_argument("--token")\n'
    )
    assert list(scan_text("security/demo_accounts.py", text, {})) == []


def test_binary_files_are_skipped(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"ok.py": "x = 1\n"})
    (repo / "blob.bin").write_bytes(b"\0\1" + PEM_HEADER.encode())
    subprocess.run(["git", "-C", str(repo), "add", "blob.bin"], check=True)
    assert scan(repo) == []


def test_this_repository_is_clean() -> None:
    findings = scan(PROJECT_ROOT)
    assert findings == [], "\n".join(map(str, findings))
