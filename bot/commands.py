"""Parsing `/schedule` text. Pure: returns a command or a `CommandError` that says what to fix."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from orchestrator.meeting_kinds import MeetingKind, built_in_kinds, kind_named
from orchestrator.views import ScheduleCommand
from skills.timeparse.lexicon import CITIES

EXAMPLE = '/schedule demo with john@acme.com next week 45m "they asked about SSO"'

HELP_TEXT = (
    "*Convene* finds a time, writes the email, and waits for your approval before anything "
    "is sent.\n"
    f"• `{EXAMPLE}`\n"
    "• Who: one or more emails after `with` (comma or space separated).\n"
    "• When (optional): `tomorrow`, `this week`, `next week`, `next 10 days`, "
    "or `2026-12-01..2026-12-05`. Default: the next 7 days.\n"
    "• How long (optional): `30m`, `45 min`, `1h`. Default: the meeting type's length.\n"
    "• Where they are (optional): `in London`, `in Europe/London`. Default: your time zone.\n"
    "• Context for the email (optional): in double quotes.\n"
    "• `/schedule` alone opens a form with every option.\n"
    "• `/schedule times demo with john@acme.com next week`: the same, but you pick the times "
    "first (both time zones shown), then email them or send an invite for one.\n"
    "• `/schedule review`: every draft waiting for you in one message, to approve together.\n"
    "• `/schedule list` · `status ACME-1` · `pause ACME-1` · `resume ACME-1` · `cancel ACME-1`\n"
    "• `/schedule templates` (workspace admins): the team's meeting types, their length, "
    "place, follow-ups, reminder and wording.\n"
    "• `/schedule transcript ACME-1`: paste the meeting's transcript; Convene drafts the "
    "recap, offers to set up the next meetings it mentions and reminds you of your promises.\n"
    "• `/schedule stats`: your success rate, emails per booking, days to book, no-shows and "
    "edits beside the team's, over the requests started in the last 30 days.\n"
    "• `/schedule webhooks` (workspace admins): the URLs your CRM hears of bookings, moves "
    "and outcomes at, and their failures; `add https://… [events]`, `remove wh_…`.\n"
    "• `/schedule help` shows this."
)

EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
# Slack turns typed addresses into <mailto:a@b.com|a@b.com>.
SLACK_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")
DURATION = re.compile(r"^(\d{1,3})\s*(m|min|mins|minutes|h|hr|hrs|hour|hours)$", re.I)
DATE_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$")
NEXT_DAYS = re.compile(r"^next (\d{1,2}) days$", re.I)
CONTEXT = re.compile(r'"([^"]*)"|“([^”]*)”')
MIN_MINUTES, MAX_MINUTES = 10, 240
# The form's limits, so an inline command can always be opened in it for editing.
MAX_CONTEXT, MAX_MEETING_TYPE = 500, 60


class CommandError(ValueError):
    """The text could not be understood; the message says what was wrong."""


def parse_schedule(
    text: str, *, now: datetime, tz: str, kinds: Mapping[str, MeetingKind] | None = None
) -> ScheduleCommand:
    """`<meeting type> with <emails> [when] [duration] ["context"]`, in the rep's zone `tz`.
    Length and place not given are the meeting type's (`kinds`: the team's types)."""
    text = SLACK_MAILTO.sub(r"\1", text.strip())
    context_match = CONTEXT.search(text)
    context = ""
    if context_match:
        context = (context_match.group(1) or context_match.group(2) or "").strip()
        text = (text[: context_match.start()] + text[context_match.end() :]).strip()
    head, sep, rest = text.partition(" with ")
    if not sep or not head.strip():
        raise CommandError(
            "Tell me what kind of meeting and with whom, e.g. `demo with john@acme.com`."
        )
    meeting_type = head.strip().lower()
    if len(meeting_type) > MAX_MEETING_TYPE:
        raise CommandError(
            f"Keep the meeting type under {MAX_MEETING_TYPE} characters, e.g. `demo`; "
            "put the rest in the quoted context."
        )
    if len(context) > MAX_CONTEXT:
        raise CommandError(f"Keep the quoted context under {MAX_CONTEXT} characters.")
    tokens = [t for t in re.split(r"[\s,;]+", rest.strip()) if t]
    emails: list[str] = []
    while tokens and "@" in tokens[0]:
        address = tokens.pop(0).strip("<>").lower()
        if not EMAIL.match(address):
            raise CommandError(f"`{address}` doesn't look like an email address.")
        if address not in emails:
            emails.append(address)
    if not emails:
        raise CommandError("Add at least one email address after `with`.")
    kind = kind_named(kinds if kinds is not None else built_in_kinds(), meeting_type)
    duration = kind.duration_minutes
    window: tuple[datetime, datetime] | None = None
    tokens, prospect_timezone = _where(tokens)
    remaining = " ".join(tokens)
    for phrase in _phrases(remaining):
        if match := DURATION.match(phrase):
            amount, unit = int(match.group(1)), match.group(2).lower()
            duration = amount * 60 if unit.startswith("h") else amount
        elif (parsed := _window(phrase, now=now, tz=tz)) is not None:
            window = parsed
        else:
            raise CommandError(f"I didn't understand `{phrase}`.")
    if not MIN_MINUTES <= duration <= MAX_MINUTES:
        raise CommandError(f"Meetings can be {MIN_MINUTES} to {MAX_MINUTES} minutes long.")
    start, end = window if window else (None, None)
    return ScheduleCommand(
        meeting_type=meeting_type,
        emails=tuple(emails),
        duration_minutes=duration,
        window_start=start,
        window_end=end,
        context=context,
        platform=kind.platform,
        location=kind.location,
        prospect_timezone=prospect_timezone,
    )


def _where(tokens: list[str]) -> tuple[list[str], str | None]:
    """`in London` / `in Europe/London` / `in New York` among the tokens: the prospect's zone,
    and the tokens without those words. The longest place name wins ("New York" over "York")."""
    for i, token in enumerate(tokens):
        if token.lower() != "in":
            continue
        for size in (3, 2, 1):
            words = tokens[i + 1 : i + 1 + size]
            if len(words) == size and (zone := zone_named(" ".join(words))):
                return tokens[:i] + tokens[i + 1 + size :], zone
        place = " ".join(tokens[i + 1 : i + 2]) or "…"
        raise CommandError(
            f"I don't know the time zone of `{place}`: name a city or a zone, "
            "e.g. `in London` or `in Europe/London`."
        )
    return tokens, None


def zone_named(place: str) -> str | None:
    """The IANA zone of a city or zone name as a rep writes it ("London", "europe/london")."""
    return _places().get(" ".join(place.split()).lower())


@cache
def _places() -> dict[str, str]:
    """Lower-cased zone names ("europe/london"), the cities they are named for ("london"), and
    the cities people write (CITIES: "nyc", "san francisco") -> IANA zone."""
    places = {}
    for name in zoneinfo.available_timezones():
        region, _, city = name.partition("/")
        places[name.lower()] = name
        if city and "/" not in city and region in _REGIONS:
            places.setdefault(city.replace("_", " ").lower(), name)
    return places | CITIES


_REGIONS = {"Africa", "America", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}


def _phrases(text: str) -> list[str]:
    """Split what follows the emails into duration and window phrases."""
    words = text.split()
    phrases, i = [], 0
    while i < len(words):
        for size in (3, 2, 1):
            candidate = " ".join(words[i : i + size])
            if size > 1 and (DURATION.match(candidate) or _is_window_word(candidate)):
                phrases.append(candidate)
                i += size
                break
        else:
            phrases.append(words[i])
            i += 1
    return phrases


def _is_window_word(phrase: str) -> bool:
    return phrase.lower() in {"this week", "next week"} or bool(NEXT_DAYS.match(phrase))


def _window(phrase: str, *, now: datetime, tz: str) -> tuple[datetime, datetime] | None:
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    lowered = phrase.lower()

    def days(first: date, last: date) -> tuple[datetime, datetime]:
        start = datetime.combine(first, datetime.min.time(), zone)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
        return max(start, now), end

    if lowered == "tomorrow":
        return days(today + timedelta(days=1), today + timedelta(days=1))
    if lowered == "this week":
        return days(today, today + timedelta(days=6 - today.weekday()))
    if lowered == "next week":
        monday = today + timedelta(days=7 - today.weekday())
        return days(monday, monday + timedelta(days=6))
    if match := NEXT_DAYS.match(phrase):
        return days(today, today + timedelta(days=int(match.group(1))))
    if match := DATE_RANGE.match(phrase):
        try:
            first = date.fromisoformat(match.group(1))
            last = date.fromisoformat(match.group(2) or match.group(1))
        except ValueError as exc:
            raise CommandError(f"`{phrase}` is not a real date.") from exc
        if last < first:
            raise CommandError("The date range ends before it starts.")
        if last < today:
            raise CommandError("That date range is in the past.")
        return days(first, last)
    return None
