"""Moves for conversations in random order: turns that act on whatever stands now instead of
asserting a script's expectations first.

A scripted turn says "rep approves the calendar_book card" and fails when there is none; a move
says "rep approves the newest card" and does nothing when no card waits. So any sequence of
moves is a conversation someone could have, which is what a property test draws and what the
population simulation plays. Each move still acts only as a person or the clock would: signed
Slack requests, mail into the embedded mailbox, the manual clock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.local_slack import Message
from db.models import ActionStatus, PendingAction
from tests.support.conversation.outside import calendar_busy
from tests.support.conversation.prospect_mail import (
    auto_reply_arrives,
    prospect_answers_their_invitation,
    prospect_replies,
    replies_arrive_together,
    the_same_reply_arrives_again,
)
from tests.support.conversation.rep_slack import _fill_in
from tests.support.conversation.script import Turn
from tests.support.conversation.world import PROSPECT, World
from tests.support.stack import wait_for

# --- what the prospect writes -------------------------------------------------------------------


def spoken(moment: datetime, zone: str) -> str:
    """A time as a person writes it: "Tuesday Dec 8 at 9:00 AM"."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%A %b} {local.day} at {local.hour % 12 or 12}:{local:%M %p}"


def reply_text(w: World, kind: str, n: int) -> str:
    """A reply of `kind` to the latest offer; `n` picks among the offered times."""
    offered = w.offers[-1] if w.offers else ()
    zone = w.zone_of(PROSPECT)
    if kind == "accept" and offered:
        return f"{spoken(offered[n % len(offered)], zone)} works for me."
    if kind == "accept":
        return "Sounds good, let's do it."
    if kind == "counter":
        base = offered[n % len(offered)] if offered else w.stack.clock.now() + timedelta(days=3)
        moved = base + timedelta(days=1, hours=n % 3 + 4)
        return f"None of those work, sorry. Could we do {spoken(moved, zone)} instead?"
    if kind == "decline":
        return "Thanks, but we are not interested at this time."
    if kind == "question":
        return "Will this be on Zoom or Google Meet? And who else will join from your side?"
    if kind == "delegate":
        return "Please set this up with my colleague Jane Roe (jane@acme.example) instead."
    if kind == "handoff":
        return "Sam, could you check my calendar and book me in if I am free?"
    raise ValueError(kind)


def _has_mail(w: World) -> bool:
    return bool(w.mail_to(PROSPECT))


def _when(check: Callable[[World], bool], turn: Turn) -> Turn:
    """`turn` when `check` holds now, else nothing."""

    def run(w: World) -> None:
        if check(w):
            turn.run(w)

    return Turn(turn.text, run)


def prospect_says(kind: str, n: int = 0) -> Turn:
    def run(w: World) -> None:
        if _has_mail(w):
            prospect_replies(reply_text(w, kind, n)).run(w)

    return Turn(f"prospect replies ({kind} #{n})", run)


def prospect_says_twice(first: str, second: str, n: int = 0) -> Turn:
    def run(w: World) -> None:
        if _has_mail(w):
            replies_arrive_together(reply_text(w, first, n), reply_text(w, second, n + 1)).run(w)

    return Turn(f"prospect replies twice at once ({first}, then {second})", run)


def same_reply_again() -> Turn:
    """The last mail in the rep's inbox is delivered and read again, when that is one reply of
    the prospect's (the poll is rewound to just before it)."""

    def last_was_one_reply(w: World) -> bool:
        if not w.replies or w.replies_since_cursor != 1:
            return False  # a rewind would re-read a pair of quick replies, not one
        inbox = w.stack.inbox(w.rep.email)
        last = str(w.replies[-1]["Message-ID"])
        arrived = [m.created_at for m in inbox if m.message_id == last]
        return bool(arrived) and [m for m in inbox if m.created_at >= arrived[0]] == [
            m for m in inbox if m.message_id == last
        ]

    return _when(last_was_one_reply, the_same_reply_arrives_again())


def out_of_office() -> Turn:
    return _when(
        _has_mail,
        auto_reply_arrives(
            "I am out of the office until Monday Dec 14 with limited access to email."
        ),
    )


def rsvp(partstat: str, comment: str = "") -> Turn:
    def has_invite(w: World) -> bool:
        return any("text/calendar" in m.raw for m in w.stack.inbox(PROSPECT))

    return _when(has_invite, prospect_answers_their_invitation(partstat, comment=comment))


# --- the rep ------------------------------------------------------------------------------------


def _open_cards(w: World) -> list[tuple[PendingAction, Message]]:
    drafts = [a for a in w.actions() if a.status == ActionStatus.pending and a.slack_ts]
    return [
        (a, w.stack.slack.message(a.slack_channel or "", a.slack_ts or ""))
        for a in drafts
        if a.slack_channel
    ]


def _newest_card(w: World) -> tuple[PendingAction, Message] | None:
    cards = _open_cards(w)
    return cards[-1] if cards else None


def _approve(w: World, draft: PendingAction, card: Message) -> None:
    w.stack.click("approve_action", card, user=w.rep.slack_id)
    # Slack's ack returns before the listener decides: running the clock first would race the
    # approval's commit. A refused approval leaves the draft pending; then the wait just ends.
    deadline = time.monotonic() + 10
    while w.action(draft.id).status == ActionStatus.pending and time.monotonic() < deadline:
        time.sleep(0.02)
    w.wait_out_the_undo_window()
    done = w.action(draft.id)
    slots = done.effective_data().get("slots")
    if done.status == ActionStatus.executed and slots:
        w.offers.append(tuple(datetime.fromisoformat(s) for s in slots))


def rep_approves_newest() -> Turn:
    def run(w: World) -> None:
        if found := _newest_card(w):
            _approve(w, *found)

    return Turn("rep approves the newest card", run)


def rep_approves_oldest() -> Turn:
    """A card further up the DM, which a newer one may have replaced."""

    def run(w: World) -> None:
        if cards := _open_cards(w):
            _approve(w, *cards[0])

    return Turn("rep approves the oldest open card", run)


def rep_rejects_newest() -> Turn:
    def run(w: World) -> None:
        if (found := _newest_card(w)) is None:
            return
        draft, card = found
        _fill_in(
            w,
            lambda: w.stack.click("reject_action", card, user=w.rep.slack_id),
            "the reject modal",
            {"reason": {"reason": {"value": "Not now."}}},
        )
        w.clock_runs()

    return Turn("rep rejects the newest card", run)


def rep_undoes_newest() -> Turn:
    def run(w: World) -> None:
        if (found := _newest_card(w)) is None:
            return
        draft, card = found
        w.stack.click("approve_action", card, user=w.rep.slack_id)
        shown = w.stack.slack.message(card.channel, card.ts)
        if "undo_action" in str(shown.blocks):
            w.stack.clock.advance(timedelta(seconds=5))
            w.stack.click("undo_action", shown, user=w.rep.slack_id)
        w.wait_out_the_undo_window()

    return Turn("rep approves the newest card and clicks Undo", run)


# A time as the drafts write it, which an edit may move by hand.
_WRITTEN = re.compile(r"(\d{1,2}):(\d{2}) (AM|PM)")


_TWIN = re.compile(r" [A-Z]{2,5} \(((\d{1,2}):(\d{2}) (AM|PM))")


def _later(match: re.Match[str]) -> str:
    """The written time two hours on (within the day: the drafts offer 07:00-20:00)."""
    hour_at, minute_at, half_at = (1, 2, 3) if match.re is _WRITTEN else (2, 3, 4)
    hour = int(match.group(hour_at)) % 12 + (12 if match.group(half_at) == "PM" else 0) + 2
    return f"{hour % 12 or 12}:{match.group(minute_at)} {'PM' if hour % 24 >= 12 else 'AM'}"


def rep_edits_newest(*, move_a_time: bool) -> Turn:
    """Edit the newest email draft: a friendlier first line, or (`move_a_time`) the first time
    it offers written two hours later, as a rep who knows the prospect's day would."""

    def run(w: World) -> None:
        found = _newest_card(w)
        if found is None or not found[0].action_type.startswith("email_"):
            return
        draft, card = found
        data = draft.effective_data()
        body = str(data.get("body", ""))
        if move_a_time:
            match = _WRITTEN.search(body)
            if match is None:
                return
            twin = _TWIN.match(body, match.end())
            if twin is not None:
                # The same moment in the rep's zone, in brackets: moved with it.
                body = body[: twin.start(1)] + _later(twin) + body[twin.end(1) :]
            body = body[: match.start()] + _later(match) + body[match.end() :]
        else:
            body = f"Good to hear from you again.\n\n{body}"
        values = {
            "subject": {"subject": {"value": str(data.get("subject", ""))}},
            "body": {"body": {"value": body}},
        }
        _fill_in(
            w,
            lambda: w.stack.click("edit_action", card, user=w.rep.slack_id),
            "the edit modal",
            values,
        )
        w.stack.drain()

    return Turn(f"rep edits the newest draft{' and moves a time' if move_a_time else ''}", run)


def rep_decides_newest(n: int) -> Turn:
    """Press the `n`-th (modulo) choice on the newest undecided decision card; choosing a time
    from its list is left to the scripted tests."""

    def run(w: World) -> None:
        if w.request().event_next_action != "waiting_for_decision":
            return
        cards = w.decision_cards()
        if not cards:
            return
        card = cards[-1]
        choices = [
            str(e["action_id"])
            for b in card.blocks
            for e in b.get("elements", [])
            if str(e.get("action_id", "")).startswith("decision_")
            and e.get("action_id") != "decision_book_slot"
        ]
        if not choices:
            return
        w.stack.click(choices[n % len(choices)], card, user=w.rep.slack_id)
        wait_for(
            lambda: [m for m in w.stack.slack.messages if m.ts == card.ts and m.history],
            "the decided card",
        )
        w.stack.drain()

    return Turn(f"rep presses choice #{n} on the decision card", run)


def rep_runs_command(subcommand: str) -> Turn:
    """`/schedule pause ACME-1` and friends; whatever the rep is told."""

    def run(w: World) -> None:
        reply = w.stack.command(f"{subcommand} {w.request().ref}", user=w.rep.slack_id)
        w.stack.command_response(reply)
        w.clock_runs()

    return Turn(f"rep runs /schedule {subcommand}", run)


# --- the world ----------------------------------------------------------------------------------


def rep_busy_at_offered(n: int) -> Turn:
    """Something else lands on the rep's calendar over an offered time."""

    def run(w: World) -> None:
        if not w.offers:
            return
        start = w.offers[-1][n % len(w.offers[-1])]
        calendar_busy(w.rep.email, start, start + timedelta(hours=1), "Board meeting").run(w)

    return Turn(f"the rep's offered time #{n} becomes busy", run)


def time_passes(hours: float) -> Turn:
    def run(w: World) -> None:
        w.stack.clock.advance(timedelta(hours=hours))
        w.clock_runs()

    return Turn(f"{hours:g} hours pass", run)
