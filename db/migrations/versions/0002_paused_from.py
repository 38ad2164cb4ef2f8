"""remember the status a paused request returns to

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:16:16.558633
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paused_from", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduling_requests", schema=None) as batch_op:
        batch_op.drop_column("paused_from")
