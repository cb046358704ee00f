"""Writing a drop the way real systems export it: aliases, encodings, XLSX, noise and bad rows.

The functions here turn clean contract rows into files. With ``fmt="clean"`` every file is UTF-8
CSV with English headers, canonical timestamps and no noise; with ``fmt="mixed"`` each file gets
its own reproducible style and the person rows get the typos and gaps of real records.
"""

from __future__ import annotations

import csv
import functools
import io
import random
import re
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from etl import contract
from synth.names import format_phone, homophone_name, id_check_char, mistype_id, to_full_width
from synth.profiles import RecordNoise

TABLE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "grids": [
        ("grid_id", "网格编码"),
        ("grid_name", "网格名称"),
        ("community", "社区村"),
        ("township", "乡镇街道"),
        ("county", "县市区"),
        ("station_id", "派出所编码"),
        ("lat", "纬度"),
        ("lon", "经度"),
    ],
    "stations": [("station_id", "派出所编码"), ("station_name", "派出所名称"), ("county", "县市区")],
    "staff": [
        ("staff_id", "人员编码"),
        ("name", "姓名"),
        ("role", "角色"),
        ("level", "层级"),
        ("area", "负责区域"),
        ("specialty", "专长"),
        ("capacity", "最大承接数"),
        ("phone", "电话"),
    ],
    "relations": [
        ("name_a", "姓名A"),
        ("id_number_a", "身份证号A"),
        ("name_b", "姓名B"),
        ("id_number_b", "身份证号B"),
        ("relation", "关系"),
    ],
    "calls": [
        ("call_id", "警情编号"),
        ("received_at", "接警时间"),
        ("station_id", "管辖派出所"),
        ("grid_id", "所属网格"),
        ("address", "发生地址"),
        ("category", "纠纷类别"),
        ("narrative", "简要警情"),
        ("disposition", "处警结果"),
        ("dispute_ref", "关联纠纷编号"),
    ],
    "call_persons": [
        ("call_id", "警情编号"),
        ("role", "身份"),
        ("name", "姓名"),
        ("id_number", "身份证号"),
        ("phone", "电话"),
        ("gender", "性别"),
        ("birth_year", "出生年份"),
        ("address", "住址"),
    ],
    "reports": [
        ("report_id", "上报编号"),
        ("dispute_ref", "纠纷编号"),
        ("reported_at", "上报时间"),
        ("grid_id", "网格编码"),
        ("staff_id", "上报人编码"),
        ("category", "纠纷类别"),
        ("severity", "等级"),
        ("description", "纠纷描述"),
        ("status", "化解状态"),
    ],
    "report_persons": [
        ("report_id", "上报编号"),
        ("role", "身份"),
        ("name", "姓名"),
        ("id_number", "身份证号"),
        ("phone", "电话"),
        ("gender", "性别"),
        ("birth_year", "出生年份"),
        ("address", "住址"),
    ],
    "mediations": [
        ("mediation_id", "调解编号"),
        ("dispute_ref", "纠纷编号"),
        ("call_id", "警情编号"),
        ("channel", "调解渠道"),
        ("mediator_staff_id", "调解员编码"),
        ("started_at", "开始时间"),
        ("ended_at", "结束时间"),
        ("outcome", "调解结果"),
    ],
    "visits": [
        ("visit_id", "走访编号"),
        ("dispute_ref", "纠纷编号"),
        ("staff_id", "走访人编码"),
        ("visited_at", "走访时间"),
        ("kind", "走访类型"),
        ("mood", "当事人情绪"),
        ("note", "走访记录"),
    ],
    "cases": [
        ("case_id", "案件编号"),
        ("filed_at", "立案时间"),
        ("offence", "案由"),
        ("station_id", "立案单位"),
        ("address", "案发地址"),
        ("summary", "简要案情"),
    ],
    "case_persons": [
        ("case_id", "案件编号"),
        ("role", "身份"),
        ("name", "姓名"),
        ("id_number", "身份证号"),
        ("phone", "电话"),
        ("gender", "性别"),
        ("birth_year", "出生年份"),
    ],
}
TABLE_ORDER = list(TABLE_COLUMNS)
KEY_COLUMN = {
    "grids": "grid_id",
    "stations": "station_id",
    "staff": "staff_id",
    "calls": "call_id",
    "reports": "report_id",
    "mediations": "mediation_id",
    "visits": "visit_id",
    "cases": "case_id",
}
PERSON_TABLES = ("call_persons", "report_persons", "case_persons")
TIMESTAMP_COLUMNS = {"received_at", "reported_at", "started_at", "ended_at", "visited_at", "filed_at"}

# Chinese spellings of each enum column, straight from the contract's declared vocabularies.
ENUM_ZH: dict[str, dict[str, str]] = {
    "category": contract.CATEGORIES,
    "role": {**contract.STAFF_ROLES, **contract.EVENT_PERSON_ROLES, **contract.CASE_PERSON_ROLES},
    "level": contract.STAFF_LEVELS,
    "relation": contract.RELATIONS,
    "disposition": contract.DISPOSITIONS,
    "severity": contract.SEVERITIES,
    "status": contract.STATUSES,
    "channel": contract.CHANNELS,
    "outcome": contract.OUTCOMES,
    "kind": contract.VISIT_KINDS,
    "mood": contract.MOODS,
    "offence": contract.OFFENCES,
}
ENUM_COLUMNS = set(ENUM_ZH)

TS_FORMATS = ("iso_space", "iso_t", "slash", "chinese")


def format_timestamp(value: datetime, style: str) -> str:
    """One of the contract's timestamp spellings (all exact to the minute)."""
    if style == "iso_space":
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if style == "iso_t":
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if style == "slash":
        return f"{value.year}/{value.month}/{value.day} {value.hour}:{value.minute:02d}"
    return f"{value.year}年{value.month}月{value.day}日{value.hour}时{value.minute}分"


@dataclass
class FileStyle:
    """How one table is exported."""

    kind: str = "csv"  # csv | xlsx
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | gb18030
    header: str = "en"  # en | zh
    timestamps: str = "iso_space"
    enums: str = "en"  # en | zh | mixed
    stray_formats: bool = False  # a few rows in another timestamp format (merged exports)

    def describe(self) -> dict[str, str]:
        """The style as a plain dict (for the summary)."""
        out = {"kind": self.kind, "header": self.header, "enums": self.enums}
        if self.kind == "csv":
            out["encoding"] = self.encoding
            out["timestamps"] = self.timestamps
        else:
            out["timestamps"] = "excel"
        return out


def choose_styles(row_counts: dict[str, int], rng: random.Random, fmt: str) -> dict[str, FileStyle]:
    """A reproducible style per table; in the mixed format every quirk appears at least once."""
    if fmt == "clean":
        return {t: FileStyle() for t in TABLE_ORDER}
    styles = {t: FileStyle(stray_formats=True) for t in TABLE_ORDER}
    # XLSX for two tables small enough for a spreadsheet (Excel exports of big tables time out).
    xlsx_candidates = [t for t in TABLE_ORDER if row_counts.get(t, 0) <= 60_000 and t != "relations"]
    timed = ["calls", "reports", "mediations", "visits", "cases"]
    # One timed table carries native Excel dates; the second is untimed, so the four other
    # timed tables can use all four string formats.
    timed_small = [t for t in xlsx_candidates if t in timed]
    first = rng.choice(timed_small or xlsx_candidates)
    second = rng.choice([t for t in xlsx_candidates if t != first and t not in timed])
    for t in (first, second):
        styles[t].kind = "xlsx"
    csv_timed = [t for t in timed if styles[t].kind == "csv"]
    formats = list(TS_FORMATS)
    rng.shuffle(formats)
    for i, t in enumerate(csv_timed):
        styles[t].timestamps = formats[i % len(formats)]
    encodings = ["gb18030", "utf-8-sig", "utf-8"]
    csv_tables = [t for t in TABLE_ORDER if styles[t].kind == "csv"]
    rng.shuffle(csv_tables)
    for i, t in enumerate(csv_tables):
        styles[t].encoding = encodings[i % 3] if i < 3 else rng.choice(encodings)
    tables = list(TABLE_ORDER)
    rng.shuffle(tables)
    for i, t in enumerate(tables):
        styles[t].header = "zh" if i < 2 or rng.random() < 0.3 else "en"
        styles[t].enums = ["zh", "mixed", "en"][i] if i < 3 else rng.choice(["en", "en", "zh", "mixed"])
    return styles


@dataclass
class PersonNoise:
    """Rates of missing and wrong identifiers in one person table."""

    missing_id: float
    missing_phone: float
    missing_birth_year: float
    mistyped_id: float = 0.02
    homophone: float = 0.03
    stray: float = 0.01


PERSON_NOISE = {
    "call_persons": PersonNoise(missing_id=0.25, missing_phone=0.10, missing_birth_year=0.20),
    "report_persons": PersonNoise(missing_id=0.10, missing_phone=0.20, missing_birth_year=0.08),
    "case_persons": PersonNoise(missing_id=0.03, missing_phone=0.35, missing_birth_year=0.05),
    "relations": PersonNoise(missing_id=0.06, missing_phone=1.0, missing_birth_year=1.0),
}


def render_person(
    person: dict, table: str, rng: random.Random, fmt: str, extra: RecordNoise | None = None
) -> dict[str, str]:
    """A person row as a clerk typed it: the identity fields, noisy in the mixed format.

    Keeps identities recoverable: a row keeps at least two of (correct ID, phone, name with
    birth year) unless the person has no phone, or in about one row in a hundred. A profile's
    ``extra`` noise (:class:`synth.profiles.RecordNoise`) then makes some rows sparse (name, birth
    year and address only, or name and birth year only), re-validates some id typos, writes
    traditional characters and more phone formats.
    """
    name, pid, phone = person["name"], person["person_key"], person["phone"]
    gender = "男" if person["male"] else "女"
    birth_year = str(person["birth_year"])
    if fmt == "clean":
        return {
            "name": name,
            "id_number": pid,
            "phone": phone,
            "gender": "M" if person["male"] else "F",
            "birth_year": birth_year,
            "address": person["address"],
        }
    noise = PERSON_NOISE[table]
    if extra is not None:
        noise = replace(
            noise,
            mistyped_id=noise.mistyped_id if extra.id_typo is None else extra.id_typo,
            homophone=noise.homophone if extra.homophone is None else extra.homophone,
        )
    out_id = "" if rng.random() < noise.missing_id else pid
    if out_id and rng.random() < noise.mistyped_id:
        out_id = mistype_id(out_id, rng)
        if extra is not None and rng.random() < extra.valid_typo:
            # The clerk's system rejected the check character and it was "corrected".
            out_id = out_id[:17] + id_check_char(out_id[:17])
    out_phone = "" if (not phone or rng.random() < noise.missing_phone) else phone
    out_year = "" if rng.random() < noise.missing_birth_year else birth_year
    out_name = homophone_name(name, rng) if rng.random() < noise.homophone else name
    if table != "relations":
        strong = (out_id == pid) + bool(out_phone) + (out_name == name and bool(out_year))
        if strong < 2 and rng.random() > 0.01:
            if phone and not out_phone:
                out_phone = phone
                strong += 1
            if strong < 2 and out_id != pid:
                out_id = pid
                strong += 1
            if strong < 2:
                out_name, out_year = name, birth_year
    elif out_id != pid:
        out_name = name
    if out_phone:
        styles = [0, 0, 0, 1, 2, 3, 4] + (
            [5, 6, 7, 8] if extra is not None and extra.extra_phone_styles else []
        )
        out_phone = format_phone(out_phone, rng.choice(styles))
    u = rng.random()
    if u < noise.stray:
        out_name = rng.choice([" ", "", "　"]) + out_name + rng.choice([" ", "  "])
    elif u < noise.stray * 2 and out_id:
        out_id = to_full_width(out_id) if rng.random() < 0.5 else out_id + " "
    elif u < noise.stray * 3 and out_phone:
        out_phone = to_full_width(out_phone)
    g = rng.random()
    out_gender = "" if g < 0.1 else ("M" if person["male"] else "F") if g < 0.3 else gender
    address = person["address"]
    if rng.random() < 0.2:
        address = re.sub(r"^.+?(区|县|市)", "", address, count=1)
    row = {
        "name": out_name,
        "id_number": out_id,
        "phone": out_phone,
        "gender": out_gender,
        "birth_year": out_year,
        "address": address,
    }
    return row if extra is None or not extra.active else _profile_noise(row, birth_year, table, extra, rng)


@functools.cache
def _to_traditional():
    import opencc

    return opencc.OpenCC("s2t")


def _profile_noise(
    row: dict[str, str], birth_year: str, table: str, extra: RecordNoise, rng: random.Random
) -> dict:
    """A profile's person-row noise on top of the default one."""
    if table in ("call_persons", "report_persons"):
        u = rng.random()
        if u < extra.sparse + extra.bare:
            # Only what was said aloud: name, birth year and (for sparse rows) the address.
            row = {**row, "id_number": "", "phone": "", "gender": "", "birth_year": birth_year}
            if u >= extra.sparse:
                row["address"] = ""
    if extra.traditional and rng.random() < extra.traditional:
        convert = _to_traditional().convert
        row = {**row, "name": convert(row["name"]), "address": convert(row.get("address", ""))}
    return row


@dataclass
class TableRows:
    """Rows of one table in file order, with what the truth needs about each row."""

    name: str
    rows: list[dict] = field(default_factory=list)
    person_keys: list[tuple[str, ...]] = field(default_factory=list)  # per row: keys (a, b for relations)
    bad_kind: list[str] = field(default_factory=list)  # '' for good rows


def add_text_noise(text: str, rng: random.Random) -> str:
    """Real exports carry line breaks and ASCII commas inside text fields."""
    u = rng.random()
    if u < 0.02 and "。" in text[:-1]:
        i = text.index("。")
        return text[: i + 1] + "\n" + text[i + 1 :]
    if u < 0.05:
        return text.replace("，", ",", 1)
    return text


def plant_duplicates(table: TableRows, rng: random.Random, rate: float) -> None:
    """Re-exported identical rows right after (or shortly after) their original."""
    n = len(table.rows)
    if n == 0:
        return
    picks = sorted(rng.sample(range(n), max(1, int(n * rate))), reverse=True)
    for i in picks:
        at = min(n, i + 1 + rng.randrange(3))
        table.rows.insert(at, table.rows[i])  # the same object: written identically
        table.person_keys.insert(at, table.person_keys[i])
        table.bad_kind.insert(at, "")


def _render_cell(table: str, column: str, value: object, style: FileStyle, rng: random.Random) -> object:
    if value is None or value == "" or value != value:  # NaT and NaN are unequal to themselves
        return "" if style.kind == "csv" else None
    if isinstance(value, datetime):
        if style.kind == "xlsx":
            return value
        fmt = rng.choice(TS_FORMATS) if style.stray_formats and rng.random() < 0.05 else style.timestamps
        return format_timestamp(value, fmt)
    if column in ENUM_COLUMNS and isinstance(value, str) and value in ENUM_ZH[column]:
        if style.enums == "zh" or (style.enums == "mixed" and rng.random() < 0.4):
            return ENUM_ZH[column][value]
        return value
    if style.kind == "csv":
        return str(value)
    if column in ("birth_year", "capacity") and isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def write_table(out: Path, table: TableRows, style: FileStyle, rng: random.Random) -> str:
    """Write ``table`` in ``style``; returns the file name written."""
    columns = TABLE_COLUMNS[table.name]
    header = [en if style.header == "en" else zh for en, zh in columns]
    if style.header == "zh":
        header = [h if rng.random() > 0.15 else f" {h} " for h in header]
    body = []
    rendered: dict[int, list[object]] = {}
    for row in table.rows:
        # A re-exported row is the same object as its original: render it identically.
        cells = rendered.get(id(row))
        if cells is None:
            cells = [_render_cell(table.name, en, row.get(en), style, rng) for en, _zh in columns]
            rendered[id(row)] = cells
        body.append(cells)
    if style.kind == "xlsx":
        name = f"{table.name}.xlsx"
        (out / name).write_bytes(_xlsx_bytes(header, body))
        return name
    name = f"{table.name}.csv"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n" if style.encoding == "gb18030" else "\n")
    writer.writerow(header)
    writer.writerows(body)
    (out / name).write_bytes(buffer.getvalue().encode(style.encoding))
    return name


_FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
_FIXED_DOC_TIME = "2026-01-01T00:00:00Z"


def _xlsx_bytes(header: list[str], body: list[list[object]]) -> bytes:
    """An XLSX file with byte-identical output for identical input (fixed zip and doc times)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(header)
    for row in body:
        ws.append(row)
    raw = io.BytesIO()
    wb.save(raw)
    source = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    fixed = io.BytesIO()
    with zipfile.ZipFile(fixed, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + _FIXED_DOC_TIME.encode() + rb"\g<3>",
                    data,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, data)
    return fixed.getvalue()
