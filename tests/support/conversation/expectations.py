"""The expect_* turns: where things stand after the people and the clock have acted, as the
request, its drafts, the audit log, the calendar, the emails and the rep's Slack show it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from db.models import SchedulingAttendee
from orchestrator.timers.stuck import stuck_requests
from tests.support.conversation.script import Turn
from tests.support.conversation.times import When, resolve, times_in
from tests.support.conversation.world import PROSPECT, World, bare_subject, plain_text
from tests.support.invariants import every_open_request_is_watched
from tests.support.stack import wait_for


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
            thread = f"Re: {bare_subject(inbox[0]['Subject'])}"
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


def expect_decision_card(*needles: str) -> Turn:
    """A decision card (seed 003) whose text holds every needle, waiting for the rep."""

    def run(w: World) -> None:
        cards = wait_for(w.decision_cards, "a decision card")
        text = " ".join(str(b) for b in cards[-1].blocks)
        missing = [n for n in needles if n not in text]
        assert not missing, f"the decision card lacks {missing}: {text}"
        assert w.request().event_next_action == "waiting_for_decision"

    return Turn(f"expect a decision card saying {' … '.join(needles)!r}", run)


def expect_recipient_card(*needles: str, warned: bool) -> Turn:
    """A card asking the rep to confirm someone a reply named, before anyone adds or writes
    to them; `warned`: it carries the different-domain warning."""

    def run(w: World) -> None:
        cards = wait_for(w.decision_cards, "a recipient card")
        text = " ".join(str(b) for b in cards[-1].blocks)
        assert "decision_add_recipient" in text, f"not a recipient card: {text}"
        missing = [n for n in needles if n not in text]
        assert not missing, f"the recipient card lacks {missing}: {text}"
        assert ("Different domain" in text) == warned, text

    return Turn(f"expect a card to confirm {' … '.join(needles)!r}", run)


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


def expect_nothing_stuck() -> Turn:
    """Every request under way has a wake-up or a card waiting on the rep."""

    def run(w: World) -> None:
        with w.stack.deps.uow() as uow:
            stuck = stuck_requests(uow.session, now=w.stack.clock.now())
            found = [(r.ref, r.status, r.event_next_action_subtype) for r in stuck]
        assert not found, f"stuck: {found}"

    return Turn("expect no request left without a wake-up or an open card", run)


def expect_every_open_request_watched() -> Turn:
    """Issue 15's invariant, read off the rows as the random conversations read it: every
    request not stopped has a wake-up (a due time, a queued step, a send under way, a meeting
    the clock follows, a stall check) or a card waiting for the rep. Stricter than the stuck
    check in one way: a draft counts as a card only once its card was posted."""

    def run(w: World) -> None:
        broken = every_open_request_is_watched(w.stack.deps)
        assert not broken, f"unwatched: {broken}"

    return Turn("expect every open request to have a wake-up or an open card", run)


def expect_decided_card(*needles: str) -> Turn:
    """The newest card the rep has answered, as it reads now: their choice and its outcome."""

    def run(w: World) -> None:
        answered = [m for m in w.stack.slack.messages if m.history and "chose" in m.text]
        assert answered, "no card was answered"
        shown = answered[-1].text + json.dumps(answered[-1].blocks)
        missing = [n for n in needles if n not in shown]
        assert not missing, f"the answered card lacks {missing}: {shown}"

    return Turn(f"expect the answered card to say {' … '.join(needles)!r}", run)


def expect_offered(*expected: datetime) -> Turn:
    """The latest email offered exactly these times, in this order."""

    def run(w: World) -> None:
        assert w.offers, "no email has offered times yet"
        assert list(w.offers[-1]) == list(expected), f"offered {[str(t) for t in w.offers[-1]]}"

    shown = ", ".join(f"{t:%a %b %d %H:%M %Z}" for t in expected)
    return Turn(f"expect exactly these times offered: {shown}", run)


def expect_no_offer_on(zone: str, *days: date) -> Turn:
    """No time the latest email offered touches any of `days` as `zone` reads the calendar."""

    def run(w: World) -> None:
        assert w.offers, "no email has offered times yet"
        duration = timedelta(minutes=w.request().duration_minutes)
        place = ZoneInfo(zone)
        for moment in w.offers[-1]:
            touched = {
                moment.astimezone(place).date(),
                (moment + duration).astimezone(place).date(),
            }
            assert not touched & set(days), f"{moment} falls on {sorted(touched & set(days))}"

    return Turn(f"expect no time offered on {', '.join(map(str, days))} in {zone}", run)


def expect_prospect_zone(zone: str, address: str = PROSPECT) -> Turn:
    """The request knows `address` is in `zone` (as the rep said); the script then reads the
    emails to them in that zone."""

    def run(w: World) -> None:
        request = w.request()
        rows = [
            a
            for a in w.stack.rows(SchedulingAttendee)
            if a.request_id == request.id and a.email == address
        ]
        assert rows and all(a.timezone == zone for a in rows), (
            f"{address} is in {[a.timezone for a in rows]}"
        )
        w.zones[address] = zone

    return Turn(f"expect the request to know {address} is in {zone}", run)


def expect_kept_card_now_shows(kind: str, *needles: str) -> Turn:
    """The card kept by `rep_keeps_the_card`, as Slack shows it now (after any redraw)."""

    def run(w: World) -> None:
        kept = w.kept_cards[kind]
        card = w.stack.slack.message(kept.channel, kept.ts)
        shown = card.text + json.dumps(card.blocks)
        for needle in needles:
            assert needle in shown, f"{needle!r} not on the kept {kind} card: {shown}"
        assert "approve_action" not in shown, f"the kept {kind} card can still be approved"

    return Turn(f"expect the kept {kind} card to show {', '.join(needles)} and no Approve", run)


def expect_on_offer(*times: datetime) -> Turn:
    """The request's offer, which its next reply is read against, is exactly these times."""

    def run(w: World) -> None:
        offer = [datetime.fromisoformat(s["start"]) for s in w.request().proposed_slots]
        assert offer == list(times), f"the request has on offer {offer}"

    return Turn(f"expect the request to have on offer {', '.join(map(str, times))}", run)


def expect_event_state(subtype: str, next_action: str) -> Turn:
    """The request's stored seed-003 state (what status, the Home tab and reports read)."""

    def run(w: World) -> None:
        request = w.request()
        stored = (request.event_next_action_subtype, request.event_next_action)
        assert stored == (subtype, next_action), f"the request stores {stored}"

    return Turn(f"expect the stored event state {next_action} / {subtype}", run)


def expect_offers_between(start: datetime, end: datetime) -> Turn:
    """Every time the latest email offered, start to end of the meeting, lies between `start`
    and `end` (the window the prospect asked for)."""

    def run(w: World) -> None:
        assert w.offers, "no email has offered times yet"
        duration = timedelta(minutes=w.request().duration_minutes)
        for moment in w.offers[-1]:
            assert start <= moment and moment + duration <= end, (
                f"{moment} is outside {start}–{end}"
            )

    return Turn(f"expect every offered time between {start} and {end}", run)


def expect_latest_email_lacks(*phrases: str, to: str = PROSPECT) -> Turn:
    """The latest email to `to` says none of these (an apology for a time nobody named)."""

    def run(w: World) -> None:
        inbox = w.mail_to(to)
        assert inbox, f"{to} has received nothing"
        text = plain_text(inbox[-1])
        found = [p for p in phrases if p.lower() in text.lower()]
        assert not found, f"the email says {found}: {text!r}"

    return Turn(f"expect the latest email to {to} not to say {', '.join(phrases)}", run)


def expect_zone_hint(*needles: str) -> Turn:
    """The newest message to the rep about a reply offers the prospect's zone, saying these."""

    def run(w: World) -> None:
        offered = [m for m in w.zone_hints() if all(n in str(m.blocks) for n in needles)]
        assert offered, f"no zone hint with {needles}: {[str(m.blocks) for m in w.zone_hints()]}"

    return Turn(f"expect the rep offered the zone: {' … '.join(needles)!r}", run)


def expect_no_zone_hint() -> Turn:
    def run(w: World) -> None:
        assert not w.zone_hints(), f"a zone was offered: {[str(m.blocks) for m in w.zone_hints()]}"

    return Turn("expect no zone offered", run)


def expect_prospect_zone_unset(address: str = PROSPECT) -> Turn:
    """Nobody has said where `address` is: their words are read in the request's zone."""

    def run(w: World) -> None:
        request = w.request()
        zones = [
            a.timezone
            for a in w.stack.rows(SchedulingAttendee)
            if a.request_id == request.id and a.email == address
        ]
        assert zones and all(z is None for z in zones), f"{address} is in {zones}"

    return Turn(f"expect no zone known for {address}", run)


def expect_copied_offered(*needles: str) -> Turn:
    """The newest message about a reply offers to add people it copied, saying these."""

    def run(w: World) -> None:
        offered = [m for m in w.copied_hints() if all(n in str(m.blocks) for n in needles)]
        assert offered, f"nobody copied offered with {needles}: {w.copied_hints()}"

    return Turn(f"expect the rep offered the copied: {' … '.join(needles)!r}", run)


def expect_nobody_copied_offered() -> Turn:
    def run(w: World) -> None:
        assert not w.copied_hints(), f"offered: {[str(m.blocks) for m in w.copied_hints()]}"

    return Turn("expect nobody copied offered", run)
