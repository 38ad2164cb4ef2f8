"""Block Kit for the scheduler figures: `/schedule stats` and the Home tab's section. Pure."""

from __future__ import annotations

from bot.blocks import Block, context, section
from orchestrator.views import Figures, SchedulerStats

NOTHING = "—"  # a figure with nothing to count yet: not 0%


def percent(value: float | None) -> str:
    return NOTHING if value is None else f"{round(value * 100)}%"


def decimal(value: float | None) -> str:
    return NOTHING if value is None else f"{value:.1f}"


def column(title: str, f: Figures) -> str:
    """One side of the comparison, a figure a line."""
    finished = f" ({f.held} of {f.finished} finished)" if f.finished else ""
    return "\n".join(
        [
            f"*{title}*",
            f"Started: {f.started} · booked: {f.booked} · held: {f.held}",
            f"Success rate: {percent(f.success_rate)}{finished}",
            f"Emails per booking: {decimal(f.attempts_per_booking)}",
            f"Days to book: {decimal(f.mean_days_to_book)} avg · "
            f"{decimal(f.median_days_to_book)} median",
            f"No-show rate: {percent(f.no_show_rate)}",
            f"Drafts edited: {percent(f.edit_rate)}",
            f"Cancelled by them: {f.cancelled_by_them} · declined: {f.declined}",
            f"Gave up: {f.gave_up} · cancelled by the rep: {f.cancelled_by_rep}",
        ]
    )


def side_by_side(stats: SchedulerStats) -> Block:
    """ "You" and "Team" as two columns (a section's fields)."""
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": column("You", stats.you)},
            {"type": "mrkdwn", "text": column("Team", stats.team)},
        ],
    }


def period(stats: SchedulerStats) -> str:
    return f"Requests started in the last {stats.days} days, and what has become of them so far."


def stats_message(stats: SchedulerStats) -> tuple[str, list[Block]]:
    """The ephemeral answer to `/schedule stats`."""
    you, team = stats.you, stats.team
    fallback = (
        f"Last {stats.days} days: you started {you.started} requests "
        f"(success rate {percent(you.success_rate)}); the team {team.started} "
        f"({percent(team.success_rate)})."
    )
    return fallback, [
        section(f"*Scheduling stats* · {period(stats)}"),
        side_by_side(stats),
        context(
            "Success rate: meetings held of the requests that ended. Emails per booking: "
            "emails sent before the meeting was booked. Days to book: from `/schedule` to the "
            "booking. No-show rate: meetings missed of those that came and went. Drafts "
            "edited: of the drafts approved. — means nothing to count yet."
        ),
    ]


# The Home tab's section: its header and the two columns.
HOME_STATS_BLOCKS = 2


def home_stats(stats: SchedulerStats) -> list[Block]:
    return [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": f"Requests started in the last {stats.days} days",
            },
        },
        side_by_side(stats),
    ]
