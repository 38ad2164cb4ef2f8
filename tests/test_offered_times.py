"""Reading the times an edited email offers (orchestrator.outbox.offered.times_written)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from orchestrator.outbox.offered import times_written, zones_disagree

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def test_a_time_shown_again_in_brackets_in_the_rep_zone_is_one_time() -> None:
    body = (
        "Would one of these work?\n"
        "- Tue, Dec 8 at 9:00 AM GMT (10:00 AM CET)\n"
        "- Thu, Dec 10 at 2:30 PM GMT (3:30 PM CET)\n"
    )
    assert times_written(body, now=NOW, tz="Europe/London") == (
        datetime(2026, 12, 8, 9, 0, tzinfo=LONDON),
        datetime(2026, 12, 10, 14, 30, tzinfo=LONDON),
    )


def test_times_keep_the_order_written_so_the_second_one_is_the_second_written() -> None:
    body = "How about Thu, Dec 10 at 3:00 PM or Wed, Dec 9 at 11:00 AM? Or Thu, Dec 10 at 3:00 PM."
    assert times_written(body, now=NOW, tz="Europe/London") == (
        datetime(2026, 12, 10, 15, 0, tzinfo=LONDON),
        datetime(2026, 12, 9, 11, 0, tzinfo=LONDON),
    )


def test_a_day_or_a_week_alone_is_no_time_to_offer() -> None:
    body = "Does Tuesday suit? Or any time next week."
    assert times_written(body, now=NOW, tz="Europe/London") == ()


def test_a_bracketed_time_with_nothing_before_it_is_still_read() -> None:
    body = "One option (Wed, Dec 9 at 11:00 AM) if that suits."
    assert times_written(body, now=NOW, tz="Europe/London") == (
        datetime(2026, 12, 9, 11, 0, tzinfo=LONDON),
    )


def test_a_time_moved_without_its_bracketed_twin_is_named() -> None:
    body = (
        "Would one of these work?\n"
        "- Tue, Dec 8 at 11:00 AM GMT (10:00 AM CET)\n"
        "- Thu, Dec 10 at 2:30 PM GMT (3:30 PM CET)\n"
    )
    problem = zones_disagree(body, now=NOW, tz="Europe/London")
    assert problem is not None
    assert problem.startswith("“Tue, Dec 8 at 11:00 AM GMT” and “(10:00 AM CET)” are different")


def test_twins_that_agree_and_times_alone_are_fine() -> None:
    agreeing = "- Tue, Dec 8 at 9:00 AM GMT (10:00 AM CET)\n- Wed, Dec 9 at 11:00 AM\n"
    assert zones_disagree(agreeing, now=NOW, tz="Europe/London") is None
    # Quoted history is theirs: a mismatch there is not ours to fix.
    quoted = "Fine by me.\n> Tue, Dec 8 at 11:00 AM GMT (10:00 AM CET)\n"
    assert zones_disagree(quoted, now=NOW, tz="Europe/London") is None
