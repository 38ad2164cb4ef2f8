"""Scripted conversations: a rep, a prospect and the clock taking turns on the running stack.

A conversation is a name and a list of turns. A turn is one thing a person (or the clock, or a
mail server) does, or one expectation about where things stand afterwards; each carries the
sentence that describes it, so a failure reads like "conversation 'x', turn 7 (prospect
john@acme.example replies 'Tuesday works'): ...". Turns are built by the plain functions below
and run in order against a :class:`World`, which remembers what the script has seen so far (the
times each email offered, the prospect's replies, the DMs already read).

Nothing here reaches into the product's internals: the rep acts through signed Slack requests,
the prospect through the embedded mailbox, time through the manual clock and the clock's tick.
The only direct writes are facts the outside world owns: events on a calendar, the time zone a
CRM knows for a prospect (Slack offers no field for it yet), and a mail cursor rewound to stand
in for a poller that crashed after reading.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.local_slack import Message
from db.models import (
    ActionStatus,
    LocalCalendarEvent,
    PendingAction,
    Rep,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
)
from tests.support.stack import OTHER_ID, REP_ID, USERS, Stack, wait_for

# --- who takes part ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    slack_id: str
    email: str
    name: str
    tz: str


def _slack_person(slack_id: str) -> Person:
    user = USERS[slack_id]
    profile: dict[str, str] = user["profile"]  # type: ignore[assignment]
    return Person(slack_id, profile["email"], profile["real_name"], str(user["tz"]))


RITA = _slack_person(REP_ID)  # the rep in New York
OTTO = _slack_person(OTHER_ID)  # a rep (or Rita's teammate) in Berlin

PROSPECT = "john@acme.example"
PROSPECT_NAME = "John Doe"


# --- the script's shape --------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    text: str  # what happens, in the words a person would use
    run: Callable[[World], None]

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Conversation:
    name: str
    turns: tuple[Turn, ...]
    rep: Person = RITA

    def __str__(self) -> str:
        return self.name


def conversation(name: str, *turns: Turn, rep: Person = RITA) -> Conversation:
    return Conversation(name, turns, rep)


def play(script: Conversation, stack: Stack) -> None:
    """Run every turn in order; the first failure names the conversation and the turn."""
    world = World(stack, script.rep)
    for number, turn in enumerate(script.turns, start=1):
        try:
            turn.run(world)
        except Exception as exc:  # noqa: BLE001 - re-raised with where it happened
            raise AssertionError(
                f"conversation {script.name!r}, turn {number} ({turn}): {type(exc).__name__}: {exc}"
            ) from exc


# --- what the script has seen --------------------------------------------------------------------


@dataclass(frozen=True)
class Busy:
    """An event the script put on someone's calendar (not one Convene booked)."""

    owner: str
    start: datetime
    end: datetime
    event_id: str


@dataclass
class World:
    stack: Stack
    rep: Person
    zones: dict[str, str] = field(default_factory=dict)  # prospect address -> IANA zone
    busy: list[Busy] = field(default_factory=list)
    offers: list[tuple[datetime, ...]] = field(default_factory=list)  # per email, oldest first
    replies: list[MimeMessage] = field(default_factory=list)  # theirs, oldest first
    cursor_before_reply: str | None = None
    dms_read: int = 0

    # --- reading the stack ---

    def request(self) -> SchedulingRequest:
        (request,) = self.stack.rows(SchedulingRequest)
        return request

    def actions(self, kind: str | None = None) -> list[PendingAction]:
        where = [col(PendingAction.action_type) == kind] if kind else []
        return sorted(self.stack.rows(PendingAction, *where), key=lambda a: a.created_at)

    def action(self, action_id: Any) -> PendingAction:
        (action,) = self.stack.rows(PendingAction, col(PendingAction.id) == action_id)
        return action

    def audit(self) -> list[SchedulingAction]:
        return sorted(self.stack.rows(SchedulingAction), key=lambda a: a.created_at)

    def mail_to(self, address: str) -> list[MimeMessage]:
        """The emails `address` received from the rep, without calendar invitations (those
        come with every booking on the embedded calendar; tests/test_ics_invites.py checks
        them)."""
        return [
            message
            for message in (_parse(m.raw) for m in self.stack.inbox(address))
            if not any(part.get_content_type() == "text/calendar" for part in message.walk())
        ]

    def dms(self) -> list[str]:
        """Plain-text DMs to the rep, oldest first (cards carry blocks; these are notices)."""
        channel = f"D{self.rep.slack_id}"
        return [m.text for m in self.stack.slack.messages if m.channel == channel and not m.blocks]

    def card_of(self, kind: str) -> tuple[PendingAction, Message]:
        """The newest undecided draft of `kind` and its card as the rep's client shows it."""

        def posted() -> tuple[PendingAction, Message] | None:
            drafts = [a for a in self.actions(kind) if a.slack_ts and a.status == "pending"]
            if not drafts:
                return None
            cards = [c for c in self.stack.cards() if c.ts == drafts[-1].slack_ts]
            return (drafts[-1], cards[0]) if cards else None

        found: tuple[PendingAction, Message] = wait_for(posted, f"a pending {kind} card")
        return found

    def booked(self) -> list[LocalCalendarEvent]:
        """What Convene put on the rep's calendar."""
        ours = {b.event_id for b in self.busy}
        events = self.stack.rows(
            LocalCalendarEvent, col(LocalCalendarEvent.calendar) == self.rep.email
        )
        return [e for e in events if e.event_id not in ours]

    def zone_of(self, address: str) -> str:
        """Where the script put this person; everyone else shares the request's zone."""
        return self.zones.get(address, self.request().timezone)

    # --- what the clock process does ---

    def clock_runs(self) -> None:
        """One pass of the clock process (re-wake lost work, start what is due, read new
        mail), then the worker runs everything that started."""
        self.stack.tick()

    def wait_out_the_undo_window(self) -> None:
        self.stack.clock.advance(timedelta(seconds=self.stack.deps.settings.undo_seconds))
        self.clock_runs()


def _parse(raw: str) -> MimeMessage:
    message = message_from_string(raw, policy=policy.default)
    assert isinstance(message, MimeMessage)
    return message


def plain_text(message: MimeMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    # Mail travels with CRLF line ends; the script writes "\n".
    return str(part.get_content()).replace("\r\n", "\n")


# --- times the script refers to ------------------------------------------------------------------


@dataclass(frozen=True)
class Offered:
    """The n-th time (from 1) listed in the latest email that offered times."""

    n: int

    def __str__(self) -> str:
        return f"offered time #{self.n}"


When = datetime | Offered


def local(text: str, zone: str) -> datetime:
    """`local("2026-12-09 14:00", "America/New_York")`: a wall-clock time somewhere."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def resolve(world: World, when: When) -> datetime:
    if isinstance(when, datetime):
        return when
    assert world.offers, "no email has offered times yet"
    latest = world.offers[-1]
    assert len(latest) >= when.n, f"the latest email offered only {len(latest)} times"
    return latest[when.n - 1]


# Times as the emails write them: "Tue, Dec 8 at 9:00 AM EST", and when the rep's zone differs,
# the same moment in theirs: "(3:00 PM CET)".
_CLOCK = r"(\d{1,2}):(\d{2}) (AM|PM) ([A-Z][A-Za-z]{1,4}|[+-]\d{2,4})"
_SLOT = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    rf"(\d{{1,2}}) at {_CLOCK}(?: \({_CLOCK}\))?"
)
# Anything else that looks like a time of day.
_STRAY_TIME = re.compile(r"\b\d{1,2}(?::\d{2})?\s?[ap]\.?m\b|\b\d{1,2}:\d{2}\b", re.IGNORECASE)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _hour(hour: str, half: str) -> int:
    return int(hour) % 12 + (12 if half == "PM" else 0)


def times_in(body: str, *, zone: str, rep_zone: str, now: datetime) -> list[datetime]:
    """Every time the body mentions, read independently of the code that wrote it. Each must
    be written in `zone` (its abbreviation checked), with `rep_zone`'s clock alongside only
    when that differs; any other time-like text is an error, not silently skipped."""
    found = []
    for match in _SLOT.finditer(body):
        weekday, month, day, hour, minute, half, abbrev = match.groups()[:7]
        moment = None
        for year in (now.year, now.year + 1):
            candidate = datetime(
                year,
                _MONTHS.index(month) + 1,
                int(day),
                _hour(hour, half),
                int(minute),
                tzinfo=ZoneInfo(zone),
            )
            if candidate >= now - timedelta(days=1):
                moment = candidate
                break
        assert moment is not None, f"{match.group(0)!r} is in the past"
        assert f"{moment:%a}" == weekday, f"{match.group(0)!r}: that date is not a {weekday}"
        assert moment.tzname() == abbrev, f"{match.group(0)!r} is not in {zone}"
        also = match.groups()[7:]
        ours = moment.astimezone(ZoneInfo(rep_zone))
        if also[0] is not None:
            shown = (_hour(also[0], also[2]), int(also[1]), also[3])
            assert shown == (ours.hour, ours.minute, ours.tzname()), (
                f"{match.group(0)!r}: the bracketed time is not the same moment in {rep_zone}"
            )
        else:
            assert ours.tzname() == moment.tzname(), (
                f"{match.group(0)!r} should also show the time in {rep_zone}"
            )
        found.append(moment)
    leftover = _STRAY_TIME.findall(_SLOT.sub("", body))
    assert not leftover, f"times not written as a slot: {leftover} in {body!r}"
    return found


# --- turns: the rep in Slack ---------------------------------------------------------------------


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


def _after_request_created(w: World) -> None:
    """What happens while the rep waits for the card: the known zones go on the attendee rows
    (before the worker picks times for them), the worker drafts, and the clock's next mail
    poll starts reading the rep's inbox."""
    request = w.request()
    with w.stack.deps.uow() as uow:
        for address, zone in w.zones.items():
            rows = uow.session.exec(
                select(SchedulingAttendee).where(
                    SchedulingAttendee.request_id == request.id,
                    SchedulingAttendee.email == address,
                )
            ).all()
            assert rows, f"{address} is not on the request"
            for row in rows:
                row.timezone = zone
                uow.session.add(row)
        uow.commit()
    w.stack.drain()
    w.stack.poll_mail()


def rep_schedules(text: str) -> Turn:
    def run(w: World) -> None:
        answer = w.stack.schedule(text, user=w.rep.slack_id)
        assert "finding times" in answer, answer
        _after_request_created(w)

    return Turn(f"rep runs /schedule {text}", run)


def rep_fills_in_the_form(
    *,
    guests: Sequence[str],
    teammates: Sequence[str] = (),
    meeting: str = "demo",
    first_day: date,
    last_day: date,
) -> Turn:
    """`/schedule` alone opens the form; the rep fills it in and submits."""

    def run(w: World) -> None:
        before = len(w.stack.slack.modals)
        w.stack.command("", user=w.rep.slack_id)
        view = wait_for(lambda: w.stack.slack.modals[before:], "the new-request form")[0]
        values = {
            "meeting_type": {"meeting_type": {"selected_option": {"value": meeting}}},
            "duration": {"duration": {"selected_option": None}},
            "teammates": {"teammates": {"selected_users": list(teammates)}},
            "guests": {"guests": {"value": "\n".join(guests)}},
            "window_start": {"window_start": {"selected_date": first_day.isoformat()}},
            "window_end": {"window_end": {"selected_date": last_day.isoformat()}},
            "preferred": {"preferred": {"selected_options": []}},
            "avoid": {"avoid": {"selected_options": []}},
            "platform": {"platform": {"selected_option": {"value": "google_meet"}}},
            "context": {"context": {"value": ""}},
        }
        reply = w.stack.submit(view, values, user=w.rep.slack_id)
        assert reply.status == 200 and reply.body == "", reply.body
        # The form's "finding times" DM comes after the request and its job are queued.
        wait_for(lambda: [d for d in w.dms() if "finding times" in d], "the form's answer")
        w.dms_read = len(w.dms())
        _after_request_created(w)

    who = ", ".join([*guests, *(f"<@{t}>" for t in teammates)])
    return Turn(f"rep submits the new-request form for a {meeting} with {who}", run)


def rep_approves(kind: str) -> Turn:
    """Approve & send, let the undo window pass, and the clock runs the send."""

    def run(w: World) -> None:
        draft, card = w.card_of(kind)
        assert w.stack.click("approve_action", card, user=w.rep.slack_id).status == 200
        wait_for(lambda: w.action(draft.id).status != "pending", "the approval")
        w.wait_out_the_undo_window()
        done = w.action(draft.id)
        assert done.status == ActionStatus.executed, f"{kind} is {done.status}: {done.error}"
        slots = done.effective_data().get("slots")
        if slots:
            w.offers.append(tuple(datetime.fromisoformat(s) for s in slots))

    return Turn(f"rep approves the {kind} card", run)


def rep_edits(kind: str, *, subject: str, body: str) -> Turn:
    def run(w: World) -> None:
        draft, card = w.card_of(kind)
        before = len(w.stack.slack.modals)
        w.stack.click("edit_action", card, user=w.rep.slack_id)
        modal = wait_for(lambda: w.stack.slack.modals[before:], "the edit modal")[0]
        values = {"subject": {"subject": {"value": subject}}, "body": {"body": {"value": body}}}
        reply = w.stack.submit(modal, values, user=w.rep.slack_id)
        assert reply.status == 200 and reply.body == "", reply.body
        assert w.action(draft.id).edited_data == {"subject": subject, "body": body}

    return Turn(f"rep edits the {kind} draft to {subject!r} / {body[:40]!r}", run)


def rep_rejects(kind: str, *, reason: str) -> Turn:
    def run(w: World) -> None:
        draft, card = w.card_of(kind)
        before = len(w.stack.slack.modals)
        w.stack.click("reject_action", card, user=w.rep.slack_id)
        modal = wait_for(lambda: w.stack.slack.modals[before:], "the reject modal")[0]
        reply = w.stack.submit(
            modal, {"reason": {"reason": {"value": reason}}}, user=w.rep.slack_id
        )
        assert reply.status == 200 and reply.body == "", reply.body
        wait_for(lambda: w.action(draft.id).status == "rejected", "the rejection")
        # The reason is kept for whoever writes the next draft.
        assert w.action(draft.id).result == {"reject_reason": reason}
        w.clock_runs()

    return Turn(f"rep rejects the {kind} draft: {reason!r}", run)


def rep_undoes(kind: str, *, after_seconds: int = 10) -> Turn:
    """Approve, then Undo on the card before the window closes; then the window passes."""

    def run(w: World) -> None:
        draft, card = w.card_of(kind)
        w.stack.click("approve_action", card, user=w.rep.slack_id)

        def undo_card() -> Message | None:
            shown = w.stack.slack.message(card.channel, card.ts)
            return shown if "undo_action" in str(shown.blocks) else None

        undo = wait_for(undo_card, "the Undo button")
        w.stack.clock.advance(timedelta(seconds=after_seconds))
        w.stack.click("undo_action", undo, user=w.rep.slack_id)
        wait_for(lambda: w.action(draft.id).status == "cancelled", "the undo")
        w.stack.clock.advance(timedelta(minutes=5))
        w.clock_runs()

    return Turn(f"rep approves the {kind} card and clicks Undo after {after_seconds} s", run)


def rep_runs(subcommand: str, *, answer: str) -> Turn:
    """`/schedule pause ACME-1` and friends; `answer` is what the rep must be told."""

    def run(w: World) -> None:
        reply = w.stack.command(f"{subcommand} {w.request().ref}", user=w.rep.slack_id)
        text = w.stack.command_response(reply)
        assert answer in text, text
        w.clock_runs()

    return Turn(f"rep runs /schedule {subcommand}", run)


def rep_cancels() -> Turn:
    """`/schedule cancel ACME-1` asks first; the rep clicks the red button."""

    def run(w: World) -> None:
        ref = w.request().ref
        reply = w.stack.command(f"cancel {ref}", user=w.rep.slack_id)
        body = json.loads(reply.body)
        prompt = Message(channel="C0GENERAL", ts="1.1", text=body["text"], blocks=body["blocks"])
        w.stack.click("cancel_request", prompt, user=w.rep.slack_id)
        hook = w.stack.last_hook
        told = wait_for(
            lambda: [r for r in w.stack.slack.responses if r["hook"] == hook], "the answer"
        )
        assert told[0]["text"] == f"Cancelled {ref}. Nothing more will be sent.", told
        w.clock_runs()

    return Turn("rep runs /schedule cancel and confirms", run)


# --- turns: the clock ----------------------------------------------------------------------------


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


# --- turns: the prospect's side ------------------------------------------------------------------


def _reply(
    original: MimeMessage,
    text: str,
    *,
    sender: str,
    to: str,
    subject: str | None,
    in_reply_to: bool,
    references: bool,
    now: datetime,
) -> MimeMessage:
    """A reply as a mail client writes it: new text on top, the original quoted below."""
    msg = MimeMessage()
    msg["From"] = sender
    msg["To"] = to
    bare = _bare(original["Subject"])
    msg["Subject"] = subject.format(original=bare) if subject is not None else f"Re: {bare}"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain="mail.acme.example")
    chain = [*(original["References"] or "").split(), original["Message-ID"]]
    if in_reply_to:
        msg["In-Reply-To"] = original["Message-ID"]
    if references:
        msg["References"] = " ".join(chain)
    quoted = "\n".join(f"> {line}" for line in plain_text(original).splitlines())
    msg.set_content(f"{text}\n\nOn {original['Date']} {original['From']} wrote:\n{quoted}\n")
    return msg


def _bare(subject: str) -> str:
    return re.sub(r"^(?:\s*re\s*:\s*)+", "", subject, flags=re.IGNORECASE)


def prospect_replies(
    text: str,
    *,
    sender: str = PROSPECT,
    name: str = PROSPECT_NAME,
    mailbox: str = PROSPECT,
    subject: str | None = None,
    in_reply_to: bool = True,
    references: bool = True,
) -> Turn:
    """They answer the latest email in `mailbox`'s inbox (from `sender`, which a relay may have
    rewritten); the clock's next poll reads it from the rep's inbox. A `subject` may name the
    original's as "{original}"."""

    def run(w: World) -> None:
        received = w.mail_to(mailbox)
        assert received, f"{mailbox} has received nothing to reply to"
        reply = _reply(
            received[-1],
            text,
            sender=f"{name} <{sender}>",
            to=f"{w.rep.name} <{w.rep.email}>",
            subject=subject,
            in_reply_to=in_reply_to,
            references=references,
            now=w.stack.clock.now(),
        )
        (rep,) = w.stack.rows(Rep, col(Rep.email) == w.rep.email)
        w.cursor_before_reply = rep.mail_cursor
        w.replies.append(reply)
        w.stack.deliver(bytes(reply), to=w.rep.email)
        w.stack.poll_mail()

    how = []
    if sender != mailbox:
        how.append(f"from {sender}")
    if subject is not None:
        how.append(f"subject {subject!r}")
    if not in_reply_to:
        how.append("no In-Reply-To")
    extra = f" ({', '.join(how)})" if how else ""
    return Turn(f"{mailbox} replies {text!r}{extra}", run)


def rep_treats_it_as_the_prospects_reply() -> Turn:
    """A reply from someone not on the request came in as a card; the rep presses its button
    and the reply sequence runs on it as on the prospect's own answer."""

    def run(w: World) -> None:
        cards = [c for c in w.stack.cards() if "someone else" in c.text]
        assert cards, "no card about a reply from someone else"
        assert w.stack.click("take_stranger_reply", cards[-1], user=w.rep.slack_id).status == 200
        wait_for(
            lambda: any("Treat as the prospect" in m.text for m in w.stack.slack.messages),
            "the card to show the choice",
        )
        w.stack.drain()

    return Turn("rep treats it as the prospect's reply", run)


def the_same_reply_arrives_again() -> Turn:
    """At-least-once delivery: the provider hands over the last reply again, and a poller that
    crashed before saving its cursor reads the same batch once more."""

    def run(w: World) -> None:
        assert w.replies, "no reply to repeat"
        w.stack.deliver(bytes(w.replies[-1]), to=w.rep.email)
        w.stack.poll_mail()
        with w.stack.deps.uow() as uow:
            (rep,) = w.stack.rows(Rep, col(Rep.email) == w.rep.email)
            row = uow.session.get_one(Rep, rep.id)
            row.mail_cursor = w.cursor_before_reply
            uow.session.add(row)
            uow.commit()
        counts = w.stack.poll_mail()
        assert counts.get("duplicates") == 1, f"the re-read batch was counted as {counts}"

    return Turn("the same reply is delivered and read again", run)


def auto_reply_arrives(text: str, *, sender: str = PROSPECT) -> Turn:
    def run(w: World) -> None:
        received = w.mail_to(sender)
        assert received, f"nothing was sent to {sender}"
        original = received[-1]
        msg = MimeMessage()
        msg["From"] = f"{PROSPECT_NAME} <{sender}>"
        msg["To"] = w.rep.email
        msg["Subject"] = f"Automatic reply: {original['Subject']}"
        msg["Date"] = format_datetime(w.stack.clock.now())
        msg["Message-ID"] = make_msgid(domain="mail.acme.example")
        msg["In-Reply-To"] = original["Message-ID"]
        msg["Auto-Submitted"] = "auto-replied"
        msg.set_content(text)
        w.stack.deliver(bytes(msg), to=w.rep.email)
        counts = w.stack.poll_mail()
        assert counts.get("auto_replies") == 1, counts

    return Turn(f"an out-of-office reply arrives from {sender}: {text[:50]!r}…", run)


def bounce_arrives(failed: str = PROSPECT) -> Turn:
    """The receiving server refuses the address: a DSN with our email's headers attached."""

    def run(w: World) -> None:
        sent = w.mail_to(failed)
        assert sent, f"nothing was sent to {failed}"
        original = sent[-1]
        report = MimeMessage()
        report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.northwind.example>"
        report["To"] = w.rep.email
        report["Subject"] = "Undelivered Mail Returned to Sender"
        report["Date"] = format_datetime(w.stack.clock.now())
        report["Message-ID"] = make_msgid(domain="mx.northwind.example")
        report["Auto-Submitted"] = "auto-replied"
        report.set_content(
            "Your message could not be delivered to one or more recipients.\n\n"
            f"<{failed}>: host mx.acme.example said: 550 5.1.1 User unknown\n"
        )
        report.make_mixed()
        report.replace_header(
            "Content-Type",
            'multipart/report; report-type="delivery-status"; boundary="dsn-boundary"',
        )
        status = MimeMessage()
        status.set_type("message/delivery-status")
        status.set_payload(
            [
                message_from_string("Reporting-MTA: dns; mx.northwind.example\n"),
                message_from_string(
                    f"Final-Recipient: rfc822; {failed}\nAction: failed\nStatus: 5.1.1\n"
                    "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n"
                ),
            ]
        )
        report.attach(status)
        headers = MimeMessage()
        headers.set_type("text/rfc822-headers")
        headers.set_payload(
            f"From: {w.rep.email}\nTo: {failed}\nSubject: {original['Subject']}\n"
            f"Message-ID: {original['Message-ID']}\n"
        )
        report.attach(headers)
        w.stack.deliver(bytes(report), to=w.rep.email)
        counts = w.stack.poll_mail()
        assert counts.get("bounces") == 1, counts

    return Turn(f"a bounce for {failed} arrives", run)


# --- expectations ------------------------------------------------------------------------------


def expect_status(status: str) -> Turn:
    def run(w: World) -> None:
        actual = w.request().status
        assert actual == status, f"request is {actual}, expected {status}"

    return Turn(f"expect the request to be {status}", run)


def expect_follow_up_in(hours: float | None) -> Turn:
    """The next nudge is due `hours` from now (None: nothing is scheduled)."""

    def run(w: World) -> None:
        request = w.request()
        if hours is None:
            assert request.next_action_at is None, f"a follow-up is due {request.next_action_at}"
            return
        assert request.next_action_type == "follow_up", request.next_action_type
        expected = w.stack.clock.now() + timedelta(hours=hours)
        assert request.next_action_at == expected, (
            f"next follow-up at {request.next_action_at}, expected {expected}"
        )

    said = "no follow-up scheduled" if hours is None else f"a follow-up due in {hours:g} h"
    return Turn(f"expect {said}", run)


def expect_follow_up_at(moment: datetime) -> Turn:
    def run(w: World) -> None:
        request = w.request()
        assert request.next_action_type == "follow_up", request.next_action_type
        assert request.next_action_at == moment, f"next follow-up at {request.next_action_at}"

    return Turn(f"expect the next follow-up at {moment:%a %b %d %H:%M %Z}", run)


def expect_actions(*expected: str) -> Turn:
    """Every draft on the request, as "kind status" (a kind may repeat), in any order."""

    def run(w: World) -> None:
        actual = Counter(f"{a.action_type} {a.status}" for a in w.actions())
        assert actual == Counter(expected), f"drafts are {sorted(actual.elements())}"

    return Turn(f"expect drafts: {', '.join(expected) or 'none'}", run)


def expect_audit(*kinds: str) -> Turn:
    """The audit log holds these entries in this order (others may come between). Entries
    written in one transaction share a timestamp, so among those any order is accepted."""

    def run(w: World) -> None:
        rows = w.audit()
        used: set[int] = set()
        after = None
        for kind in kinds:
            found = next(
                (
                    i
                    for i, row in enumerate(rows)
                    if i not in used
                    and row.action_type == kind
                    and (after is None or row.created_at >= after)
                ),
                None,
            )
            assert found is not None, (
                f"no {kind!r} after the entries before it; the log is "
                f"{[r.action_type for r in rows]}"
            )
            used.add(found)
            after = rows[found].created_at

    return Turn(f"expect the audit log to contain {' → '.join(kinds)}", run)


def expect_logged(kind: str, *, times: int) -> Turn:
    def run(w: World) -> None:
        logged = [r.action_type for r in w.audit()]
        assert logged.count(kind) == times, f"the log is {logged}"

    return Turn(f"expect {kind} logged {times} time(s)", run)


def expect_no_audit(*kinds: str) -> Turn:
    def run(w: World) -> None:
        logged = [r.action_type for r in w.audit()]
        assert not set(kinds) & set(logged), f"the log is {logged}"

    return Turn(f"expect no {', '.join(kinds)} in the audit log", run)


def expect_inbox(count: int, address: str = PROSPECT) -> Turn:
    def run(w: World) -> None:
        got = w.mail_to(address)
        assert len(got) == count, f"{address} has {[m['Subject'] for m in got]}"

    return Turn(f"expect {address} to have received {count} email(s)", run)


def expect_email(
    *,
    to: str = PROSPECT,
    number: int,
    cc: Sequence[str] = (),
    also_to: Sequence[str] = (),
    answers: str | None = None,
    offers: bool = False,
    confirms: When | None = None,
    never: Sequence[When] = (),
    contains: Sequence[str] = (),
    body: str | None = None,
    subject: str | None = None,
    keeps_subject: bool = False,
) -> Turn:
    """The `number`-th email in `to`'s inbox (and it is the latest).

    `answers`: it is threaded under "their reply" (the prospect's latest) or "our last email"
    (the email before it in this inbox): In-Reply-To, References back to the first email, and
    the first email's subject after "Re: ". `offers`: it lists the times its draft recorded as
    offered, each free on every calendar the script made busy, and mentions no other time.
    `confirms`: the only time it mentions. Times must be written in the recipient's zone.
    `keeps_subject`: the subject is exactly "Re: " and the first email's.
    """

    def run(w: World) -> None:
        inbox = w.mail_to(to)
        assert len(inbox) == number, f"{to} has {len(inbox)} emails, expected {number}"
        mail = inbox[-1]
        text = plain_text(mail)
        assert _addresses(mail["To"]) == {to, *also_to}, f"To: {mail['To']}"
        assert _addresses(mail["Cc"]) == set(cc), f"Cc: {mail['Cc']}"
        if answers is not None:
            first = inbox[0]
            parent = w.replies[-1] if answers == "their reply" else inbox[-2]
            assert mail["In-Reply-To"] == parent["Message-ID"], (
                f"In-Reply-To {mail['In-Reply-To']}, expected {answers} {parent['Message-ID']}"
            )
            chain = str(mail["References"] or "").split()
            assert chain[:1] == [first["Message-ID"]] and chain[-1:] == [parent["Message-ID"]], (
                f"References {chain}"
            )
            assert str(mail["Subject"]).startswith("Re: "), f"Subject {mail['Subject']!r}"
        if subject is not None:
            assert mail["Subject"] == subject, f"Subject {mail['Subject']!r}"
        if keeps_subject:
            thread = f"Re: {_bare(inbox[0]['Subject'])}"
            assert mail["Subject"] == thread, f"Subject {mail['Subject']!r}, expected {thread!r}"
        if body is not None:
            assert text.strip() == body.strip(), f"body {text!r}"
        for needle in contains:
            assert needle in text, f"{needle!r} not in {text!r}"
        if offers or confirms is not None or never:
            zone, now = w.zone_of(to), w.stack.clock.now()
            mentioned = times_in(text, zone=zone, rep_zone=w.rep.tz, now=now)
            in_subject = times_in(str(mail["Subject"]), zone=zone, rep_zone=w.rep.tz, now=now)
            assert set(in_subject) <= set(mentioned), f"the subject names {in_subject}"
        if offers:
            (draft,) = [
                a for a in w.actions() if a.effective_data().get("message_id") == mail["Message-ID"]
            ]
            recorded = [datetime.fromisoformat(s) for s in draft.effective_data()["slots"]]
            assert recorded, "the draft recorded no offered times"
            assert mentioned == recorded, f"the email lists {mentioned}, its draft {recorded}"
            for moment in mentioned:
                assert moment > w.stack.clock.now(), f"{moment} has passed"
                meeting_end = moment + timedelta(minutes=w.request().duration_minutes)
                for busy in w.busy:
                    assert not (moment < busy.end and busy.start < meeting_end), (
                        f"{moment} clashes with {busy.owner}'s {busy.start}–{busy.end}"
                    )
        if confirms is not None:
            assert mentioned == [resolve(w, confirms)], f"the email mentions {mentioned}"
        for banned in never:
            moment = resolve(w, banned)
            assert moment not in mentioned, f"the email mentions {moment}"

    said = [f"email #{number} to {to}"]
    if answers:
        said.append(f"answering {answers}")
    if offers:
        said.append("offering only free times")
    if confirms is not None:
        said.append(f"confirming {confirms}")
    return Turn("expect " + ", ".join(said), run)


def _addresses(header: object) -> set[str]:
    return {a.strip() for a in str(header or "").split(",") if a.strip()}


def expect_offers_within(zone: str, start: str, end: str) -> Turn:
    """Every time the latest email offered, start to end of the meeting, falls between `start`
    and `end` o'clock on a weekday in `zone` (someone's working or waking hours)."""

    def run(w: World) -> None:
        assert w.offers, "no email has offered times yet"
        duration = timedelta(minutes=w.request().duration_minutes)
        earliest, latest = time.fromisoformat(start), time.fromisoformat(end)
        place = ZoneInfo(zone)
        for moment in w.offers[-1]:
            first, last = moment.astimezone(place), (moment + duration).astimezone(place)
            assert first.weekday() < 5, f"{first} is at the weekend in {zone}"
            inside = earliest <= first.time() and last.time() <= latest
            assert inside and first.date() == last.date(), (
                f"{first:%a %H:%M}–{last:%H:%M} is outside {start}–{end} in {zone}"
            )

    return Turn(f"expect every offered time within {start}–{end} in {zone}", run)


def expect_dm(*needles: str) -> Turn:
    """A DM to the rep since the last one the script read, containing every needle."""

    def run(w: World) -> None:
        fresh = w.dms()[w.dms_read :]
        hits = [i for i, text in enumerate(fresh) if all(n in text for n in needles)]
        assert hits, f"no new DM with {needles}; new DMs: {fresh}"
        w.dms_read += hits[0] + 1

    return Turn(f"expect a DM to the rep saying {' … '.join(needles)!r}", run)


def _decision_cards(w: World) -> list[Message]:
    return [
        c
        for c in w.stack.cards()
        if any(
            str(e.get("action_id", "")).startswith("decision_")
            for b in c.blocks
            for e in b.get("elements", [])
        )
    ]


def expect_decision_card(*needles: str) -> Turn:
    """A decision card (seed 003) whose text holds every needle, waiting for the rep."""

    def run(w: World) -> None:
        cards = wait_for(lambda: _decision_cards(w), "a decision card")
        text = " ".join(str(b) for b in cards[-1].blocks)
        missing = [n for n in needles if n not in text]
        assert not missing, f"the decision card lacks {missing}: {text}"
        assert w.request().event_next_action == "waiting_for_decision"

    return Turn(f"expect a decision card saying {' … '.join(needles)!r}", run)


def expect_recipient_card(*needles: str, warned: bool) -> Turn:
    """A card asking the rep to confirm someone a reply named, before anyone adds or writes
    to them; `warned`: it carries the different-domain warning."""

    def run(w: World) -> None:
        cards = wait_for(lambda: _decision_cards(w), "a recipient card")
        text = " ".join(str(b) for b in cards[-1].blocks)
        assert "decision_add_recipient" in text, f"not a recipient card: {text}"
        missing = [n for n in needles if n not in text]
        assert not missing, f"the recipient card lacks {missing}: {text}"
        assert ("Different domain" in text) == warned, text

    return Turn(f"expect a card to confirm {' … '.join(needles)!r}", run)


def rep_decides(choice: str) -> Turn:
    """Press `choice` on the newest decision card; its drafts (if any) are worked out."""

    def run(w: World) -> None:
        card = _decision_cards(w)[-1]
        w.stack.click(f"decision_{choice}", card, user=w.rep.slack_id)
        # The listener redraws the card last, once the choice is fully applied.
        wait_for(
            lambda: [m for m in w.stack.slack.messages if m.ts == card.ts and m.history],
            "the decided card",
        )
        w.stack.drain()

    return Turn(f"rep decides: {choice}", run)


def expect_no_new_dm() -> Turn:
    def run(w: World) -> None:
        fresh = w.dms()[w.dms_read :]
        assert not fresh, f"unexpected DMs: {fresh}"

    return Turn("expect no new DM to the rep", run)


def expect_card_shows(kind: str, *needles: str) -> Turn:
    """The newest card of `kind`, as it reads now (after any decision redrew it)."""

    def run(w: World) -> None:
        drafts = [a for a in w.actions(kind) if a.slack_ts and a.slack_channel]
        assert drafts, f"no {kind} card was posted"
        card = w.stack.slack.message(drafts[-1].slack_channel or "", drafts[-1].slack_ts or "")
        shown = card.text + json.dumps(card.blocks)
        for needle in needles:
            assert needle in shown, f"{needle!r} not on the {kind} card: {shown}"

    return Turn(f"expect the {kind} card to show {', '.join(needles)}", run)


def expect_booked(at: When, *, attendees: Sequence[str], optional: Sequence[str] = ()) -> Turn:
    """One event on the rep's calendar at `at`, inviting exactly these people (and the rep)."""

    def run(w: World) -> None:
        events = w.booked()
        assert len(events) == 1, f"the rep's calendar has {[(e.title, e.start) for e in events]}"
        (event,) = events
        start = resolve(w, at)
        duration = timedelta(minutes=w.request().duration_minutes)
        assert (event.start, event.end) == (start, start + duration), (
            f"booked {event.start}–{event.end}, expected {start}"
        )
        invited = {a["email"]: bool(a.get("optional")) for a in event.attendees}
        # The organizer is on the invite too, as Google and Microsoft list them.
        expected = (
            {w.rep.email: False} | {a: False for a in attendees} | {a: True for a in optional}
        )
        assert invited == expected, f"invited {invited}"
        request = w.request()
        assert request.meeting_start == start, f"the request says {request.meeting_start}"

    return Turn(f"expect a meeting booked at {at} with {', '.join(attendees)}", run)


def expect_nothing_booked() -> Turn:
    def run(w: World) -> None:
        events = w.booked()
        assert events == [], f"booked {[(e.title, e.start) for e in events]}"
        assert w.request().meeting_start is None

    return Turn("expect nothing on the calendar", run)


def expect_no_mail_mentions(address: str) -> Turn:
    """No email went to `address` and no draft so much as names it."""

    def run(w: World) -> None:
        assert w.stack.inbox(address) == [], f"{address} received mail"
        for action in w.actions():
            assert address not in json.dumps(action.effective_data()), (
                f"the {action.action_type} draft names {address}"
            )

    return Turn(f"expect nothing addressed to {address}", run)
