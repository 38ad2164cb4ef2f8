"""Turns by the rep in Slack: slash commands, the new-request form, and the buttons and modals on
the cards Convene posts."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.local_slack import Message
from db.models import ActionStatus, SchedulingAttendee
from tests.support.conversation.script import Turn
from tests.support.conversation.world import PROSPECT, Person, World
from tests.support.stack import wait_for


def _fill_in(w: World, opens: Callable[[], object], what: str, values: dict[str, Any]) -> None:
    """Open a modal, submit it with `values`, and see Slack's empty 200 that closes it."""
    before = len(w.stack.slack.modals)
    opens()
    view = wait_for(lambda: w.stack.slack.modals[before:], what)[0]
    reply = w.stack.submit(view, values, user=w.rep.slack_id)
    assert reply.status == 200 and reply.body == "", reply.body


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
        _fill_in(
            w, lambda: w.stack.command("", user=w.rep.slack_id), "the new-request form", values
        )
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
        w.counted.add(done.id)
        if slots:
            w.offers.append(tuple(datetime.fromisoformat(s) for s in slots))

    return Turn(f"rep approves the {kind} card", run)


def rep_edits(kind: str, *, subject: str, body: str) -> Turn:
    def run(w: World) -> None:
        draft, card = w.card_of(kind)
        values = {"subject": {"subject": {"value": subject}}, "body": {"body": {"value": body}}}
        _fill_in(
            w,
            lambda: w.stack.click("edit_action", card, user=w.rep.slack_id),
            "the edit modal",
            values,
        )
        edited = dict(w.action(draft.id).edited_data or {})
        # A draft that offers times also records the times read from the new words.
        edited.pop("slots", None)
        assert edited == {"subject": subject, "body": body}, edited
        # The card is redrawn after Slack has its answer: wait for the edited words on it.
        wait_for(
            lambda: subject in str(w.stack.slack.message(card.channel, card.ts).blocks),
            "the card to show the edit",
        )

    return Turn(f"rep edits the {kind} draft to {subject!r} / {body[:40]!r}", run)


def rep_rejects(kind: str, *, reason: str) -> Turn:
    def run(w: World) -> None:
        draft, card = w.card_of(kind)
        _fill_in(
            w,
            lambda: w.stack.click("reject_action", card, user=w.rep.slack_id),
            "the reject modal",
            {"reason": {"reason": {"value": reason}}},
        )
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


def rep_decides(choice: str) -> Turn:
    """Press `choice` on the newest decision card; its drafts (if any) are worked out."""

    def run(w: World) -> None:
        card = w.decision_cards()[-1]
        w.stack.click(f"decision_{choice}", card, user=w.rep.slack_id)
        # The listener redraws the card last, once the choice is fully applied.
        wait_for(
            lambda: [m for m in w.stack.slack.messages if m.ts == card.ts and m.history],
            "the decided card",
        )
        w.stack.drain()

    return Turn(f"rep decides: {choice}", run)


def someone_saves_settings(who: Person, *, zone: str, work_start: str, work_end: str) -> Turn:
    """`who` (the rep or a teammate) sets their own zone and Mon–Fri hours in `/schedule
    settings`; the rest of the modal keeps its defaults."""

    def run(w: World) -> None:
        values = {
            "timezone": {"timezone": {"value": zone}},
            "work_start": {"work_start": {"selected_time": work_start}},
            "work_end": {"work_end": {"selected_time": work_end}},
            "brief_time": {"brief_time": {"selected_time": "08:00"}},
            "quiet_start": {"quiet_start": {"selected_time": None}},
            "quiet_end": {"quiet_end": {"selected_time": None}},
            "daily_send_limit": {"daily_send_limit": {"value": "50"}},
            "delegates": {"delegates": {"selected_users": []}},
        }
        before = len(w.stack.slack.modals)
        assert w.stack.command("settings", user=who.slack_id).status == 200
        view = wait_for(lambda: w.stack.slack.modals[before:], "the settings modal")[0]
        reply = w.stack.submit(view, values, user=who.slack_id)
        assert reply.status == 200 and reply.body == "", reply.body
        wait_for(
            lambda: [m for m in w.stack.slack.messages if m.channel == f"D{who.slack_id}"],
            f"{who.name}'s settings to be saved",
        )

    return Turn(f"{who.name} saves their settings: {zone}, {work_start}–{work_end}", run)


def rep_clicks_approve(kind: str) -> Turn:
    """Approve & send, and stop there: the undo window is still open (`undo_window_passes`
    lets it close)."""

    def run(w: World) -> None:
        draft, card = w.card_of(kind)
        w.kept_cards[kind] = card
        assert w.stack.click("approve_action", card, user=w.rep.slack_id).status == 200
        wait_for(lambda: w.action(draft.id).status == "approved", "the approval")

    return Turn(f"rep clicks Approve on the {kind} card (the undo window is open)", run)


def undo_window_passes() -> Turn:
    def run(w: World) -> None:
        w.wait_out_the_undo_window()
        for action in w.actions():
            slots = action.effective_data().get("slots")
            if action.status == ActionStatus.executed and slots and action.id not in w.counted:
                w.counted.add(action.id)
                w.offers.append(tuple(datetime.fromisoformat(s) for s in slots))

    return Turn("the undo window passes and the clock runs what was approved", run)


def rep_keeps_the_card(kind: str) -> Turn:
    """The rep's Slack client still shows this card as it is now, buttons and all (a later
    redraw may not have reached it when they click)."""

    def run(w: World) -> None:
        _, card = w.card_of(kind)
        w.kept_cards[kind] = card

    return Turn(f"the rep's client keeps the {kind} card as it is now", run)


def rep_approves_the_kept_card(kind: str, *, refused: str) -> Turn:
    """Approve on the copy kept by `rep_keeps_the_card`: refused with `refused`, privately,
    and the draft stays as it was."""

    def run(w: World) -> None:
        card = w.kept_cards[kind]
        before = {a.id: a.status for a in w.actions()}
        assert w.stack.click("approve_action", card, user=w.rep.slack_id).status == 200
        hook = w.stack.last_hook
        told = wait_for(
            lambda: [r for r in w.stack.slack.responses if r["hook"] == hook], "the refusal"
        )
        assert told[-1]["response_type"] == "ephemeral", told
        assert refused in told[-1]["text"], told
        w.clock_runs()
        assert {a.id: a.status for a in w.actions()} == before, "a refused click changed a draft"

    return Turn(f"rep clicks Approve on the kept {kind} card and is told {refused!r}", run)


def rep_uses_the_suggested_zone() -> Turn:
    """Press "Use <zone>" under the newest message offering the prospect's zone; the script
    then reads emails to them in it."""

    def run(w: World) -> None:
        (message, *_) = reversed(w.zone_hints())
        value = w.stack.button_value(message, "use_prospect_zone")
        w.stack.click("use_prospect_zone", message, user=w.rep.slack_id)
        wait_for(
            lambda: [m for m in w.stack.slack.messages if m.ts == message.ts and m.history],
            "the message without its button",
        )
        w.zones[PROSPECT] = value.split("|")[2]

    return Turn("rep uses the suggested zone", run)


def rep_edit_is_refused(kind: str, *, body: str, saying: str) -> Turn:
    """The rep saves an edit the product can't keep: the modal shows `saying` under the body
    and the draft keeps its words."""

    def run(w: World) -> None:
        draft, card = w.card_of(kind)
        before = dict(w.action(draft.id).edited_data or {})
        opened = len(w.stack.slack.modals)
        w.stack.click("edit_action", card, user=w.rep.slack_id)
        view = wait_for(lambda: w.stack.slack.modals[opened:], "the edit modal")[0]
        values = {"subject": {"subject": {"value": "Demo"}}, "body": {"body": {"value": body}}}
        reply = w.stack.submit(view, values, user=w.rep.slack_id)
        answer = json.loads(reply.body)
        assert answer["response_action"] == "errors", answer
        assert saying in answer["errors"]["body"], answer
        assert dict(w.action(draft.id).edited_data or {}) == before

    return Turn(f"rep's edit of the {kind} draft is refused: {saying!r}", run)


def rep_adds_the_copied(address: str) -> Turn:
    """Press "Add <address>" under the newest message offering people a reply copied."""

    def run(w: World) -> None:
        (message, *_) = reversed(w.copied_hints())
        button = next(
            e
            for b in message.blocks
            for e in b.get("elements", [])
            if str(e.get("action_id", "")).startswith("add_copied_guest")
            and address in str(e.get("text"))
        )
        w.stack.click(str(button["action_id"]), message, user=w.rep.slack_id)
        wait_for(
            lambda: [m for m in w.stack.slack.messages if m.ts == message.ts and m.history],
            "the message without its button",
        )
        w.stack.drain()

    return Turn(f"rep adds {address}, copied on the reply", run)
