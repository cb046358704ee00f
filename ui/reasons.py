"""The core's reasons in the session's language.

A score's reasons come as codes (:class:`texts.reasons.Reason`) where the run kept them
(``reasons.json``, a ``reasons`` column on the scores); otherwise they are read back from the
Chinese ``top_factors`` text by the same templates. So are the other sentences the register or
a run folder keeps only as Chinese text: an alert's message, why a person is on a team or left
it, why a post is empty, the advisory notice (:func:`reason_text`). A text of no known form,
such as a person's own words, is shown as written.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from models.closed_loop import FOLLOW_UP_RULES
from texts.reasons import REASONS_COLUMN, Reason, read_alert, read_factors, render, render_text
from ui.i18n import language, t


def factor_lines(reasons: object, top_factors: object = "") -> list[str]:
    """A score's reasons, one sentence each: from ``reasons`` (a tuple of Reason) when given,
    else from the Chinese ``top_factors`` text."""
    found: Iterable[Reason] = reasons if isinstance(reasons, tuple) else read_factors(top_factors)
    return [render(reason, language()) for reason in found]


def factor_column(frame: pd.DataFrame) -> pd.Series:
    """Each row's reasons for a table cell, joined by the language's separator."""
    codes = frame[REASONS_COLUMN] if REASONS_COLUMN in frame.columns else pd.Series(None, index=frame.index)
    texts = frame["top_factors"] if "top_factors" in frame.columns else pd.Series("", index=frame.index)
    separator = t("reasons_separator")
    return pd.Series(
        [separator.join(factor_lines(c, f)) for c, f in zip(codes, texts.fillna(""), strict=True)],
        index=frame.index,
        dtype="object",
    )


def alert_message(message: object, dispute_id: object) -> str:
    """The message of an alert on ``dispute_id`` in the current language (as stored when it is of
    no known form)."""
    reason = read_alert(message, str(dispute_id))
    return str(message or "") if reason is None else render(reason, language())


def follow_up_rule(tier: object) -> str:
    """The follow-up duty of ``tier`` in the current language ('' for a tier without one)."""
    rule = FOLLOW_UP_RULES.get(str(tier))
    return "" if rule is None else render(rule.description, language())


def reason_text(text: object) -> str:
    """A reason the core kept as Chinese text (a team member's, an unfilled post's, a refusal),
    in the current language."""
    return render_text(str(text or ""), language())
