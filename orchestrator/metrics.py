"""Prometheus metrics, read from the database at scrape time.

Workers and clocks run on other hosts and restart at will; what they did is already in
PostgreSQL (requests, pending actions, audit rows, jobs, model usage). So `/metrics` on the web
port asks the database rather than each process counting in memory: every web process answers
the same numbers for the whole deployment, and nothing is lost when a worker dies. Counters are
counts of rows; retention pruning old rows shows up as a counter reset, which Prometheus'
`rate()` already handles.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import Session, col, select

from db.models import (
    ActionStatus,
    ActionType,
    JobRun,
    LLMUsage,
    PendingAction,
    RequestOutcome,
    SchedulingAction,
    SchedulingRequest,
    SequenceJob,
    WebhookDelivery,
    draft_was_edited,
)
from orchestrator.deps import Deps

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Scrapes from several Prometheus servers (or a fast interval) reuse one reading this long.
CACHE_SECONDS = 15.0
LATENCY_WINDOW = timedelta(hours=1)


class ConveneCollector(Collector):
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > CACHE_SECONDS:
                self._cached = (time.monotonic(), self._read())
            yield from self._cached[1]

    def _read(self) -> list[Metric]:
        with self._deps.sessions() as session:
            metrics = [
                *_requests(session),
                *_actions(session),
                _audit_events(session),
                *_jobs(session),
                *_model(session),
                _time_to_booking(session),
                _webhook_deliveries(session),
            ]
            metrics.append(_step_latency(session, self._deps))
        metrics.append(_queue_depth(self._deps))
        return metrics


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def registry_for(deps: Deps) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ConveneCollector(deps))
    return registry


def _requests(session: Session) -> list[Metric]:
    by_status = GaugeMetricFamily(
        "convene_requests", "Scheduling requests by current status.", labels=["status"]
    )
    for status, n in session.exec(
        select(SchedulingRequest.status, func.count()).group_by(col(SchedulingRequest.status))
    ):
        by_status.add_metric([str(status)], n)
    outcomes = CounterMetricFamily(
        "convene_request_outcomes",
        "Requests by recorded outcome (db.models.RequestOutcome): how a finished one ended "
        "(held, cancelled_by_rep, cancelled_by_them, declined, gave_up), or how an open one's "
        "last meeting went (no_show, rescheduled).",
        labels=["outcome"],
    )
    # Every outcome has a series, zero included, and older spellings count as what they meant.
    counts = dict.fromkeys(RequestOutcome, 0)
    for stored, n in session.exec(
        select(SchedulingRequest.outcome, func.count())
        .where(col(SchedulingRequest.outcome).is_not(None))
        .group_by(col(SchedulingRequest.outcome))
    ):
        outcome = RequestOutcome.read(stored)
        if outcome is not None:
            counts[outcome] += n
    for outcome, n in counts.items():
        outcomes.add_metric([outcome.value], n)
    return [by_status, outcomes]


def _webhook_deliveries(session: Session) -> Metric:
    deliveries = GaugeMetricFamily(
        "convene_webhook_deliveries",
        "Webhook deliveries kept (ended ones until RETENTION_WEBHOOK_DAYS) by event and status: "
        "pending and delivering are still owed, failed ones were given up.",
        labels=["event_type", "status"],
    )
    for event_type, status, n in session.exec(
        select(WebhookDelivery.event_type, WebhookDelivery.status, func.count()).group_by(
            col(WebhookDelivery.event_type), col(WebhookDelivery.status)
        )
    ):
        deliveries.add_metric([str(event_type), str(status)], n)
    return deliveries


def _actions(session: Session) -> list[Metric]:
    actions = CounterMetricFamily(
        "convene_actions",
        "Drafts and invites by type and where they ended: executed is a send or a booking, "
        "failed a provider error, rejected/expired/cancelled the rep's or the clock's call.",
        labels=["action_type", "status"],
    )
    for action_type, status, n in session.exec(
        select(PendingAction.action_type, PendingAction.status, func.count()).group_by(
            col(PendingAction.action_type), col(PendingAction.status)
        )
    ):
        actions.add_metric([str(action_type), str(status)], n)
    edited = CounterMetricFamily(
        "convene_actions_edited", "Drafts the rep edited before deciding.", labels=["action_type"]
    )
    for action_type, n in session.exec(
        select(PendingAction.action_type, func.count())
        .where(draft_was_edited())
        .group_by(col(PendingAction.action_type))
    ):
        edited.add_metric([str(action_type)], n)
    return [actions, edited]


def _audit_events(session: Session) -> Metric:
    events = CounterMetricFamily(
        "convene_audit_events",
        "Audit rows by kind: action_approve, action_reject, action_undo, decision cards, "
        "replies read, escalations…",
        labels=["kind"],
    )
    for kind, n in session.exec(
        select(SchedulingAction.action_type, func.count()).group_by(
            col(SchedulingAction.action_type)
        )
    ):
        events.add_metric([str(kind)], n)
    return events


def _jobs(session: Session) -> list[Metric]:
    jobs = GaugeMetricFamily(
        "convene_sequence_jobs", "Sequence jobs by status.", labels=["event_type", "status"]
    )
    for event_type, status, n in session.exec(
        select(SequenceJob.event_type, SequenceJob.status, func.count()).group_by(
            col(SequenceJob.event_type), col(SequenceJob.status)
        )
    ):
        jobs.add_metric([str(event_type), str(status)], n)
    last_tick = GaugeMetricFamily(
        "convene_clock_last_tick_timestamp_seconds", "When a clock last ticked (Unix time)."
    )
    latest = session.exec(
        select(func.max(JobRun.started_at)).where(col(JobRun.name) == "dispatch_due")
    ).one()
    if latest is not None:
        last_tick.add_metric([], latest.timestamp())
    return [jobs, last_tick]


def _model(session: Session) -> list[Metric]:
    calls = CounterMetricFamily(
        "convene_model_calls", "Model calls by model and purpose.", labels=["model", "purpose"]
    )
    cost = CounterMetricFamily(
        "convene_model_cost_usd", "Model spend in US dollars, by model.", labels=["model"]
    )
    spend: dict[str, float] = {}
    for model, purpose, n, usd in session.exec(
        select(
            LLMUsage.model, LLMUsage.purpose, func.count(), func.sum(LLMUsage.cost_usd)
        ).group_by(col(LLMUsage.model), col(LLMUsage.purpose))
    ):
        calls.add_metric([str(model), str(purpose)], n)
        spend[str(model)] = spend.get(str(model), 0.0) + float(usd or 0.0)
    for model, usd in spend.items():
        cost.add_metric([model], usd)
    return [calls, cost]


def _time_to_booking(session: Session) -> Metric:
    """From the rep's /schedule to the invite on the calendar, over every booking."""
    rows = session.exec(
        select(PendingAction.executed_at, SchedulingRequest.created_at)
        .join(SchedulingRequest, col(SchedulingRequest.id) == col(PendingAction.request_id))
        .where(col(PendingAction.action_type) == ActionType.calendar_book)
        .where(col(PendingAction.status) == ActionStatus.executed)
    ).all()
    seconds = [(done - created).total_seconds() for done, created in rows if done is not None]
    summary = SummaryMetricFamily(
        "convene_time_to_booking_seconds", "From request to booked meeting."
    )
    summary.add_metric([], count_value=len(seconds), sum_value=sum(seconds))
    return summary


def _step_latency(session: Session, deps: Deps) -> Metric:
    """Sequence jobs finished in the last hour: from created to done (queueing included)."""
    since = deps.clock.now() - LATENCY_WINDOW
    rows = session.exec(
        select(SequenceJob.created_at, SequenceJob.updated_at)
        .where(col(SequenceJob.status) == "done")
        .where(col(SequenceJob.updated_at) >= since)
    ).all()
    seconds = [(done - created).total_seconds() for created, done in rows]
    summary = SummaryMetricFamily(
        "convene_sequence_job_seconds_recent", "Sequence jobs done in the last hour: duration."
    )
    summary.add_metric([], count_value=len(seconds), sum_value=sum(seconds))
    return summary


def _queue_depth(deps: Deps) -> Metric:
    depth = GaugeMetricFamily("convene_queue_depth", "Wake-ups waiting in the RQ queue.")
    # Redis down: no sample rather than a failed scrape.
    with suppress(Exception):
        depth.add_metric([], deps.queue.count)
    return depth
