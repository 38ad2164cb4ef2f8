"""A time pinned to the writer's own zone ("3pm my time") needs that zone to be known."""

from __future__ import annotations

import pytest

from skills.parse_times import in_writers_zone

CASES = [
    ("Could we do Wednesday at 3pm my time?", True),
    ("10am local time works", True),
    ("How about 15:00 (my time)?", True),
    ("Tuesday at noon our time", True),
    ("3pm your time is fine", False),  # the reader's zone: ours, which we know
    ("My time is limited this week", False),  # no clock it pins
    ("Tuesday at 3pm works", False),
    ("Sounds good.\n\n> Could we do 3pm my time?", False),  # quoted history
]


@pytest.mark.parametrize(("text", "pinned"), CASES, ids=[c[0] for c in CASES])
def test_in_writers_zone(text: str, pinned: bool) -> None:
    assert in_writers_zone(text) is pinned
