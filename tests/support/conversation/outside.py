"""Turns by the world around the rep and the prospect: events on a calendar, the time zone a CRM
knows for a prospect, and the clock moving on."""

from __future__ import annotations

from datetime import datetime, timedelta

from db.models import LocalCalendarEvent
from tests.support.conversation.script import Turn
from tests.support.conversation.world import PROSPECT, Busy, World

# --- facts the outside world owns ----------------------------------------------------------------


def prospect_is_in(zone: str, address: str = PROSPECT) -> Turn:
    """The rep's records say where the prospect is; applied when the request is created."""

    def run(w: World) -> None:
        w.zones[address] = zone

    return Turn(f"{address} is known to be in {zone}", run)


def calendar_busy(owner: str, start: datetime, end: datetime, title: str = "Busy") -> Turn:
    def run(w: World) -> None:
        busy = Busy(owner, start, end, event_id=f"busy-{len(w.busy) + 1}")
        with w.stack.deps.uow() as uow:
            # The embedded calendar serves every org under one name.
            uow.session.add(
                LocalCalendarEvent(
                    org_id="embedded",
                    calendar=owner,
                    event_id=busy.event_id,
                    title=title,
                    start=start,
                    end=end,
                )
            )
            uow.commit()
        w.busy.append(busy)

    return Turn(f"{owner} is busy {start:%a %b %d %H:%M}–{end:%H:%M %Z} ({title})", run)


# --- the clock ----------------------------------------------------------------------------------


def hours_pass(hours: float) -> Turn:
    def run(w: World) -> None:
        w.stack.clock.advance(timedelta(hours=hours))
        w.clock_runs()

    return Turn(f"{hours:g} hours pass", run)


def clock_reaches(moment: datetime) -> Turn:
    def run(w: World) -> None:
        assert moment >= w.stack.clock.now(), f"{moment} is in the past"
        w.stack.clock.advance(moment - w.stack.clock.now())
        w.clock_runs()

    return Turn(f"the clock reaches {moment:%a %b %d %H:%M %Z}", run)
