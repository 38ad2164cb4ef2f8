"""With LLM_MODEL set, the emails are worded by the model (over real HTTP to a local
OpenAI-compatible server); a draft that breaks a rule is replaced by the template and the card
says why; a rejected first email's note is the model's instruction for the redraft; with
LLM_MODEL=rules nothing is asked of any model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from redis import Redis
from sqlmodel import col

from connectors.clock import ManualClock
from connectors.llm import LiteLLMClient
from db.models import ActionType, PendingAction
from skills.draft_email import render_draft, write_draft
from skills.draft_inputs import DraftInput, facts_of
from tests.fakes.openai import FakeOpenAI
from tests.skills.test_draft_email import one_of_each
from tests.support.stack import Stack, wait_for
from tests.test_mail_intake import PROSPECT
from tests.test_rep_note import _reject

MODEL = "openai/fake-drafting-model"
PROSE = {
    "subject": "A quick chat about the demo?",
    "body": "Hi [[NAME]],\n\nYou asked how the CRM sync works; a short call is the fastest way "
    "to show it. Would one of these suit you?\n[[SLOTS]]\n[[SIGNATURE]]",
}


@pytest.fixture
def model() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def modelled(backend: tuple[str, Redis], clock: ManualClock, model: FakeOpenAI) -> Iterator[Stack]:
    url, redis = backend
    with Stack.start(
        database_url=url,
        redis=redis,
        clock=clock,
        llm_model=MODEL,
        llm_api_base=model.api_base,
        llm_api_key="sk-test",
    ) as stack:
        yield stack


def _first_draft(stack: Stack) -> PendingAction:
    stack.schedule(f"demo with {PROSPECT} next week")
    stack.drain()
    (draft,) = wait_for(
        lambda: stack.rows(PendingAction, col(PendingAction.slack_ts).is_not(None)), "the card"
    )
    return draft  # type: ignore[no-any-return]


def test_the_first_email_is_worded_by_the_model_and_its_times_by_code(
    modelled: Stack, model: FakeOpenAI
) -> None:
    model.answer({**PROSE, "subject": "A quick demo chat?"})
    draft = _first_draft(modelled)
    body = draft.action_data["body"]
    assert body.startswith("Hi there,\n\nYou asked how the CRM sync works")
    slots = [datetime.fromisoformat(s) for s in draft.action_data["slots"]]
    assert len(slots) >= 3
    assert "  1. " in body and "[[" not in body
    assert draft.action_data["subject"] == "A quick demo chat?"
    (asked,) = model.requests
    prompt = str(asked.body["messages"])
    # The model is never shown the times, so it cannot misquote them.
    assert "Email kind: initial" in prompt and "  1. " not in prompt
    (card,) = modelled.cards()
    assert "Worded by the model" in str(card.blocks)


@pytest.mark.parametrize(
    ("prose", "because"),
    [
        ({**PROSE, "body": PROSE["body"] + "\nOr Friday at 3pm works too."}, "Friday at 3pm"),
        ({**PROSE, "body": PROSE["body"] + "\nBook here: https://cal.example/rita"}, "link"),
        ({**PROSE, "body": PROSE["body"].replace("[[SLOTS]]", "")}, "[[SLOTS]]"),
        ({"subject": "hi"}, "not a subject and a body"),
    ],
)
def test_a_draft_that_breaks_a_rule_falls_back_to_the_template_and_the_card_says_why(
    modelled: Stack, model: FakeOpenAI, prose: dict[str, str], because: str
) -> None:
    model.answer(prose)
    draft = _first_draft(modelled)
    assert "CRM sync" not in draft.action_data["body"]  # the template's words, not the model's
    (card,) = modelled.cards()
    shown = str(card.blocks)
    assert "The model's draft was refused" in shown and "this is the template" in shown
    assert because.split()[0].lower() in shown.lower() or because in shown


def test_a_model_that_cannot_be_reached_leaves_the_template(
    modelled: Stack, model: FakeOpenAI
) -> None:
    model.fail(401, "bad key")
    draft = _first_draft(modelled)
    assert draft.action_type == ActionType.email_initial
    assert "could not be asked" in str(modelled.cards()[0].blocks)


def test_a_reject_note_is_the_models_instruction_for_the_redraft(
    modelled: Stack, model: FakeOpenAI
) -> None:
    model.answer(PROSE)
    first = _first_draft(modelled)
    shorter = {**PROSE, "body": "Hi [[NAME]], a quick look at SSO?\n[[SLOTS]]\n[[SIGNATURE]]"}
    model.answer(shorter)

    _reject(modelled, "Shorter please, and lead with SSO")

    second = wait_for(
        lambda: modelled.rows(
            PendingAction, col(PendingAction.status) == "pending", col(PendingAction.id) != first.id
        ),
        "the redraft",
    )[0]
    assert second.action_data["body"].startswith("Hi there, a quick look at SSO?"), str(
        modelled.cards()[-1].blocks
    )
    redraft_prompt = str(model.requests[-1].body["messages"])
    assert "<rep_instruction>\\nShorter please, and lead with SSO\\n</rep_instruction>" in (
        redraft_prompt
    )
    shown = str(modelled.cards()[-1].blocks)
    assert "Redrafted after your note “Shorter please, and lead with SSO”." in shown
    assert modelled.inbox(PROSPECT) == []  # nothing sent: the redraft waits for Approve


def test_with_rules_no_model_is_asked(
    backend: tuple[str, Redis], clock: ManualClock, model: FakeOpenAI
) -> None:
    """LLM_MODEL=rules with an endpoint configured anyway: the template, and no request."""
    url, redis = backend
    with Stack.start(
        database_url=url,
        redis=redis,
        clock=clock,
        llm_model="rules",
        llm_api_base=model.api_base,
        llm_api_key="sk-test",
    ) as stack:
        model.answer(PROSE)
        draft = _first_draft(stack)
        assert "CRM sync" not in draft.action_data["body"]
        assert "Worded by the model" not in str(stack.cards()[0].blocks)
    assert model.requests == []


# --- every kind, through the real client ---------------------------------------------------------


def _prose_for(data: DraftInput) -> dict[str, str]:
    facts = facts_of(data)
    parts = ["Hi [[NAME]],", "Thanks for getting back to me."]
    if facts.slots:
        parts.append("[[SLOTS]]")
    if facts.time is not None:
        parts.append("Looking forward to [[TIME]].")
    if facts.link:
        parts.append("[[LINK]]")
    if facts.kind == "answer":
        parts.append("[[ANSWER]]")
    return {"subject": "Our meeting", "body": "\n".join([*parts, "[[SIGNATURE]]"])}


@pytest.mark.parametrize("kind", sorted(one_of_each()))
def test_every_kind_is_worded_by_the_model_or_refused_with_a_reason(
    model: FakeOpenAI, kind: str
) -> None:
    data = one_of_each()[kind]
    client = LiteLLMClient(model=MODEL, api_base=model.api_base, api_key="sk", timeout_seconds=5)
    model.answer(_prose_for(data))
    written = write_draft(data, llm=client)
    assert (written.draft.source, written.refused) == ("llm", "")
    assert "Thanks for getting back to me." in written.draft.body
    assert f"kind: {kind}" in str(model.requests[-1].body["messages"])

    invented = _prose_for(data)
    invented["body"] = invented["body"].replace(
        "[[SIGNATURE]]", "Or Sunday at 11pm?\n[[SIGNATURE]]"
    )
    model.answer(invented)
    fallback = write_draft(data, llm=client)
    assert fallback.draft == render_draft(data)
    assert fallback.refused
