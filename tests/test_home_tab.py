"""The Home tab (seed 000's dashboard) through the real Bolt app: the four groups, each row's
last and next action, and its buttons (Status, Review, Pause / Resume), on both backends."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import event
from sqlmodel import col, select

from bot.local_slack import block_errors
from bot.slack_requests import Reply, post_signed
from bot.views import HOME_ROWS_PER_GROUP
from db.audit import record_action
from db.models import (
    ActionStatus,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingRequest,
)
from orchestrator.commands.dashboard import dashboard_for
from orchestrator.mrkdwn import owner_only
from tests.support.stack import OTHER_ID, REP_ID, SECRET, Stack, wait_for

# --- driving the Home tab -----------------------------------------------------------------------


def publishes(stack: Stack, user: str = REP_ID) -> int:
    return len([c for c in stack.slack.calls_to("views.publish") if c["args"]["user_id"] == user])


def press(
    stack: Stack, view: dict[str, Any], ref: str, action_id: str, *, user: str = REP_ID
) -> Reply:
    """Press `action_id` on `ref`'s row, shaped like Slack's click on a Home tab: the container
    is the view, and there is no channel and no response_url."""
    block = next(b for b in view["blocks"] if b.get("block_id") == f"home:{ref}")
    element = next(e for e in block["elements"] if e["action_id"] == action_id)
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": stack.slack.team_id},
        "api_app_id": "A0CONVENE",
        "trigger_id": f"{uuid.uuid4().hex}.home",
        "container": {"type": "view", "view_id": "VHOME"},
        "view": {"id": "VHOME", "type": "home", "blocks": view["blocks"]},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block["block_id"],
                "value": element["value"],
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    body = ("payload=" + quote(json.dumps(payload))).encode()
    return post_signed(stack.events_url, body, secret=SECRET)


def press_and_republish(
    stack: Stack, view: dict[str, Any], ref: str, action_id: str
) -> dict[str, Any]:
    before = publishes(stack)
    assert press(stack, view, ref, action_id).status == 200
    wait_for(lambda: publishes(stack) > before, "the Home tab republished")
    return stack.slack.home_views[REP_ID]


def row_text(view: dict[str, Any], ref: str) -> str:
    """The section above `ref`'s buttons."""
    blocks = view["blocks"]
    at = next(i for i, b in enumerate(blocks) if b.get("block_id") == f"home:{ref}")
    return str(blocks[at - 1]["text"]["text"])


def buttons(view: dict[str, Any], ref: str) -> list[str]:
    block = next(b for b in view["blocks"] if b.get("block_id") == f"home:{ref}")
    return [e["text"]["text"] for e in block["elements"]]


def group_of(view: dict[str, Any], ref: str) -> str:
    """The header of the group `ref`'s row is listed under."""
    header = ""
    for block in view["blocks"]:
        if block["type"] == "header":
            header = block["text"]["text"]
        if block.get("block_id") == f"home:{ref}":
            return header
    raise AssertionError(f"{ref} is not on the Home tab")


def dms_to(stack: Stack, user: str) -> list[str]:
    return [m.text for m in stack.slack.messages if m.channel == "D" + user]


# --- the four groups ----------------------------------------------------------------------------


def approve_first_emails(stack: Stack, *domains: str) -> None:
    """Approve the first email of each domain's request in Slack, then let them go out."""
    for domain in domains:
        card = next(c for c in stack.cards() if domain in str(c.blocks))
        assert stack.click("approve_action", card).status == 200
    wait_for(
        lambda: (
            len(stack.rows(PendingAction, col(PendingAction.status) == ActionStatus.approved))
            == len(domains)
        ),
        "the approvals",
    )
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()


def set_state(stack: Stack, ref: str, kind: str, **values: Any) -> None:
    """Move a request on the way its flow would (state and the audit row saying so)."""
    now = stack.clock.now()
    with stack.deps.uow() as uow:
        (request,) = uow.session.exec(
            select(SchedulingRequest).where(SchedulingRequest.ref == ref)
        ).all()
        for name, value in values.items():
            setattr(request, name, value)
        request.updated_at = now
        uow.session.add(request)
        record_action(
            uow.session,
            org_id=request.org_id,
            request_id=request.id,
            kind=kind,
            actor="ai",
            now=now,
        )
        uow.commit()


def four_groups(stack: Stack) -> dict[str, Any]:
    """ACME-1 waits on its draft, GLOBEX-1 on the prospect, INITECH-1 is booked for Wednesday,
    UMBRELLA-1 was held today."""
    for who in (
        "john@acme.example",
        "ann@globex.example",
        "bob@initech.example",
        "eve@umbrella.example",
    ):
        stack.schedule(f"demo with {who}")
        stack.drain()
    approve_first_emails(stack, "globex", "initech", "umbrella")
    stack.clock.advance(timedelta(hours=1))
    start = stack.clock.now() + timedelta(days=2, hours=1)  # Wed Dec 02, 11:00 New York
    set_state(
        stack,
        "INITECH-1",
        "meeting_booked",
        status=RequestStatus.confirmed,
        meeting_start=start,
        meeting_end=start + timedelta(minutes=30),
        next_action_at=None,
        next_action_type=None,
    )
    set_state(
        stack,
        "UMBRELLA-1",
        "meeting_held",
        status=RequestStatus.completed,
        outcome="held",
        next_action_at=None,
        next_action_type=None,
    )
    return stack.open_home()


def test_home_tab_shows_the_four_groups_with_last_and_next_action(stack: Stack) -> None:
    view = four_groups(stack)
    assert block_errors(view["blocks"], surface="home") == []
    assert group_of(view, "ACME-1") == "Needs your attention (1)"
    assert group_of(view, "GLOBEX-1") == "Waiting on the prospect (1)"
    assert group_of(view, "INITECH-1") == "Confirmed & upcoming (1)"
    assert group_of(view, "UMBRELLA-1") == "Completed this week (1)"

    # What happened last comes from the audit log, in the rep's zone (New York).
    assert row_text(view, "ACME-1") == (
        "*ACME-1* · Demo with john@acme.example · _Finding times_\n"
        "last: drafted an email for your approval (Mon Nov 30, 09:00 EST)\n"
        ":inbox_tray: 1 draft waiting for your approval"
    )
    assert row_text(view, "GLOBEX-1") == (
        "*GLOBEX-1* · Demo with ann@globex.example · _Waiting for their reply_"
        " · next: follow up Tue Dec 01, 09:00 EST\n"
        "last: sent the first scheduling email (Mon Nov 30, 09:00 EST)"
    )
    assert row_text(view, "INITECH-1") == (
        "*INITECH-1* · Demo with bob@initech.example · _Confirmed_"
        " · meeting Wed Dec 02, 11:00 EST\n"
        "last: meeting booked (Mon Nov 30, 10:00 EST)"
    )
    assert row_text(view, "UMBRELLA-1") == (
        "*UMBRELLA-1* · Demo with eve@umbrella.example · _Completed_\n"
        "last: meeting held (Mon Nov 30, 10:00 EST)"
    )
    # Buttons by state: Review only where a draft waits, nothing to pause once it is over.
    assert buttons(view, "ACME-1") == ["Status", "Review", "Pause"]
    assert buttons(view, "GLOBEX-1") == ["Status", "Pause"]
    assert buttons(view, "INITECH-1") == ["Status", "Pause"]
    assert buttons(view, "UMBRELLA-1") == ["Status"]


def test_pause_then_resume_from_home_republishes_the_tab(stack: Stack) -> None:
    view = four_groups(stack)
    dms = dms_to(stack, REP_ID)  # the approval cards so far
    stack.clock.advance(timedelta(minutes=5))

    paused = press_and_republish(stack, view, "GLOBEX-1", "home_pause")
    (request,) = stack.rows(SchedulingRequest, col(SchedulingRequest.ref) == "GLOBEX-1")
    assert request.status == RequestStatus.paused
    assert request.paused_from == RequestStatus.awaiting_response
    assert block_errors(paused["blocks"], surface="home") == []
    assert group_of(paused, "GLOBEX-1") == "Needs your attention (2)"
    assert "Waiting on the prospect (0)" in json.dumps(paused["blocks"])
    assert buttons(paused, "GLOBEX-1") == ["Status", "Resume"]
    assert row_text(paused, "GLOBEX-1").startswith(
        "*GLOBEX-1* · Demo with ann@globex.example · _Paused_"
    )
    assert row_text(paused, "GLOBEX-1").endswith("\nlast: paused (Mon Nov 30, 10:05 EST)")

    stack.clock.advance(timedelta(minutes=5))
    resumed = press_and_republish(stack, paused, "GLOBEX-1", "home_resume")
    (request,) = stack.rows(SchedulingRequest, col(SchedulingRequest.ref) == "GLOBEX-1")
    assert request.status == RequestStatus.awaiting_response and request.paused_from is None
    assert group_of(resumed, "GLOBEX-1") == "Waiting on the prospect (1)"
    assert buttons(resumed, "GLOBEX-1") == ["Status", "Pause"]
    assert row_text(resumed, "GLOBEX-1").endswith("\nlast: resumed (Mon Nov 30, 10:10 EST)")
    kinds = [
        a.action_type
        for a in stack.rows(SchedulingAction, col(SchedulingAction.request_id) == request.id)
    ]
    assert kinds.count("request_paused") == 1 and kinds.count("request_resumed") == 1
    assert dms_to(stack, REP_ID) == dms  # the republished tab is the answer; no DM chatter


def test_pause_by_command_republishes_a_home_tab_left_open(stack: Stack) -> None:
    four_groups(stack)
    before = publishes(stack)
    assert "Paused GLOBEX-1" in stack.command_response(stack.command("pause GLOBEX-1"))
    wait_for(lambda: publishes(stack) > before, "the republished tab")
    view = stack.slack.home_views[REP_ID]
    assert buttons(view, "GLOBEX-1") == ["Status", "Resume"]
    assert group_of(view, "GLOBEX-1") == "Needs your attention (2)"
    stack.command_response(stack.command("pause NOSUCH-9"))  # refused: nothing to republish
    assert publishes(stack) == before + 1


def test_status_button_opens_what_schedule_status_shows(stack: Stack) -> None:
    view = four_groups(stack)
    command = json.loads(stack.command("status GLOBEX-1").body)

    assert press(stack, view, "GLOBEX-1", "home_status").status == 200
    modal = wait_for(lambda: stack.slack.modals, "the status modal")[-1]
    assert modal["type"] == "modal"
    assert modal["title"] == {"type": "plain_text", "text": "Status of GLOBEX-1"}
    assert modal["blocks"] == command["blocks"]
    assert "ann@globex.example (external: needs_action)" in json.dumps(modal["blocks"])
    assert publishes(stack) == 1  # only the open_home above: a look-up changes nothing


def test_review_button_posts_that_requests_draft_for_approval(stack: Stack) -> None:
    view = four_groups(stack)
    before = len(stack.slack.messages)

    assert press(stack, view, "ACME-1", "home_review").status == 200
    batch = wait_for(
        lambda: [m for m in stack.slack.messages[before:] if m.channel == "D" + REP_ID],
        "the review card",
    )[-1]
    assert batch.text == "1 draft waiting for your approval"
    assert batch.blocks[1]["text"]["text"].startswith(
        "*ACME-1* · First scheduling email to *john@acme.example*\n_"
    )
    assert "GLOBEX-1" not in json.dumps(batch.blocks)

    # Its Approve is the batch review's: the draft is approved with its undo window.
    stack.click("batch_approve:0", batch)
    (draft,) = wait_for(
        lambda: stack.rows(PendingAction, col(PendingAction.status) == ActionStatus.approved),
        "the approval",
    )
    (acme,) = stack.rows(SchedulingRequest, col(SchedulingRequest.ref) == "ACME-1")
    assert draft.request_id == acme.id and draft.decided_by == REP_ID


def test_someone_elses_click_is_refused_and_changes_nothing(stack: Stack) -> None:
    view = four_groups(stack)
    statuses = {r.ref: r.status for r in stack.rows(SchedulingRequest)}
    audit_rows = len(stack.rows(SchedulingAction))

    for ref, action_id in [
        ("GLOBEX-1", "home_pause"),
        ("ACME-1", "home_review"),
        ("INITECH-1", "home_status"),
    ]:
        assert press(stack, view, ref, action_id, user=OTHER_ID).status == 200
    refusals = wait_for(
        lambda: len(dms_to(stack, OTHER_ID)) == 3 and dms_to(stack, OTHER_ID), "refusals"
    )
    assert refusals == [owner_only(REP_ID)] * 3
    assert owner_only(REP_ID) == "This belongs to <@U0REP>; only they can decide it."

    assert {r.ref: r.status for r in stack.rows(SchedulingRequest)} == statuses
    assert len(stack.rows(SchedulingAction)) == audit_rows
    assert stack.rows(PendingAction, col(PendingAction.status) == ActionStatus.approved) == []
    assert stack.slack.modals == []
    assert publishes(stack, REP_ID) == 1  # the rep's tab was not touched
    assert [
        m for m in stack.slack.messages if m.channel == "D" + REP_ID and "draft waiting" in m.text
    ] == []


def add_requests(stack: Stack, rep: Rep, count: int, start: int = 0) -> None:
    """`count` requests spread over the four groups, each with an audit row, titles hostile."""
    now = stack.clock.now()
    states = [
        {"status": RequestStatus.paused, "paused_from": RequestStatus.awaiting_response},
        {"status": RequestStatus.awaiting_response, "next_action_type": "follow_up"},
        {"status": RequestStatus.confirmed},
        {"status": RequestStatus.completed, "outcome": "held"},
    ]
    with stack.deps.uow() as uow:
        for n in range(start, start + count):
            state = dict(states[n % 4])
            meeting = now + timedelta(days=1, minutes=n)
            request = SchedulingRequest(
                org_id=rep.org_id,
                rep_id=rep.id,
                ref=f"BULK-{n + 1}",
                title=f"Demo <!channel> & *Bulk {n + 1}* " + "x" * 200,
                meeting_start=meeting if state["status"] == RequestStatus.confirmed else None,
                next_action_at=now + timedelta(days=1) if "next_action_type" in state else None,
                created_at=now,
                updated_at=now,
                **state,
            )
            uow.session.add(request)
            uow.session.flush()
            record_action(
                uow.session,
                org_id=rep.org_id,
                request_id=request.id,
                kind="reply_received",
                actor="prospect",
                now=now - timedelta(minutes=n),
            )
        uow.commit()


def statements_for_dashboard(stack: Stack) -> int:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(stack.deps.engine, "before_cursor_execute", count)
    try:
        dashboard_for(stack.deps, org_id=stack.slack.team_id, slack_user_id=REP_ID)
    finally:
        event.remove(stack.deps.engine, "before_cursor_execute", count)
    return len(seen)


def test_sixty_requests_fit_the_home_tab_and_load_in_constant_queries(stack: Stack) -> None:
    stack.schedule("demo with john@acme.example")
    stack.drain()
    (rep,) = stack.rows(Rep)
    add_requests(stack, rep, 4)
    few = statements_for_dashboard(stack)
    add_requests(stack, rep, 56, start=4)
    assert statements_for_dashboard(stack) == few  # the last actions: one query, not one per row

    view = stack.open_home()
    blocks = view["blocks"]
    assert block_errors(blocks, surface="home") == []
    assert len(blocks) <= 100
    assert HOME_ROWS_PER_GROUP == 11  # 2 blocks a row: (100 - 10 fixed) // (4 groups × 2)
    text = json.dumps(blocks, ensure_ascii=False)
    for header in (
        "Needs your attention (16)",
        "Waiting on the prospect (15)",
        "Confirmed & upcoming (15)",
        "Completed this week (15)",
    ):
        assert header in text
    assert text.count("more: `/schedule list`") == 4
    assert "…and 5 more: `/schedule list`" in text and "…and 4 more: `/schedule list`" in text
    rows = [b for b in blocks if str(b.get("block_id", "")).startswith("home:")]
    assert len(rows) == 4 * HOME_ROWS_PER_GROUP
    block_ids = [b["block_id"] for b in rows]
    assert len(set(block_ids)) == len(block_ids)
    # Untrusted titles stay inert.
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; *Bulk 1*" in text
    assert row_text(view, "BULK-2").endswith("\nlast: they replied (Mon Nov 30, 08:59 EST)")
