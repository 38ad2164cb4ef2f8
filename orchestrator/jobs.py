"""RQ entry points. They take ids only and reload everything from the database.

A worker process calls `install(bootstrap(...))` once at start; the functions below then use
those dependencies. Keeping this the only process-wide state is what lets jobs stay id-only.
"""

from __future__ import annotations

import uuid

from orchestrator.deps import Deps

_deps: Deps | None = None


def install(deps: Deps) -> None:
    global _deps
    _deps = deps


def installed() -> Deps:
    if _deps is None:
        raise RuntimeError("no dependencies installed: call orchestrator.jobs.install() first")
    return _deps


def run_step(job_id: str) -> str:
    from db.models import JobStatus
    from orchestrator.engine.runner import run_step as run
    from orchestrator.timers.stalled import after_job

    deps = installed()
    status = run(deps, uuid.UUID(job_id))
    if status in (JobStatus.done, JobStatus.failed):
        # A sequence that ended may have left its request with nothing to move it on.
        after_job(deps, uuid.UUID(job_id))
    return status


def execute_action(action_id: str) -> str:
    from orchestrator.outbox.execute import execute

    return execute(installed(), uuid.UUID(action_id))


def post_action_card(action_id: str) -> str:
    from orchestrator.outbox.approval_cards import post_action_card as post

    return post(installed(), uuid.UUID(action_id))


def poll_mailbox(rep_id: str) -> str:
    from orchestrator.inbox.mail_polls import poll_mailbox as poll

    counts = poll(installed(), uuid.UUID(rep_id))
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items()))


def renew_mail_watch(rep_id: str) -> str:
    from orchestrator.inbox.mail_watches import renew_watch

    return renew_watch(installed(), uuid.UUID(rep_id))


def deliver_webhook(seq: str) -> str:
    from orchestrator.webhooks.deliver import deliver

    return deliver(installed(), int(seq))
