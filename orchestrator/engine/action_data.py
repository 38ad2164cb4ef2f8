"""What a pending action carries in `action_data`, one shape per `ActionType`.

A step builds one of these and the runner stores its `to_json()`; everything after that reads
it back through `action_data(action, Shape)`, which validates the row and parses its times once.
The keys and formats are the ones the steps wrote as plain dicts, so rows already stored load
unchanged: a key the old readers defaulted is optional here too, and an optional key is left out
of new rows when it was left out before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from db.models import ActionType, PendingAction
from orchestrator.engine.shapes import Shape, ShapeError, optional_key


@dataclass(frozen=True, kw_only=True)
class ActionData(Shape):
    """What every action's card shows: whom it reaches, and the words."""

    to: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""

    def copied(self) -> tuple[str, ...]:
        return ()

    def guests(self) -> tuple[str, ...]:
        """The calendar attendees it would invite."""
        return ()

    def offered(self) -> list[datetime]:
        """The times it offers, earliest first."""
        return []

    def booked(self) -> tuple[datetime, datetime] | None:
        """The meeting it puts on the calendar."""
        return None


@dataclass(frozen=True, kw_only=True)
class EmailData(ActionData):
    to: tuple[str, ...]
    subject: str
    body: str
    cc: tuple[str, ...] | None = optional_key()
    message_id: str  # ours, chosen before the send so a retry can find it in Sent
    slots: tuple[datetime, ...] | None = optional_key()
    in_reply_to: str | None = optional_key()
    references: tuple[str, ...] | None = optional_key()
    # Stored (possibly null) exactly when the email answers another; see `to_json`.
    thread_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if self.in_reply_to is None:
            out.pop("thread_id")
        return out

    def copied(self) -> tuple[str, ...]:
        return self.cc or ()

    def offered(self) -> list[datetime]:
        return sorted(self.slots or ())


@dataclass(frozen=True, kw_only=True)
class FollowUpData(EmailData):
    attempt: int | None = optional_key()
    tone: str | None = optional_key()


@dataclass(frozen=True, kw_only=True)
class Guest(Shape):
    email: str
    name: str = ""
    optional: bool = False


@dataclass(frozen=True, kw_only=True)
class BookingData(ActionData):
    title: str
    start: datetime
    end: datetime
    attendees: tuple[Guest, ...]
    description: str = ""
    conference: str | None = None
    # A phone number or an address (a video meeting's place is its join link).
    location: str | None = optional_key()

    def guests(self) -> tuple[str, ...]:
        return tuple(g.email for g in self.attendees)

    def booked(self) -> tuple[datetime, datetime] | None:
        return self.start, self.end


@dataclass(frozen=True, kw_only=True)
class MoveData(BookingData):
    event_id: str  # the booked event it moves


@dataclass(frozen=True, kw_only=True)
class CancelData(ActionData):
    event_id: str
    reason: str = ""


SHAPES: dict[str, type[ActionData]] = {
    ActionType.email_initial: EmailData,
    ActionType.email_follow_up: FollowUpData,
    ActionType.email_confirmation: EmailData,
    ActionType.email_reminder: EmailData,
    ActionType.email_response: EmailData,
    ActionType.email_no_show: EmailData,
    ActionType.email_recap: EmailData,
    ActionType.calendar_book: BookingData,
    ActionType.calendar_update: MoveData,
    ActionType.calendar_cancel: CancelData,
}

D = TypeVar("D", bound=ActionData)


def action_data(action: PendingAction, shape: type[D], *, edited: bool = True) -> D:
    """The action's data as `shape` (its type's shape or a base of it): what will be sent, the
    rep's edits on top, or (`edited=False`) the draft as it was written.

    `ShapeError` when the row does not fit, which fails only the action that reads it.
    """
    own = SHAPES.get(action.action_type)
    if own is None or not issubclass(own, shape):
        wanted = shape.__name__
        raise ShapeError(f"action {action.id}: a {action.action_type} has no {wanted}")
    stored = action.effective_data() if edited else action.action_data
    try:
        data = own.from_json(stored)
    except ShapeError as exc:
        raise ShapeError(f"action {action.id}: {exc}") from None
    assert isinstance(data, shape)
    return data
