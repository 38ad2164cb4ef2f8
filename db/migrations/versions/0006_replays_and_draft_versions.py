"""refuse replayed Slack requests; version drafts so a stale Edit modal cannot save

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seen_slack_requests",
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("signature"),
    )
    with op.batch_alter_table("seen_slack_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_seen_slack_requests_seen_at"), ["seen_at"], unique=False
        )
    with op.batch_alter_table("pending_actions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("draft_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("pending_actions", schema=None) as batch_op:
        batch_op.drop_column("draft_version")
    with op.batch_alter_table("seen_slack_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seen_slack_requests_seen_at"))
    op.drop_table("seen_slack_requests")
