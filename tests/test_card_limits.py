"""The cards and views Slack must accept however much the prospect wrote.

Pure functions, built from rows and dataclasses at their realistic worst: a 3000-character reply
that tries to ping the channel, mention a user and plant links, long names, more attendees and
options than fit, a rep with many requests. Each must stay within what Slack accepts
(`block_errors`, plus the limits it checks only for these block types), give every action a
unique id in its block, and carry none of the prospect's text in a form Slack would act on.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.decision_blocks import MAX_OPTIONS, decided_card, decision_card
from bot.local_slack import block_errors
from bot.views import home_view, request_list, request_status
from db.models import Rep, SchedulingAction, SchedulingAttendee, SchedulingRequest
from orchestrator.commands.decision_cards import CHOICES, decision_view
from orchestrator.engine.outputs import Assess, UnderstandReply
from orchestrator.steps.replies import reply_summary
from orchestrator.views import LABELS, Dashboard, Figures, LastAction, Row, SchedulerStats

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
NY = "America/New_York"
# What a hostile or careless email can carry into Slack.
HOSTILE = (
    "<!channel> <!here|here> <!everyone> <@U123> <@U123|boss> <#C0GENERAL> "
    "<http://evil.example/login|Click to verify> <https://evil.example> @channel @here "
    "*bold* _it_ ~strike~ `code` &amp; & < >"
)
LONG_NAME = "Maximiliana Alexandra-Konstantinopoulou von Hohenzollern-Sigmaringen " + HOSTILE
LONG_TITLE = "Quarterly platform demo and security review for the EMEA procurement board " * 3

HEADER_TEXT, CONTEXT_ELEMENTS, TEXT_LIMIT, RADIO_OPTIONS = 150, 10, 3000, 10


def prospect_reply(length: int = 3000) -> str:
    """A reply body of `length` characters, hostile text on every line."""
    line = f"Re: our call. {HOSTILE} see https://acme.example/deck?x=1&y=2 <mailto:a@b.c>\n"
    return (line * (length // len(line) + 1))[:length]


def dump(blocks: Any) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every Block Kit text object ({"type": "mrkdwn" | "plain_text", "text": ...}) inside."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def limit_errors(blocks: list[dict[str, Any]]) -> list[str]:
    """Limits Slack enforces that `block_errors` does not look at, and duplicate ids."""
    errors = []
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        errors.append(f"duplicate block_id in {block_ids}")
    for i, block in enumerate(blocks):
        where = f"block {i} ({block['type']})"
        if block["type"] == "header" and len(block["text"]["text"]) > HEADER_TEXT:
            errors.append(f"{where}: header text > {HEADER_TEXT}")
        if block["type"] == "context":
            if len(block["elements"]) > CONTEXT_ELEMENTS:
                errors.append(f"{where}: > {CONTEXT_ELEMENTS} elements")
            for element in block["elements"]:
                if len(element.get("text", "")) > TEXT_LIMIT:
                    errors.append(f"{where}: element text > {TEXT_LIMIT}")
        elements = [*block.get("elements", []), block.get("accessory") or {}]
        actions = [e["action_id"] for e in elements if "action_id" in e]
        if len(actions) != len(set(actions)):
            errors.append(f"{where}: duplicate action_id in {actions}")
        for element in elements:
            if element.get("type") == "radio_buttons" and len(element["options"]) > RADIO_OPTIONS:
                errors.append(f"{where}: {len(element['options'])} radio options")
    return errors


def live_markup(blocks: list[dict[str, Any]], fallback: str) -> list[str]:
    """Mrkdwn (and the notification text) that would ping, mention or link: `<!…>`, `<@…>`,
    `<#…>`, `<http…>`, `<mailto:…>`, or a bare @channel/@here/@everyone."""
    texts = [t["text"] for t in text_objects(blocks) if t["type"] == "mrkdwn"] + [fallback]
    live = re.compile(r"<[!@#]|<https?:|<mailto:|@(channel|here|everyone)\b", re.IGNORECASE)
    return [t for t in texts if live.search(t)]


def assert_slack_accepts(
    blocks: list[dict[str, Any]], fallback: str, *, surface: str = "message"
) -> None:
    assert block_errors(blocks, surface=surface) == []
    assert limit_errors(blocks) == []
    assert live_markup(blocks, fallback) == []


# --- the decision card ----------------------------------------------------------------------------


def a_request(**fields: Any) -> SchedulingRequest:
    values: dict[str, Any] = {
        "org_id": "T0LOCAL",
        "rep_id": uuid.uuid4(),
        "ref": "ACME-1234",
        "title": LONG_TITLE + HOSTILE,
        "timezone": NY,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return SchedulingRequest(**(values | fields))


def a_rep() -> Rep:
    return Rep(
        org_id="T0LOCAL",
        slack_user_id="U0REP",
        email="rita@northwind.example",
        name="Rita Moreno",
        timezone=NY,
        created_at=NOW,
    )


def attendee_names(count: int) -> list[str]:
    return [f"{LONG_NAME} #{n}" for n in range(count)]


def a_decision(subtype: str, *, options: int, attendees: int) -> Assess:
    """The assess step's output at its largest: every field full of the prospect's words."""
    names = attendee_names(attendees)
    return Assess.from_json(
        {
            "next_action": "waiting_for_decision",
            "subtype": subtype,
            "needs_rep": True,
            "score": 33,
            "summary": "no common slot: "
            + "; ".join(f"{n} only Wed 09 Dec 14:00 EST" for n in names),
            "reasons": [f"{n}: asked: {HOSTILE} {prospect_reply(400)}" for n in names],
            "attendees": names,
            "slot": None,
            "alternatives": [
                {
                    "slot": (NOW + timedelta(days=1, hours=n)).isoformat(),
                    "attendees": names[: max(1, attendees - n)],
                    "fits_all": n % 3 == 2,
                }
                for n in range(options)
            ],
        }
    )


def a_decision_card(subtype: str, *, options: int = 25, attendees: int = 24) -> tuple[str, Any]:
    request, rep = a_request(), a_rep()
    analysis = UnderstandReply(
        email_message_id=str(uuid.uuid4()),
        intent="counter_propose",
        confidence="low",
        sentiment="negative",
        matched_slot=NOW + timedelta(days=1),
        question=prospect_reply(500),  # detect_intent keeps 500 characters
        delegate_email=f"{HOSTILE}@acme.example",
        escalate=True,
        source="rules",
        reasoning="",
    )
    reply = reply_summary(
        ref=request.ref,
        sender=f"{LONG_NAME} <john@acme.example>",
        body=prospect_reply(),
        analysis=analysis,
        rep_tz=rep.timezone,
    )
    view = decision_view(
        request, rep, a_decision(subtype, options=options, attendees=attendees), reply=reply
    )
    return decision_card(view)


def radio(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    (picker,) = [
        e for b in blocks for e in b.get("elements", []) if e.get("type") == "radio_buttons"
    ]
    return picker


@pytest.mark.parametrize("subtype", sorted(CHOICES))
def test_the_decision_card_holds_the_longest_reply_and_every_option(subtype: str) -> None:
    fallback, blocks = a_decision_card(subtype)
    assert_slack_accepts(blocks, fallback)
    buttons = [
        e["action_id"] for b in blocks for e in b.get("elements", []) if e.get("type") == "button"
    ]
    assert buttons == [f"decision_{c}" for c in CHOICES[subtype]]
    # The rep's summary of the reply fits whole: the quote is cut, not the closing line.
    assert blocks[1]["text"]["text"].endswith("\nNothing has been sent to them.")
    shown = json.dumps(blocks)
    assert "&lt;!channel&gt;" in shown and "&lt;@U123&gt;" in shown  # kept, but inert
    assert "&lt;http://evil.example/login|Click to verify&gt;" in shown
    if "book_slot" in CHOICES[subtype]:
        picker = radio(blocks)
        assert len(picker["options"]) == MAX_OPTIONS
        labels = [o["text"]["text"] for o in picker["options"]]
        assert all(len(label) <= 75 for label in labels)
        # Who can attend each: "everyone" when it suits all, else the names (cut to fit).
        assert labels[2].endswith(" · everyone")
        assert labels[0].startswith("Tue Dec 1, 9:00 AM · Maximiliana") and labels[0][-1] == "…"
        assert picker["initial_option"] == picker["options"][2]
    else:
        assert "radio_buttons" not in shown


def test_the_decided_card_keeps_the_story_within_limits() -> None:
    fallback, blocks = a_decision_card("reschedule")
    note = f":white_check_mark: <@U0REP> chose *{LABELS['book_slot']}*. A draft is on its way."
    after = decided_card(blocks, note)
    assert block_errors(after) == [] and limit_errors(after) == []
    assert not [b for b in after if b["type"] == "actions"]
    assert after[-1]["type"] == "context" and note in json.dumps(after[-1])
    # Only our own mention of the rep is live; the prospect's text stays inert.
    assert live_markup(after[:-1], fallback) == []


def test_a_decision_with_no_alternatives_offers_no_book_button() -> None:
    fallback, blocks = a_decision_card("resolve_conflict", options=0, attendees=2)
    assert_slack_accepts(blocks, fallback)
    shown = json.dumps(blocks)
    assert "decision_book_slot" not in shown and "radio_buttons" not in shown
    assert "decision_offer_times" in shown and "decision_handle_myself" in shown


# --- the Home tab and the lists ----------------------------------------------------------------


def rows(count: int, status: str, *, first: int = 1) -> list[Row]:
    """`count` requests numbered from `first`, each with a long title, a last step and drafts
    waiting (so every row carries all its buttons)."""
    return [
        Row(
            ref=f"ACME-{n}",
            title=f"{LONG_TITLE}{HOSTILE} #{n}",
            status=status,
            next_action="follow_up",
            next_action_at=NOW + timedelta(hours=n),
            meeting_start=NOW + timedelta(days=1, hours=n),
            last=LastAction(kind="reply_received", at=NOW, draft_type="email_response"),
            drafts_waiting=n % 3,
        )
        for n in range(first, first + count)
    ]


def test_the_home_tab_with_many_requests_stays_within_limits() -> None:
    board = Dashboard(
        timezone=NY,
        needs_attention=rows(60, "paused", first=1),
        pending_confirmation=rows(60, "awaiting_response", first=101),
        upcoming=rows(60, "confirmed", first=201),
        completed_this_week=rows(60, "completed", first=301),
        drafts_waiting=240,
    )
    view = home_view(board)
    assert view["type"] == "home"
    assert_slack_accepts(view["blocks"], "", surface="home")
    shown = dump(view["blocks"])
    # Every group says how many it holds, even those it could not show.
    for title in ("Needs your attention", "Waiting on the prospect", "Confirmed & upcoming"):
        assert f"{title} (60)" in shown
    assert "more: `/schedule list`" in shown
    assert "&lt;!channel&gt;" in shown


def test_the_home_tab_keeps_its_figures_within_limits_when_full() -> None:
    many = Figures(
        started=10**6,
        booked=10**6,
        held=10**6,
        finished=10**6,
        emails_before_booking=10**7,
        days_to_book=(0.5, 1000.0),
        approved=10**6,
        edited=1,
    )
    board = Dashboard(
        timezone=NY,
        needs_attention=rows(60, "paused", first=1),
        pending_confirmation=rows(60, "awaiting_response", first=101),
        upcoming=rows(60, "confirmed", first=201),
        completed_this_week=rows(60, "completed", first=301),
        drafts_waiting=240,
        stats=SchedulerStats(days=30, you=many, team=many),
    )
    blocks = home_view(board)["blocks"]
    assert_slack_accepts(blocks, "", surface="home")
    assert blocks[-2]["type"] == "header" and "*Team*" in dump(blocks[-1])


def test_request_list_of_many_long_requests_stays_within_limits() -> None:
    text, blocks = request_list(rows(80, "negotiating"), NY)
    assert_slack_accepts(blocks, text)
    assert text == "80 requests"
    assert "…and 60 more" in dump(blocks)


def test_request_status_with_many_attendees_and_a_long_trail_stays_within_limits() -> None:
    request = a_request(
        status="negotiating",
        proposed_slots=[
            {"start": (NOW + timedelta(days=1, hours=n)).isoformat()} for n in range(12)
        ],
        next_action_type="follow_up",
        next_action_at=NOW + timedelta(hours=24),
    )
    attendees = [
        SchedulingAttendee(
            org_id="T0LOCAL",
            request_id=request.id,
            side="external" if n else "internal",
            required=n % 4 != 3,
            email=f"{name}@acme.example".replace(" ", "."),
            name=name,
            created_at=NOW,
        )
        for n, name in enumerate(attendee_names(30))
    ]
    activity = [
        SchedulingAction(
            org_id="T0LOCAL",
            request_id=request.id,
            action_type=kind,
            actor="ai",
            created_at=NOW,
        )
        for kind in ["reply_received", "event_state_changed", "counter_proposal_sent"] * 80
    ]
    text, blocks = request_status(request, attendees, activity, NY)
    assert_slack_accepts(blocks, text)
    assert text == "ACME-1234: Negotiating"
    assert "&lt;@U123&gt;" in json.dumps(blocks)
