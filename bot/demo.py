"""`convene demo`: one scripted scheduling flow on embedded defaults, printed as a transcript.

Everything is real except the outside world: the Bolt app receives signed HTTP requests, the
orchestrator runs its steps through the RQ queue (in-process), cards go to a local Slack
stand-in over HTTP, emails land in the database-backed mailbox, and the prospect's reply is
read by the clock's mail intake. It is the sandbox's world (`bot/sandbox/world.py`), played by
a script instead of a person: the first email, the prospect's "Tuesday at 10 works", the
booking, the invite, and the next morning's brief.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from email import message_from_string, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.local_slack import Message
from bot.sandbox.inbox import Mail, prospect_threads, read_mail, reply_to
from bot.sandbox.seed import PROSPECT, REP
from bot.sandbox.world import World
from bot.slack_requests import button_click, slash_command
from connectors.clock import ManualClock
from db.models import (
    ActionStatus,
    ActionType,
    LocalCalendarEvent,
    PendingAction,
    SchedulingAction,
    SchedulingRequest,
)
from orchestrator.logs import configure as configure_logs

COMMAND = (
    f'demo with {PROSPECT.email} next week 45m "Happy to walk you through SSO and the CRM sync."'
)
REPLY = "Tuesday at 10 works for me. Talk then!"

Echo = Callable[[str], None]


def _text(obj: dict[str, Any] | None) -> str:
    return str((obj or {}).get("text", ""))


def _element(element: dict[str, Any]) -> str:
    if options := element.get("options"):
        kind = "( )" if element.get("type") == "radio_buttons" else "[ ]"
        return "  ".join(f"{kind} {_text(o.get('text'))}" for o in options)
    return f"[{_text(element.get('text') or element.get('placeholder'))}]"


def blocks_as_text(blocks: list[dict[str, Any]]) -> str:
    """A plain-text rendering of Block Kit, close to what the rep sees."""
    lines: list[str] = []
    for block in blocks:
        if block["type"] == "section":
            if block.get("text"):
                lines.append(_text(block["text"]))
            lines.extend(_text(f) for f in block.get("fields") or [])
            if accessory := block.get("accessory"):
                lines.append(_element(accessory))
        elif block["type"] in ("context",):
            lines.append("  " + " ".join(_text(e) for e in block["elements"]))
        elif block["type"] == "actions":
            lines.append("  ".join(_element(e) for e in block["elements"]))
        elif block["type"] == "header":
            lines.append(_text(block.get("text")).upper())
        elif block["type"] == "divider":
            lines.append("─" * 20)
    return "\n".join(lines)


def _wait(predicate: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def run_demo(*, echo: Echo) -> int:
    configure_logs(level="WARNING")  # the transcript is the output; logs only when things break
    with tempfile.TemporaryDirectory() as workdir:
        return _run(Path(workdir), echo)


def _run(workdir: Path, echo: Echo) -> int:
    clock = ManualClock(datetime.now(UTC).replace(second=0, microsecond=0))
    world = World.start(workdir, clock=clock)
    try:
        _play(world, clock, echo)
    finally:
        world.stop()
    return 0


def _play(world: World, clock: ManualClock, echo: Echo) -> None:
    slack = world.slack
    echo(f"── {REP.name} types in Slack:\n   /schedule {COMMAND}\n")
    reply = world.send(
        slash_command(
            text=COMMAND,
            user_id=REP.slack_id,
            team_id=slack.team_id,
            response_url=slack.hook_url("cmd"),
            trigger_id="1.demo",
        )
    )
    echo(f"── Convene acks within Slack's 3 s: HTTP {reply.status}")
    confirm = _wait(lambda: slack.responses, "the confirm card")[0]
    echo("   (only Sam sees) what Convene understood:")
    echo(_indent(blocks_as_text(confirm["blocks"])) + "\n")

    echo("── Sam clicks [Start]")
    start = next(
        e
        for b in confirm["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == "start_request"
    )
    world.send(
        button_click(
            action_id="start_request",
            value=start["value"],
            user_id=REP.slack_id,
            team_id=slack.team_id,
            response_url=slack.hook_url("start"),
            channel_id="C0GENERAL",
            message_ts="ephemeral",
        )
    )
    started = _wait(lambda: [r for r in slack.responses if r["hook"] == "start"], "Start")
    echo(f"   (only Sam sees) {started[0]['text']}\n")

    world.run()  # find slots → draft → post the approval card
    card = _wait(lambda: slack.messages, "the approval card")[0]
    echo(f"── Convene DMs Sam an approval card ({card.channel}):")
    echo(_indent(blocks_as_text(card.blocks)) + "\n")
    _approve(world, clock, card, echo)
    _show_mail(world, echo)
    _show_request(world, echo)

    first = prospect_threads(world)[0].last
    echo(f'\n── {PROSPECT.name} replies in the thread: "{REPLY}"')
    clock.advance(timedelta(hours=2))
    raw, to = reply_to(first, text=REPLY, sender=PROSPECT, now=clock.now())
    world.deliver(raw, to=to)
    world.tick()  # the clock's mail intake reads the reply; the worker understands it
    booking = _card_for(world, ActionType.calendar_book)
    echo("── The clock reads Sam's mailbox; Convene understands the reply and DMs a booking card:")
    echo(_indent(blocks_as_text(booking.blocks)) + "\n")
    _approve(world, clock, booking, echo)
    _show_invite(world, echo)
    _show_calendar(world, echo)
    confirmation = _card_for(world, ActionType.email_confirmation)
    echo("── …and drafts the confirmation in their thread, for Sam to approve too:")
    echo(_indent(blocks_as_text(confirmation.blocks)) + "\n")
    _approve(world, clock, confirmation, echo)
    _show_request(world, echo)
    _show_brief(world, clock, echo)


def _approve(world: World, clock: ManualClock, card: Message, echo: Echo) -> None:
    """Approve & send on `card`, then let the undo window pass and the clock send it."""
    slack = world.slack
    action_id = next(
        e["value"]
        for b in card.blocks
        for e in b.get("elements", [])
        if e.get("action_id") == "approve_action"
    )
    echo("── Sam clicks [Approve & send]")
    before = len(slack.message(card.channel, card.ts).history)
    world.send(
        button_click(
            action_id="approve_action",
            value=action_id,
            user_id=REP.slack_id,
            team_id=slack.team_id,
            response_url=slack.hook_url(f"click-{action_id}"),
            channel_id=card.channel,
            message_ts=card.ts,
        )
    )
    _wait(lambda: len(slack.message(card.channel, card.ts).history) > before, "the card update")
    echo(_indent(blocks_as_text(slack.message(card.channel, card.ts).blocks)) + "\n")
    undo = world.deps.settings.undo_seconds
    clock.advance(timedelta(seconds=undo))
    echo(f"── {undo} s later the undo window closes; the clock sends it")
    world.tick()
    echo(_indent(blocks_as_text(slack.message(card.channel, card.ts).blocks)) + "\n")


def _card_for(world: World, kind: ActionType) -> Message:
    """The DM card of the newest pending `kind` draft."""

    def posted() -> Message | None:
        with world.deps.uow() as uow:
            action = uow.session.exec(
                select(PendingAction)
                .where(col(PendingAction.action_type) == kind)
                .where(col(PendingAction.status) == ActionStatus.pending)
                .order_by(col(PendingAction.created_at).desc())
            ).first()
        if action is None or action.slack_ts is None:
            world.run()
            return None
        return world.slack.message(str(action.slack_channel), action.slack_ts)

    return _wait(posted, f"the {kind} card")


def _mails_to_prospect(world: World) -> list[Mail]:
    return [read_mail(m.raw, ours=False) for m in world.mailbox.messages(mailbox=PROSPECT.email)]


def _show_mail(world: World, echo: Echo) -> None:
    inbox = world.mailbox.messages(mailbox=PROSPECT.email)
    echo(f"── {PROSPECT.email}'s inbox now holds {len(inbox)} message(s):")
    for stored in inbox:
        message = message_from_string(stored.raw, policy=policy.default)
        for header in ("From", "To", "Subject", "Message-ID"):
            echo(f"   {header}: {message[header]}")
        body = message.get_body(preferencelist=("plain",))
        echo(_indent(body.get_content().rstrip() if body else "") + "\n")


def _show_invite(world: World, echo: Echo) -> None:
    mails = _mails_to_prospect(world)
    echo(f"── {PROSPECT.email}'s inbox now holds {len(mails)} message(s); the newest:")
    newest = mails[-1]
    echo(f"   From: {newest.sender}\n   Subject: {newest.subject}")
    if newest.invite is not None:
        invite = newest.invite
        start = _local(invite.start) if isinstance(invite.start, datetime) else "?"
        echo(
            f"   📅 invite attached (METHOD:{invite.method}): {invite.summary}, {start}, "
            f"attendees {', '.join(invite.attendees)}\n"
        )


def _show_calendar(world: World, echo: Echo) -> None:
    with world.deps.uow() as uow:
        request = uow.session.exec(select(SchedulingRequest)).one()
        event = uow.session.exec(
            select(LocalCalendarEvent).where(
                LocalCalendarEvent.event_id == (request.calendar_event_id or "")
            )
        ).first()
    if event is None:
        echo("── (no event on the calendar)\n")
        return
    start = event.start if event.start.tzinfo else event.start.replace(tzinfo=UTC)
    end = event.end if event.end.tzinfo else event.end.replace(tzinfo=UTC)
    echo(
        f"── On {event.calendar}'s calendar: {event.title}, {_local(start)}–"
        f"{end.astimezone(ZoneInfo(REP.tz)):%H:%M}\n"
    )


def _show_brief(world: World, clock: ManualClock, echo: Echo) -> None:
    """Move the clock to the meeting's morning, just past Sam's brief time, and tick."""
    with world.deps.uow() as uow:
        request = uow.session.exec(select(SchedulingRequest)).one()
    assert request.meeting_start is not None
    zone = ZoneInfo(REP.tz)
    day = request.meeting_start.astimezone(zone).date()
    brief_at = datetime.combine(day, clock_time(8, 1), zone)
    if brief_at > clock.now():
        clock.advance(brief_at - clock.now())
    before = len(world.slack.messages)
    world.tick()
    echo(f"── {_local(clock.now())}: the clock's tick sends Sam's morning brief:")
    briefs = [
        m
        for m in world.slack.messages[before:]
        if any("brief" in str(b).lower() or "today" in str(b).lower() for b in m.blocks)
    ]
    shown = briefs[0] if briefs else None
    if shown is None:
        echo("   (no brief was posted)")
        return
    echo(_indent(blocks_as_text(shown.blocks)) + "\n")


def _show_request(world: World, echo: Echo) -> None:
    with world.deps.uow() as uow:
        request = uow.session.exec(select(SchedulingRequest)).one()
        audit = uow.session.exec(
            select(SchedulingAction).order_by(col(SchedulingAction.created_at))
        ).all()
    due = ""
    if request.next_action_at:
        due = f", follow-up due {_local(request.next_action_at)} unless they reply"
    if request.meeting_start:
        due = f", meeting {_local(request.meeting_start)}"
    echo(f"── Request {request.ref}: status {request.status}{due}")
    echo("   Audit trail: " + " → ".join(row.action_type for row in audit))


def _local(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(ZoneInfo(REP.tz)):%a %b %d %H:%M %Z}"


def _indent(text: str) -> str:
    return "\n".join("   │ " + line for line in text.splitlines())
