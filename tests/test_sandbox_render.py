"""Every card, modal and tab Convene draws, drawn by the sandbox page, loses nothing: each text
object's words appear on the page in order, and each button is a button with its label, id and
value. Hostile text (the card-limit tests' worst case) stays text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import pytest

from bot.batch_blocks import batch_card
from bot.blocks import approval_card
from bot.brief_blocks import brief_card, settle_item
from bot.commands import parse_schedule
from bot.confirm_blocks import PendingStart, confirm_card
from bot.decision_blocks import decided_card
from bot.draft_modals import edit_view, reject_view
from bot.full_email import full_email_view
from bot.meeting_blocks import meeting_check_card
from bot.modals import new_request_view
from bot.picker_blocks import picker_card
from bot.sandbox.panels import modal_items
from bot.sandbox.render import EMOJI, mrkdwn, render_blocks
from bot.settings_modal import RepSettings, settings_view
from bot.views import cancel_prompt, home_view, request_list, request_status, status_modal
from orchestrator.commands.decision_cards import CHOICES
from orchestrator.views import Dashboard, MeetingCheck
from skills.compose_brief import AtRisk, AttentionItem, Brief, MeetingLine
from tests.test_approval_card import _view as action_view
from tests.test_batch_review import _view as batch_view
from tests.test_card_limits import HOSTILE, NOW, a_decision_card, a_request, rows
from tests.test_time_picker import _view as picker_view

NY = "America/New_York"
LONG_BODY = ("Hello & welcome <to> the *demo*.\n" * 80) + "Last line."


def _cards() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(name, blocks) for every card builder, in each state that draws differently."""
    for status, extra in [
        ("pending", {"body": LONG_BODY, "reasoning": "5 times free", "confidence": 0.9}),
        ("approved", {"undo_until": NOW + timedelta(seconds=30)}),
        ("executing", {}),
        ("executed", {"executed_at": NOW}),
        ("failed", {"error": "SMTP said <no> & goodbye"}),
        ("rejected", {"decided_by": "U0REP"}),
        ("cancelled", {"decided_by": "U0REP"}),
        ("expired", {"error": "its last time passed", "can_redraft": True}),
        ("superseded", {}),
        ("pending", {"error": "Tue 10:00 is now busy", "can_redraft": True}),
        ("pending", {"offered_as_edited": (NOW + timedelta(days=1),)}),
    ]:
        yield f"approval/{status}", approval_card(action_view(status=status, **extra))[1]
    for subtype in sorted(CHOICES):
        _, blocks = a_decision_card(subtype, options=5, attendees=3)
        yield f"decision/{subtype}", blocks
        yield f"decided/{subtype}", decided_card(blocks, ":white_check_mark: Kept open by <@U0REP>")
    yield "picker/open", picker_card(picker_view())[1]
    for choice, chosen in [("email", (0, 1)), ("invite", (2,)), ("handle", ())]:
        view = picker_view(choice=choice, chosen=chosen, decided_by="U0REP")
        yield f"picker/{choice}", picker_card(view)[1]
    check = MeetingCheck(
        request_id="0f0e",
        ref="ACME-1",
        title=f"Pricing {HOSTILE}",
        prospect="John",
        start=NOW,
        end=NOW + timedelta(minutes=45),
        rep_timezone=NY,
    )
    yield "meeting/open", meeting_check_card(check)[1]
    answered = MeetingCheck(**{**check.__dict__, "answer": "held", "answered_by": "U0REP"})
    yield "meeting/answered", meeting_check_card(answered)[1]
    views = [batch_view(1), batch_view(2, "approved"), batch_view(3, "executed")]
    yield "batch", batch_card(views, more=4, note="Approved 1")[1]
    brief = _brief()
    _, brief_blocks = brief_card(brief)
    yield "brief", brief_blocks
    settled = settle_item(
        brief_blocks,
        action_id="brief_approve",
        value="ACME-2:draft",
        note=":white_check_mark: Sent",
    )
    assert settled is not None
    yield "brief/settled", settled
    command = parse_schedule(
        f'demo with john@acme.example next week 45m "{HOSTILE}"', now=NOW, tz=NY
    )
    pending = PendingStart(text="demo", read_at=NOW, tz=NY, trigger_id="1.t")
    yield "confirm", confirm_card(command, pending)[1]
    yield "list", request_list(rows(5, "negotiating"), NY)[1]
    request = a_request(
        status="negotiating", next_action_type="follow_up", next_action_at=NOW + timedelta(hours=24)
    )
    _, status_blocks = request_status(request, [], [], NY)
    yield "status", status_blocks
    yield "cancel", cancel_prompt(request)[1]


def _brief() -> Brief:
    at = NOW + timedelta(hours=2)
    return Brief(
        greeting="Good morning, Sam",
        timezone=NY,
        day=NOW.date(),
        meetings=(
            MeetingLine(
                ref="ACME-1",
                title="Demo",
                start=at,
                end=at + timedelta(minutes=45),
                prospect="john@acme.example",
                booked_by_convene=True,
                on_calendar=True,
            ),
            MeetingLine(ref="", title="", start=at + timedelta(hours=3), end=None, prospect=""),
        ),
        attention=(
            AttentionItem(
                kind="approval", ref="ACME-2", text="A first email waits", action_id="ACME-2:draft"
            ),
            AttentionItem(
                kind="failed_send", ref="ACME-3", text="The send failed", action_id="ACME-3:draft"
            ),
            AttentionItem(kind="paused", ref="ACME-4", text="Paused after 5 emails"),
            AttentionItem(kind="decision", ref="ACME-5", text="They declined", request_id="r5"),
            AttentionItem(
                kind="meeting_check",
                ref="ACME-6",
                text="Did it happen?",
                request_id="r6",
                meeting_start=at - timedelta(days=1),
            ),
            AttentionItem(kind="no_show", ref="ACME-7", text="No-show yesterday"),
        ),
        pulse=(("booked", 2), ("waiting", 3)),
        at_risk=(AtRisk(ref="ACME-8", title="Globex renewal", reason="no reply in 6 days"),),
        calendar_note="Your calendar could not be read",
    )


def _views() -> Iterator[tuple[str, dict[str, Any]]]:
    draft = action_view(body=LONG_BODY, cc=("mary@acme.example",))
    yield "modal/new", new_request_view(today=NOW.date(), tz=NY)
    command = parse_schedule("demo with john@acme.example next week 45m", now=NOW, tz=NY)
    yield "modal/prefilled", new_request_view(today=NOW.date(), prefill=command, tz=NY)
    yield "modal/edit", edit_view(draft)
    yield "modal/reject", reject_view(draft)
    yield "modal/full_email", full_email_view(draft)
    settings = RepSettings(
        timezone=NY,
        work_start="09:00",
        work_end="17:30",
        brief_time="08:00",
        quiet_start="19:00",
        quiet_end="07:00",
        daily_send_limit=50,
        delegates=("U0OTTO",),
    )
    yield "modal/settings", settings_view(settings)
    _, status_blocks = request_status(a_request(status="paused"), [], [], NY)
    yield "modal/status", status_modal("ACME-1", status_blocks)
    board = Dashboard(
        timezone=NY,
        needs_attention=rows(2, "paused"),
        pending_confirmation=rows(2, "awaiting_response", first=11),
        upcoming=rows(2, "confirmed", first=21),
        completed_this_week=rows(2, "completed", first=31),
        drafts_waiting=3,
    )
    yield "home", home_view(board)


# --- what the page shows ------------------------------------------------------------------------


class _Page(HTMLParser):
    """The text a reader sees (attributes that show text included) and every button."""

    SHOWN = ("placeholder", "label", "data-confirm", "aria-label")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self.buttons: list[dict[str, str]] = []
        self._button: dict[str, str] | None = None
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        for name in self.SHOWN:
            self.words += _words(found.get(name, ""))
        if tag == "input" and found.get("type") in ("text", "number", "date", "time"):
            self.words += _words(found.get("value", ""))
        if tag == "button":
            self._button = {**found, "text": ""}

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.buttons.append(self._button)
            self._button = None

    def handle_data(self, data: str) -> None:
        self.words += _words(data)
        if self._button is not None:
            self._button["text"] += data


def _words(text: str) -> list[str]:
    # Letters and digits: an underscore is mrkdwn's italics, drawn as a tag, not a character.
    return re.findall(r"[^\W_]+", text)


def _shown_words(obj: dict[str, Any]) -> list[str]:
    """The words a text object shows in Slack: link labels, mention names, entities undone,
    known emoji drawn as pictures."""
    text = str(obj["text"])
    if obj["type"] == "mrkdwn":
        text = re.sub(
            r"<([^<>|\n]*)(?:\|([^<>\n]*))?>",
            lambda m: m.group(2) or _bare(m.group(1)),
            text,
        )
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = re.sub(r":([a-z0-9_+-]+):", lambda m: "" if m.group(1) in EMOJI else m.group(0), text)
    return _words(text)


def _bare(target: str) -> str:
    if target[:1] in "@#":
        return target[1:]
    if target.startswith("!"):
        return target[1:].split("^")[0]
    return target


def _text_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node
            return
        for value in node.values():
            yield from _text_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _text_objects(value)


def _buttons(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "button":
            yield node
        for value in node.values():
            yield from _buttons(value)
    elif isinstance(node, list):
        for value in node:
            yield from _buttons(value)


def _contains(words: list[str], part: list[str]) -> bool:
    if not part:
        return True
    first, size = part[0], len(part)
    return any(words[i : i + size] == part for i, w in enumerate(words) if w == first)


def _assert_nothing_lost(blocks: list[dict[str, Any]], html: str) -> None:
    page = _Page()
    page.feed(html)
    assert "script" not in page.tags and "iframe" not in page.tags
    for obj in _text_objects(blocks):
        expected = _shown_words(obj)
        assert _contains(page.words, expected), f"lost: {obj['text'][:200]!r}"
    shown = {(b.get("data-action-id"), b.get("data-value")): b for b in page.buttons}
    for button in _buttons(blocks):
        drawn = shown.get((button["action_id"], button.get("value", "")))
        assert drawn is not None, f"no button {button['action_id']}"
        assert _words(drawn["text"]) == _shown_words(button["text"])
        assert drawn.get("data-kind") == "button"


CARDS = list(_cards())
VIEWS = list(_views())


def test_the_list_covers_every_card_builder() -> None:
    names = {name.split("/")[0] for name, _ in CARDS} | {name.split("/")[0] for name, _ in VIEWS}
    assert names >= {
        "approval",
        "decision",
        "decided",
        "picker",
        "meeting",
        "batch",
        "brief",
        "confirm",
        "list",
        "status",
        "cancel",
        "modal",
        "home",
    }
    assert len({name for name, _ in VIEWS if name.startswith("modal/")}) == 7


@pytest.mark.parametrize(("name", "blocks"), CARDS, ids=[n for n, _ in CARDS])
def test_every_card_renders_every_text_and_button(name: str, blocks: list[dict[str, Any]]) -> None:
    _assert_nothing_lost(blocks, render_blocks(blocks))


@pytest.mark.parametrize(("name", "view"), VIEWS, ids=[n for n, _ in VIEWS])
def test_every_modal_and_tab_renders_every_text_and_button(name: str, view: dict[str, Any]) -> None:
    _assert_nothing_lost(view["blocks"], render_blocks(view["blocks"]))
    if view["type"] == "modal":
        client = SimpleNamespace(modal={**view, "id": "V1"}, modal_errors={}, names={})
        (drawn,) = modal_items(client)  # type: ignore[arg-type]
        chrome = [view["title"], view.get("submit"), view.get("close")]
        _assert_nothing_lost([c for c in chrome if c], drawn["html"])


def test_mrkdwn_is_drawn_and_nothing_in_it_becomes_markup() -> None:
    html = mrkdwn(
        "*bold* _it_ ~gone~ `x<y` &lt;script&gt;alert(1)&lt;/script&gt; "
        "<https://acme.example/a?b=1&amp;c=2|the deck> <javascript:alert(1)|click> "
        "<@U0SAM> <!here> :white_check_mark: :nope:\n> quoted &amp; &lt;b&gt;not bold&lt;/b&gt;",
        users={"U0SAM": "Sam <Rivera>"},
    )
    assert "<b>bold</b>" in html and "<i>it</i>" in html and "<s>gone</s>" in html
    assert "<code>x&lt;y</code>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert '<a href="https://acme.example/a?b=1&amp;c=2"' in html and ">the deck</a>" in html
    assert "javascript:" not in html and "click" in html
    assert "@Sam &lt;Rivera&gt;" in html and "@here" in html
    assert "✅" in html and ":nope:" in html
    assert "<blockquote>quoted &amp; &lt;b&gt;not bold&lt;/b&gt;</blockquote>" in html


def test_inputs_carry_their_ids_and_choices() -> None:
    html = render_blocks(
        [
            {
                "type": "actions",
                "block_id": "decision_slots",
                "elements": [
                    {
                        "type": "radio_buttons",
                        "action_id": "pick",
                        "options": [
                            {"text": {"type": "plain_text", "text": "Tue 10:00"}, "value": "a"},
                            {"text": {"type": "plain_text", "text": "Wed <9>"}, "value": "b"},
                        ],
                        "initial_option": {
                            "text": {"type": "plain_text", "text": "Wed <9>"},
                            "value": "b",
                        },
                    },
                    {
                        "type": "overflow",
                        "action_id": "more",
                        "options": [
                            {"text": {"type": "plain_text", "text": "Snooze"}, "value": "s"}
                        ],
                    },
                ],
            },
            {"type": "divider"},
        ]
    )
    assert 'data-kind="radio_buttons" data-action-id="pick" data-block-id="decision_slots"' in html
    checked = re.search(r'<input type="radio"[^>]*checked>', html)
    assert checked is not None and "&quot;value&quot;: &quot;b&quot;" in checked.group(0)
    assert "Wed &lt;9&gt;" in html
    assert 'data-kind="overflow"' in html and ">Snooze</option>" in html
    assert "<hr " in html
