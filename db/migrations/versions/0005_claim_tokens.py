"""fence execution leases with a claim token; remember what each approval card shows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pending_actions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("card_status", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    # Cards already posted were drawn with the status of their last change; without this the
    # first reconcile would redraw every card ever posted.
    op.execute("UPDATE pending_actions SET card_status = status WHERE slack_ts IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("pending_actions", schema=None) as batch_op:
        batch_op.drop_column("card_status")
        batch_op.drop_column("claim_token")
