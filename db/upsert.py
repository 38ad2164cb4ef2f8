"""Insert-or-ignore and insert-or-increment: the ways a row claims a unique key that a concurrent
writer may hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel


def insert_or_ignore(session: Session, *, model: type[SQLModel], values: Mapping[str, Any]) -> bool:
    """Insert one row of `model` in the caller's transaction; False when a unique key clashed.

    `INSERT … ON CONFLICT DO NOTHING` keeps the transaction usable when another writer won,
    and PostgreSQL makes the loser wait for the winner's commit before answering.
    """
    table = model.__table__  # type: ignore[attr-defined]
    result = session.execute(
        _insert(session)(table)
        .values(**values)
        .on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
        .returning(*table.primary_key.columns)
    )
    return result.first() is not None


def insert_many_or_ignore(
    session: Session, *, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]
) -> list[Any]:
    """`insert_or_ignore` for many rows in one statement; the primary keys of those inserted
    (a row whose unique key clashed is left out)."""
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    # The rows as parameters, not in the statement: its compiled form is cached however many
    # rows come, and SQLAlchemy still sends them as one multi-row INSERT.
    result = session.execute(
        _insert(session)(table).on_conflict_do_nothing().returning(*table.primary_key.columns),
        [dict(row) for row in rows],
    )
    return [row._mapping for row in result]


def increment(
    session: Session, *, model: type[SQLModel], key: Mapping[str, Any], column: str
) -> int:
    """Add one to `column` of the `model` row whose primary key is `key` (a new row starts at
    1) in the caller's transaction, and return the new value.

    One `INSERT … ON CONFLICT DO UPDATE … RETURNING` statement: concurrent callers never read
    the same value (the row stays locked until the caller commits, and waiters then see the
    committed value), and a caller that rolls back gives its number back.
    """
    table = model.__table__  # type: ignore[attr-defined]
    counter = table.c[column]
    result = session.execute(
        _insert(session)(table)
        .values(**key, **{column: 1})
        .on_conflict_do_update(index_elements=list(key), set_={column: counter + 1})
        .returning(counter)
    )
    return int(result.scalar_one())


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
