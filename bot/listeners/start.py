"""Starting a request from an inline `/schedule demo with …`: the confirm card, then Start or Edit.

Nothing is created until Start: a typo in a command costs the rep one ephemeral card, not a
request to cancel. Edit opens the full form filled in from what was understood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.after_ack import AfterAck
from bot.commands import HELP_TEXT, CommandError, parse_schedule
from bot.confirm_blocks import EDIT, START, PendingStart, confirm_card
from bot.modals import new_request_view
from orchestrator.commands.meeting_types import team_kinds
from orchestrator.commands.new_request import Started, start_scheduling
from orchestrator.deps import Deps
from orchestrator.engine.event_types import EventType
from orchestrator.views import RepProfile, ScheduleCommand

log = structlog.get_logger(__name__)

TOO_LONG = (
    ":warning: That's more than one command can carry. `/schedule` on its own opens the form, "
    "which takes any number of people and a longer context."
)
BROKEN = "That card is out of date; run the `/schedule` command again."
NOT_STARTED = (
    ":warning: Convene could not start this request just now. Press *Start* again: "
    "the same card never starts a request twice."
)
NOT_READ = ":warning: Convene could not read that just now; nothing was started. Run it again."


def tell_failure(say: Callable[[str], object], text: str, *, failed: str) -> None:
    """Call in an `except` block after the ack: Slack already showed the rep that all went
    well, so a failure they are not told about is a request silently lost. The rep first: a
    traceback can take a while to render."""
    try:
        say(text)
    except Exception:  # noqa: BLE001 - Slack itself is failing: the log is all that is left
        log.exception("failure_not_told", failed=failed)
        return
    log.exception(failed)


def profile_of(client: WebClient, user_id: str) -> RepProfile:
    user = client.users_info(user=user_id)["user"]
    profile = user.get("profile", {})
    return RepProfile(
        slack_user_id=user_id,
        email=profile.get("email") or f"{user_id.lower()}@unknown.invalid",
        name=profile.get("real_name") or user.get("name") or user_id,
        timezone=user.get("tz") or "UTC",
    )


def started_text(started: Started, command: ScheduleCommand, event_type: str) -> str:
    if not started.created:
        return f"*{started.ref}* is already under way; `/schedule status {started.ref}` shows it."
    then = (
        "I'll DM you the times to pick from"
        if event_type == EventType.calendar_find_times
        else "I'll DM you a draft"
    )
    return (
        f"*{started.ref}*: finding times for a {command.meeting_type} with "
        f"{', '.join(command.emails)}. {then}; nothing is sent until you approve."
    )


def offer_start(
    deps: Deps,
    command: dict[str, Any],
    text: str,
    client: WebClient,
    respond: Respond,
    *,
    event_type: str = EventType.scheduling_requested,
) -> None:
    """Answer `/schedule <text>` (after its ack) with the confirm card, or with what was wrong."""
    try:
        profile = profile_of(client, command["user_id"])
    except Exception:  # noqa: BLE001 - acked: the rep hears of it
        tell_failure(lambda text: _ephemeral(respond, text), NOT_READ, failed="profile_failed")
        return
    now = deps.clock.now()
    try:
        kinds = team_kinds(deps, org_id=command["team_id"])
        parsed = parse_schedule(text, now=now, tz=profile.timezone, kinds=kinds)
    except CommandError as exc:
        respond(text=f":warning: {exc}\n\n{HELP_TEXT}", response_type="ephemeral")
        return
    except Exception:  # noqa: BLE001 - acked: the rep hears of it
        tell_failure(lambda text: _ephemeral(respond, text), NOT_READ, failed="kinds_failed")
        return
    pending = PendingStart(
        text=text,
        read_at=now,
        tz=profile.timezone,
        trigger_id=command["trigger_id"],
        event_type=event_type,
        minutes=parsed.duration_minutes,
        platform=parsed.platform,
        location=parsed.location,
    )
    if not pending.fits():
        respond(text=TOO_LONG, response_type="ephemeral")
        return
    summary, blocks = confirm_card(parsed, pending)
    respond(text=summary, blocks=blocks, response_type="ephemeral")


def _read(action: dict[str, Any], respond: Respond) -> tuple[PendingStart, ScheduleCommand] | None:
    """The command a Start/Edit button carries, re-read as the rep saw it; None after saying why."""
    pending = PendingStart.decode(action.get("value") or "")
    if pending is not None:
        try:
            read = parse_schedule(pending.text, now=pending.read_at, tz=pending.tz)
            kinds = pending.kinds(read.meeting_type)
            if kinds is not None:  # the type's length and place as the card showed them
                read = parse_schedule(pending.text, now=pending.read_at, tz=pending.tz, kinds=kinds)
            return pending, read
        except CommandError:
            pass  # read fine when the card was made: the parser changed since
    _replace(respond, BROKEN)
    return None


def _start(
    deps: Deps,
    body: dict[str, Any],
    client: WebClient,
    respond: Respond,
    pending: PendingStart,
    command: ScheduleCommand,
) -> None:
    now = deps.clock.now()
    if command.window_start is not None and command.window_end is not None:
        if command.window_end <= now:
            _replace(
                respond, ":warning: Those dates have passed. Run the command again with new ones."
            )
            return
        command = replace(command, window_start=max(command.window_start, now))
    team = body["team"]["id"]
    try:
        started = start_scheduling(
            deps,
            org_id=team,
            profile=profile_of(client, body["user"]["id"]),
            command=command,
            # The command's own key: a second Start, however fast, finds the first request.
            idempotency_key=f"slack:{team}:{pending.trigger_id}",
            event_type=pending.event_type,
        )
    except Exception:  # noqa: BLE001 - acked: the rep hears of it, and the card stays to retry
        tell_failure(lambda text: _ephemeral(respond, text), NOT_STARTED, failed="start_failed")
        return
    log.info("request_started", ref=started.ref, created=started.created)
    _replace(respond, started_text(started, command, pending.event_type))


def _edit(
    deps: Deps,
    body: dict[str, Any],
    client: WebClient,
    respond: Respond,
    pending: PendingStart,
    command: ScheduleCommand,
) -> None:
    # The click's trigger id lives 3 s: open the form before anything else talks to Slack.
    client.views_open(
        trigger_id=body["trigger_id"],
        view=new_request_view(
            today=deps.clock.now().astimezone(ZoneInfo(pending.tz)).date(),
            prefill=command,
            tz=pending.tz,
            event_type=pending.event_type,
            kinds=team_kinds(deps, org_id=body["team"]["id"]),
        ),
    )
    _replace(
        respond,
        "Opened the form with those details: submitting it starts the request, "
        "closing it starts nothing.",
    )


def _replace(respond: Respond, text: str) -> None:
    """The confirm card gives way to what its click did (it is ephemeral: only the rep sees it)."""
    respond(text=text, replace_original=True, response_type="ephemeral")


def _ephemeral(respond: Respond, text: str) -> None:
    """A line under the card, which stays."""
    respond(text=text, replace_original=False, response_type="ephemeral")


# The kind of held work a Start click is (`bot.after_ack`).
START_CLICK = "start_click"


def start_click(deps: Deps, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    """What a Start click does after its ack; also the replay of one a dead process left."""
    if (read := _read(body["actions"][0], respond)) is not None:
        _start(deps, body, client, respond, *read)


def register(app: App, deps: Deps, after_ack: AfterAck) -> None:
    after_ack.replays[START_CLICK] = start_click

    def on_click(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        if action["action_id"] == EDIT:
            ack()
            # Its trigger id lives 3 s: the form opens from here, ahead of any queue; and an
            # Edit lost to a crash costs a click, not a request.
            if (read := _read(action, respond)) is not None:
                _edit(deps, body, client, respond, *read)
            return
        held = after_ack.hold(START_CLICK, body)  # before the ack: from here the rep counts on it
        ack()
        after_ack.run(lambda: start_click(deps, body, client, respond), held)

    for name in (START, EDIT):
        app.action(name)(on_click)
