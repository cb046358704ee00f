"""Masking and pseudonymisation of personal fields: pure functions of values and DataFrames.

- ID numbers keep the first 6 (region) and last 4 characters: ``420502********1234``.
- Phones keep the first 3 and last 4 digits: ``138****0000``.
- Addresses are cut after the community or village: ``西陵区夜明珠街道东山社区***``.
- Names keep the surname: ``张*``.
- Pseudonyms are a keyed HMAC-SHA256 of the person_id (``PS-`` + 12 hex), stable for one key.
- Free text (narratives, notes) has phone- and ID-like digit runs masked wherever it goes.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import pandas as pd

from security.policy import Visibility, visibility

PSEUDONYM_PREFIX = "PS-"
ID_MASK_KEEP = (6, 4)
PHONE_MASK_KEEP = (3, 4)

# Where a street address stops being a neighbourhood and starts naming a door.
_COMMUNITY_END = re.compile(r"^.*?(?:社区|村委会|村|居委会|小区)")
_TOWNSHIP_END = re.compile(r"^.*?(?:街道|镇|乡)")
_COUNTY_END = re.compile(r"^.*?(?:区|县|市)")
# 15/18-character resident IDs and mainland mobile numbers inside free text.
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8}|\d{5})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")

# Columns holding free text written by staff (may quote names, phones, IDs).
TEXT_COLUMNS = ("narrative", "description", "note", "summary")


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA or value == ""


def mask_id_number(value: object) -> object:
    """``420502198001011235`` -> ``420502********1235``; blanks stay blank; short values all starred."""
    if _is_blank(value):
        return value
    text = str(value).strip()
    head, tail = ID_MASK_KEEP
    if len(text) <= head + tail:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[-tail:]


def mask_phone(value: object) -> object:
    """``13800000001`` -> ``138****0001`` (formatting and +86 dropped); blanks stay blank."""
    if _is_blank(value):
        return value
    digits = re.sub(r"\D", "", str(value))
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    head, tail = PHONE_MASK_KEEP
    if len(digits) <= head + tail:
        return "*" * len(digits)
    return digits[:head] + "*" * (len(digits) - head - tail) + digits[-tail:]


def mask_address(value: object) -> object:
    """Cut an address after its community/village (else township, else county) and add ``***``.

    >>> mask_address("西陵区夜明珠街道东山社区三组12号")
    '西陵区夜明珠街道东山社区***'
    >>> mask_address("夷陵区小溪塔街道龙泉村二组")
    '夷陵区小溪塔街道龙泉村***'
    """
    if _is_blank(value):
        return value
    text = str(value).strip()
    for pattern in (_COMMUNITY_END, _TOWNSHIP_END, _COUNTY_END):
        match = pattern.match(text)
        if match and match.end() < len(text):
            return match.group(0) + "***"
    return text[:2] + "***" if len(text) > 2 else "***"


def mask_name(value: object) -> object:
    """``张伟`` -> ``张*``; blanks stay blank."""
    if _is_blank(value):
        return value
    text = str(value).strip()
    return text[:1] + "*" * max(len(text) - 1, 1)


def mask_text(value: object, ids: bool = True, phones: bool = True) -> object:
    """Mask ID-number-like (``ids``) and phone-like (``phones``) runs inside free text.

    >>> mask_text("男方电话13800000001，身份证420502198001011235")
    '男方电话138****0001，身份证420502********1235'
    """
    if _is_blank(value) or not isinstance(value, str):
        return value
    text = value
    if ids:
        text = _ID_IN_TEXT.sub(lambda m: str(mask_id_number(m.group(0))), text)
    if phones:
        text = _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return text


def pseudonym(person_id: object, key: bytes) -> object:
    """A stable keyed pseudonym of a person_id: ``PS-`` + the first 12 hex of HMAC-SHA256."""
    if _is_blank(person_id):
        return person_id
    digest = hmac.new(key, str(person_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:12]


def scrub_names(value: object, names: list[str], replacement: str = "某某") -> object:
    """Replace every known person name (longest first) inside free text by ``replacement``."""
    if _is_blank(value) or not isinstance(value, str):
        return value
    text = value
    for name in names:
        if name and name in text:
            text = text.replace(name, replacement)
    return text


_MASKERS = {
    "name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "address": mask_address,
}


def mask_person_columns(
    frame: pd.DataFrame,
    role: str,
    pseudonym_key: bytes | None = None,
    known_names: list[str] | None = None,
    columns: dict[str, str] | None = None,
    text_columns: tuple[str, ...] = TEXT_COLUMNS,
) -> pd.DataFrame:
    """Return a copy of ``frame`` with personal columns shown as ``role`` may see them.

    ``columns`` maps a frame column to the personal field it holds (default: the columns named
    ``name``, ``id_number``, ``phone``, ``address``, and ``person_id`` for pseudonyms). Free-text
    columns (``text_columns``) get ID/phone runs masked unless the role sees those raw, and
    ``known_names`` removed for roles that see pseudonyms. A role that sees pseudonyms needs
    ``pseudonym_key``.
    """
    out = frame.copy()
    mapping = columns if columns is not None else {f: f for f in ("name", "id_number", "phone", "address")}
    pseudonymise = visibility(role, "name") is Visibility.PSEUDONYM
    if pseudonymise and pseudonym_key is None:
        raise ValueError("a pseudonym key is needed to show persons to role " + role)

    def to_pseudonym(person_id: object) -> object:
        return pseudonym(person_id, pseudonym_key or b"")

    for column, field in mapping.items():
        if column not in out.columns:
            continue
        seen = visibility(role, field)
        if seen is Visibility.RAW:
            continue
        if seen is Visibility.HIDDEN:
            out = out.drop(columns=[column])
        elif seen is Visibility.MASKED:
            out[column] = out[column].map(_MASKERS[field]).astype(object)
        elif field == "name" and "person_id" in out.columns:
            out[column] = out["person_id"].map(to_pseudonym).astype(object)
        else:
            out[column] = out[column].map(mask_name).astype(object)
    if pseudonymise:
        for column in [c for c in ("person_id", "person_id_a", "person_id_b") if c in out.columns]:
            out[column] = out[column].map(to_pseudonym).astype(object)
    ordered_names = sorted(set(known_names or []), key=len, reverse=True) if pseudonymise else []
    ids_raw = visibility(role, "id_number") is Visibility.RAW
    phones_raw = visibility(role, "phone") is Visibility.RAW
    for column in [c for c in text_columns if c in out.columns]:
        if not (ids_raw and phones_raw):
            out[column] = out[column].map(lambda t: mask_text(t, not ids_raw, not phones_raw)).astype(object)
        if pseudonymise:
            out[column] = out[column].map(lambda t: scrub_names(t, ordered_names)).astype(object)
    return out
