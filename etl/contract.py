"""The declared schema of every source-drop table (data-contract v1).

Each table is a :class:`TableSpec`: its columns with their Chinese aliases, value kinds,
accepted enum spellings (English code or Chinese label, both mapping to the English code) and
the tables their ids refer to. Validation and the reader work from these declarations only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORIES = {
    "family": "婚姻家庭",
    "neighbour": "邻里",
    "land": "土地山林",
    "labour": "劳资",
    "debt": "债务",
    "medical": "医患",
    "traffic": "交通事故",
    "property": "物业",
    "other": "其他",
}
STAFF_ROLES = {
    "grid_worker": "网格员",
    "community_officer": "社区民警",
    "leader": "责任领导",
    "mediator": "调解员",
    "lawyer": "律师",
}
STAFF_LEVELS = {"grid": "网格", "station": "派出所", "township": "乡镇", "county": "县", "city": "市"}
RELATIONS = {
    "spouse": "配偶",
    "ex_spouse": "前配偶",
    "parent_child": "父母子女",
    "sibling": "兄弟姐妹",
    "relative": "其他亲属",
    "neighbour": "邻居",
    "coworker": "同事",
    "landlord_tenant": "房东租户",
    "creditor_debtor": "债权债务",
}
DISPOSITIONS = {
    "mediated_on_site": "现场调解",
    "referred": "移交调解",
    "admin_case": "转治安案件",
    "criminal_case": "转刑事案件",
    "no_action": "其他",
}
EVENT_PERSON_ROLES = {"caller": "报警人", "party": "当事人", "counterparty": "对方当事人", "witness": "证人"}
CASE_PERSON_ROLES = {"suspect": "犯罪嫌疑人", "victim": "被害人"}
GENDERS = {"M": "男", "F": "女"}
SEVERITIES = {"minor": "一般", "serious": "较大", "major": "重大"}
STATUSES = {"open": "待化解", "in_progress": "化解中", "resolved": "已化解", "failed": "化解失败"}
CHANNELS = {
    "people": "人民调解",
    "police": "公安调解",
    "traffic": "交调",
    "medical": "医调",
    "court": "诉调",
    "labour": "劳动调解",
    "lawyer": "律师调解",
}
OUTCOMES = {"agreed": "达成协议", "partial": "部分达成", "failed": "调解失败", "ongoing": "进行中"}
VISIT_KINDS = {"weekly": "每周走访", "monthly": "每月回访", "ad_hoc": "不定期随访"}
MOODS = {"calm": "平稳", "unsettled": "波动", "agitated": "激动"}
OFFENCES = {
    "homicide": "故意杀人",
    "injury": "故意伤害",
    "affray": "寻衅滋事",
    "detention": "非法拘禁",
    "property_damage": "故意毁坏财物",
    "arson": "放火",
    "poisoning": "投放危险物质",
    "other": "其他",
}
# Offences whose case marks a dispute as turned criminal (民转刑).
CRIMINAL_OFFENCES = frozenset(
    {"homicide", "injury", "affray", "detention", "property_damage", "arson", "poisoning"}
)
# Extra spellings seen in exports; matched after lower-casing and stripping.
EXTRA_SPELLINGS: dict[str, dict[str, str]] = {
    "gender": {"male": "M", "female": "F", "m": "M", "f": "F"},
    "staff_role": {"法律援助律师": "lawyer"},
    "staff_level": {"乡镇街道": "township", "街道": "township", "县市区": "county", "区": "county"},
}


def enum_lookup(codes: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """Accepted spelling (lower-cased English code or Chinese label) -> English code."""
    lookup = {code.lower(): code for code in codes}
    lookup.update({label: code for code, label in codes.items()})
    lookup.update(extra or {})
    return lookup


@dataclass(frozen=True)
class ColumnSpec:
    """One contract column. ``kind``: str, timestamp, int, float or enum."""

    name: str
    alias: str
    kind: str = "str"
    enum: dict[str, str] | None = None  # accepted spelling -> code (kind == "enum")
    ref: str | None = None  # key space this column refers to: a table's key, or one of KEY_SPACES
    required: bool = False  # an empty value quarantines the row
    header_required: bool = True  # the header must carry the column


@dataclass(frozen=True)
class TableSpec:
    """One contract table (file ``NAME.csv`` / ``NAME.xlsx``)."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: str | None = None
    optional_file: bool = False
    header_aliases: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> ColumnSpec:
        """The spec of column ``name``."""
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        """Canonical column names in contract order."""
        return [c.name for c in self.columns]


def _e(codes: dict[str, str], extra_key: str | None = None) -> dict[str, str]:
    return enum_lookup(codes, EXTRA_SPELLINGS.get(extra_key or "", None))


def _text(name: str, alias: str) -> ColumnSpec:
    """Free text: may be absent from the header (then empty)."""
    return ColumnSpec(name, alias, header_required=False)


def _person_columns(event_col: ColumnSpec, roles: dict[str, str]) -> tuple[ColumnSpec, ...]:
    return (
        event_col,
        ColumnSpec("role", "身份", "enum", _e(roles)),
        ColumnSpec("name", "姓名"),
        ColumnSpec("id_number", "身份证号"),
        ColumnSpec("phone", "电话"),
        ColumnSpec("gender", "性别", "enum", _e(GENDERS, "gender")),
        ColumnSpec("birth_year", "出生年份", "int"),
        ColumnSpec("address", "住址", header_required=event_col.name != "case_id"),
    )


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in [
        TableSpec(
            "stations",
            (
                ColumnSpec("station_id", "派出所编码", required=True),
                ColumnSpec("station_name", "派出所名称"),
                ColumnSpec("county", "县市区"),
            ),
            key="station_id",
        ),
        TableSpec(
            "grids",
            (
                ColumnSpec("grid_id", "网格编码", required=True),
                ColumnSpec("grid_name", "网格名称"),
                ColumnSpec("community", "社区村"),
                ColumnSpec("township", "乡镇街道"),
                ColumnSpec("county", "县市区"),
                ColumnSpec("station_id", "派出所编码", ref="stations"),
                ColumnSpec("lat", "纬度", "float", header_required=False),
                ColumnSpec("lon", "经度", "float", header_required=False),
            ),
            key="grid_id",
        ),
        TableSpec(
            "staff",
            (
                ColumnSpec("staff_id", "人员编码", required=True),
                ColumnSpec("name", "姓名"),
                ColumnSpec("role", "角色", "enum", _e(STAFF_ROLES, "staff_role")),
                ColumnSpec("level", "层级", "enum", _e(STAFF_LEVELS, "staff_level")),
                ColumnSpec("area", "负责区域"),
                ColumnSpec("specialty", "专长", header_required=False),
                ColumnSpec("capacity", "最大承接数", "int"),
                ColumnSpec("phone", "电话"),
            ),
            key="staff_id",
        ),
        TableSpec(
            "relations",
            (
                ColumnSpec("name_a", "姓名A"),
                ColumnSpec("id_number_a", "身份证号A"),
                ColumnSpec("name_b", "姓名B"),
                ColumnSpec("id_number_b", "身份证号B"),
                ColumnSpec("relation", "关系", "enum", _e(RELATIONS), required=True),
            ),
            optional_file=True,
        ),
        TableSpec(
            "calls",
            (
                ColumnSpec("call_id", "警情编号", required=True),
                ColumnSpec("received_at", "接警时间", "timestamp", required=True),
                ColumnSpec("station_id", "管辖派出所", ref="stations"),
                ColumnSpec("grid_id", "所属网格", ref="grids"),
                ColumnSpec("address", "发生地址"),
                ColumnSpec("category", "纠纷类别", "enum", _e(CATEGORIES)),
                _text("narrative", "简要警情"),
                ColumnSpec("disposition", "处警结果", "enum", _e(DISPOSITIONS)),
                ColumnSpec("dispute_ref", "关联纠纷编号"),
            ),
            key="call_id",
        ),
        TableSpec(
            "call_persons",
            _person_columns(
                ColumnSpec("call_id", "警情编号", ref="calls", required=True), EVENT_PERSON_ROLES
            ),
        ),
        TableSpec(
            "reports",
            (
                ColumnSpec("report_id", "上报编号", required=True),
                ColumnSpec("dispute_ref", "纠纷编号", required=True),
                ColumnSpec("reported_at", "上报时间", "timestamp", required=True),
                ColumnSpec("grid_id", "网格编码", ref="grids"),
                ColumnSpec("staff_id", "上报人编码", ref="staff"),
                ColumnSpec("category", "纠纷类别", "enum", _e(CATEGORIES)),
                ColumnSpec("severity", "等级", "enum", _e(SEVERITIES)),
                _text("description", "纠纷描述"),
                ColumnSpec("status", "化解状态", "enum", _e(STATUSES)),
            ),
            key="report_id",
        ),
        TableSpec(
            "report_persons",
            _person_columns(
                ColumnSpec("report_id", "上报编号", ref="reports", required=True), EVENT_PERSON_ROLES
            ),
        ),
        TableSpec(
            "mediations",
            (
                ColumnSpec("mediation_id", "调解编号", required=True),
                ColumnSpec("dispute_ref", "纠纷编号", ref="dispute_ref"),
                ColumnSpec("call_id", "警情编号", ref="calls"),
                ColumnSpec("channel", "调解渠道", "enum", _e(CHANNELS)),
                ColumnSpec("mediator_staff_id", "调解员编码", ref="staff"),
                ColumnSpec("started_at", "开始时间", "timestamp", required=True),
                ColumnSpec("ended_at", "结束时间", "timestamp"),
                ColumnSpec("outcome", "调解结果", "enum", _e(OUTCOMES)),
            ),
            key="mediation_id",
        ),
        TableSpec(
            "visits",
            (
                ColumnSpec("visit_id", "走访编号", required=True),
                ColumnSpec("dispute_ref", "纠纷编号", required=True, ref="dispute_ref"),
                ColumnSpec("staff_id", "走访人编码", ref="staff"),
                ColumnSpec("visited_at", "走访时间", "timestamp", required=True),
                ColumnSpec("kind", "走访类型", "enum", _e(VISIT_KINDS)),
                ColumnSpec("mood", "当事人情绪", "enum", _e(MOODS)),
                _text("note", "走访记录"),
            ),
            key="visit_id",
        ),
        TableSpec(
            "cases",
            (
                ColumnSpec("case_id", "案件编号", required=True),
                ColumnSpec("filed_at", "立案时间", "timestamp", required=True),
                ColumnSpec("offence", "案由", "enum", _e(OFFENCES)),
                ColumnSpec("station_id", "立案单位", ref="stations"),
                ColumnSpec("address", "案发地址"),
                _text("summary", "简要案情"),
            ),
            key="case_id",
        ),
        TableSpec(
            "case_persons",
            _person_columns(ColumnSpec("case_id", "案件编号", ref="cases", required=True), CASE_PERSON_ROLES),
        ),
    ]
}

# Validation order: a table is checked after every table it refers to.
TABLE_ORDER = [
    "stations",
    "grids",
    "staff",
    "calls",
    "call_persons",
    "reports",
    "report_persons",
    "mediations",
    "visits",
    "cases",
    "case_persons",
    "relations",
]
# Key spaces that are not one table's key: the dispute numbers a report or a call names. A
# mediation or visit naming any other number would start a dispute nothing else knows of.
KEY_SPACES: dict[str, tuple[tuple[str, str], ...]] = {
    "dispute_ref": (("reports", "dispute_ref"), ("calls", "dispute_ref")),
}
PERSON_TABLES = {"call_persons": "call", "report_persons": "report", "case_persons": "case"}
