"""The approval card's preview and its "Show full email" modal; who may open the draft's modals;
escaped fallback text — through signed HTTP against the local Slack."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from bot.blocks import PREVIEW_CHARS, SECTION_LIMIT, approval_card
from bot.full_email import MAX_BODY_SECTIONS, body_sections, full_email_view
from bot.local_slack import Message, block_errors
from bot.meeting_blocks import meeting_check_card
from db.models import PendingAction, Rep
from orchestrator.mrkdwn import escape_mrkdwn, owner_only
from orchestrator.outbox.approval_cards import refresh_card
from orchestrator.views import ActionView, MeetingCheck
from tests.support.stack import OTHER_ID, REP_ID, Stack, wait_for

PROSPECT = "john@acme.example"
LAST_SENTENCE = "Looking forward to it, and thanks for bearing with this long note."
# Long, with mrkdwn that must stay inert, and over several sections once escaped.
LONG_BODY = (
    "\n\n".join(
        f"Paragraph {n}: rollout notes for <!channel> & <@U0BOSS> — step {n} of the plan, "
        "covering the pilot team, the data import, single sign-on & the billing switch-over."
        for n in range(1, 60)
    )
    + f"\n\n{LAST_SENTENCE}"
)


def _card(stack: Stack) -> Message:
    stack.schedule(f"demo with {PROSPECT}")
    stack.drain()
    return wait_for(stack.cards, "the card")[0]  # type: ignore[no-any-return]


def _current(stack: Stack, card: Message) -> Message:
    return next(c for c in stack.cards() if c.ts == card.ts)


def _set_body(stack: Stack, card: Message, body: str) -> Message:
    """The draft's body replaced in the database, the card redrawn from it."""
    (action,) = stack.rows(PendingAction)
    with stack.deps.uow() as uow:
        row = uow.session.get_one(PendingAction, action.id)
        row.action_data = {**row.action_data, "body": body}
        uow.session.add(row)
        uow.commit()
    refresh_card(stack.deps, action.id)
    return _current(stack, card)


def _make_delegate(stack: Stack, slack_user_id: str) -> None:
    (rep,) = stack.rows(Rep)
    with stack.deps.uow() as uow:
        row = uow.session.get_one(Rep, rep.id)
        row.delegate_slack_ids = [slack_user_id]
        uow.session.add(row)
        uow.commit()


def _sections(view: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]


def _refusal(stack: Stack) -> dict[str, Any]:
    hook = stack.last_hook
    found = wait_for(lambda: [r for r in stack.slack.responses if r["hook"] == hook], "a reply")
    return found[-1]  # type: ignore[no-any-return]


def test_a_cut_preview_offers_the_full_email_in_a_modal(stack: Stack) -> None:
    card = _set_body(stack, _card(stack), LONG_BODY)
    (action,) = stack.rows(PendingAction)
    preview = card.blocks[1]
    assert preview["text"]["text"].endswith("…")
    assert LAST_SENTENCE not in preview["text"]["text"]
    assert preview["accessory"]["action_id"] == "show_full_email"
    assert preview["accessory"]["value"] == str(action.id)
    assert preview["accessory"]["text"]["text"] == "Show full email"

    stack.click("show_full_email", card)
    (modal,) = wait_for(lambda: stack.slack.modals, "the full email modal")
    (opened,) = stack.slack.calls_to("views.open")
    assert str(opened["args"]["trigger_id"]).endswith(".click")
    assert block_errors(modal["blocks"], surface="modal") == []
    assert modal["title"]["text"] == "Full email"
    assert "submit" not in modal
    header, *body = _sections(modal)
    assert header.startswith(f"*To:* {PROSPECT}\n")
    assert "*Subject:* " in header
    assert len(body) >= 2 and all(len(text) <= SECTION_LIMIT for text in body)
    assert body[-1].endswith(LAST_SENTENCE)
    shown = [line for text in body for line in text.split("\n") if line]
    assert shown == [escape_mrkdwn(line) for line in LONG_BODY.split("\n") if line]
    assert "<!channel>" not in str(modal) and "<@U0BOSS>" not in str(modal)
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;" in body[0]
    # Reading changes nothing: the draft still waits, the card still offers its buttons.
    (action,) = stack.rows(PendingAction)
    assert action.status == "pending"
    assert "approve_action" in str(_current(stack, card).blocks)


def test_the_full_email_is_the_rep_edited_version(stack: Stack) -> None:
    card = _card(stack)
    stack.click("edit_action", card)
    edit = wait_for(lambda: stack.slack.modals, "the edit modal")[-1]
    edited = "Hi John,\n\n" + "We can walk your team through the import. " * 40 + LAST_SENTENCE
    assert PREVIEW_CHARS < len(edited) <= 3000
    values = {"subject": {"subject": {"value": "Your demo"}}, "body": {"body": {"value": edited}}}
    assert stack.submit(edit, values).body == ""
    card = wait_for(
        lambda: "show_full_email" in str(_current(stack, card).blocks) and _current(stack, card),
        "the card to offer the full email",
    )
    stack.click("show_full_email", card)
    modal = wait_for(lambda: stack.slack.modals[1:], "the full email modal")[0]
    header, *body = _sections(modal)
    assert header.endswith("*Subject:* Your demo")
    assert "\n".join(body) == edited
    assert "Hi there," not in str(modal)  # the original draft's opening


def test_a_short_draft_has_no_full_email_button(stack: Stack) -> None:
    card = _card(stack)
    (action,) = stack.rows(PendingAction)
    body = str(action.effective_data()["body"])
    assert len(body) <= PREVIEW_CHARS
    assert "show_full_email" not in str(card.blocks)
    assert "accessory" not in card.blocks[1]
    assert not card.blocks[1]["text"]["text"].endswith("…")
    buttons = [e["action_id"] for e in card.blocks[-1]["elements"]]
    assert buttons == ["approve_action", "edit_action", "reject_action", "send_later"]


def test_someone_else_is_refused_before_any_modal_opens(stack: Stack) -> None:
    card = _set_body(stack, _card(stack), LONG_BODY)
    for button in ["show_full_email", "edit_action", "reject_action"]:
        assert stack.click(button, card, user=OTHER_ID).status == 200
        refusal = _refusal(stack)
        assert refusal["text"] == owner_only(REP_ID), button
        assert refusal["response_type"] == "ephemeral"
        assert refusal["replace_original"] is False
    assert stack.slack.calls_to("views.open") == []
    assert stack.slack.modals == []
    (action,) = stack.rows(PendingAction)
    assert action.status == "pending" and action.edited_data is None


def test_the_owner_and_a_delegate_still_get_the_modals(stack: Stack) -> None:
    card = _set_body(stack, _card(stack), LONG_BODY)
    stack.click("edit_action", card)
    edit = wait_for(lambda: stack.slack.modals, "the owner's edit modal")[0]
    assert edit["callback_id"] == "edit_draft"

    _make_delegate(stack, OTHER_ID)
    hooks = []
    for n, button in enumerate(["show_full_email", "edit_action", "reject_action"], start=2):
        stack.click(button, card, user=OTHER_ID)
        hooks.append(stack.last_hook)
        wait_for(lambda n=n: len(stack.slack.modals) == n, f"the delegate's {button} modal")
    callbacks = [m["callback_id"] for m in stack.slack.modals]
    assert callbacks == ["edit_draft", "full_email", "edit_draft", "reject_draft"]
    assert LAST_SENTENCE in str(stack.slack.modals[1]["blocks"])
    assert [r for r in stack.slack.responses if r["hook"] in hooks] == []  # no refusal


def _view(**overrides: Any) -> ActionView:
    values: dict[str, Any] = {
        "action_id": str(uuid.uuid4()),
        "action_type": "email_initial",
        "status": "pending",
        "to": ("john@acme.example",),
        "subject": "Demo",
        "body": "Hi John",
        "reasoning": "",
        "confidence": None,
        "request_ref": "ACME-1",
        "request_title": "Demo",
        "rep_timezone": "America/New_York",
        "undo_until": None,
        "decided_by": None,
        "executed_at": None,
        "error": None,
    }
    values.update(overrides)
    return ActionView(**values)


def test_fallback_text_is_escaped_like_the_blocks() -> None:
    text, _ = approval_card(_view(to=("<!channel>", "a&b@acme.example")))
    assert text == (
        "First scheduling email to &lt;!channel&gt;, a&amp;b@acme.example needs your approval"
    )

    check = MeetingCheck(
        request_id=str(uuid.uuid4()),
        ref="ACME-1",
        title="Pricing <!here> & <@U999>",
        prospect="John",
        start=datetime(2026, 12, 8, 15, 0, tzinfo=UTC),
        end=datetime(2026, 12, 8, 15, 45, tzinfo=UTC),
        rep_timezone="America/New_York",
    )
    text, _ = meeting_check_card(check)
    assert text == "Did ACME-1 (Pricing &lt;!here&gt; &amp; &lt;@U999&gt;) happen?"


def test_a_body_too_long_for_one_modal_is_cut_with_a_note() -> None:
    body = ("word & more " * 300 + "\n") * 400 + LAST_SENTENCE
    view = full_email_view(_view(body=body, cc=("ceo@acme.example",)))
    assert block_errors(view["blocks"], surface="modal") == []
    assert len(view["blocks"]) == 100
    assert view["blocks"][0]["text"]["text"] == (
        "*To:* john@acme.example\n*Cc:* ceo@acme.example\n*Subject:* Demo"
    )
    note = view["blocks"][-1]
    assert note["type"] == "context"
    assert note["elements"][0]["text"].startswith(
        f":scissors: Too long to show in full here: the first {MAX_BODY_SECTIONS} of "
    )
    assert note["elements"][0]["text"].endswith("parts are shown. The email itself is not cut.")
    assert LAST_SENTENCE not in str(view)


def test_a_single_long_line_is_split_without_breaking_an_escape() -> None:
    # The 600th `&amp;` would straddle the 3000-character limit, so the cut comes before it.
    assert body_sections("x" + "&" * 1000) == ["x" + "&amp;" * 599, "&amp;" * 401]
    assert body_sections("<" * 1500) == ["&lt;" * 750, "&lt;" * 750]
    assert body_sections("one\n\ntwo") == ["one\n\ntwo"]
    assert body_sections("") == [] and body_sections("\n\n  \n") == []
