"""The register's tables (SQLAlchemy Core). Migrations in ``register/migrations`` build exactly these.

Three kinds of rows live here:

* **identity** — persons and disputes with their stable ids, the source rows that make them up
  (``person_records``, ``dispute_events``), governance dispute numbers (``dispute_aliases``) and
  what happened to each id (``identity_history``: new, merged into, split from, records moved);
* **batches** — every run, score, update and train, with its as-of, the drop's fingerprint,
  the model that scored it and its status; registered model versions; the tiers each batch gave
  (``tier_history``, one row per dispute and batch where the tier changed);
* **people's decisions** — tier decisions, 多包一 team events, case notes, follow-ups recorded in
  the platform, closures, manual person merges and splits, alerts and their acknowledgements.
  Decisions are appended, never updated: the one in force is derived (:mod:`register.decisions`).

Times are naive local time (Asia/Shanghai), like every timestamp of the platform.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ID = sa.String(64)
KEY = sa.String(48)
USER = sa.String(128)

register_meta = sa.Table(
    "register_meta",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("batch_id", sa.Integer, primary_key=True, autoincrement=True),
    # Written into the batch's run folder too (manifest.json): the folder names its batch
    # wherever it is moved or copied.
    sa.Column("token", sa.String(32), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),  # run | score | update | train | ingest | assign
    sa.Column("as_of", sa.DateTime, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),  # complete | superseded
    sa.Column("run_dir", sa.String(1024), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("model_version", sa.String(64), primary_key=True),
    sa.Column("trained_as_of", sa.DateTime, nullable=False),
    sa.Column("path", sa.String(1024), nullable=False),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), nullable=False),
    sa.Column("registered_at", sa.DateTime, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)

persons = sa.Table(
    "persons",
    metadata,
    sa.Column("person_id", ID, primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False, unique=True),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), nullable=False),
)

person_records = sa.Table(
    "person_records",
    metadata,
    sa.Column("record_key", KEY, primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.person_id"), nullable=False, index=True),
    # The id the record had before it last moved (a merge, a split): lets a separated person
    # take its own id back instead of a new one.
    sa.Column("former_person_id", ID),
    sa.Column("source_file", sa.String(32), nullable=False),
    sa.Column("event_id", ID, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), nullable=False),
)

disputes = sa.Table(
    "disputes",
    metadata,
    sa.Column("dispute_id", ID, primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False, unique=True),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), nullable=False),
)

dispute_events = sa.Table(
    "dispute_events",
    metadata,
    sa.Column("event_key", KEY, primary_key=True),  # call:<call_id> | report:<report_id>
    sa.Column("dispute_id", ID, sa.ForeignKey("disputes.dispute_id"), nullable=False, index=True),
    sa.Column("former_dispute_id", ID),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), nullable=False),
)

dispute_aliases = sa.Table(
    "dispute_aliases",
    metadata,
    sa.Column("alias", ID, primary_key=True),  # a governance dispute number (dispute_ref)
    sa.Column("dispute_id", ID, sa.ForeignKey("disputes.dispute_id"), nullable=False, index=True),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), nullable=False),
)

identity_history = sa.Table(
    "identity_history",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), nullable=False),
    sa.Column("entity", sa.String(8), nullable=False),  # person | dispute
    sa.Column("kind", sa.String(16), nullable=False),  # merged_into | split_from | moved | revived
    sa.Column("subject_id", ID, nullable=False, index=True),
    sa.Column("other_id", ID, nullable=False),
    sa.Column("n_records", sa.Integer, nullable=False),
)

tier_history = sa.Table(
    "tier_history",
    metadata,
    sa.Column("dispute_id", ID, primary_key=True),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), primary_key=True),
    sa.Column("as_of", sa.DateTime, nullable=False),
    sa.Column("tier", sa.String(8), nullable=False),  # the tier in force: the decision, else the model's
    sa.Column("model_tier", sa.String(8), nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
)

staff = sa.Table(
    "staff",
    metadata,
    sa.Column("staff_id", ID, primary_key=True),
    sa.Column("name", sa.String(128)),
    sa.Column("role", sa.String(32)),
    sa.Column("level", sa.String(16)),
    sa.Column("area_grids", sa.Text),
    sa.Column("capacity", sa.Integer),
    sa.Column("phone", sa.String(32)),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), nullable=False),
)


def _decision_columns() -> list[sa.Column]:
    """Who decided, when, and why: on every decision table."""
    return [
        sa.Column("decided_by", USER, nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    ]


tier_decisions = sa.Table(
    "tier_decisions",
    metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dispute_id", ID, sa.ForeignKey("disputes.dispute_id"), nullable=False, index=True),
    sa.Column("tier", sa.String(8), nullable=False),
    *_decision_columns(),
)

team_events = sa.Table(
    "team_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dispute_id", ID, sa.ForeignKey("disputes.dispute_id"), nullable=False, index=True),
    sa.Column("role_in_team", sa.String(32), nullable=False),
    sa.Column("staff_id", ID, nullable=False),
    sa.Column("action", sa.String(8), nullable=False),  # join | leave
    sa.Column("by_system", sa.Boolean, nullable=False),  # the assignment job, not a person
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id")),
    *_decision_columns(),
)

case_notes = sa.Table(
    "case_notes",
    metadata,
    sa.Column("note_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dispute_id", ID, sa.ForeignKey("disputes.dispute_id"), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("decided_by", USER, nullable=False),
    sa.Column("decided_at", sa.DateTime, nullable=False),
)

follow_ups = sa.Table(
    "follow_ups",
    metadata,
    sa.Column("follow_up_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dispute_id", ID, sa.ForeignKey("disputes.dispute_id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # visit | feedback | intervention
    sa.Column("happened_at", sa.DateTime, nullable=False),
    sa.Column("mood", sa.String(16)),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("staff_id", ID),
    sa.Column("decided_by", USER, nullable=False),
    sa.Column("decided_at", sa.DateTime, nullable=False),
)

closures = sa.Table(
    "closures",
    metadata,
    sa.Column("closure_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dispute_id", ID, sa.ForeignKey("disputes.dispute_id"), nullable=False, index=True),
    sa.Column("action", sa.String(8), nullable=False),  # close | reopen
    *_decision_columns(),
)

person_decisions = sa.Table(
    "person_decisions",
    metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(8), nullable=False),  # merge | split | undo
    sa.Column("person_id", ID, nullable=False, index=True),
    sa.Column("other_person_id", ID),  # merge: the person merged into person_id
    # merge: the records of both persons; split: the records that leave person_id, and those
    # that stay with it.
    sa.Column("record_keys", sa.JSON, nullable=False),
    sa.Column("other_record_keys", sa.JSON),
    sa.Column("undoes", sa.Integer, sa.ForeignKey("person_decisions.decision_id")),
    *_decision_columns(),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dispute_id", ID, nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("recipients", sa.Text, nullable=False),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), nullable=False),
    sa.Column("delivered_at", sa.DateTime),
    sa.UniqueConstraint("dispute_id", "kind", "day", name="uq_alert_per_day"),
)

alert_acks = sa.Table(
    "alert_acks",
    metadata,
    sa.Column("ack_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False, index=True),
    sa.Column("decided_by", USER, nullable=False),
    sa.Column("decided_at", sa.DateTime, nullable=False),
)

# --- the dashboard as a workplace (revision 0002) ------------------------------------------

watch_events = sa.Table(
    "watch_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", USER, nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),  # person | dispute
    sa.Column("subject_id", ID, nullable=False),
    sa.Column("action", sa.String(8), nullable=False),  # watch | unwatch
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("decided_at", sa.DateTime, nullable=False),
)

user_preferences = sa.Table(
    "user_preferences",
    metadata,
    sa.Column("username", USER, primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
