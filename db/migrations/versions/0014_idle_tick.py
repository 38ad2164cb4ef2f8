"""an idle tick reads only what is due: each rep's next brief time, and partial indexes for
parked jobs, their open actions and the cards not yet posted

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same text as db.models (a migration keeps its own copy: models move on, this does not).
PARKED_JOB_WHERE = "status = 'waiting_approval'"
OPEN_ACTION_WHERE = "status IN ('approved', 'executing', 'pending')"
UNPOSTED_CARD_WHERE = "status = 'pending' AND slack_ts IS NULL"

# table, name, columns, partial condition (None: the whole table)
INDEXES = [
    ("reps", "ix_reps_next_brief_at", ["next_brief_at"], None),
    ("sequence_jobs", "ix_sequence_jobs_parked", ["id"], PARKED_JOB_WHERE),
    ("pending_actions", "ix_pending_actions_open_job", ["job_id"], OPEN_ACTION_WHERE),
    ("pending_actions", "ix_pending_actions_unposted", ["created_at"], UNPOSTED_CARD_WHERE),
]


def _where(condition: str | None) -> dict[str, object]:
    if condition is None:
        return {}
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


def upgrade() -> None:
    # NULL: not worked out yet. The clock reads every such rep once and writes their time, so
    # existing reps need no data moved here.
    with op.batch_alter_table("reps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_brief_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    for table, name, columns, condition in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False, **_where(condition))


def downgrade() -> None:
    for table, name, _, _ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    with op.batch_alter_table("reps", schema=None) as batch_op:
        batch_op.drop_column("next_brief_at")
