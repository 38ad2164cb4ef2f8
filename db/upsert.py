"""Insert-or-ignore: the one way a row claims a unique key that a concurrent writer may hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel


def insert_or_ignore(session: Session, *, model: type[SQLModel], values: Mapping[str, Any]) -> bool:
    """Insert one row of `model` in the caller's transaction; False when a unique key clashed.

    `INSERT … ON CONFLICT DO NOTHING` keeps the transaction usable when another writer won,
    and PostgreSQL makes the loser wait for the winner's commit before answering.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = model.__table__  # type: ignore[attr-defined]
    result = session.execute(
        insert(table)
        .values(**values)
        .on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
        .returning(*table.primary_key.columns)
    )
    return result.first() is not None
