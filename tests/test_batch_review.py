"""`/schedule review`: every waiting draft in one message, approved one by one or all at once
through the same outbox path as the approval card (ownership, undo window) — over signed HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote

from sqlmodel import col

from bot.batch_blocks import approve_all_note, batch_card, batch_members
from bot.local_slack import Message, block_errors
from bot.slack_requests import button_click, post_signed
from db.models import ActionStatus, ActionType, PendingAction, SchedulingRequest
from orchestrator.views import ActionView
from tests.support.stack import OTHER_ID, REP_ID, SECRET, Stack, wait_for

PROSPECTS = ("john@acme.example", "ann@globex.example", "li@initech.example")


def draft_for(stack: Stack, *prospects: str) -> list[PendingAction]:
    """A real first-email draft (and its approval card) per prospect."""
    for who in prospects:
        stack.schedule(f"demo with {who}")
        stack.drain()
    actions = sorted(stack.rows(PendingAction), key=lambda a: a.created_at)
    assert len(actions) == len(prospects)
    return actions


def review(stack: Stack, *, user: str = REP_ID) -> Message:
    before = len(stack.slack.calls_to("chat.postMessage"))
    reply = stack.command("review", user=user)
    assert reply.status == 200
    wait_for(lambda: len(stack.slack.calls_to("chat.postMessage")) > before, "the batch card")
    return current(stack, stack.slack.messages[-1])


def current(stack: Stack, card: Message) -> Message:
    live = stack.slack.message(card.channel, card.ts)
    return Message(live.channel, live.ts, live.text, json.loads(json.dumps(live.blocks)))


def press(stack: Stack, card: Message, action_id: str, *, user: str = REP_ID) -> str:
    """Click as Slack sends it from a message (the message's blocks included); returns the
    response_url hook the listener may answer on."""
    hook = f"batch-{action_id}-{len(stack.slack.calls)}-{user}"
    raw = button_click(
        action_id=action_id,
        value=stack.button_value(card, action_id),
        user_id=user,
        team_id=stack.slack.team_id,
        response_url=stack.slack.hook_url(hook),
        channel_id=card.channel,
        message_ts=card.ts,
    )
    payload = json.loads(unquote(raw.decode().removeprefix("payload=")))
    payload["message"] = {"ts": card.ts, "text": card.text, "blocks": card.blocks}
    reply = post_signed(
        stack.events_url, ("payload=" + quote(json.dumps(payload))).encode(), secret=SECRET
    )
    assert reply.status == 200 and reply.body == ""
    return hook


def redrawn(stack: Stack, card: Message, versions: int = 1) -> Message:
    wait_for(
        lambda: len(stack.slack.message(card.channel, card.ts).history) >= versions,
        "the batch card to be redrawn",
    )
    return current(stack, card)


def ephemeral(stack: Stack, hook: str) -> str:
    found = wait_for(lambda: [r for r in stack.slack.responses if r["hook"] == hook], "a reply")
    assert found[-1]["response_type"] == "ephemeral"
    return str(found[-1]["text"])


def sections(card: Message) -> list[str]:
    return [b["text"]["text"] for b in card.blocks if b["type"] == "section"]


def status_of(stack: Stack, action: PendingAction) -> str:
    (row,) = stack.rows(PendingAction, col(PendingAction.id) == action.id)
    return row.status


def assert_within_slack_limits(blocks: list[dict[str, Any]]) -> None:
    assert block_errors(blocks) == []
    ids = [
        e["action_id"]
        for b in blocks
        for e in [*b.get("elements", []), b.get("accessory") or {}]
        if "action_id" in e
    ]
    assert len(ids) == len(set(ids)), "action ids unique in the whole message"


# --- the list -----------------------------------------------------------------------------------


def test_nothing_to_review_is_said_in_the_ack(stack: Stack) -> None:
    reply = stack.command("review")
    assert json.loads(reply.body) == {
        "text": "Nothing is waiting for your approval.",
        "response_type": "ephemeral",
    }
    assert stack.slack.calls_to("chat.postMessage") == []


def test_review_lists_each_draft_with_ref_type_recipient_and_subject(stack: Stack) -> None:
    first, second = draft_for(stack, *PROSPECTS[:2])
    card = review(stack)
    assert card.channel == "DU0REP"
    assert_within_slack_limits(card.blocks)
    subject = first.action_data["subject"]
    assert sections(card) == [
        ":inbox_tray: *2 drafts waiting for your approval*",
        f"*ACME-1* · First scheduling email to *{PROSPECTS[0]}*\n_{subject}_",
        f"*GLOBEX-1* · First scheduling email to *{PROSPECTS[1]}*\n_{subject}_",
    ]
    assert stack.button_value(card, "batch_approve:0") == str(first.id)
    assert stack.button_value(card, "batch_skip:1") == str(second.id)
    assert stack.button_value(card, "batch_approve_all") == "all"
    assert "Your drafts are in our DM" in stack.command_response(stack.command("review"))


def test_approve_goes_through_the_outbox_with_its_undo_window(stack: Stack) -> None:
    first, second = draft_for(stack, *PROSPECTS[:2])
    own_card = next(
        c for c in stack.cards() if stack.button_value(c, "approve_action") == str(first.id)
    )
    card = review(stack)

    press(stack, card, "batch_approve:0")
    after = redrawn(stack, card)
    assert status_of(stack, first) == ActionStatus.approved
    assert status_of(stack, second) == ActionStatus.pending
    assert sections(after)[0] == ":inbox_tray: *1 draft waiting for your approval*"
    assert f"Approved by <@{REP_ID}>; sending at" in sections(after)[1]
    assert "batch_approve:0" not in json.dumps(after.blocks)
    wait_for(
        lambda: (
            "undo_action" in json.dumps(stack.slack.message(own_card.channel, own_card.ts).blocks)
        ),
        "the draft's own card to show Undo",
    )

    stack.drain()
    assert stack.inbox(PROSPECTS[0]) == [], "still inside the undo window"
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()
    assert len(stack.inbox(PROSPECTS[0])) == 1
    assert stack.inbox(PROSPECTS[1]) == []
    acme = stack.rows(SchedulingRequest, SchedulingRequest.ref == "ACME-1")[0]
    assert acme.status == "awaiting_response"


def test_skip_takes_a_draft_off_the_list_and_leaves_it_waiting(stack: Stack) -> None:
    first, second = draft_for(stack, *PROSPECTS[:2])
    card = review(stack)
    press(stack, card, "batch_skip:0")
    after = redrawn(stack, card)
    assert [s.split(" · ")[0] for s in sections(after)] == [
        ":inbox_tray: *1 draft waiting for your approval*",
        "*GLOBEX-1*",
    ]
    assert status_of(stack, first) == ActionStatus.pending
    assert batch_members(after.blocks) == ([str(second.id)], 0)

    press(stack, after, "batch_approve_all")
    done = redrawn(stack, card, 2)
    assert status_of(stack, first) == ActionStatus.pending, "a skipped draft isn't approved"
    assert status_of(stack, second) == ActionStatus.approved
    assert done.blocks[-1]["elements"][0]["text"] == (
        ":white_check_mark: Approved 1; 0 were already handled."
    )


def test_approve_all_counts_what_was_already_handled(stack: Stack) -> None:
    actions = draft_for(stack, *PROSPECTS)
    card = review(stack)
    # Meanwhile the rep approves one of them on its own card.
    own = {
        str(a.id): c
        for c in stack.cards()
        for a in actions
        if f'"value": "{a.id}"' in json.dumps(c.blocks) and "approve_action" in json.dumps(c.blocks)
    }
    stack.click("approve_action", own[str(actions[1].id)])
    wait_for(lambda: status_of(stack, actions[1]) == ActionStatus.approved, "approval")

    press(stack, card, "batch_approve_all")
    done = redrawn(stack, card)
    assert [status_of(stack, a) for a in actions] == [ActionStatus.approved] * 3
    assert done.blocks[-1]["elements"][0]["text"] == (
        ":white_check_mark: Approved 2; 1 was already handled."
    )
    assert sections(done)[0] == ":inbox_tray: *Nothing left to review here*"
    assert "batch_approve" not in json.dumps(done.blocks), "no buttons left to press"
    assert_within_slack_limits(done.blocks)


def test_only_the_owner_can_approve_or_skip(stack: Stack) -> None:
    first, second = draft_for(stack, *PROSPECTS[:2])
    card = review(stack)
    refusal = f"This belongs to <@{REP_ID}>; only they can decide it."
    assert ephemeral(stack, press(stack, card, "batch_approve:0", user=OTHER_ID)) == refusal
    assert ephemeral(stack, press(stack, card, "batch_skip:1", user=OTHER_ID)) == refusal
    press(stack, card, "batch_approve_all", user=OTHER_ID)
    done = redrawn(stack, card, 2)
    assert done.blocks[-1]["elements"][0]["text"] == (
        ":white_check_mark: Approved 0; 0 were already handled; 2 aren't yours to decide."
    )
    assert [status_of(stack, a) for a in (first, second)] == [ActionStatus.pending] * 2
    assert batch_members(done.blocks) == ([str(first.id), str(second.id)], 0)


def test_a_long_queue_is_capped_escaped_and_within_slacks_limits(stack: Stack) -> None:
    (real,) = draft_for(stack, PROSPECTS[0])
    now = stack.clock.now()
    with stack.deps.uow() as uow:
        for n in range(39):
            uow.session.add(
                PendingAction(
                    org_id=real.org_id,
                    rep_id=real.rep_id,
                    request_id=real.request_id,
                    action_type=ActionType.email_follow_up,
                    action_data={
                        "to": [f"<!channel>{n}-" + "x" * 60 + "@prospect.example"] * 8,
                        "subject": "<!here> Re: " + "a very long subject line " * 40,
                        "body": "hello",
                        "message_id": f"<long-{n}@convene.local>",
                    },
                    idempotency_key=f"long-{n}",
                    created_at=now + timedelta(seconds=n + 1),
                    updated_at=now,
                )
            )
        uow.commit()
    card = review(stack)
    assert_within_slack_limits(card.blocks)
    ids, more = batch_members(card.blocks)
    assert (len(ids), more) == (15, 25)
    assert ids[0] == str(real.id), "oldest first"
    assert sections(card)[0] == ":inbox_tray: *15 drafts waiting for your approval*"
    text = json.dumps(card.blocks)
    assert "<!channel>" not in text and "<!here>" not in text
    assert "&lt;!channel&gt;0-" in text
    assert card.blocks[-2]["elements"][0]["text"] == (
        "…and 25 more; approve these, then `/schedule review` again."
    )


# --- pure parts ---------------------------------------------------------------------------------


def _view(n: int, status: str = "pending", **changes: Any) -> ActionView:
    fields: dict[str, Any] = {
        "action_id": f"00000000-0000-0000-0000-{n:012d}",
        "action_type": "calendar_book",
        "status": status,
        "to": ("<@U0BOSS>" + "y" * 300 + "@example.com",) * 10,
        "subject": "<!channel> " + "z" * 5000,
        "body": "",
        "reasoning": "",
        "confidence": None,
        "request_ref": "<!everyone>-" + "R" * 60,
        "request_title": "",
        "rep_timezone": "Asia/Kathmandu",
        "undo_until": None,
        "decided_by": None,
        "executed_at": None,
        "error": None,
    }
    return ActionView(**{**fields, **changes})


def test_longest_batch_card_stays_within_slacks_limits() -> None:
    statuses = ["pending", "approved", "executed", "rejected", "failed", "expired", "cancelled"]
    views = [_view(n, statuses[n % len(statuses)], decided_by="U0REP") for n in range(15)]
    text, blocks = batch_card(views, more=9999, note=approve_all_note(15, 9999, 9999))
    assert_within_slack_limits(blocks)
    assert len(blocks) <= 50
    dumped = json.dumps(blocks) + text
    assert "<!channel>" not in dumped and "<@U0BOSS>" not in dumped and "<!everyone>" not in dumped
    assert "Calendar invite to" in dumped
    assert batch_members(blocks) == ([v.action_id for v in views], 9999)
