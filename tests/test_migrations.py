"""Migrations go up and down on SQLite and PostgreSQL, and match the models exactly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import db.models  # noqa: F401 - registers the tables
from db.engine import make_engine
from db.migrate import downgrade, upgrade
from tests.support.services import PostgresDatabase, require

TABLES = {
    "reps",
    "credentials",
    "scheduling_requests",
    "scheduling_attendees",
    "email_messages",
    "inbound_requests",
    "meeting_transcripts",
    "pending_actions",
    "sequence_jobs",
    "scheduling_actions",
    "scheduling_templates",
    "job_runs",
    "llm_usage",
    "slack_notifications",
    "local_calendar_events",
    "local_mail",
    "seen_slack_requests",
    "acked_work",
    "reference_counters",
    "webhook_subscriptions",
    "webhook_deliveries",
}


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    require("postgres")
    database = PostgresDatabase()
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    upgrade(empty_database)
    assert _tables(empty_database) == TABLES
    downgrade(empty_database, "base")
    assert _tables(empty_database) == set()
    upgrade(empty_database)
    assert _tables(empty_database) == TABLES


def test_models_and_migrations_agree(empty_database: str) -> None:
    upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == [], "a model changed without a migration: run alembic revision --autogenerate"
