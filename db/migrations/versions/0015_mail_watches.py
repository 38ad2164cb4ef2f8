"""reps.watch_*: push watches on Gmail and Microsoft 365 mailboxes, renewed by the clock

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same text as db.models (a migration keeps its own copy: models move on, this does not).
WATCHED_MAILBOX_WHERE = "mail_provider IN ('gmail', 'microsoft')"


def upgrade() -> None:
    with op.batch_alter_table("reps") as batch:
        batch.add_column(sa.Column("watch_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(
            sa.Column("watch_secret_digest", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch.add_column(
            sa.Column("watch_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.add_column(
            sa.Column("watch_renew_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_index(
        "ix_reps_watch_renew",
        "reps",
        ["watch_renew_at"],
        postgresql_where=sa.text(WATCHED_MAILBOX_WHERE),
        sqlite_where=sa.text(WATCHED_MAILBOX_WHERE),
    )
    op.create_index(
        "ix_reps_watch_id",
        "reps",
        ["watch_id"],
        postgresql_where=sa.text("watch_id IS NOT NULL"),
        sqlite_where=sa.text("watch_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_reps_watch_id", table_name="reps")
    op.drop_index("ix_reps_watch_renew", table_name="reps")
    with op.batch_alter_table("reps") as batch:
        batch.drop_column("watch_renew_at")
        batch.drop_column("watch_expires_at")
        batch.drop_column("watch_secret_digest")
        batch.drop_column("watch_id")
