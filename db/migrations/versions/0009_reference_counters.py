"""a counter per org and reference prefix, so concurrent requests never race for `ACME-n`

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 09:00:00.000000
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every reference so far was `PREFIX-n`, the prefix letters and digits only.
REFERENCE = re.compile(r"^([A-Za-z0-9]+)-([0-9]+)$")


def upgrade() -> None:
    counters = op.create_table(
        "reference_counters",
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "prefix"),
    )
    # Numbering continues where it is: from the highest number each prefix reached, not from
    # how many rows it has, which would hand out a taken number again if one were ever gone.
    last: dict[tuple[str, str], int] = {}
    rows = op.get_bind().execute(sa.text("SELECT org_id, ref FROM scheduling_requests"))
    for org_id, ref in rows:
        if (match := REFERENCE.match(ref)) is None:
            continue
        key = (org_id, match.group(1))
        last[key] = max(last.get(key, 0), int(match.group(2)))
    if last:
        op.bulk_insert(
            counters,
            [{"org_id": o, "prefix": p, "last_value": n} for (o, p), n in sorted(last.items())],
        )


def downgrade() -> None:
    op.drop_table("reference_counters")
