"""The register's first schema: identity, batches, decisions and alerts.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_dir", sa.String(length=1024), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id"),
        sa.UniqueConstraint("token"),
    )
    op.create_table(
        "person_decisions",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("other_person_id", sa.String(length=64), nullable=True),
        sa.Column("record_keys", sa.JSON(), nullable=False),
        sa.Column("other_record_keys", sa.JSON(), nullable=True),
        sa.Column("undoes", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["undoes"],
            ["person_decisions.decision_id"],
        ),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    with op.batch_alter_table("person_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_decisions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "register_meta",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.PrimaryKeyConstraint("alert_id"),
        sa.UniqueConstraint("dispute_id", "kind", "day", name="uq_alert_per_day"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "disputes",
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.PrimaryKeyConstraint("dispute_id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_table(
        "identity_history",
        sa.Column("entry_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("other_id", sa.String(length=64), nullable=False),
        sa.Column("n_records", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    with op.batch_alter_table("identity_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_history_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "model_versions",
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("trained_as_of", sa.DateTime(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.PrimaryKeyConstraint("model_version"),
    )
    op.create_table(
        "persons",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.PrimaryKeyConstraint("person_id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("area_grids", sa.Text(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.PrimaryKeyConstraint("staff_id"),
    )
    op.create_table(
        "tier_history",
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("model_tier", sa.String(length=8), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.PrimaryKeyConstraint("dispute_id", "batch_id"),
    )
    op.create_table(
        "alert_acks",
        sa.Column("ack_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.alert_id"],
        ),
        sa.PrimaryKeyConstraint("ack_id"),
    )
    with op.batch_alter_table("alert_acks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_acks_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "case_notes",
        sa.Column("note_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.dispute_id"],
        ),
        sa.PrimaryKeyConstraint("note_id"),
    )
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_notes_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "closures",
        sa.Column("closure_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.dispute_id"],
        ),
        sa.PrimaryKeyConstraint("closure_id"),
    )
    with op.batch_alter_table("closures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_closures_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "dispute_aliases",
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.dispute_id"],
        ),
        sa.PrimaryKeyConstraint("alias"),
    )
    with op.batch_alter_table("dispute_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_aliases_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "dispute_events",
        sa.Column("event_key", sa.String(length=48), nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("former_dispute_id", sa.String(length=64), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.dispute_id"],
        ),
        sa.PrimaryKeyConstraint("event_key"),
    )
    with op.batch_alter_table("dispute_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_events_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "follow_ups",
        sa.Column("follow_up_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("happened_at", sa.DateTime(), nullable=False),
        sa.Column("mood", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.dispute_id"],
        ),
        sa.PrimaryKeyConstraint("follow_up_id"),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "person_records",
        sa.Column("record_key", sa.String(length=48), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("former_person_id", sa.String(length=64), nullable=True),
        sa.Column("source_file", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.person_id"],
        ),
        sa.PrimaryKeyConstraint("record_key"),
    )
    with op.batch_alter_table("person_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_records_person_id"), ["person_id"], unique=False)

    op.create_table(
        "team_events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("role_in_team", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("by_system", sa.Boolean(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.dispute_id"],
        ),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("team_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_events_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "tier_decisions",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.dispute_id"],
        ),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    with op.batch_alter_table("tier_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tier_decisions_dispute_id"), ["dispute_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tier_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tier_decisions_dispute_id"))

    op.drop_table("tier_decisions")
    with op.batch_alter_table("team_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_events_dispute_id"))

    op.drop_table("team_events")
    with op.batch_alter_table("person_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_records_person_id"))

    op.drop_table("person_records")
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_dispute_id"))

    op.drop_table("follow_ups")
    with op.batch_alter_table("dispute_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_events_dispute_id"))

    op.drop_table("dispute_events")
    with op.batch_alter_table("dispute_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_aliases_dispute_id"))

    op.drop_table("dispute_aliases")
    with op.batch_alter_table("closures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_closures_dispute_id"))

    op.drop_table("closures")
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_notes_dispute_id"))

    op.drop_table("case_notes")
    with op.batch_alter_table("alert_acks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_acks_alert_id"))

    op.drop_table("alert_acks")
    op.drop_table("tier_history")
    op.drop_table("staff")
    op.drop_table("persons")
    op.drop_table("model_versions")
    with op.batch_alter_table("identity_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_history_subject_id"))

    op.drop_table("identity_history")
    op.drop_table("disputes")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_dispute_id"))

    op.drop_table("alerts")
    op.drop_table("register_meta")
    with op.batch_alter_table("person_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_decisions_person_id"))

    op.drop_table("person_decisions")
    op.drop_table("batches")
