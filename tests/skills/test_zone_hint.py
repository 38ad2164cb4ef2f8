"""skills.zone_hint: where a reply suggests its writer is, with the evidence, or nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from skills.zone_hint import zone_hint

NY = "America/New_York"


def at_offset(hours: float) -> datetime:
    return datetime(2026, 12, 2, 10, 0, tzinfo=timezone(timedelta(hours=hours)))


@pytest.mark.parametrize(
    ("text", "zone", "evidence"),
    [
        ("Tuesday works.\n\nBest,\nKenji\nAcme KK · Tokyo", "Asia/Tokyo", "city 'Tokyo'"),
        ("How about 3pm Pacific on Thursday?", "America/Los_Angeles", "zone word"),
        ("Thursday 10:00 CET suits me.", "Europe/Berlin", "abbreviation 'CET'"),
        ("I'm on Europe/Lisbon time these days.", "Europe/Lisbon", "zone name"),
    ],
)
def test_a_zone_the_reply_names_is_offered_with_its_evidence(
    text: str, zone: str, evidence: str
) -> None:
    hint = zone_hint(text, sent_at=at_offset(0), known=NY)
    assert hint is not None
    assert (hint.zone, hint.weak) == (zone, False)
    assert evidence in hint.evidence


def test_our_own_quoted_email_is_not_evidence() -> None:
    text = (
        "Tuesday works for me.\n\n"
        "On Mon, Nov 30, 2026 at 9:00 AM Rita <rita@northwind.example> wrote:\n"
        "> 1. Tue, Dec 8 at 9:00 AM PST (6:00 PM CET)\n"
        "> Rita, Berlin office\n"
    )
    assert zone_hint(text, sent_at=None, known=NY) is None


def test_quoted_lines_without_a_header_are_not_evidence_either() -> None:
    assert zone_hint("Yes.\n> see you in London", sent_at=None, known=NY) is None


def test_the_zone_we_already_read_them_in_is_not_offered_again() -> None:
    assert zone_hint("3pm Eastern works", sent_at=None, known=NY) is None


def test_a_date_header_offset_is_weak_and_named_as_such() -> None:
    hint = zone_hint("Tuesday works.", sent_at=at_offset(9), known=NY)
    assert hint is not None
    assert (hint.zone, hint.weak) == ("Etc/GMT-9", True)
    assert hint.evidence == "the clock of their email client"


def test_plus_zero_is_what_servers_write_so_it_says_nothing() -> None:
    assert zone_hint("Tuesday works.", sent_at=at_offset(0), known=NY) is None
    assert zone_hint("Tuesday works.", sent_at=None, known=NY) is None


def test_an_offset_equal_to_the_known_zones_at_that_moment_adds_nothing() -> None:
    # New York is UTC-5 in December.
    assert zone_hint("Tuesday works.", sent_at=at_offset(-5), known=NY) is None
    hint = zone_hint("Tuesday works.", sent_at=at_offset(-4), known=NY)
    assert hint is not None and hint.zone == "Etc/GMT+4"


def test_words_beat_the_date_header() -> None:
    hint = zone_hint("Kenji · Tokyo", sent_at=at_offset(-8), known=NY)
    assert hint is not None and (hint.zone, hint.weak) == ("Asia/Tokyo", False)


def test_half_hour_offsets_have_no_zone_name_and_are_not_offered() -> None:
    assert zone_hint("Tuesday works.", sent_at=at_offset(5.5), known=NY) is None


def test_nothing_to_go_on() -> None:
    assert zone_hint("Tuesday works for me.", sent_at=None, known=NY) is None
    assert zone_hint("", sent_at=None, known=None) is None
