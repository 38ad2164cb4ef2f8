"""Facts into words: times as the recipient reads them, template placeholders filled in, the
subject a reply keeps, and the check a team's own templates must pass.

Pure: no I/O and no clock.
"""

from __future__ import annotations

import re
import string
import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from skills.draft_inputs import ANSWER_PLACEHOLDER, IN_THREAD_KINDS, Draft, Facts, TemplateError
from skills.email_templates import DEFAULTS, KIND_FIELDS, TEMPLATE_KINDS, Wording
from skills.email_text import reply_subject, without_reply_prefixes


def format_slot(start: datetime, *, tz: str, also_tz: str | None = None) -> str:
    """'Tue, Dec 1 at 10:00 AM EST' (plus '(4:00 PM CET)' when a second zone is asked for)."""
    local = start.astimezone(ZoneInfo(tz))
    text = f"{local:%a, %b} {local.day} at {_clock(local)} {local.tzname()}"
    if also_tz and also_tz != tz:
        other = start.astimezone(ZoneInfo(also_tz))
        if other.tzname() != local.tzname():
            text += f" ({_clock(other)} {other.tzname()})"
    return text


def _clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _slot_lines(slots: Sequence[datetime], *, tz: str, also_tz: str) -> str:
    return "\n".join(
        f"  {i}. {format_slot(s, tz=tz, also_tz=also_tz)}" for i, s in enumerate(slots, start=1)
    )


def choose_wording(facts: Facts, overrides: Mapping[str, str]) -> Wording:
    defaults = DEFAULTS[facts.template_id]
    # A stable pick (not random, no clock) so re-drafting the same email gives the same text.
    key = "|".join([facts.template_id, facts.first_name, *(s.isoformat() for s in facts.offered)])
    default = defaults[zlib.crc32(key.encode()) % len(defaults)]
    subject = _override(overrides, facts, "subject") or default.subject
    body = _override(overrides, facts, "body") or default.body
    return Wording(subject=subject, body=body)


def _override(overrides: Mapping[str, str], facts: Facts, part: str) -> str | None:
    for template_id in (facts.template_id, facts.kind):
        text = overrides.get(f"{template_id}.{part}")
        if text and text.strip():
            return text
    return None


def fill(wording: Wording, facts: Facts, *, with_context: bool) -> Draft:
    values = template_values(facts, with_context=with_context)
    subject = in_thread(facts, " ".join(_format(wording.subject, facts.kind, values).split()))
    body = tidy(_format(wording.body, facts.kind, values))
    return Draft(
        subject=subject,
        body=body,
        kind=facts.kind,
        slots=facts.offered,
        names=facts.names,
    )


def template_values(facts: Facts, *, with_context: bool) -> dict[str, str]:
    meeting = facts.meeting.strip() or "call"
    title = meeting[:1].upper() + meeting[1:]
    shown = (
        format_slot(facts.time, tz=facts.recipient_tz, also_tz=facts.our_tz) if facts.time else ""
    )
    first = facts.first_name.strip()
    return {
        "greeting": f"Hi {first}," if first else "Hi there,",
        "first_name": first or "there",
        "signature": facts.signature.strip() or facts.rep_name.strip(),
        "rep_name": facts.rep_name.strip(),
        "rep_first_name": (facts.rep_name.split() or [""])[0],
        "meeting": meeting,
        "meeting_title": title,
        "minutes": str(facts.minutes),
        "context": _sentence(facts.context) if with_context else "",
        "original_subject": without_reply_prefixes(facts.original_subject)
        or f"{title} — finding a time",
        "slots": _slot_lines(facts.slots, tz=facts.recipient_tz, also_tz=facts.our_tz),
        "time": shown,
        "link": facts.link,
        "link_line": _link_line(facts),
        "answer": facts.answer or ANSWER_PLACEHOLDER,
        "referrer": facts.referrer or "A colleague of yours",
    }


def _link_line(facts: Facts) -> str:
    if facts.link:
        return f" Here's the link to join: {facts.link}"
    # A phone or in-person meeting has a place instead: the number or the address.
    return f" Where: {facts.place.rstrip('.')}." if facts.place else ""


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return ""
    return f" {text}" if text[-1] in ".!?" else f" {text}."


def in_thread(facts: Facts, subject: str) -> str:
    """A reply keeps the thread's subject: mail clients (Gmail above all) split a conversation
    whose subject changes, so a template's or the model's own subject only starts a thread."""
    # Stack no "Re: Re:" when the thread's subject already carries one.
    thread = without_reply_prefixes(facts.original_subject)
    if facts.kind in IN_THREAD_KINDS and thread:
        return reply_subject(thread)
    return subject


def _format(template: str, kind: str, values: Mapping[str, str]) -> str:
    problems = _template_problems(template, kind)
    if problems:
        raise TemplateError("; ".join(problems))
    return template.format_map(values)


def _template_problems(template: str, kind: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"malformed template: {exc}"]
    problems = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            problems.append(f"placeholder {{{name}}} may not carry a format spec or conversion")
        elif name not in KIND_FIELDS[kind]:
            problems.append(f"unknown placeholder {{{name}}} for a {kind} email")
    return problems


def tidy(body: str) -> str:
    lines = [line.rstrip() for line in body.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def check_templates(overrides: Mapping[str, str]) -> list[str]:
    """Problems with a team's overrides (unknown template ids, unknown placeholders); empty = OK.
    For the settings screen, so a bad template is refused when saved rather than when used."""
    problems = []
    for key, text in overrides.items():
        template_id, _, part = key.rpartition(".")
        if template_id not in TEMPLATE_KINDS or part not in ("subject", "body"):
            problems.append(f"{key}: not a template (expected '<template id>.subject|body')")
            continue
        problems += [f"{key}: {p}" for p in _template_problems(text, TEMPLATE_KINDS[template_id])]
    return problems
