"""The display names of code values, Chinese and English: the platform's one table.

Where the data contract defines the codes (``etl/contract.py``), the Chinese name is the
contract's and only the English is given here; a display name differs from the contract's
spelling only where it says so below. Codes the platform makes itself (tiers, stages, alert
kinds…) are declared here in full. :func:`label_in` looks a code up; the dashboard's
``ui.i18n.label`` is the same lookup in the session's language.
"""

from __future__ import annotations

from collections.abc import Mapping

from etl import contract

LANGUAGE_CODES = ("zh", "en")

Names = dict[str, tuple[str, str]]


def _with_english(chinese: Mapping[str, str], english: Mapping[str, str], **display: str) -> Names:
    """``code -> (zh, en)`` from the contract's Chinese, the English given, and the Chinese
    display names (``display``) that replace the contract's spelling."""
    missing = sorted(set(chinese) ^ set(english))
    if missing:
        raise ValueError(f"codes without both languages: {missing}")
    return {code: (display.get(code, zh), english[code]) for code, zh in chinese.items()}


CATEGORY = _with_english(
    contract.CATEGORIES,
    {
        "family": "Family",
        "neighbour": "Neighbour",
        "land": "Land",
        "labour": "Labour",
        "debt": "Debt",
        "medical": "Medical",
        "traffic": "Traffic",
        "property": "Property",
        "other": "Other",
    },
)
# Drops may write the short 律师; the contract's full title is what people read.
STAFF_ROLE = _with_english(
    contract.STAFF_ROLES,
    {
        "grid_worker": "Grid worker",
        "community_officer": "Community officer",
        "leader": "Leader",
        "mediator": "Mediator",
        "lawyer": "Lawyer",
    },
    lawyer="法律援助律师",
)
PERSON_ROLE = _with_english(
    {**contract.EVENT_PERSON_ROLES, **contract.CASE_PERSON_ROLES},
    {
        "caller": "Caller",
        "party": "Party",
        "counterparty": "Counterparty",
        "witness": "Witness",
        "suspect": "Suspect",
        "victim": "Victim",
    },
)
RELATION = _with_english(
    contract.RELATIONS,
    {
        "spouse": "Spouse",
        "ex_spouse": "Ex-spouse",
        "parent_child": "Parent/child",
        "sibling": "Sibling",
        "relative": "Relative",
        "neighbour": "Neighbour",
        "coworker": "Co-worker",
        "landlord_tenant": "Landlord/tenant",
        "creditor_debtor": "Creditor/debtor",
    },
)
SEVERITY = _with_english(contract.SEVERITIES, {"minor": "Minor", "serious": "Serious", "major": "Major"})
STATUS = _with_english(
    contract.STATUSES,
    {"open": "Open", "in_progress": "In progress", "resolved": "Resolved", "failed": "Failed"},
)
DISPOSITION = _with_english(
    contract.DISPOSITIONS,
    {
        "mediated_on_site": "Mediated on site",
        "referred": "Referred",
        "admin_case": "Administrative case",
        "criminal_case": "Criminal case",
        "no_action": "No action",
    },
)
OUTCOME = _with_english(
    contract.OUTCOMES, {"agreed": "Agreed", "partial": "Partial", "failed": "Failed", "ongoing": "Ongoing"}
)
MOOD = _with_english(contract.MOODS, {"calm": "Calm", "unsettled": "Unsettled", "agitated": "Agitated"})
OFFENCE = _with_english(
    contract.OFFENCES,
    {
        "homicide": "Homicide",
        "injury": "Injury",
        "affray": "Affray",
        "detention": "Detention",
        "property_damage": "Property damage",
        "arson": "Arson",
        "poisoning": "Poisoning",
        "other": "Other",
    },
)
GENDER = _with_english(contract.GENDERS, {"M": "male", "F": "female"})

LABELS: dict[str, Names] = {
    "tier": {
        "red": ("红色", "Red"),
        "orange": ("橙色", "Orange"),
        "yellow": ("黄色", "Yellow"),
        "green": ("绿色", "Green"),
    },
    "category": CATEGORY,
    "staff_role": STAFF_ROLE,
    "person_role": PERSON_ROLE,
    "relation": RELATION,
    "severity": SEVERITY,
    "status": STATUS,
    "disposition": DISPOSITION,
    "outcome": OUTCOME,
    "mood": MOOD,
    "offence": OFFENCE,
    "gender": GENDER,
    # A leader's rank as said of the person (县级责任领导); the contract's 县 / 乡镇 are how an
    # export spells the level.
    "level": {
        "grid": ("网格", "grid"),
        "station": ("派出所", "station"),
        "township": ("乡镇(街道)级", "township-level"),
        "county": ("县级", "county-level"),
        "city": ("市级", "city-level"),
    },
    # Who supervises an overdue case, from the village up.
    "escalation_level": {
        "village": ("村(社区)", "the village (community)"),
        "township": ("乡镇(街道)", "the township (street)"),
        "county": ("县(市、区)", "the county (city, district)"),
        "city": ("市", "the city"),
    },
    "stage": {
        "collected": ("采集", "Collected"),
        "dispatched": ("分流", "Dispatched"),
        "early_warning": ("预警", "Early warning"),
        "control": ("管控", "Control"),
        "feedback": ("反馈", "Feedback"),
    },
    # The follow-up a tier owes (``due_kind``).
    "duty": {
        "first_visit": ("首次走访", "First visit"),
        "revisit": ("定期走访", "Regular visit"),
    },
    # The event that brought news of a dispute.
    "new_event": {
        "call": ("110报警", "110 call"),
        "report": ("网格员上报", "grid worker's report"),
    },
    "alert": {
        "new_event_serious": ("红橙案件新事件", "New event on a red/orange case"),
        "second_call": ("30天内再次报警", "Second call within 30 days"),
        "threat": ("扬言极端行为", "Threat of extreme behaviour"),
        "entered_red": ("升为红色预警", "Became red"),
        "entered_orange": ("升为橙色预警", "Became orange"),
        "follow_up_overdue": ("跟进逾期", "Follow-up overdue"),
        "turned_criminal": ("已转为刑事案件", "Turned criminal"),
    },
}


# A post on a 多包一 team: a role, a leader by rank.
LABELS["post"] = {
    **{role: names for role, names in STAFF_ROLE.items() if role != "leader"},
    **{
        f"{level}_leader": (zh + STAFF_ROLE["leader"][0], f"{en} leader")
        for level, (zh, en) in LABELS["level"].items()
    },
}


def label_in(kind: str, code: object, lang: str = "zh") -> str:
    """The name of ``code`` among ``kind``'s codes in ``lang``; an unknown code as it is,
    a missing value (None, NaN) as ''."""
    if code is None or (isinstance(code, float) and code != code):
        return ""
    names = LABELS.get(kind, {}).get(str(code))
    if names is None:
        return str(code)
    return names[LANGUAGE_CODES.index(lang)]
