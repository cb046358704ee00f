"""Every label the dashboard asks for exists in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ui.i18n import LABELS, STRINGS, label, set_language, t

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py"))]


def used_keys() -> set[str]:
    """Keys passed literally to ``t(...)`` anywhere in the dashboard code."""
    pattern = re.compile(r"""\bt\(\s*["']([a-z0-9_]+)["']""")
    return {key for path in SOURCES for key in pattern.findall(path.read_text(encoding="utf-8"))}


def test_every_used_key_exists() -> None:
    missing = sorted(used_keys() - set(STRINGS))
    assert not missing, f"keys without text: {missing}"


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_both_languages_present(key: str) -> None:
    zh, en = STRINGS[key]
    assert zh.strip() and en.strip()


def test_switching_language() -> None:
    set_language("en")
    try:
        assert t("page_ranking") == "Risk ranking"
        assert label("tier", "red") == "Red"
    finally:
        set_language("zh")
    assert t("page_ranking") == "风险排序"
    assert label("tier", "red") == "红色"
    assert label("category", "unknown-code") == "unknown-code"
    assert all(len(names) == 2 for kind in LABELS.values() for names in kind.values())


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        set_language("fr")


def test_every_page_has_a_title() -> None:
    from ui.views import PAGES

    assert all(f"page_{key}" in STRINGS for key in PAGES)


def test_the_workplace_texts_never_replace_a_core_text() -> None:
    import re

    from ui.strings_workplace import WORKPLACE_STRINGS

    source = (ROOT / "ui" / "i18n.py").read_text(encoding="utf-8")
    core = set(re.findall(r'^    "([a-z0-9_]+)": \(', source.split("**WORKPLACE_STRINGS")[0], re.M))
    assert core and not (core & set(WORKPLACE_STRINGS))
