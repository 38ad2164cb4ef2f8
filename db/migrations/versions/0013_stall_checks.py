"""a stall check per request: when a job left it with nothing to move it, the moment the rep is
asked what happens next (`orchestrator.timers.stalled`)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "stall_check_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stall_check_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        # The clock reads only the checks that are set, like the meeting's due times.
        batch_op.create_index(
            "ix_requests_stall_check",
            ["stall_check_at"],
            unique=False,
            postgresql_where=sa.text(DUE),
            sqlite_where=sa.text(DUE),
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_stall_check")
        batch_op.drop_column("stall_check_at")
