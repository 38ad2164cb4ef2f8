"""What a step leaves in `job.outputs` for the steps after it, one shape per step.

The runner stores a step's output under the step's name; `output(job, Shape)` reads it back
validated (None when the step has not run, or left a plain record such as `{"skipped": ...}`
when it stopped the sequence, which nothing after it reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar

from db.models import SequenceJob
from orchestrator.engine.shapes import Shape, ShapeError, optional_key


@dataclass(frozen=True)
class StepOutput(Shape):
    STEP: ClassVar[str]  # the step whose output this is: its key in `job.outputs`


@dataclass(frozen=True)
class OfferedSlot(Shape):
    """A time offered to the prospect, as `SchedulingRequest.proposed_slots` holds it too."""

    start: datetime
    end: datetime
    reasons: tuple[str, ...] | None = optional_key()  # absent on a recovery email's times


@dataclass(frozen=True)
class UnderstandReply(StepOutput):
    STEP = "understand_reply"

    email_message_id: str
    intent: str
    confidence: str
    sentiment: str
    escalate: bool
    source: str
    reasoning: str
    matched_slot: datetime | None = None
    question: str | None = None
    delegate_name: str | None = None
    delegate_email: str | None = None
    ooo_return: date | None = None
    reschedule_later: str | None = None
    # Exact times a counter-proposal names; empty for every other intent.
    proposed_times: tuple[datetime, ...] = ()
    # What else the reply does besides `intent` ("question", "out_of_office", …).
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssessedOption(Shape):
    slot: datetime
    attendees: tuple[str, ...]
    fits_all: bool


@dataclass(frozen=True)
class Assess(StepOutput):
    STEP = "assess"

    next_action: str | None = None
    subtype: str = ""
    needs_rep: bool = False
    score: int | None = None
    reasons: tuple[str, ...] = ()
    summary: str | None = None
    attendees: tuple[str, ...] = ()
    slot: datetime | None = None
    alternatives: tuple[AssessedOption, ...] = ()


@dataclass(frozen=True)
class FindTimes(StepOutput):
    STEP = "find_times"

    options: tuple[OfferedSlot, ...]


@dataclass(frozen=True)
class OfferTimes(StepOutput):
    STEP = "offer_times"

    channel: str
    ts: str


@dataclass(frozen=True)
class CheckFollowUp(StepOutput):
    STEP = "check_follow_up"

    attempt: int


@dataclass(frozen=True)
class DraftFollowUp(StepOutput):
    STEP = "draft_follow_up"

    attempt: int
    tone: str
    slots: tuple[OfferedSlot, ...]


@dataclass(frozen=True)
class DraftRecovery(StepOutput):
    STEP = "draft_recovery"

    reason: str
    slots: tuple[OfferedSlot, ...]


Out = TypeVar("Out", bound=StepOutput)


def output(job: SequenceJob, shape: type[Out]) -> Out | None:
    """The output `shape.STEP` stored on the job; `ShapeError` when it holds something else."""
    stored: Any = job.outputs.get(shape.STEP)
    if stored is None:
        return None
    try:
        return shape.from_json(stored)
    except ShapeError as exc:
        raise ShapeError(f"job {job.id}: output of {shape.STEP}: {exc}") from None


def required(job: SequenceJob, shape: type[Out]) -> Out:
    """`output`, for a step the sequence always runs before the reader."""
    found = output(job, shape)
    if found is None:
        raise ShapeError(f"job {job.id}: no output from {shape.STEP}")
    return found
