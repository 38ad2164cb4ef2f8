"""keep a notice's text so one held by quiet hours or the hourly cap is posted later

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("slack_notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("held_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_index("ix_slack_notifications_held_until", ["held_until"])


def downgrade() -> None:
    with op.batch_alter_table("slack_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_slack_notifications_held_until")
        batch_op.drop_column("held_until")
        batch_op.drop_column("text")
