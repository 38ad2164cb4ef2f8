"""Someone brought in alongside the writer, or the meeting handed over to them."""

from __future__ import annotations

import pytest

from skills.intent_signals import joins_too

CASES = [
    ("Tuesday works. I've cc'd my colleague Jane Roe who should join too.", True),
    ("Tuesday works; copying Jane so she can attend as well.", True),
    ("Thursday is good, and Sam will also join.", True),
    ("I'm not the right person, please reach out to Sarah Lee.", False),
    ("Please loop in Eve Smith, she handles this.", False),
    ("Ask Ana to meet you in my place.", False),
]


@pytest.mark.parametrize(("text", "alongside"), CASES, ids=[c[0] for c in CASES])
def test_joins_too(text: str, alongside: bool) -> None:
    assert joins_too(text) is alongside
