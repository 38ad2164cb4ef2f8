"""The recap email lists only what was agreed for sure, with due days as dates."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from skills.commitments import Sides, extract_commitments
from skills.recap_email import RecapInput, recap_email

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=ZoneInfo("America/New_York"))
SIDES = Sides(ours=("Sam Patel",), theirs=("Rita Moreno",))


def recap(text: str) -> str | None:
    found = extract_commitments(text, sides=SIDES, now=NOW, tz="America/New_York")
    draft = recap_email(
        RecapInput(
            first_name="Rita",
            rep_name="Sam Patel",
            meeting_label="demo",
            subject="Demo",
            commitments=found,
        )
    )
    return None if draft is None else draft.body


def test_each_side_and_the_next_meetings() -> None:
    body = recap(
        "Sam Patel: I'll send you the proposal by Friday.\n"
        "Rita Moreno: I'll get you the usage numbers on Monday.\n"
        "Sam Patel: Let's find time with your CTO next week.\n"
        "Speaker 3: I'll send the pricing tonight.\n"
        "Rita Moreno: I'll try to loop in legal, maybe.\n"
    )
    assert body is not None
    ours, theirs = body.index("On our side:"), body.index("On your side:")
    assert body.index("proposal by Friday. (by Fri, Dec 11)") > ours
    assert theirs < body.index("usage numbers on Monday. (by Mon, Dec 14)")
    assert "Next conversations:\n- Let's find time with your CTO next week." in body
    assert "pricing" not in body and "legal" not in body  # unsure: left to the rep's card


def test_nothing_sure_means_no_draft() -> None:
    assert recap("Speaker 1: I'll send the recap tonight.") is None
    assert recap("Sam Patel: Thanks for your time.") is None
