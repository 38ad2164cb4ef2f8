"""inbound email keeps the UTC offset of its Date header: where the sender's mail client was,
the weakest hint of their time zone

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 21:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Mail already received has no offset kept: no hint comes from its Date header.
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_offset_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.drop_column("date_offset_minutes")
