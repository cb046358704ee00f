"""Masking and pseudonymisation of personal fields: pure functions of values and DataFrames.

- ID numbers keep the first 6 (region) and last 4 characters: ``420502********1234``.
- Phones keep the first 3 and last 4 digits: ``138****0000``.
- Addresses are cut after the community or village: ``西陵区夜明珠街道东山社区***``.
- Names keep the surname: ``张*``.
- Pseudonyms are a keyed HMAC-SHA256 of the person_id (``PS-`` + 12 hex), stable for one key.
- Free text (narratives, notes) and addresses have ID numbers and phones masked wherever they
  go, however typed (separators, full-width digits, letters beside them, ``+86``).
- Pseudonymised text loses every spelling of a name the drop used (typos, homophones,
  traditional characters), not only each person's representative name.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from security.policy import Visibility, visibility

PSEUDONYM_PREFIX = "PS-"
ID_MASK_KEEP = (6, 4)
PHONE_MASK_KEEP = (3, 4)

# Where a street address stops being a neighbourhood and starts naming a door.
_COMMUNITY_END = re.compile(r"^.*?(?:社区|村委会|村|居委会|小区)")
_TOWNSHIP_END = re.compile(r"^.*?(?:街道|镇|乡)")
_COUNTY_END = re.compile(r"^.*?(?:区|县|市)")
# Numbers inside free text, however typed: digits (full-width ones too) with up to two
# separators between them, an optional +86 or opening bracket in front, an optional check X.
_SEPARATOR = r"[\s\-.·_/()（）－—]"
_NUMBER_RUN = re.compile(
    rf"(?<![0-9])(?:\+?86{_SEPARATOR}{{0,2}})?[(（]?[0-9](?:{_SEPARATOR}{{0,2}}[0-9])*(?:{_SEPARATOR}?[Xx])?"
)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ＋", "0123456789Xx+")
# Runs this long are masked even when they are neither an ID nor a mobile number (a mistyped
# ID, a bank card, two numbers run together).
LONG_NUMBER = 12

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


def _masked_number(run: str, ids: bool, phones: bool) -> str | None:
    """The masked form of one number run (normalised digits), or None to leave it as typed."""
    digits = re.sub(r"[^0-9]", "", run)
    has_x = run[-1] in "Xx"
    if has_x and len(digits) == 17:
        return str(mask_id_number(digits + "X")) if ids else None
    if len(digits) == 13 and digits.startswith("86") and digits[2] == "1":
        digits = digits[2:]
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        return f"{digits[:3]}****{digits[-4:]}" if phones else None
    if len(digits) in (15, 18):
        return str(mask_id_number(digits)) if ids else None
    if len(digits) >= LONG_NUMBER and ids:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return None


def mask_text(value: object, ids: bool = True, phones: bool = True) -> object:
    """Mask ID-number-like (``ids``) and phone-like (``phones``) numbers inside free text.

    Numbers are found however they are typed: with spaces, dashes, dots or brackets between
    the digits, in full-width digits, with letters right beside them, with ``+86`` in front.
    Other numbers of :data:`LONG_NUMBER` digits or more are masked with the IDs.

    >>> mask_text("男方电话13800000001，身份证420502198001011235")
    '男方电话138****0001，身份证420502********1235'
    >>> mask_text("证件420502-19800101-0046，电话(138)0000.0002")
    '证件420502********0046，电话138****0002'
    """
    if _is_blank(value) or not isinstance(value, str):
        return value
    normal = value.translate(_FULL_WIDTH)  # one character for one: positions stay
    parts, last = [], 0
    for match in _NUMBER_RUN.finditer(normal):
        run = match.group(0)
        masked = _masked_number(run, ids, phones)
        if masked is None and run[-1] in "Xx":  # the X may be a letter after another number
            masked = _masked_number(run[:-1], ids, phones)
            if masked is not None:
                masked += value[match.end() - 1]
        if masked is None:
            continue
        parts += [value[last : match.start()], masked]
        last = match.end()
    return "".join(parts) + value[last:] if parts else value


def pseudonym(person_id: object, key: bytes) -> object:
    """A stable keyed pseudonym of a person_id: ``PS-`` + the first 12 hex of HMAC-SHA256."""
    if _is_blank(person_id):
        return person_id
    digest = hmac.new(key, str(person_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:12]


@dataclass(frozen=True)
class NameIndex:
    """The person names to remove from free text, for lookups by substring length.

    Built once from every spelling the drop used (a resident appears as 张伟 and 张炜): each
    text is then scanned in one pass, whatever the number of names. Names shorter than two
    characters are left out (a surname alone is no name).
    """

    names: frozenset[str]
    longest: int

    @classmethod
    def of(cls, names: Iterable[object]) -> NameIndex:
        """The index of ``names`` (blanks and one-character values dropped)."""
        kept = frozenset(str(n).strip() for n in names if not _is_blank(n) and len(str(n).strip()) >= 2)
        return cls(kept, max((len(n) for n in kept), default=0))


def scrub_names(value: object, names: NameIndex | Iterable[str], replacement: str = "某某") -> object:
    """Replace every known person name inside free text by ``replacement`` (longest match first).

    >>> scrub_names("张炜和李娜吵架", ["张伟", "张炜", "李娜"])
    '某某和某某吵架'
    """
    if _is_blank(value) or not isinstance(value, str):
        return value
    index = names if isinstance(names, NameIndex) else NameIndex.of(names)
    if not index.names:
        return value
    out, i = [], 0
    while i < len(value):
        for size in range(min(index.longest, len(value) - i), 1, -1):
            if value[i : i + size] in index.names:
                out.append(replacement)
                i += size
                break
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


_MASKERS = {
    "name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "address": mask_address,
}


def mask_address_for(value: object, role: str) -> object:
    """An address as ``role`` may see it: ID numbers (and phones, unless the role sees them)
    written into it masked first, then cut after the community unless the role sees it raw."""
    shown = mask_text(
        value,
        ids=visibility(role, "id_number") is not Visibility.RAW,
        phones=visibility(role, "phone") is not Visibility.RAW,
    )
    return mask_address(shown) if visibility(role, "address") is Visibility.MASKED else shown


def mask_person_columns(
    frame: pd.DataFrame,
    role: str,
    pseudonym_key: bytes | None = None,
    known_names: NameIndex | Iterable[str] | None = None,
    columns: dict[str, str] | None = None,
    text_columns: tuple[str, ...] = TEXT_COLUMNS,
) -> pd.DataFrame:
    """Return a copy of ``frame`` with personal columns shown as ``role`` may see them.

    ``columns`` maps a frame column to the personal field it holds (default: the columns named
    ``name``, ``id_number``, ``phone``, ``address``, and ``person_id`` for pseudonyms). Free-text
    columns (``text_columns``) and addresses get ID/phone numbers masked unless the role sees
    those raw, and ``known_names`` (every spelling, see :class:`NameIndex`) removed for roles
    that see pseudonyms. A role that sees pseudonyms needs ``pseudonym_key``.
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
        if seen is Visibility.HIDDEN:
            out = out.drop(columns=[column])
        elif field == "address":
            out[column] = out[column].map(lambda a: mask_address_for(a, role)).astype(object)
        elif seen is Visibility.RAW:
            continue
        elif seen is Visibility.MASKED:
            out[column] = out[column].map(_MASKERS[field]).astype(object)
        elif field == "name" and "person_id" in out.columns:
            out[column] = out["person_id"].map(to_pseudonym).astype(object)
        else:
            out[column] = out[column].map(mask_name).astype(object)
    if pseudonymise:
        for column in [c for c in ("person_id", "person_id_a", "person_id_b") if c in out.columns]:
            out[column] = out[column].map(to_pseudonym).astype(object)
    names = known_names if isinstance(known_names, NameIndex) else NameIndex.of(known_names or [])
    ids_raw = visibility(role, "id_number") is Visibility.RAW
    phones_raw = visibility(role, "phone") is Visibility.RAW
    for column in [c for c in text_columns if c in out.columns]:
        if not (ids_raw and phones_raw):
            out[column] = out[column].map(lambda t: mask_text(t, not ids_raw, not phones_raw)).astype(object)
        if pseudonymise:
            out[column] = out[column].map(lambda t: scrub_names(t, names)).astype(object)
    return out


def mask_search_terms(name: str | None, id_number: str | None, phone: str | None) -> dict[str, object]:
    """Person search terms as the audit log keeps them: each masked like the field it searches."""
    return {
        "name": mask_name(name) if name else None,
        "id_number": mask_id_number(id_number) if id_number else None,
        "phone": mask_phone(phone) if phone else None,
    }


def mask_network(nodes: pd.DataFrame, edges: pd.DataFrame, role: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A case network as ``role`` may see it: person captions as names (:func:`mask_name` unless
    the role sees names raw), address captions as :func:`mask_address_for`, every other caption
    and each edge's ``detail`` with ID and phone numbers masked (:func:`mask_text`)."""
    captions = []
    name_seen = visibility(role, "name")
    address_seen = visibility(role, "address")
    for label, caption in zip(nodes["label"], nodes["caption"], strict=True):
        if label == "Person" and name_seen is not Visibility.RAW:
            captions.append(mask_name(caption))
        elif label == "Address" and address_seen is not Visibility.RAW:
            captions.append(mask_address_for(caption, role))
        else:
            captions.append(mask_text(caption))
    masked_nodes = nodes.assign(caption=pd.Series(captions, index=nodes.index, dtype=object))
    return masked_nodes, edges.assign(detail=edges["detail"].map(mask_text).astype(object))
