"""Reference numbers (`ACME-12`): one counter per org and prefix, bumped with the request's own
insert, continuing from the numbers a database already holds when it is upgraded."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from db.engine import make_engine, make_session_factory
from db.migrate import upgrade
from db.models import ReferenceCounter
from orchestrator.commands.new_request import next_ref
from tests.support.services import PostgresDatabase, require

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
# The last revision before the counters: the schema these rows were written under.
BEFORE_COUNTERS = "0007"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'refs.db'}"
        return
    require("postgres")
    database = PostgresDatabase()
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


def _refs(url: str, *wanted: tuple[str, str]) -> list[str]:
    """One new reference per (org, email), each in its own committed transaction."""
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        refs = []
        for org_id, email in wanted:
            with sessions() as session:
                refs.append(next_ref(session, org_id=org_id, email=email))
                session.commit()
        return refs
    finally:
        engine.dispose()


def _old_requests(url: str, rows: list[tuple[str, str]]) -> None:
    """Requests as an older release stored them, written against its schema with plain SQL."""
    engine = make_engine(url)
    reps: dict[str, str] = {}
    try:
        with engine.begin() as conn:
            for org_id, ref in rows:
                if org_id not in reps:
                    reps[org_id] = uuid.uuid4().hex
                    conn.execute(
                        text(
                            "INSERT INTO reps (id, org_id, slack_user_id, email, name, timezone, "
                            "working_hours, brief_time, daily_send_limit, calendar_provider, "
                            "mail_provider, signature, delegate_slack_ids, created_at) VALUES "
                            "(:id, :org, 'U1', 'rita@northwind.example', 'Rita', 'UTC', '{}', "
                            "'08:00', 50, 'local', 'local', '', '[]', :now)"
                        ),
                        {"id": reps[org_id], "org": org_id, "now": NOW},
                    )
                conn.execute(
                    text(
                        "INSERT INTO scheduling_requests (id, org_id, rep_id, ref, meeting_type, "
                        "duration_minutes, title, context, platform, preferred_times, avoid_days, "
                        "timezone, status, attempt_count, no_show_count, proposed_slots, "
                        "created_at, updated_at) VALUES (:id, :org, :rep, :ref, 'demo', 30, '', "
                        "'', 'google_meet', '[]', '[]', 'UTC', 'proposing', 0, 0, '[]', :now, :now)"
                    ),
                    {
                        "id": uuid.uuid4().hex,
                        "org": org_id,
                        "rep": reps[org_id],
                        "ref": ref,
                        "now": NOW,
                    },
                )
    finally:
        engine.dispose()


def test_the_upgrade_continues_numbering_from_the_highest_reference(empty_url: str) -> None:
    upgrade(empty_url, BEFORE_COUNTERS)
    # ACME-3 is missing: counting rows would hand out ACME-4 a second time.
    _old_requests(
        empty_url,
        [
            ("T1", "ACME-1"),
            ("T1", "ACME-2"),
            ("T1", "ACME-4"),
            ("T1", "GLOBEX-9"),
            ("T2", "ACME-2"),
        ],
    )
    upgrade(empty_url)
    assert _refs(
        empty_url,
        ("T1", "joe@acme.example"),
        ("T1", "ann@globex.example"),
        ("T2", "bo@acme.example"),
        ("T1", "new@initech.example"),
        ("T1", "sue@acme.example"),
    ) == ["ACME-5", "GLOBEX-10", "ACME-3", "INITECH-1", "ACME-6"]


def test_each_org_and_prefix_counts_on_its_own(sqlite_url: str) -> None:
    refs = _refs(
        sqlite_url,
        ("T1", "a@acme.example"),
        ("T1", "b@acme.co.uk"),  # the company, not the whole domain: the same prefix
        ("T2", "c@acme.example"),
        ("T1", "d@globex.example"),
        ("T1", "e@mail.acme-corp.example"),  # the first label only: MAIL
        ("T1", "f@-.example"),  # nothing usable left: REQ
    )
    assert refs == ["ACME-1", "ACME-2", "ACME-1", "GLOBEX-1", "MAIL-1", "REQ-1"]
    engine = make_engine(sqlite_url)
    try:
        with Session(engine) as session:
            counters = session.exec(select(ReferenceCounter)).all()
            assert {(c.org_id, c.prefix, c.last_value) for c in counters} == {
                ("T1", "ACME", 2),
                ("T2", "ACME", 1),
                ("T1", "GLOBEX", 1),
                ("T1", "MAIL", 1),
                ("T1", "REQ", 1),
            }
    finally:
        engine.dispose()


def test_a_rolled_back_start_gives_its_number_back(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        sessions = make_session_factory(engine)
        with sessions() as session:
            assert next_ref(session, org_id="T1", email="a@acme.example") == "ACME-1"
            session.rollback()
        with sessions() as session:
            assert next_ref(session, org_id="T1", email="a@acme.example") == "ACME-1"
            session.commit()
        with sessions() as session:
            assert next_ref(session, org_id="T1", email="a@acme.example") == "ACME-2"
    finally:
        engine.dispose()


def test_concurrent_transactions_never_share_a_number(pg_url: str) -> None:
    """Each thread holds its transaction open a moment after taking its number, as a start
    does while it writes the request: the others wait on the counter row, then go on from the
    committed value."""
    engine = make_engine(pg_url)
    sessions = make_session_factory(engine)
    threads_n = 12
    barrier = threading.Barrier(threads_n)
    refs: list[str] = []
    errors: list[BaseException] = []

    def take() -> None:
        try:
            barrier.wait()
            with sessions() as session:
                ref = next_ref(session, org_id="T1", email="x@acme.example")
                session.execute(text("SELECT pg_sleep(0.01)"))
                session.commit()
            refs.append(ref)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=take) for _ in range(threads_n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        engine.dispose()
    assert errors == []
    assert sorted(refs, key=lambda r: int(r.split("-")[1])) == [
        f"ACME-{n}" for n in range(1, threads_n + 1)
    ]
