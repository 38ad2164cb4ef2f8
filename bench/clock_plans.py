"""The clock's periodic queries at scale: their plans and the tick's time, idle and with work due.

    python bench/clock_plans.py [--requests 100000] [--due 30] [--keep]

Creates its own PostgreSQL database (a fresh name on PG_ADMIN_URL's server, dropped at the
end unless --keep), migrates it, and fills it in SQL with N scheduling requests shaped like a
live deployment: one rep per 100 requests; most requests chasing a reply with a follow-up in
the next days, some with a draft waiting on the rep, meetings booked for the coming weeks,
meetings that ended and were asked about but never answered, paused, completed and cancelled
ones; and their attendees, jobs, drafts, emails, audit rows and notifications.

Then it makes `--due` items due (follow-ups, reminders, meetings just ended, a third each),
prints `EXPLAIN (ANALYZE, BUFFERS)` of every statement the clock's own parts issue in that tick
(captured as they run, in their transaction, so each plan sees the due rows), and times the
tick with nothing due and with work due (median of several runs each), with the number of SQL
statements. The tick here is every part of `timers.tick` but the mail poll, which reads each
rep's mailbox and is measured on its own.

Goals (exit 1 when missed): an idle tick <= 20 ms and a tick with work due <= 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fakeredis  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from connectors.clock import ManualClock  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from orchestrator.bootstrap import bootstrap  # noqa: E402
from orchestrator.deps import Deps  # noqa: E402
from orchestrator.health import report_if_due  # noqa: E402
from orchestrator.notices.post import deliver_held  # noqa: E402
from orchestrator.outbox.approval_cards import post_waiting_cards  # noqa: E402
from orchestrator.settings import Settings  # noqa: E402
from orchestrator.timers.due import dispatch_due  # noqa: E402
from orchestrator.timers.pre_meeting import send_pre_meeting_briefs  # noqa: E402
from orchestrator.timers.reconciler import reconcile  # noqa: E402
from orchestrator.timers.retention import prune_if_due  # noqa: E402
from orchestrator.timers.stalled import escalate_if_due  # noqa: E402
from orchestrator.webhooks.deliver import queue_due as queue_webhooks  # noqa: E402
from tests.support.services import PostgresDatabase  # noqa: E402

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday afternoon
IDLE_GOAL_MS = 20.0
DUE_GOAL_MS = 100.0

# Each table in SQL over generate_series(1, n) AS g; :now is NOW, requests are md5('q'||g).
POPULATE = [
    """INSERT INTO reps (id, org_id, slack_user_id, email, name, timezone, working_hours,
        brief_time, daily_send_limit, calendar_provider, mail_provider, signature,
        delegate_slack_ids, created_at)
       SELECT md5('r' || g)::uuid, 'T0BENCH', 'U' || g, 'rep' || g || '@northwind.example',
        'Rep ' || g, (ARRAY['America/New_York','Europe/Berlin','Asia/Tokyo','UTC'])[g % 4 + 1],
        '{}', '08:00', 50, 'local', 'local', '', '[]', :now - interval '90 days'
       FROM generate_series(1, :reps) AS g""",
    # g % 100: 0-59 chasing (follow-up ahead), 60-69 draft waiting, 70-79 booked ahead,
    # 80-84 ended and asked, 85-89 paused, 90-94 completed, 95-99 cancelled.
    """INSERT INTO scheduling_requests (id, org_id, rep_id, ref, meeting_type, duration_minutes,
        title, context, platform, preferred_times, avoid_days, timezone, status, attempt_count,
        no_show_count, next_action_at, next_action_type, proposed_slots, meeting_start,
        meeting_end, watched_start, reminder_due_at, check_due_at, created_at, updated_at)
       SELECT md5('q' || g)::uuid, 'T0BENCH', md5('r' || (g % :reps + 1))::uuid, 'B-' || g,
        'demo', 30, 'Demo ' || g, '', 'google_meet', '[]', '[]', 'UTC',
        CASE WHEN g % 100 < 60 THEN 'awaiting_response' WHEN g % 100 < 70 THEN 'proposing'
             WHEN g % 100 < 85 THEN 'confirmed' WHEN g % 100 < 90 THEN 'paused'
             WHEN g % 100 < 95 THEN 'completed' ELSE 'cancelled' END,
        1 + g % 3, 0,
        CASE WHEN g % 100 < 60 THEN :now + interval '1 hour' + (g % 4000) * interval '1 minute'
             WHEN g % 100 BETWEEN 85 AND 89 THEN :now - interval '3 days' END,
        CASE WHEN g % 100 < 60 OR g % 100 BETWEEN 85 AND 89 THEN 'follow_up' END,
        '[]', m.start, m.start + interval '30 minutes', m.start,
        CASE WHEN g % 100 BETWEEN 70 AND 79 THEN m.start - interval '6 hours' END,
        CASE WHEN g % 100 BETWEEN 70 AND 79 THEN m.start + interval '40 minutes' END,
        :now - interval '20 days', :now - interval '2 days'
       FROM generate_series(1, :n) AS g,
       LATERAL (SELECT CASE
             WHEN g % 100 BETWEEN 70 AND 79
                 THEN :now + interval '2 days' + (g % 3000) * interval '5 minutes'
             WHEN g % 100 BETWEEN 80 AND 84
                 THEN :now - interval '1 day' - (g % 3000) * interval '1 minute'
             WHEN g % 100 >= 90 THEN :now - interval '10 days' END AS start) AS m""",
    """INSERT INTO scheduling_attendees (id, org_id, request_id, side, required, organizer,
        email, name, invite_status, created_at)
       SELECT gen_random_uuid(), 'T0BENCH', md5('q' || g)::uuid, 'external', true, false,
        'p' || g || '@prospect.example', 'Pat ' || g, 'needs_action', :now - interval '20 days'
       FROM generate_series(1, :n) AS g""",
    # Three finished jobs per request, and a parked one for each draft waiting on the rep.
    """INSERT INTO sequence_jobs (id, org_id, rep_id, request_id, event_type, event_source,
        trigger_payload, idempotency_key, correlation_id, status, current_step,
        steps_completed, outputs, attempts, run_after, created_at, updated_at)
       SELECT md5('j' || g || ':' || k)::uuid, 'T0BENCH', md5('r' || (g % :reps + 1))::uuid,
        md5('q' || g)::uuid,
        CASE WHEN k = 4 THEN 'scheduling_requested' ELSE 'follow_up_due' END, 'clock', '{}',
        'bench:' || g || ':' || k, md5('c' || g || k),
        CASE WHEN k = 4 THEN 'waiting_approval' ELSE 'done' END, 1, '[]', '{}', 1,
        :now - k * interval '1 day', :now - k * interval '1 day', :now - k * interval '1 day'
       FROM generate_series(1, :n) AS g, generate_series(1, 4) AS k
       WHERE k < 4 OR g % 100 BETWEEN 60 AND 69""",
    """INSERT INTO pending_actions (id, org_id, rep_id, request_id, job_id, action_type, status,
        action_data, reasoning, idempotency_key, expires_at, attempts, draft_version,
        slack_channel, slack_ts, card_status, created_at, updated_at)
       SELECT gen_random_uuid(), 'T0BENCH', md5('r' || (g % :reps + 1))::uuid,
        md5('q' || g)::uuid, md5('j' || g || ':' || k)::uuid, 'email_follow_up',
        CASE WHEN k = 4 THEN 'pending' ELSE 'executed' END, '{"to": ["p@prospect.example"]}',
        '', 'bench-action:' || g || ':' || k,
        :now + interval '2 days', 1, 0, 'D' || g, g || '.0001',
        CASE WHEN k = 4 THEN 'pending' ELSE 'executed' END,
        :now - k * interval '1 day', :now - k * interval '1 day'
       FROM generate_series(1, :n) AS g, generate_series(1, 4) AS k
       WHERE k = 1 OR (k = 4 AND g % 100 BETWEEN 60 AND 69)""",
    """INSERT INTO email_messages (id, org_id, request_id, direction, message_id, "references",
        thread_id, sender, recipients, subject, body_text, status, created_at)
       SELECT gen_random_uuid(), 'T0BENCH', md5('q' || g)::uuid,
        CASE WHEN k = 1 THEN 'outbound' ELSE 'inbound' END, '<b' || g || '.' || k || '@x>',
        '[]', 't' || g, 'rep@northwind.example', '[]', 'Demo', repeat('Hello there. ', 40),
        'sent', :now - k * interval '1 day'
       FROM generate_series(1, :n) AS g, generate_series(1, 2) AS k""",
    """INSERT INTO scheduling_actions (id, org_id, request_id, action_type, actor, reasoning,
        details, created_at)
       SELECT gen_random_uuid(), 'T0BENCH', md5('q' || g)::uuid,
        (ARRAY['request_created','draft_created','email_sent','reply_received','follow_up_sent'])[k],
        'ai', 'bench', '{}', :now - (6 - k) * interval '1 day'
       FROM generate_series(1, :n) AS g, generate_series(1, 5) AS k""",
    """INSERT INTO slack_notifications (id, org_id, rep_id, kind, dedupe_key, channel, sent_at)
       SELECT gen_random_uuid(), 'T0BENCH', md5('r' || (g % :reps + 1))::uuid,
        CASE WHEN g % 100 BETWEEN 80 AND 84 THEN 'meeting_check' ELSE 'notice' END,
        'bench-note:' || g, 'D1', :now - interval '1 hour' - (g % 720) * interval '1 hour'
       FROM generate_series(1, :n) AS g""",
]

# Make `per_kind` of each kind due, from rows chosen by `offset` so each round has new ones.
MAKE_DUE = [
    """UPDATE scheduling_requests SET next_action_at = :now - interval '1 minute'
       WHERE id IN (SELECT md5('q' || (g * 100 + :offset))::uuid
                    FROM generate_series(1, :per_kind) AS g)""",
    """UPDATE scheduling_requests SET meeting_start = :now + interval '3 hours',
        meeting_end = :now + interval '210 minutes', watched_start = :now + interval '3 hours',
        reminder_due_at = :now - interval '1 minute'
       WHERE id IN (SELECT md5('q' || (g * 100 + 70 + :offset))::uuid
                    FROM generate_series(1, :per_kind) AS g)""",
    """UPDATE scheduling_requests SET meeting_start = :now - interval '45 minutes',
        meeting_end = :now - interval '15 minutes', watched_start = :now - interval '45 minutes',
        check_due_at = :now - interval '5 minutes', reminder_due_at = NULL
       WHERE id IN (SELECT md5('q' || (g * 100 + 75 + :offset))::uuid
                    FROM generate_series(1, :per_kind) AS g)""",
]


def clock_parts(deps: Deps) -> None:
    """The tick's parts this bench measures: all of `timers.tick` but the mail poll."""
    reconcile(deps)
    dispatch_due(deps)
    deliver_held(deps.notices)
    post_waiting_cards(deps)
    prune_if_due(deps)
    report_if_due(deps)
    escalate_if_due(deps)
    queue_webhooks(deps)
    send_pre_meeting_briefs(deps)


def workers_ran(deps: Deps) -> None:
    """What the workers would have done with the jobs the tick started (none run here): left
    queued, the reconciler would find them late and wake them again on every idle tick."""
    with deps.engine.begin() as conn:
        conn.execute(text("UPDATE sequence_jobs SET status = 'done' WHERE status = 'queued'"))


def populate(deps: Deps, n: int) -> None:
    started = time.perf_counter()
    with deps.engine.begin() as conn:
        for statement in POPULATE:
            conn.execute(text(statement), {"now": NOW, "n": n, "reps": max(1, n // 100)})
    with deps.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    size = _one(deps, "SELECT pg_size_pretty(pg_database_size(current_database()))")
    print(f"populated {n:,} requests in {time.perf_counter() - started:.0f} s ({size})")


def make_due(deps: Deps, per_kind: int, offset: int) -> None:
    with deps.engine.begin() as conn:
        for statement in MAKE_DUE:
            conn.execute(text(statement), {"now": NOW, "per_kind": per_kind, "offset": offset})


def _one(deps: Deps, sql: str) -> Any:
    with deps.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def timed(deps: Deps, run: Callable[[], None]) -> tuple[float, int]:
    seen: list[str] = []

    def count(*_: Any) -> None:
        seen.append("")

    event.listen(deps.engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        run()
        return (time.perf_counter() - started) * 1000, len(seen)
    finally:
        event.remove(deps.engine, "before_cursor_execute", count)


def explain_tick(deps: Deps) -> None:
    """Run the parts once, printing each SELECT's plan as it is about to run."""
    printed: set[str] = set()

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("SELECT") or statement in printed:
            return
        printed.add(statement)
        with cursor.connection.cursor() as plan:
            plan.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
            lines = [row[0] for row in plan.fetchall()]
        print("\n" + " ".join(statement.split())[:400])
        print("\n".join("    " + line for line in lines))

    event.listen(deps.engine, "before_cursor_execute", explain)
    try:
        clock_parts(deps)
    finally:
        event.remove(deps.engine, "before_cursor_execute", explain)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=30, help="items made due per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    database = PostgresDatabase()
    database.create()
    print(f"database {database.name}")
    clock = ManualClock(NOW)
    try:
        upgrade(database.url)
        settings = Settings(database_url=database.url, redis_url=None)
        deps = bootstrap(settings, clock=clock, redis=fakeredis.FakeRedis())
        populate(deps, args.requests)
        clock_parts(deps)  # the first tick runs the hourly and ten-minute work
        workers_ran(deps)
        clock.advance(timedelta(seconds=30))
        per_kind = max(1, args.due // 3)

        make_due(deps, per_kind, offset=1)
        print(f"\n=== plans: a tick with {3 * per_kind} items due, {args.requests:,} requests ===")
        explain_tick(deps)
        workers_ran(deps)

        idle, due = [], []
        for i in range(args.rounds):
            clock.advance(timedelta(seconds=30))
            idle.append(timed(deps, lambda: clock_parts(deps)))
            clock.advance(timedelta(seconds=30))
            make_due(deps, per_kind, offset=2 + i)
            due.append(timed(deps, lambda: clock_parts(deps)))
            workers_ran(deps)
        idle_ms = statistics.median(ms for ms, _ in idle)
        due_ms = statistics.median(ms for ms, _ in due)
        print(f"\n=== {args.requests:,} requests ===")
        print(f"{'tick':<28}{'median ms':>10}{'statements':>12}{'goal ms':>9}")
        print(f"{'nothing due':<28}{idle_ms:>10.1f}{idle[-1][1]:>12}{IDLE_GOAL_MS:>9.0f}")
        print(
            f"{f'{3 * per_kind} items due':<28}{due_ms:>10.1f}{due[-1][1]:>12}{DUE_GOAL_MS:>9.0f}"
        )
        deps.engine.dispose()
        return 0 if idle_ms <= IDLE_GOAL_MS and due_ms <= DUE_GOAL_MS else 1
    finally:
        if not args.keep:
            database.drop()


if __name__ == "__main__":
    sys.exit(main())
