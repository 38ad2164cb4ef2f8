"""Commitments read from meeting transcripts: who owes what, by when, and how sure we are."""

from __future__ import annotations

import random
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from skills.commitments import Commitment, Sides, extract_commitments, side_of
from skills.transcript_text import Turn, read_transcript

TZ = "America/New_York"
# Monday 7 December 2026, 3 PM in New York: the meeting's start.
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=ZoneInfo(TZ))
SIDES = Sides(ours=("Sam Patel", "sam@northwind.example"), theirs=("Rita Moreno", "Victor Lang"))


def read(text: str, fmt: str | None = None) -> list[Commitment]:
    return extract_commitments(text, sides=SIDES, now=NOW, tz=TZ, fmt=fmt)


def test_a_promise_by_us_with_its_due_day() -> None:
    [item] = read("Sam Patel: Thanks. I'll send you the proposal by Friday.")
    assert (item.owner, item.kind, item.confidence) == ("us", "deliverable", "high")
    assert item.evidence == "I'll send you the proposal by Friday."
    assert item.due_text == "by Friday"
    assert item.due_on == date(2026, 12, 11)
    assert item.actionable


def test_a_request_is_owed_by_the_side_asked() -> None:
    [asked_us] = read("Rita Moreno: Can you send the security questionnaire?")
    assert (asked_us.owner, asked_us.kind) == ("us", "request")
    [asked_them] = read("Sam Patel: Could you share the list of pilot teams?")
    assert (asked_them.owner, asked_them.kind) == ("them", "request")


def test_a_plan_to_meet_names_who_to_meet_for_display_only() -> None:
    [item] = read("Sam Patel: And let's find time with your CTO next week.")
    assert (item.owner, item.kind) == ("us", "meeting")
    assert item.with_whom == "your CTO"
    assert item.due_on == date(2026, 12, 14)


def test_vtt_voice_tags_and_cues_split_mid_sentence() -> None:
    vtt = (
        "WEBVTT\n\nNOTE recorder captions\nI'll send nothing from a note.\n\n"
        "1\n00:00:01.000 --> 00:00:03.000\n<v Victor Lang>I'll review the diagram and\n\n"
        "2\n00:00:03.500 --> 00:00:06.000\n<v Victor Lang>get back to you by Thursday.</v>\n"
    )
    assert read_transcript(vtt) == [
        Turn("Victor Lang", "I'll review the diagram and get back to you by Thursday.")
    ]
    [item] = read(vtt, "vtt")
    assert (item.owner, item.due_on) == ("them", date(2026, 12, 10))


def test_srt_and_timestamped_text_labels() -> None:
    srt = "1\n00:00:01,000 --> 00:00:04,000\nRita Moreno: I'll send the redlines on Monday.\n"
    [item] = read(srt, "srt")
    assert (item.owner, item.speaker) == ("them", "Rita Moreno")
    [stamped] = read("[00:12:01] Sam: I'll email the recap tonight.")
    assert stamped.owner == "us"  # a first name alone matches our side


def test_an_unknown_speaker_is_shown_but_never_acted_on() -> None:
    [item] = read("Speaker 2: I'll send the pricing sheet tonight.")
    assert (item.owner, item.confidence, item.actionable) == ("unknown", "low", False)
    [unlabelled] = read("I'll send the pricing sheet tonight.")
    assert unlabelled.owner == "unknown" and not unlabelled.actionable


def test_hedged_promises_are_low_confidence() -> None:
    [item] = read("Sam Patel: I'll try to send the deck tomorrow, hopefully.")
    assert item.confidence == "low" and not item.actionable


def test_a_name_on_both_sides_is_unknown() -> None:
    sides = Sides(ours=("Sam Patel",), theirs=("Sam Oduya",))
    assert side_of("Sam", sides) == "unknown"
    assert side_of("Sam Patel", sides) == "us"
    assert side_of("sam@northwind.example", SIDES) == "us"


@pytest.mark.parametrize(
    "line",
    [
        "Sam Patel: Let me share my screen.",
        "Sam Patel: I can walk you through the admin settings now.",
        "Sam Patel: I sent the case study yesterday.",
        "Rita Moreno: I can't commit to anything this quarter.",
        "Rita Moreno: We won't send anything before January.",
        "Rita Moreno: If the pilot goes well we'll send the order form.",
        "Sam Patel: Can you hear me okay?",
        "Rita Moreno: I'll be honest, it's pricey.",
        "Note: I'll send the deck.",
    ],
)
def test_what_is_not_a_commitment(line: str) -> None:
    found = read(line)
    assert all(item.owner == "unknown" for item in found) if line.startswith("Note") else not found


def test_why_dont_we_is_a_plan_not_a_negation() -> None:
    [item] = read("Sam Patel: Why don't we set up a session with your VP?")
    assert (item.kind, item.owner) == ("meeting", "us")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00\x00\ufeff",
        "WEBVTT\n\n-->\n<v >\n<v\n" * 50,
        "00:00:01.000 --> garbage\n<b><i>unclosed",
        "I'll " * 20_000,
        "Rita Moreno: " + "can you send " * 5_000 + "?",
        ":::: : : ::\n" * 1000,
        "Sam Patel: I'll send it by 31/31/2026 at 25:99 on Febtember 45th.",
        "A" * 300_000,
    ],
)
def test_hostile_or_garbled_input_never_raises_and_stays_fast(text: str) -> None:
    started = time.perf_counter()
    found = read(text)
    assert len(found) <= 50
    assert time.perf_counter() - started < 5


def test_random_bytes_never_raise() -> None:
    rng = random.Random(17)
    alphabet = "abc I'll send you by Friday :<>v-->0123.,?!\n\t\u00e9\u2019"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        for fmt in ("vtt", "srt", "txt", None):
            read(text, fmt)
