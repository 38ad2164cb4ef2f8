"""where meetings happen: a phone or in-person type's number or address (kept on the requests
started from it), and each rep's own Zoom link

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("scheduling_templates", "scheduling_requests")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "location",
                    sqlmodel.sql.sqltypes.AutoString(),
                    nullable=False,
                    server_default="",
                )
            )
    with op.batch_alter_table("reps") as batch:
        batch.add_column(
            sa.Column(
                "zoom_link", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""
            )
        )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("location")
    with op.batch_alter_table("reps") as batch:
        batch.drop_column("zoom_link")
