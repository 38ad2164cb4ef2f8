"""`convene demo`: one scripted scheduling flow on embedded defaults, printed as a transcript.

Everything is real except the outside world: the Bolt app receives signed HTTP requests, the
orchestrator runs its steps through the RQ queue (in-process), cards go to a local Slack
stand-in over HTTP, and the email lands in the database-backed mailbox.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlmodel import col, select

from bot.app import build_app
from bot.local_slack import LocalSlack
from bot.slack_requests import button_click, post_signed, slash_command
from bot.web import serve
from connectors.clock import ManualClock
from connectors.mail.local import LocalMailbox
from db.migrate import upgrade
from db.models import LocalCalendarEvent, PendingAction, SchedulingAction, SchedulingRequest
from orchestrator.bootstrap import bootstrap
from orchestrator.deps import Deps
from orchestrator.engine.embedded import drain
from orchestrator.logs import configure as configure_logs
from orchestrator.settings import Settings
from orchestrator.timers.reconciler import reconcile

SECRET = "demo-signing-secret"
REP = {
    "id": "U0SAM",
    "email": "sam@northwind.example",
    "name": "Sam Rivera",
    "tz": "America/New_York",
}
PROSPECT = "john@acme.example"
COMMAND = f'demo with {PROSPECT} next week 45m "Happy to walk you through SSO and the CRM sync."'

Echo = Callable[[str], None]


def blocks_as_text(blocks: list[dict[str, Any]]) -> str:
    """A plain-text rendering of Block Kit, close to what the rep sees."""
    lines: list[str] = []
    for block in blocks:
        if block["type"] == "section":
            lines.append(block["text"]["text"])
            if accessory := block.get("accessory"):
                lines.append(f"[{accessory['text']['text']}]")
        elif block["type"] == "context":
            lines.append("  " + " ".join(e.get("text", "") for e in block["elements"]))
        elif block["type"] == "actions":
            lines.append(
                "  ".join(
                    f"[{(e.get('text') or e['placeholder'])['text']}]" for e in block["elements"]
                )
            )
    return "\n".join(lines)


def _wait(predicate: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def _seed_calendar(deps: Deps, week_start: datetime) -> None:
    """Sam's week: a few meetings so the finder has something to work around."""
    zone = ZoneInfo(REP["tz"])
    busy = [(0, 9, 12), (1, 13, 16), (2, 9, 11), (3, 14, 17), (4, 9, 10)]
    with deps.uow() as uow:
        for day, start_hour, end_hour in busy:
            day_start = (week_start + timedelta(days=day)).astimezone(zone)
            uow.session.add(
                LocalCalendarEvent(
                    org_id="embedded",
                    calendar=REP["email"],
                    event_id=f"seed-{day}",
                    title="Customer call",
                    start=day_start.replace(hour=start_hour, minute=0),
                    end=day_start.replace(hour=end_hour, minute=0),
                )
            )
        uow.commit()


def embedded_settings(slack: LocalSlack, database: Path, *, secret: str) -> Settings:
    """Embedded defaults (a fresh, migrated SQLite file and no Redis) talking to the local Slack
    stand-in, which signs with `secret`: the demo's stack, and the ack-latency bench's."""
    url = f"sqlite:///{database}"
    upgrade(url)
    return Settings(
        database_url=url,
        redis_url=None,
        slack_signing_secret=SecretStr(secret),
        slack_bot_token=SecretStr(slack.token),
        slack_api_url=slack.api_url,
    )


def run_demo(*, echo: Echo) -> int:
    configure_logs(level="WARNING")  # the transcript is the output; logs only when things break
    with tempfile.TemporaryDirectory() as workdir:
        return _run(Path(workdir), echo)


def _run(workdir: Path, echo: Echo) -> int:
    slack = LocalSlack.start(
        users={
            REP["id"]: {
                "name": "sam",
                "tz": REP["tz"],
                "profile": {"email": REP["email"], "real_name": REP["name"]},
            }
        }
    )
    settings = embedded_settings(slack, workdir / "demo.db", secret=SECRET)
    clock = ManualClock(datetime.now(UTC).replace(second=0, microsecond=0))
    deps = bootstrap(settings, clock=clock)
    server = serve(build_app(deps), deps, host="127.0.0.1", port=0)
    events_url = f"http://127.0.0.1:{server.server_port}/slack/events"
    try:
        local_today = clock.now().astimezone(ZoneInfo(REP["tz"])).date()
        monday = local_today + timedelta(days=7 - local_today.weekday())
        _seed_calendar(deps, datetime.combine(monday, datetime.min.time(), ZoneInfo(REP["tz"])))

        echo(f"── {REP['name']} types in Slack:\n   /schedule {COMMAND}\n")
        reply = post_signed(
            events_url,
            slash_command(
                text=COMMAND,
                user_id=REP["id"],
                team_id=slack.team_id,
                response_url=slack.hook_url("cmd"),
                trigger_id="1.demo",
            ),
            secret=SECRET,
        )
        echo(f"── Convene acks within Slack's 3 s: HTTP {reply.status}")
        confirm = _wait(lambda: slack.responses, "the confirm card")[0]
        echo("   (only Sam sees) what Convene understood:")
        echo(_indent(blocks_as_text(confirm["blocks"])) + "\n")

        echo("── Sam clicks [Start]")
        start = next(
            e
            for b in confirm["blocks"]
            for e in b.get("elements", [])
            if e.get("action_id") == "start_request"
        )
        post_signed(
            events_url,
            button_click(
                action_id="start_request",
                value=start["value"],
                user_id=REP["id"],
                team_id=slack.team_id,
                response_url=slack.hook_url("start"),
                channel_id="C0GENERAL",
                message_ts="ephemeral",
            ),
            secret=SECRET,
        )
        started = _wait(lambda: [r for r in slack.responses if r["hook"] == "start"], "Start")
        echo(f"   (only Sam sees) {started[0]['text']}\n")

        drain(deps)  # find slots → draft → post the approval card
        card = _wait(lambda: slack.messages, "the approval card")[0]
        echo(f"── Convene DMs Sam an approval card ({card.channel}):")
        echo(_indent(blocks_as_text(card.blocks)) + "\n")

        with deps.uow() as uow:
            action = uow.session.exec(select(PendingAction)).one()
        echo("── Sam clicks [Approve & send]")
        post_signed(
            events_url,
            button_click(
                action_id="approve_action",
                value=str(action.id),
                user_id=REP["id"],
                team_id=slack.team_id,
                response_url=slack.hook_url("click"),
                channel_id=card.channel,
                message_ts=card.ts,
            ),
            secret=SECRET,
        )
        _wait(lambda: slack.message(card.channel, card.ts).history, "the card update")
        echo(_indent(blocks_as_text(slack.message(card.channel, card.ts).blocks)) + "\n")

        clock.advance(timedelta(seconds=settings.undo_seconds))
        echo(f"── {settings.undo_seconds} s later the undo window closes; the clock sends it")
        reconcile(deps)
        drain(deps)
        echo(_indent(blocks_as_text(slack.message(card.channel, card.ts).blocks)) + "\n")

        _show_mail(deps, echo)
        _show_request(deps, echo)
    finally:
        server.shutdown()
        server.server_close()
        slack.stop()
        deps.engine.dispose()
    return 0


def _show_mail(deps: Deps, echo: Echo) -> None:
    assert isinstance(deps.mail, LocalMailbox)
    inbox = deps.mail.messages(mailbox=PROSPECT)
    echo(f"── {PROSPECT}'s inbox now holds {len(inbox)} message(s):")
    for stored in inbox:
        message = message_from_string(stored.raw, policy=policy.default)
        for header in ("From", "To", "Subject", "Message-ID"):
            echo(f"   {header}: {message[header]}")
        body = message.get_body(preferencelist=("plain",))
        echo(_indent(body.get_content().rstrip() if body else "") + "\n")


def _show_request(deps: Deps, echo: Echo) -> None:
    with deps.uow() as uow:
        request = uow.session.exec(select(SchedulingRequest)).one()
        audit = uow.session.exec(
            select(SchedulingAction).order_by(col(SchedulingAction.created_at))
        ).all()
    due = ""
    if request.next_action_at:
        local = request.next_action_at.astimezone(ZoneInfo(REP["tz"]))
        due = f", follow-up due {local:%a %b %d %H:%M %Z} unless they reply"
    echo(f"── Request {request.ref}: status {request.status}{due}")
    echo("   Audit trail: " + " → ".join(row.action_type for row in audit))


def _indent(text: str) -> str:
    return "\n".join("   │ " + line for line in text.splitlines())
