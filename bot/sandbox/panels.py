"""The sandbox page's panels as HTML: the rep's Slack, the prospect's inbox, the team calendar,
the clock and the timeline. Each panel is a list of keyed items, so the page replaces only what
changed and leaves what someone is typing alone."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.sandbox.inbox import Mail, Thread, prospect_threads
from bot.sandbox.render import mrkdwn, plain, render_blocks, render_message
from bot.sandbox.seed import COLLEAGUE, ORG, PROSPECT, REP, TEAM, week_start
from bot.sandbox.slack_client import SlackClient
from bot.sandbox.world import World
from db.models import LocalCalendarEvent, SchedulingAction, SchedulingRequest

Item = dict[str, str]
MEETING_CHECK_GRACE = timedelta(minutes=11)  # the check asks 10 minutes after the end


def item(key: str, html: str) -> Item:
    return {"key": key, "hash": hashlib.sha1(html.encode()).hexdigest(), "html": html}


def _zone() -> ZoneInfo:
    return ZoneInfo(REP.tz)


def _when(moment: datetime | None, *, day: bool = True) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(_zone())
    hour = f"{local:%H:%M}"
    return f"{local:%a %b} {local.day}, {hour} {local.tzname()}" if day else hour


# --- Slack ------------------------------------------------------------------------------------


def dm_items(client: SlackClient) -> list[Item]:
    names = client.names
    items = []
    for entry in list(client.entries):
        text, blocks = client.message(entry)
        if entry.kind == "typed":
            who, body = REP.name, f'<div class="typed">{escape(text)}</div>'
        else:
            who, body = "Convene", render_message(text, blocks, users=names)
        only_you = (
            '<span class="only-you">Only visible to you</span>' if entry.kind == "ephemeral" else ""
        )
        html = (
            f'<div class="msg msg-{entry.kind}" data-surface="dm" data-entry="{entry.id}">'
            f'<div class="who"><b>{escape(who)}</b>{only_you}</div>{body}</div>'
        )
        items.append(item(f"e{entry.id}", html))
    return items


def home_items(client: SlackClient) -> list[Item]:
    view = client.home_view()
    if view is None:
        return [item("home-empty", '<p class="muted">Opening the Home tab…</p>')]
    blocks = render_blocks(view.get("blocks", []), users=client.names)
    return [item("home", f'<div class="home" data-surface="home">{blocks}</div>')]


def modal_items(client: SlackClient) -> list[Item]:
    view = client.modal
    if view is None:
        return []
    title = plain(str((view.get("title") or {}).get("text", "")))
    submit = view.get("submit")
    close = (view.get("close") or {}).get("text", "Cancel")
    buttons = f'<button type="button" class="btn" data-modal="close">{plain(close)}</button>'
    if submit:
        buttons += (
            f'<button type="button" class="btn primary" data-modal="submit">'
            f"{plain(submit.get('text', 'Submit'))}</button>"
        )
    blocks = render_blocks(view.get("blocks", []), users=client.names)
    html = (
        f'<div class="modal" data-surface="modal" role="dialog" aria-label="{escape(title)}">'
        f'<h3>{title}</h3><div class="modal-body">{blocks}</div>'
        f'<div class="modal-buttons">{buttons}</div></div>'
    )
    items = [item(f"view:{view.get('id', '')}:{view.get('hash', '')}", html)]
    if client.modal_errors:
        rows = "".join(
            f"<li><b>{escape(k)}</b>: {escape(v)}</li>" if k else f"<li>{escape(v)}</li>"
            for k, v in client.modal_errors.items()
        )
        items.append(item("errors", f'<ul class="modal-errors">{rows}</ul>'))
    return items


# --- the prospect's inbox ---------------------------------------------------------------------


def _invite_html(mail: Mail) -> str:
    invite = mail.invite
    if invite is None:
        return ""
    span = ""
    if isinstance(invite.start, datetime) and isinstance(invite.end, datetime):
        span = f"{_when(invite.start)} – {_when(invite.end, day=False)}"
    verb = {"REQUEST": "Invitation", "CANCEL": "Cancelled", "REPLY": "Answer"}.get(
        invite.method, invite.method
    )
    update = f" · update {invite.sequence}" if invite.sequence else ""
    who = ", ".join(escape(a) for a in invite.attendees)
    return (
        f'<div class="invite"><b>📅 {escape(verb)}: {escape(invite.summary)}</b><br>'
        f"{escape(span)}{escape(update)}<br><small>METHOD:{escape(invite.method)} · "
        f"{escape(invite.status)} · {who}</small></div>"
    )


def _mail_html(mail: Mail) -> str:
    cc = f"<br>Cc: {escape(mail.cc)}" if mail.cc else ""
    side = "theirs" if mail.ours else "convene"
    return (
        f'<div class="mail mail-{side}"><div class="head"><b>{escape(mail.sender)}</b> → '
        f"{escape(mail.to)}{cc}<br><small>{escape(_when(mail.date))}</small></div>"
        f'<pre class="mail-body">{escape(mail.body)}</pre>{_invite_html(mail)}</div>'
    )


def thread_key(thread: Thread) -> str:
    return hashlib.sha1(thread.key.encode()).hexdigest()[:12]


def inbox_items(world: World) -> list[Item]:
    threads = prospect_threads(world)
    if not threads:
        return [item("empty", '<p class="muted">Nothing from Northwind yet.</p>')]
    items = []
    for thread in reversed(threads):  # newest conversation first, like a mail client
        key = thread_key(thread)
        mails = "".join(_mail_html(m) for m in thread.mails)
        html = (
            f'<div class="thread" data-thread="{key}"><h3>{escape(thread.subject)}</h3>'
            f"{mails}</div>"
        )
        items.append(item(f"t:{key}", html))
        items.append(item(f"r:{key}", _reply_form(key)))
    return items


def _reply_form(key: str) -> str:
    senders = "".join(
        f'<option value="{escape(c.email)}">{escape(c.address)}</option>'
        for c in (PROSPECT, COLLEAGUE)
    )
    return (
        f'<form class="reply" data-reply="{key}">'
        f'<label>From <select name="sender">{senders}<option value="other">someone else…'
        f'</option></select></label> <input name="other" placeholder="name@company.example" '
        f'hidden> <label><input type="checkbox" name="quote" checked> quote the thread</label>'
        f'<textarea name="text" rows="3" placeholder="Write a reply as the prospect"></textarea>'
        f'<button type="submit" class="btn primary">Send reply</button></form>'
    )


# --- the team calendar ------------------------------------------------------------------------


@dataclass(frozen=True)
class Booked:
    event_ids: frozenset[str]
    refs: dict[str, str]


def calendar_items(world: World, *, week: int = 0) -> list[Item]:
    now = world.clock.now()
    monday = week_start(now, REP.tz) + timedelta(weeks=week)
    days = [monday + timedelta(days=i) for i in range(5)]
    start = datetime.combine(monday, time(0), _zone())
    end = start + timedelta(days=7)
    with world.deps.sessions() as session:
        events = list(
            session.exec(
                select(LocalCalendarEvent)
                .where(
                    col(LocalCalendarEvent.org_id) == ORG,
                    col(LocalCalendarEvent.start) < end,
                    col(LocalCalendarEvent.end) > start,
                )
                .order_by(col(LocalCalendarEvent.start))
            )
        )
        requests = list(session.exec(select(SchedulingRequest)))
    booked = {r.calendar_event_id: r.ref for r in requests if r.calendar_event_id}
    head = "".join(f"<th>{d:%a} {d.day} {d:%b}</th>" for d in days)
    rows = []
    for person in TEAM:
        cells = []
        for day in days:
            entries = [
                e
                for e in events
                if e.calendar == person.email and e.start.astimezone(_zone()).date() == day
            ]
            cells.append("<td>" + "".join(_event_html(e, booked) for e in entries) + "</td>")
        rows.append(
            f'<tr><th class="person">{escape(person.name)}<br><small>{escape(person.email)}'
            f"</small></th>{''.join(cells)}</tr>"
        )
    label = "This week" if week == 0 else f"Week of {monday:%b} {monday.day}"
    html = (
        f'<div class="calendar"><p class="muted">{escape(label)} · times in {escape(REP.tz)}</p>'
        f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table></div>"
    )
    return [item(f"cal:{week}", html)]


def _event_html(event: LocalCalendarEvent, booked: dict[str, str]) -> str:
    ref = booked.get(event.event_id)
    cancelled = event.status == "cancelled"
    classes = (
        "event"
        + (" booked" if ref or event.attendees else "")
        + (" cancelled" if cancelled else "")
    )
    start, end = _aware(event.start), _aware(event.end)
    span = f"{_when(start, day=False)}–{_when(end, day=False)}"
    tag = f" · {escape(ref)}" if ref else ""
    return f'<div class="{classes}"><small>{span}</small> {escape(event.title)}{tag}</div>'


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- the clock --------------------------------------------------------------------------------


def next_meeting_end(world: World) -> datetime | None:
    """When the soonest booked meeting ends (and its meeting check is due), if one is ahead."""
    now = world.clock.now()
    with world.deps.sessions() as session:
        ends = [
            _aware(r.meeting_end)
            for r in session.exec(select(SchedulingRequest))
            if r.meeting_end is not None
        ]
    ahead = sorted(end for end in ends if end + MEETING_CHECK_GRACE > now)
    return ahead[0] + MEETING_CHECK_GRACE if ahead else None


def tomorrow_at_nine(now: datetime) -> datetime:
    local = now.astimezone(_zone())
    return datetime.combine(local.date() + timedelta(days=1), time(9), _zone())


def clock_items(world: World) -> list[Item]:
    now = world.clock.now()
    meeting = next_meeting_end(world)
    to_meeting = (
        f'<button type="button" class="btn" data-clock="meeting_end">To the meeting\'s end '
        f"({escape(_when(meeting))})</button>"
        if meeting
        else '<button type="button" class="btn" disabled>To the meeting\'s end</button>'
    )
    html = (
        f'<div class="clock"><span class="now" data-now="{now.isoformat()}">🕐 '
        f"{escape(_when(now))}</span> "
        f'<button type="button" class="btn" data-clock="hour">Advance 1 hour</button> '
        f'<button type="button" class="btn" data-clock="tomorrow">To tomorrow 9:00</button> '
        f'{to_meeting} <button type="button" class="btn danger" data-reset="1">Reset</button></div>'
    )
    return [item("clock", html)]


# --- the timeline -----------------------------------------------------------------------------


def timeline_items(world: World) -> list[Item]:
    with world.deps.sessions() as session:
        requests = list(
            session.exec(
                select(SchedulingRequest).order_by(col(SchedulingRequest.created_at).desc())
            )
        )
        audit = list(
            session.exec(select(SchedulingAction).order_by(col(SchedulingAction.created_at)))
        )
    if not requests:
        return [item("none", '<p class="muted">No request yet: type /schedule in Slack.</p>')]
    items = []
    for request in requests:
        rows = "".join(
            f"<li><small>{escape(_when(_aware(a.created_at)))}</small> "
            f'<span class="actor actor-{escape(a.actor)}">{escape(a.actor)}</span> '
            f"<b>{escape(a.action_type.replace('_', ' '))}</b>"
            + (f' <span class="why">— {escape(a.reasoning)}</span>' if a.reasoning else "")
            + (f"<br><code>{escape(_details(a.details))}</code>" if a.details else "")
            + "</li>"
            for a in audit
            if a.request_id == request.id
        )
        html = (
            f'<div class="request"><h3>{mrkdwn(f"*{request.ref}*")} · {escape(request.title)}'
            f' <span class="status">{escape(request.status)}</span></h3><ol>{rows}</ol></div>'
        )
        items.append(item(f"req:{request.id}", html))
    return items


def _details(details: dict[str, Any]) -> str:
    text = json.dumps(details, ensure_ascii=False, default=str)
    return text if len(text) <= 240 else text[:239] + "…"


def regions(world: World, client: SlackClient, *, week: int = 0) -> dict[str, list[Item]]:
    client.refresh()
    return {
        "dm": dm_items(client),
        "home": home_items(client),
        "modal": modal_items(client),
        "inbox": inbox_items(world),
        "calendar": calendar_items(world, week=week),
        "clock": clock_items(world),
        "timeline": timeline_items(world),
    }
