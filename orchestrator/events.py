"""The orchestrator's vocabulary: events come in, sequences of steps run, steps return results."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from db.models import ActionType, SequenceJob

if TYPE_CHECKING:
    from orchestrator.deps import Deps


@dataclass(frozen=True)
class Event:
    """Something happened; `dispatch` turns it into a sequence job exactly once per key."""

    type: str
    org_id: str
    idempotency_key: str
    source: str = "system"
    rep_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    parent_job_id: uuid.UUID | None = None
    correlation_id: str | None = None


@dataclass(frozen=True)
class ProposedAction:
    """A side effect a step wants; it becomes a pending action the rep must approve."""

    action_type: ActionType
    action_data: Mapping[str, Any]
    key: str  # unique within the job; the pending action's idempotency key derives from it
    reasoning: str = ""
    confidence: float | None = None
    expires_in: timedelta | None = None


@dataclass
class StepResult:
    output: dict[str, Any] = field(default_factory=dict)
    actions: list[ProposedAction] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    stop: bool = False  # the sequence has nothing more to do
    # Run this same step again then, keeping `output` unwritten: e.g. a DM held in quiet hours.
    defer_until: datetime | None = None


@dataclass(frozen=True)
class StepContext:
    """What a step may touch: the job's transaction, the ports, and the time it runs at."""

    session: Session
    deps: Deps
    now: datetime


StepHandler = Callable[[SequenceJob, StepContext], StepResult]


@dataclass(frozen=True)
class Step:
    name: str
    handler: StepHandler
    critical: bool = True  # failure stops the sequence and tells the rep
    approval: bool = False  # the step's actions park the job until the rep decides
