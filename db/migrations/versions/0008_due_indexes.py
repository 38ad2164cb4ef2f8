"""the clock reads only what is due: partial indexes on the due columns, the meeting's own due
times, and indexes for the lookups by request, job and rep that were full scans

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same text as db.models (a migration keeps its own copy: models move on, this does not).
DUE_REQUEST_WHERE = (
    "next_action_at IS NOT NULL AND status NOT IN ('cancelled', 'completed', 'paused')"
)
UNWATCHED_WHERE = (
    "status IN ('confirmed', 'reminder_sent') AND meeting_start IS NOT NULL"
    " AND (watched_start IS NULL OR watched_start <> meeting_start)"
)
UNSCHEDULED_WHERE = (
    "status NOT IN ('cancelled', 'completed', 'confirmed', 'reminder_sent')"
    " AND (event_next_action IS NULL OR event_next_action <> 'waiting_for_decision')"
    " AND (status = 'paused' OR next_action_at IS NULL OR next_action_type IS NULL"
    " OR next_action_type <> 'follow_up')"
)
BOOKED_WHERE = "status IN ('confirmed', 'reminder_sent')"
CARD_LAG_WHERE = (
    "slack_ts IS NOT NULL AND status <> 'executing'"
    " AND (card_status IS NULL OR card_status <> status)"
)
BRIEF_JOB_WHERE = "event_type = 'morning_brief_due'"

# name, columns, partial condition (None: the whole table)
REQUEST_INDEXES = [
    ("ix_requests_follow_up_due", ["next_action_at"], DUE_REQUEST_WHERE),
    ("ix_requests_unwatched", ["meeting_start"], UNWATCHED_WHERE),
    ("ix_requests_reminder_due", ["reminder_due_at"], "reminder_due_at IS NOT NULL"),
    ("ix_requests_check_due", ["check_due_at"], "check_due_at IS NOT NULL"),
    ("ix_requests_unscheduled", ["updated_at"], UNSCHEDULED_WHERE),
    ("ix_requests_booked_end", ["meeting_end"], BOOKED_WHERE),
]
OTHER_INDEXES = [
    ("email_messages", "ix_email_messages_request", ["request_id"], None),
    ("pending_actions", "ix_pending_actions_job", ["job_id"], None),
    ("pending_actions", "ix_pending_actions_request", ["request_id"], None),
    ("pending_actions", "ix_pending_actions_card_lag", ["updated_at"], CARD_LAG_WHERE),
    ("sequence_jobs", "ix_sequence_jobs_request", ["request_id"], None),
    ("sequence_jobs", "ix_sequence_jobs_briefs", ["rep_id", "created_at"], BRIEF_JOB_WHERE),
    ("job_runs", "ix_job_runs_latest", ["name", "started_at"], None),
    ("slack_notifications", "ix_slack_notifications_rep_sent", ["rep_id", "sent_at"], None),
]


def _where(condition: str | None) -> dict[str, object]:
    if condition is None:
        return {}
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


def upgrade() -> None:
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        for name in ("watched_start", "reminder_due_at", "check_due_at"):
            batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        # Replaced by the partial index: paused and finished requests were in it, read every
        # tick and filtered out.
        batch_op.drop_index("ix_requests_due")
        for name, columns, condition in REQUEST_INDEXES:
            batch_op.create_index(name, columns, unique=False, **_where(condition))
    # Booked meetings are read by the next tick (watched_start is NULL for every one), which
    # fills in their reminder and check times: no data to move here.
    for table, name, columns, condition in OTHER_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False, **_where(condition))


def downgrade() -> None:
    for table, name, _, _ in reversed(OTHER_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        for name, _, _ in reversed(REQUEST_INDEXES):
            batch_op.drop_index(name)
        batch_op.create_index("ix_requests_due", ["next_action_at"], unique=False)
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        for name in ("check_due_at", "reminder_due_at", "watched_start"):
            batch_op.drop_column(name)
