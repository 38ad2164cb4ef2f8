"""pre-meeting briefs: the meeting start a brief was timed for and when it is due, each read
through a partial index holding only the rows the clock may act on

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same text as db.models (a migration keeps its own copy: models move on, this does not).
BRIEF_UNWATCHED_WHERE = (
    "status IN ('confirmed', 'reminder_sent') AND meeting_start IS NOT NULL"
    " AND (brief_watched_start IS NULL OR brief_watched_start <> meeting_start)"
)
INDEXES = [
    ("ix_requests_brief_unwatched", ["meeting_start"], BRIEF_UNWATCHED_WHERE),
    ("ix_requests_brief_due", ["brief_due_at"], "brief_due_at IS NOT NULL"),
]


def upgrade() -> None:
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        for name in ("brief_watched_start", "brief_due_at"):
            batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Meetings already booked are read by the next tick (brief_watched_start is NULL): those
    # still ahead get their brief, those past get none. No data to move here.
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        for name, columns, condition in INDEXES:
            batch_op.create_index(
                name,
                columns,
                unique=False,
                postgresql_where=sa.text(condition),
                sqlite_where=sa.text(condition),
            )


def downgrade() -> None:
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        for name, _, _ in reversed(INDEXES):
            batch_op.drop_index(name)
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        for name in ("brief_due_at", "brief_watched_start"):
            batch_op.drop_column(name)
