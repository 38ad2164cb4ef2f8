"""inbound_requests: new mail that asks the rep to meet, carded once, and the rep's choice

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rep_id", sa.Uuid(), nullable=False),
        sa.Column("email_message_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("asker", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["email_message_id"], ["email_messages.id"]),
        sa.ForeignKeyConstraint(["rep_id"], ["reps.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["scheduling_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email_message_id"),
    )
    op.create_index(
        "ix_inbound_requests_rep_status", "inbound_requests", ["rep_id", "status"], unique=False
    )
    op.create_index("ix_inbound_requests_request", "inbound_requests", ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbound_requests_request", table_name="inbound_requests")
    op.drop_index("ix_inbound_requests_rep_status", table_name="inbound_requests")
    op.drop_table("inbound_requests")
