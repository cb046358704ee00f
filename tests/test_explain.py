"""Score reasons: codes with values from the model's explanations, their Chinese and English
sentences, the Chinese read back, and a scored run shown in English without a Chinese word."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pandas as pd
import pytest

from jobs import catalog
from models.explain import FACTS, GRAPH_FACTS, NO_FACTOR, reason
from tests.run_fixtures import tiny_run  # noqa: F401
from texts.labels import LABELS
from texts.reasons import Reason, parse, read_factors, render, render_all, verbatim
from texts.templates import COUNT, FACTORS, FIELDS, FREE_TEXT, PHRASE, SENTENCES, TEMPLATES
from ui.data import load_run
from ui.i18n import set_language
from ui.reasons import factor_column, factor_lines

CHINESE = re.compile(r"[\u3400-\u9fff]")


def fields_of(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def sample(code: str) -> Reason:
    """``code`` with a value for each field: a count, the first code of a label, or an id."""
    values: dict[str, str | int] = {}
    for field in fields_of(TEMPLATES[code][0]):
        kind = FIELDS.get(field)
        values[field] = 2 if kind == COUNT else next(iter(LABELS[kind])) if kind in LABELS else f"X-{field}9"
    return Reason.of(code, **values)


@pytest.mark.parametrize("code", sorted(TEMPLATES))
def test_every_reason_code_has_both_languages(code: str) -> None:
    zh, en = TEMPLATES[code]
    assert zh.strip() and en.strip()
    assert fields_of(zh) == fields_of(en)
    assert not CHINESE.search(en), en
    assert all(
        kind in (COUNT, SENTENCES, PHRASE, FREE_TEXT) or kind in LABELS
        for kind in map(FIELDS.get, fields_of(zh))
        if kind
    )


def test_every_label_has_both_languages() -> None:
    for kind, names in LABELS.items():
        for code, (zh, en) in names.items():
            assert zh and en and not CHINESE.search(en), (kind, code)


def test_distinct_reasons_read_differently() -> None:
    chinese = [zh for zh, _ in TEMPLATES.values()]
    assert len(set(chinese)) == len(chinese)


@pytest.mark.parametrize("code", sorted(set(TEMPLATES) - {"verbatim"}))
def test_a_chinese_sentence_reads_back_into_its_reason(code: str) -> None:
    written = sample(code)
    # An alert is read back knowing its dispute (an id may end in digits, like a count after it).
    known = {"dispute": str(written.value("dispute"))} if "dispute" in dict(written.values) else None
    assert parse(render(written), known=known) == written
    assert Reason.from_json(json.loads(json.dumps(written.as_json()))) == written


def test_every_feature_states_a_reason_of_its_own() -> None:
    row: dict[str, float] = {feature: 1.0 for feature in FACTS} | {"h_gap_shrinking": 0.0}
    codes = {FACTS[feature](row).code for feature in FACTS}
    codes |= {code for _, code in GRAPH_FACTS}
    assert codes <= set(FACTORS)
    assert reason("g_party_prior_violent_cases", row).code == "prior_violent"
    assert reason("g_community_recent_escalations", row).code == "community_recent"
    assert reason("c_land", row) == Reason.of("category", category="land")
    # A feature without a sentence is named as it is, in either language.
    unnamed = reason("r_status_resolved", row)
    assert render(unnamed) == render(unnamed, "en") == "r_status_resolved"


def test_the_chinese_is_as_commanders_have_always_read_it() -> None:
    row = {"h_calls_90d": 3.0, "h_gap_shrinking": 1.0, "r_max_severity": 2.0, "v_last_mood": 1.0,
           "ph_days_since_other_incident": 4.4, "m_failed": 1.6}  # fmt: skip
    said = {feature: render(reason(feature, row)) for feature in row}
    assert said == {
        "h_calls_90d": "90天内报警3次且间隔缩短",
        "h_gap_shrinking": "报警间隔缩短",
        "r_max_severity": "纠纷等级为重大",
        "v_last_mood": "最近一次走访情绪波动",
        "ph_days_since_other_incident": "当事人4天前刚涉及其他警情",
        "m_failed": "调解失败2次",
    }
    assert render(NO_FACTOR) == "无突出风险因素"
    assert render(reason("c_family", row)) == "婚姻家庭类纠纷"


def test_english_counts_agree_in_number() -> None:
    assert render(Reason.of("calls_30d", n=1), "en") == "1 call in the last 30 days"
    assert render(Reason.of("calls_30d", n=4), "en") == "4 calls in the last 30 days"
    assert render(Reason.of("party_recent_incident", days=1), "en").endswith("only 1 day ago")


def test_a_phrase_of_no_known_form_stays_as_written() -> None:
    found = read_factors("土地纠纷当事人有寻衅滋事前科;近30天报警2次")
    assert found == (verbatim("土地纠纷当事人有寻衅滋事前科"), Reason.of("calls_30d", n=2))
    assert render_all(found) == "土地纠纷当事人有寻衅滋事前科;近30天报警2次"


def test_a_scored_run_keeps_its_reasons_as_codes(tiny_run: Path) -> None:  # noqa: F811
    scores = catalog.read_scores(tiny_run)
    kept = catalog.read_reasons(tiny_run)
    assert set(kept) == set(scores["dispute_id"])
    for dispute_id, text in zip(scores["dispute_id"], scores["top_factors"], strict=True):
        assert render_all(kept[dispute_id]) == text  # scores.csv's text is the codes' Chinese
        assert read_factors(text) == kept[dispute_id]


def test_the_english_dashboard_states_a_scored_runs_reasons_without_chinese(tiny_run: Path) -> None:  # noqa: F811
    run = load_run(tiny_run)
    set_language("en")
    try:
        english = factor_column(run.scores)
        one = factor_lines(run.scores["reasons"].iloc[0])
        read_back = factor_column(run.scores.drop(columns="reasons"))
    finally:
        set_language("zh")
    assert len(english) == len(run.scores) > 0
    assert not [text for text in english if CHINESE.search(text)]
    assert one and english.iloc[0] == "; ".join(one)
    assert read_back.tolist() == english.tolist()  # a run without codes reads the same
    chinese = factor_column(run.scores)
    assert chinese.tolist() == run.scores["top_factors"].str.replace(";", "；").tolist()


def test_reasons_survive_a_frame_that_lacks_some() -> None:
    frame = pd.DataFrame(
        {"top_factors": ["近7天报警2次", "无突出风险因素"], "reasons": [(Reason.of("threat"),), float("nan")]}
    )
    set_language("en")
    try:
        shown = factor_column(frame).tolist()
    finally:
        set_language("zh")
    assert shown == ["A party threatened extreme action", "No outstanding risk factor"]
