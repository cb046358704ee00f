"""Reasons as codes with values, and their text in Chinese and English.

The core (``models/``) states a reason as a :class:`Reason`: a code from
:data:`texts.templates.TEMPLATES` and the values its sentence needs (counts, ids, times, and
codes such as a tier or a category). :func:`render` writes it in a language; a run folder
stores it as JSON (:meth:`Reason.as_json`). Files the contract reads (scores.csv's
``top_factors``, alerts.csv's ``message``) and the register carry the Chinese text, and
:func:`parse` reads a Chinese text back into its reason with the same template, for what is
kept only as text. Several sentences kept as one text are joined by ``；`` (:func:`read_text`).

A value's kind follows from its field's name (:data:`texts.templates.FIELDS`): a count is
written as a number, a code by its label (:mod:`texts.labels`), a nested text of the
platform's sentences (``detail``; one nested sentence: ``area``, ``how``) sentence by
sentence, anything else as it is. An English template may give a count's singular and plural,
``{n:call|calls}``, or write a label in lower case, ``{role:lower}``.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import cache

from texts.labels import LABELS, label_in
from texts.templates import ALERTS, COUNT, FACTORS, FIELDS, FREE_TEXT, PHRASE, SENTENCES, TEMPLATES

Value = str | int
# The column in which a frame (a batch's scores) carries each row's reasons, a tuple of Reason.
REASONS_COLUMN = "reasons"


@dataclass(frozen=True)
class Reason:
    """One reason: a template code and the values of its fields, in field-name order."""

    code: str
    values: tuple[tuple[str, Value], ...] = ()

    @classmethod
    def of(cls, code: str, **values: Value) -> Reason:
        """The reason ``code`` with ``values`` (a field -> a count, a code or a text)."""
        if code not in TEMPLATES:
            raise KeyError(f"unknown reason code {code!r}")
        return cls(code, tuple(sorted(values.items())))

    def value(self, field: str) -> Value:
        """The value of ``field``."""
        return dict(self.values)[field]

    def as_json(self) -> list:
        """``[code, {field: value}]``, as a run folder stores it."""
        return [self.code, dict(self.values)]

    @classmethod
    def from_json(cls, item: list) -> Reason:
        """The reason :meth:`as_json` wrote."""
        code, values = item
        return cls.of(str(code), **{str(k): v for k, v in dict(values).items()})


SEPARATOR = "；"


class _Formatter(string.Formatter):
    """Counts with a ``one|many`` spec choose the singular or the plural word; ``lower`` writes
    a label in lower case."""

    def format_field(self, value: object, format_spec: str) -> str:
        if "|" in format_spec:
            one, many = format_spec.split("|", 1)
            return one if value == 1 else many
        if format_spec == "lower":
            return str(value).lower()
        return super().format_field(value, format_spec)


_FORMATTER = _Formatter()


def _shown(field: str, value: Value, lang: str) -> Value:
    kind = FIELDS.get(field)
    if kind == COUNT:
        return int(value)
    if kind in (SENTENCES, PHRASE):
        return str(value) if lang == "zh" else render_text(str(value), lang)
    if kind in LABELS:
        return label_in(kind, value, lang)
    return str(value)


@cache
def _plain(template: str) -> bool:
    """Whether ``template`` has no spec of :class:`_Formatter`'s (then ``str.format``, much
    faster, writes it: the core renders a reason for every team member of a city)."""
    return all(not spec for _, field, spec, _ in _FORMATTER.parse(template) if field is not None)


def render(reason: Reason, lang: str = "zh") -> str:
    """The sentence of ``reason`` in ``lang`` (``zh`` or ``en``)."""
    zh, en = TEMPLATES[reason.code]
    template = en if lang == "en" else zh
    values = {field: _shown(field, value, lang) for field, value in reason.values}
    return template.format_map(values) if _plain(template) else _FORMATTER.format(template, **values)


def render_all(reasons: tuple[Reason, ...] | list[Reason], lang: str = "zh", sep: str = ";") -> str:
    """Several reasons' sentences joined by ``sep``."""
    return sep.join(render(reason, lang) for reason in reasons)


@cache
def _pattern(
    code: str, known: tuple[tuple[str, str], ...] = ()
) -> tuple[re.Pattern[str], dict[str, dict[str, str]]] | None:
    """A regular expression matching the Chinese sentence of ``code`` (None for a template with
    no literal text: it would match anything), and per label field the code of each name.
    ``known`` fields match their given text only."""
    given = dict(known)
    parts: list[str] = []
    names: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    literal = ""
    for text, field, _spec, _conversion in _FORMATTER.parse(TEMPLATES[code][0]):
        literal += text
        parts.append(re.escape(text))
        if field is None:
            continue
        if field in seen:
            parts.append(f"(?P={field})")
            continue
        seen.add(field)
        kind = FIELDS.get(field)
        if field in given:
            parts.append(f"(?P<{field}>{re.escape(given[field])})")
        elif kind == COUNT:
            parts.append(rf"(?P<{field}>-?\d+)")
        elif kind in LABELS:
            names[field] = {zh: c for c, (zh, _en) in LABELS[kind].items()}
            choices = "|".join(re.escape(n) for n in sorted(names[field], key=len, reverse=True))
            parts.append(f"(?P<{field}>{choices})")
        elif kind in (SENTENCES, FREE_TEXT):
            parts.append(rf"(?P<{field}>.+?)")
        else:
            # An id or a name holds no "；": a text of several sentences is never one of them.
            parts.append(rf"(?P<{field}>[^{SEPARATOR}]+?)")
    if not literal and any(FIELDS.get(f) in (None, SENTENCES, PHRASE, FREE_TEXT) for f in seen):
        return None
    return re.compile("".join(parts) + r"\Z", re.DOTALL), names


def parse(
    text: str, codes: tuple[str, ...] | None = None, known: dict[str, str] | None = None
) -> Reason | None:
    """The reason whose Chinese sentence ``text`` is (among ``codes``, default all), or None.

    ``known``: text fields whose value is known (a dispute id): an id may end in digits that
    could as well begin the count written after it."""
    for code in codes if codes is not None else tuple(TEMPLATES):
        compiled = _pattern(code, tuple(sorted((known or {}).items())))
        if compiled is None:
            continue
        pattern, names = compiled
        found = pattern.match(text)
        if found is None:
            continue
        values: dict[str, Value] = {}
        for field, value in found.groupdict().items():
            if FIELDS.get(field) == COUNT:
                values[field] = int(value)
            else:
                values[field] = names[field][value] if field in names else value
        return Reason.of(code, **values)
    return None


def verbatim(text: str) -> Reason:
    """A text that is no sentence of the platform's, shown as written in every language."""
    return Reason.of("verbatim", text=text)


def read_text(text: object) -> tuple[Reason, ...]:
    """The sentences of a text the core keeps in Chinese (a team member's reason, an unfilled
    post's), read back: the whole text as one sentence, else each ``；``-separated part; a
    part of no known form stays as written."""
    value = str(text or "")
    whole = parse(value)
    if whole is not None:
        return (whole,)
    return tuple(parse(part) or verbatim(part) for part in value.split(SEPARATOR) if part)


def render_text(text: str, lang: str = "zh") -> str:
    """A text the core keeps in Chinese, in ``lang`` (Chinese: as kept)."""
    if lang == "zh":
        return text
    return "; ".join(render(reason, lang) for reason in read_text(text))


def read_factors(text: object) -> tuple[Reason, ...]:
    """The reasons of a ``;``-separated ``top_factors`` text, read back; a phrase that is no
    sentence of the platform's stays as written (:func:`verbatim`)."""
    phrases = [p for p in str(text or "").split(";") if p]
    return tuple(parse(p, tuple(FACTORS)) or verbatim(p) for p in phrases)


def read_alert(message: object, dispute_id: str) -> Reason | None:
    """The reason of the Chinese ``message`` of an alert on ``dispute_id``, read back (None for a
    text of another form)."""
    return parse(str(message or ""), tuple(ALERTS), {"dispute": str(dispute_id)})
