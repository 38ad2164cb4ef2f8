"""A counter-proposal says sorry only for a time they named; the prompt a model gets says so."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from connectors.ports import LLMError, LLMReply
from skills.draft_email import counter_proposal_email, draft_with_llm, render_draft
from skills.draft_inputs import CounterProposalInput

SLOTS = (datetime(2026, 12, 8, 17, tzinfo=UTC), datetime(2026, 12, 8, 18, tzinfo=UTC))
APOLOGY = ("sorry", "unfortunately", "suggesting a time", "can't make that one")


def data(asked: str) -> CounterProposalInput:
    fields: dict[str, Any] = {
        "first_name": "Ann",
        "rep_name": "Bob Smith",
        "meeting_label": "demo",
        "duration_minutes": 30,
        "recipient_tz": "America/New_York",
        "our_tz": "America/New_York",
        "signature": "Bob",
        "original_subject": "Demo",
    }
    return CounterProposalInput(**fields, slots=SLOTS, asked=asked)  # type: ignore[arg-type]


@pytest.mark.parametrize("asked", ["window", "nothing"])
def test_no_apology_when_they_named_no_time(asked: str) -> None:
    body = counter_proposal_email(data(asked)).body.lower()
    assert not [p for p in APOLOGY if p in body], body
    assert "Tue, Dec 8 at 12:00 PM EST" in counter_proposal_email(data(asked)).body


def test_their_time_that_does_not_work_is_apologised_for() -> None:
    body = counter_proposal_email(data("time")).body.lower()
    assert any(p in body for p in APOLOGY), body


class _Recording:
    def __init__(self) -> None:
        self.users: list[str] = []

    def complete(
        self, *, system: str, user: str, schema: type[BaseModel], purpose: str
    ) -> LLMReply:
        self.users.append(user)
        raise LLMError("no model here")


@pytest.mark.parametrize("asked", ["window", "nothing"])
def test_the_model_is_not_told_their_time_did_not_work(asked: str) -> None:
    llm = _Recording()
    assert draft_with_llm(data(asked), llm=llm) == render_draft(data(asked))
    (prompt,) = llm.users
    assert "suggested doesn't work" not in prompt, prompt
