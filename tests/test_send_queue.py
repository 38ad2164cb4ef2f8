"""An approved send waits in RQ's schedule only while there is an undo window to wait out.

With no window (UNDO_SECONDS=0, or a failed send retried) the wake-up goes straight onto the
queue; a scheduled one would wait for the scheduler's next look, up to a second later.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from db.models import ActionStatus, PendingAction
from orchestrator.deps import Deps
from orchestrator.engine.wakeups import WakeUps
from orchestrator.outbox.decisions import decide
from tests.support.stack import REP_ID, Stack, wait_for


class Recorded(WakeUps):
    """The real wake-ups, noting when each send was asked for."""

    def __init__(self, real: WakeUps) -> None:
        super().__init__(real.queue)
        self.sends: list[datetime | None] = []

    def execute_action(self, action_id: uuid.UUID, *, tag: str, at: datetime | None = None) -> None:
        self.sends.append(at)
        super().execute_action(action_id, tag=tag, at=at)


def _approve(stack: Stack, *, undo_seconds: int) -> tuple[Recorded, PendingAction]:
    stack.schedule("demo with john@acme.example")
    stack.drain()
    (draft,) = wait_for(lambda: stack.rows(PendingAction), "the draft")
    wakeups = Recorded(stack.deps.wakeups)
    settings = stack.deps.settings.model_copy(update={"undo_seconds": undo_seconds})
    deps: Deps = replace(stack.deps, wakeups=wakeups, settings=settings)
    decided = decide(deps, action_id=draft.id, decision="approve", slack_user_id=REP_ID)
    assert decided.ok and decided.status == ActionStatus.approved
    return wakeups, draft


def test_with_no_undo_window_the_send_is_queued_at_once(stack: Stack) -> None:
    wakeups, _ = _approve(stack, undo_seconds=0)
    assert wakeups.sends == [None]


def test_inside_the_undo_window_the_send_waits_until_it_closes(stack: Stack) -> None:
    wakeups, _ = _approve(stack, undo_seconds=30)
    assert wakeups.sends == [stack.clock.now() + timedelta(seconds=30)]
