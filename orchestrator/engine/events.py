"""The orchestrator's vocabulary: events come in, sequences of steps run, steps return results."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from db.models import ActionType, SequenceJob
from orchestrator.engine.action_data import SHAPES, ActionData
from orchestrator.engine.event_types import PAYLOADS, EventType
from orchestrator.engine.outputs import StepOutput
from orchestrator.engine.shapes import Shape

if TYPE_CHECKING:
    from connectors.ports import CalendarPort, ChatPort, LLMPort
    from orchestrator.notices.post import Notices
    from orchestrator.views import Cards


@dataclass(frozen=True)
class Event:
    """Something happened; `dispatch` turns it into a sequence job exactly once per key."""

    type: EventType
    org_id: str
    idempotency_key: str
    payload: Shape
    source: str = "system"
    rep_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    parent_job_id: uuid.UUID | None = None
    correlation_id: str | None = None

    def __post_init__(self) -> None:
        # A payload of the wrong kind would only surface when a step reads it back.
        if type(self.payload) is not PAYLOADS[self.type]:
            raise TypeError(f"a {self.type} event carries {PAYLOADS[self.type].__name__}")


@dataclass(frozen=True)
class ProposedAction:
    """A side effect a step wants; it becomes a pending action the rep must approve."""

    action_type: ActionType
    action_data: ActionData
    key: str  # unique within the job; the pending action's idempotency key derives from it
    reasoning: str = ""
    confidence: float | None = None
    expires_in: timedelta | None = None

    def __post_init__(self) -> None:
        # Data of the wrong kind would only surface when the outbox reads it back.
        if type(self.action_data) is not SHAPES[self.action_type]:
            raise TypeError(f"a {self.action_type} carries {SHAPES[self.action_type].__name__}")


@dataclass
class StepResult:
    # A typed `StepOutput` when later steps read it, else a plain record for the logs.
    output: dict[str, Any] | StepOutput = field(default_factory=dict)
    actions: list[ProposedAction] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    stop: bool = False  # the sequence has nothing more to do
    # Run this same step again then, keeping `output` unwritten: e.g. a DM held in quiet hours.
    defer_until: datetime | None = None


@dataclass(frozen=True)
class StepPorts:
    """The little outside the job's transaction that steps use; the runner builds it from the
    process's `Deps`, so a step cannot reach the queue, Redis or the mailboxes."""

    chat: ChatPort
    cards: Cards
    calendar_for: Callable[[str], CalendarPort]  # by org_id
    # (org_id, rep_id) -> the model behind the org's monthly budget; None means rules only.
    llm_for: Callable[[str, uuid.UUID | None], LLMPort | None]
    notices: Notices
    mail_domain: str  # the right-hand side of the Message-IDs steps mint
    dm_per_hour_cap: int  # the morning brief shares the notices' hourly cap
    # What the slot finder is told besides calendars (HOLIDAY_COUNTRY, MEETING_BUFFER_MINUTES).
    holiday_country: str | None = None
    meeting_buffer: timedelta = timedelta(0)


@dataclass(frozen=True)
class StepContext:
    """What a step may touch: the job's transaction, the ports, and the time it runs at."""

    session: Session
    ports: StepPorts
    now: datetime


StepHandler = Callable[[SequenceJob, StepContext], StepResult]


@dataclass(frozen=True)
class Step:
    name: str
    handler: StepHandler
    critical: bool = True  # failure stops the sequence and tells the rep
    approval: bool = False  # the step's actions park the job until the rep decides
