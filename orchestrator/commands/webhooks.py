"""`/schedule webhooks`: a workspace admin registers, lists and removes the URLs that hear of
request events. Who is an admin is Slack's to say (the listener asks `users.info`); this
module only reads and writes the subscriptions, and checks what the admin typed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlmodel import col, select

from db.models import WebhookDelivery, WebhookStatus, WebhookSubscription
from orchestrator.deps import Deps
from orchestrator.mrkdwn import escape_mrkdwn
from orchestrator.webhooks.events import EVENT_TYPES

MAX_URL_CHARS = 2000
MAX_SUBSCRIPTIONS = 20
# Failures the overview lists, newest first.
FAILURES_SHOWN = 10
USAGE = (
    "`/schedule webhooks` lists them; `/schedule webhooks add https://… [events]` registers "
    f"one (events: {', '.join(EVENT_TYPES)}; all of them when none is named); "
    "`/schedule webhooks remove wh_…` removes one."
)


@dataclass(frozen=True)
class Said:
    ok: bool
    text: str


def short_id(subscription: WebhookSubscription) -> str:
    return "wh_" + subscription.id.hex[:8]


def read_url(word: str) -> tuple[str | None, str]:
    """The https URL the admin typed, or None and why not. Slack may wrap a link in `<…>`
    (with a `|label`), which is unwrapped first."""
    if word.startswith("<") and word.endswith(">"):
        word = word[1:-1].split("|", 1)[0]
    if len(word) > MAX_URL_CHARS:
        return None, f"That URL is longer than {MAX_URL_CHARS} characters."
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in word):
        return None, "That URL has spaces or control characters in it."
    try:
        parts = urlsplit(word)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return None, f"`{escape_mrkdwn(word)}` is not a URL I can read."
    if parts.scheme.lower() != "https":
        return None, "Webhook URLs must start with `https://`: events carry attendees' addresses."
    if not parts.hostname:
        return None, f"`{escape_mrkdwn(word)}` has no host name."
    if parts.username is not None or parts.password is not None:
        return None, "Leave the login out of the URL: receivers check the signature instead."
    if parts.fragment:
        return None, "A URL with a `#fragment` is not one a server receives."
    return parts.geturl(), ""


def read_events(words: list[str]) -> tuple[list[str] | None, str]:
    """The event names the admin listed (commas or spaces), in the vocabulary's order."""
    named = {w.strip().lower() for word in words for w in word.split(",") if w.strip()}
    if unknown := sorted(named - set(EVENT_TYPES)):
        listed = ", ".join(f"`{escape_mrkdwn(u)}`" for u in unknown)
        return None, f"Unknown event {listed}. Events: {', '.join(EVENT_TYPES)}."
    return [e.value for e in EVENT_TYPES if e.value in named or not named], ""


def add(deps: Deps, *, org_id: str, slack_user_id: str, words: list[str]) -> Said:
    """Register `https-url [events…]`; the answer carries the signing secret, shown only now."""
    if not words:
        return Said(False, f"Which URL? {USAGE}")
    url, problem = read_url(words[0])
    if url is None:
        return Said(False, problem)
    events, problem = read_events(words[1:])
    if events is None:
        return Said(False, problem)
    now = deps.clock.now()
    secret = "whsec_" + secrets.token_hex(24)
    with deps.uow() as uow:
        live = uow.session.exec(
            select(WebhookSubscription)
            .where(WebhookSubscription.org_id == org_id)
            .where(col(WebhookSubscription.removed_at).is_(None))
        ).all()
        if len(live) >= MAX_SUBSCRIPTIONS:
            return Said(False, f"This workspace already has {MAX_SUBSCRIPTIONS} webhooks.")
        subscription = WebhookSubscription(
            org_id=org_id,
            url=url,
            events=events,
            secret=secret,
            created_by=slack_user_id,
            created_at=now,
        )
        uow.session.add(subscription)
        uow.commit()
        name = short_id(subscription)
    return Said(
        True,
        f"Added `{name}`: {escape_mrkdwn(url)} will get {', '.join(events)}.\n"
        f"Its signing secret, shown only this once: `{secret}`\n"
        "Check `Convene-Signature` on every delivery with it (see the README).",
    )


def remove(deps: Deps, *, org_id: str, words: list[str]) -> Said:
    """Stop a subscription: nothing more is recorded for it, and what waits is not sent."""
    if not words:
        return Said(False, "Which one? e.g. `/schedule webhooks remove wh_1a2b3c4d`.")
    wanted = words[0].lower().removeprefix("wh_")
    now = deps.clock.now()
    with deps.uow() as uow:
        live = uow.session.exec(
            select(WebhookSubscription)
            .where(WebhookSubscription.org_id == org_id)
            .where(col(WebhookSubscription.removed_at).is_(None))
        ).all()
        found = [s for s in live if len(wanted) == 8 and s.id.hex.startswith(wanted)]
        if len(found) != 1:
            return Said(
                False,
                f"No webhook `{escape_mrkdwn(words[0])}` here; `/schedule webhooks` lists them.",
            )
        subscription = found[0]
        subscription.removed_at = now
        uow.session.add(subscription)
        uow.session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.subscription_id) == subscription.id)
            # One held by a worker finishes; if that worker died, the next claim cancels it.
            .where(col(WebhookDelivery.status) == WebhookStatus.pending)
            .values(status=WebhookStatus.cancelled, updated_at=now)
        )
        uow.commit()
        return Said(True, f"Removed `{short_id(subscription)}`; nothing more goes to it.")


def overview(deps: Deps, *, org_id: str) -> Said:
    """The org's webhooks, and its latest deliveries that failed or are being retried."""
    with deps.uow() as uow:
        live = uow.session.exec(
            select(WebhookSubscription)
            .where(WebhookSubscription.org_id == org_id)
            .where(col(WebhookSubscription.removed_at).is_(None))
            .order_by(col(WebhookSubscription.created_at))
        ).all()
        failures = uow.session.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.org_id == org_id)
            .where(col(WebhookDelivery.last_error).is_not(None))
            .where(col(WebhookDelivery.status).in_([WebhookStatus.failed, WebhookStatus.pending]))
            .order_by(col(WebhookDelivery.updated_at).desc(), col(WebhookDelivery.seq).desc())
            .limit(FAILURES_SHOWN)
        ).all()
        names = {
            s.id: short_id(s)
            for s in uow.session.exec(
                select(WebhookSubscription).where(WebhookSubscription.org_id == org_id)
            ).all()
        }
    if not live:
        lines = [f"No webhooks yet. {USAGE}"]
    else:
        lines = [f"*Webhooks* ({len(live)})"]
        lines += [f"• `{short_id(s)}` {escape_mrkdwn(s.url)}: {', '.join(s.events)}" for s in live]
    if failures:
        lines.append("*Last failures*")
        lines += [_failure_line(d, names.get(d.subscription_id, "?")) for d in failures]
    return Said(True, "\n".join(lines))


def _failure_line(delivery: WebhookDelivery, subscription: str) -> str:
    ref = str(delivery.payload.get("request", {}).get("ref", ""))
    state = (
        f"gave up after {delivery.attempts} attempts"
        if delivery.status == WebhookStatus.failed
        else f"retrying ({delivery.attempts} attempt{'' if delivery.attempts == 1 else 's'} so far)"
    )
    code = f", last HTTP {delivery.last_status_code}" if delivery.last_status_code else ""
    error = escape_mrkdwn((delivery.last_error or "")[:150])
    return (
        f"• `{delivery.delivery_id}` {delivery.event_type} {escape_mrkdwn(ref)} → "
        f"`{subscription}`: {state}{code}: {error}"
    )
