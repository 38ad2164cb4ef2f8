"""`/schedule` and its subcommands. Reads are answered in the ack; anything that writes or
talks to Slack happens after it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.after_ack import AfterAck
from bot.blocks import button, section
from bot.commands import HELP_TEXT
from bot.listeners.home import publish_home
from bot.listeners.review import review_command
from bot.listeners.start import offer_start, profile_of, started_text, tell_failure
from bot.listeners.templates import templates_command
from bot.listeners.transcripts import transcript_command
from bot.listeners.webhooks import webhooks_command
from bot.modals import CALLBACK_ID, Submission, new_request_view, read_submission
from bot.settings_modal import CALLBACK_ID as SETTINGS_CALLBACK
from bot.settings_modal import WEEKDAYS, RepSettings, read_settings, settings_view
from bot.stats_blocks import stats_message
from bot.views import cancel_prompt, request_list, request_status
from connectors.errors import TransientError
from db.models import Rep
from orchestrator.commands import own_requests
from orchestrator.commands.meeting_types import meeting_kinds, team_kinds
from orchestrator.commands.new_request import ensure_rep, start_scheduling
from orchestrator.commands.stats import stats_for
from orchestrator.deps import Deps
from orchestrator.engine.event_types import EventType
from orchestrator.meeting_kinds import MeetingKind
from orchestrator.views import START_EVENTS, Row

Handler = Callable[[Deps, dict[str, Any], str, Ack, Respond], None]


def register(app: App, deps: Deps, after_ack: AfterAck) -> None:
    @app.command("/schedule")
    def schedule(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        text = (command.get("text") or "").strip()
        verb, _, rest = text.partition(" ")
        handler = SUBCOMMANDS.get(verb.lower())
        if verb.lower() == "times":
            # `/schedule times demo with …`: like `/schedule demo with …`, but the rep picks
            # the times from a picker before anything is drafted.
            ack()
            after_ack.run(
                lambda: offer_start(
                    deps,
                    command,
                    rest.strip(),
                    client,
                    respond,
                    event_type=EventType.calendar_find_times,
                )
            )
        elif verb.lower() == "webhooks":
            ack()  # Slack is asked whether the user is an admin, off the thread acks need.
            after_ack.run(lambda: webhooks_command(deps, command, rest.strip(), respond))
        elif not text:
            ack()
            try:
                # trigger_id lives 3 s and works once: open the modal before anything else
                # talks to Slack (the team's meeting types are one local read).
                kinds = team_kinds(deps, org_id=command["team_id"])
                client.views_open(
                    trigger_id=command["trigger_id"],
                    view=new_request_view(today=deps.clock.now().date(), kinds=kinds),
                )
            except Exception:  # noqa: BLE001 - acked: the rep hears of it
                tell_failure(
                    lambda said: respond(text=said, response_type="ephemeral"),
                    FORM_NOT_OPENED,
                    failed="form_not_opened",
                )
        elif text.lower() == "help":
            ack(text=HELP_TEXT, response_type="ephemeral")
        elif handler is not None:
            handler(deps, command, rest.strip(), ack, respond)
        else:
            ack()  # Slack's 3 s budget: the rest talks to Slack, off the thread acks need.
            after_ack.run(lambda: offer_start(deps, command, text, client, respond))

    after_ack.replays[START_FORM] = start_form

    @app.view(CALLBACK_ID)
    def submit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        submission, _, _ = _read_form(deps, body)
        if submission.command is None:
            ack(response_action="errors", errors=submission.errors)
            return
        held = after_ack.hold(START_FORM, body)  # before the ack: the form closes with it
        ack()
        # A form has no response_url: what it did reaches the rep by DM.
        after_ack.run(lambda: start_form(deps, body, client, Respond(response_url=None)), held)

    @app.view(SETTINGS_CALLBACK)
    def save_settings(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        chosen, errors = read_settings(view["state"]["values"])
        if chosen is None:
            ack(response_action="errors", errors=errors)
            return
        ack()
        outcome = own_requests.save_settings(
            deps,
            org_id=body["team"]["id"],
            profile=profile_of(client, body["user"]["id"]),
            timezone=chosen.timezone,
            working_hours={day: [chosen.work_start, chosen.work_end] for day in WEEKDAYS},
            brief_time=chosen.brief_time,
            quiet_hours=(chosen.quiet_start, chosen.quiet_end),
            daily_send_limit=chosen.daily_send_limit,
            delegates=list(chosen.delegates),
            zoom_link=chosen.zoom_link,
        )
        channel = client.conversations_open(users=[body["user"]["id"]])["channel"]["id"]
        client.chat_postMessage(channel=channel, text=outcome.message)


FORM_NOT_OPENED = ":warning: Convene could not open the form just now. Run `/schedule` again."
FORM_NOT_STARTED = (
    ":warning: Convene could not start the request from your form just now. "
    "`/schedule list` shows whether it is under way; if it is not, run `/schedule` again."
)


def _dm(client: WebClient, user: str, text: str) -> None:
    channel = client.conversations_open(users=[user])["channel"]["id"]
    client.chat_postMessage(channel=channel, text=text)


# The kind of held work a submitted form is (`bot.after_ack`).
START_FORM = "start_form"


def _read_form(
    deps: Deps, body: dict[str, Any]
) -> tuple[Submission, str, Mapping[str, MeetingKind]]:
    """The form as the rep filled it in, read in their zone (UTC until we know it)."""
    team, user = body["team"]["id"], body["user"]["id"]
    with deps.uow() as uow:
        known = own_requests.find_rep(uow.session, org_id=team, slack_user_id=user)
        tz = known.timezone if known else "UTC"
        kinds = meeting_kinds(uow.session, org_id=team)
    values = body["view"]["state"]["values"]
    return read_submission(values, now=deps.clock.now(), tz=tz, kinds=kinds), tz, kinds


def start_form(deps: Deps, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    """What a valid form does after its ack; also the replay of one a dead process left."""
    try:
        submission, tz, kinds = _read_form(deps, body)
    except Exception:  # noqa: BLE001 - acked, and the form is closed: the rep hears of it
        user = body["user"]["id"]
        tell_failure(lambda said: _dm(client, user, said), FORM_NOT_STARTED, failed="start_failed")
        return
    _start_from_form(deps, body, body["view"], client, submission, tz, kinds)


def _start_from_form(
    deps: Deps,
    body: dict[str, Any],
    view: dict[str, Any],
    client: WebClient,
    submission: Submission,
    tz: str,
    kinds: Mapping[str, MeetingKind],
) -> None:
    """A valid form, after its ack: the request, and a DM saying which one (or what failed)."""
    team, user = body["team"]["id"], body["user"]["id"]
    # Set when the form was opened from an inline `/schedule times …` via Edit.
    event_type = view.get("private_metadata") or START_EVENTS[0]
    if event_type not in START_EVENTS:
        event_type = START_EVENTS[0]
    try:
        profile = profile_of(client, user)
        if profile.timezone != tz:
            # First use: dates mean days in the rep's own zone, which Slack just told us.
            submission = read_submission(
                view["state"]["values"], now=deps.clock.now(), tz=profile.timezone, kinds=kinds
            )
        if submission.command is None:
            problems = " ".join(submission.errors.values())
            _dm(client, user, f":warning: {problems} Nothing was created.")
            return
        teammates = tuple(profile_of(client, uid) for uid in submission.teammate_ids)
        command = replace(submission.command, teammates=teammates)
        started = start_scheduling(
            deps,
            org_id=team,
            profile=profile,
            command=command,
            idempotency_key=f"slack:{team}:view:{view['id']}",
            event_type=event_type,
        )
    except Exception:  # noqa: BLE001 - acked, and the form is closed: the rep hears of it
        tell_failure(lambda said: _dm(client, user, said), FORM_NOT_STARTED, failed="start_failed")
        return
    _dm(client, user, started_text(started, command, event_type))


def _rep(session: Session, command: dict[str, Any]) -> Rep | None:
    return own_requests.find_rep(
        session, org_id=command["team_id"], slack_user_id=command["user_id"]
    )


def _ephemeral(ack: Ack, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
    ack(text=text, blocks=blocks, response_type="ephemeral")


def _list(deps: Deps, command: dict[str, Any], rest: str, ack: Ack, respond: Respond) -> None:
    with deps.uow() as uow:
        rep = own_requests.find_rep(
            uow.session, org_id=command["team_id"], slack_user_id=command["user_id"]
        )
        rows = (
            [Row.of(r) for r in own_requests.requests_of(uow.session, rep_id=rep.id)] if rep else []
        )
        tz = rep.timezone if rep else "UTC"
    _ephemeral(ack, *request_list(rows, tz))


def _status(deps: Deps, command: dict[str, Any], rest: str, ack: Ack, respond: Respond) -> None:
    if not rest:
        _ephemeral(ack, "Which one? e.g. `/schedule status ACME-1` (`/schedule list` shows yours).")
        return
    with deps.uow() as uow:
        request = own_requests.by_ref(uow.session, org_id=command["team_id"], ref=rest.split()[0])
        rep = own_requests.find_rep(
            uow.session, org_id=command["team_id"], slack_user_id=command["user_id"]
        )
        if request is None:
            _ephemeral(ack, f"I can't find `{rest.split()[0]}`. `/schedule list` shows yours.")
            return
        view = request_status(
            request,
            own_requests.attendees_of(uow.session, request),
            own_requests.recent_activity(uow.session, request),
            rep.timezone if rep else request.timezone,
        )
    _ephemeral(ack, *view)


def _stats(deps: Deps, command: dict[str, Any], rest: str, ack: Ack, respond: Respond) -> None:
    """The rep's scheduler figures beside the team's, answered in the ack (a few aggregates)."""
    stats = stats_for(deps, org_id=command["team_id"], slack_user_id=command["user_id"])
    _ephemeral(ack, *stats_message(stats))


def _state_change(change: Callable[..., own_requests.Outcome], verb: str) -> Handler:
    def handle(deps: Deps, command: dict[str, Any], rest: str, ack: Ack, respond: Respond) -> None:
        if not rest:
            _ephemeral(ack, f"Which one? e.g. `/schedule {verb} ACME-1`.")
            return
        team, user = command["team_id"], command["user_id"]
        outcome = change(deps, org_id=team, ref=rest.split()[0], slack_user_id=user)
        _ephemeral(ack, outcome.message if outcome.ok else f":warning: {outcome.message}")
        if outcome.ok:  # after the ack: a Home tab left open shows the change too
            publish_home(deps, deps.slack_client, org_id=team, slack_user_id=user)

    return handle


def _cancel(deps: Deps, command: dict[str, Any], rest: str, ack: Ack, respond: Respond) -> None:
    if not rest:
        _ephemeral(ack, "Which one? e.g. `/schedule cancel ACME-1`.")
        return
    with deps.uow() as uow:
        request = own_requests.by_ref(uow.session, org_id=command["team_id"], ref=rest.split()[0])
    if request is None:
        _ephemeral(ack, f"I can't find `{rest.split()[0]}`. `/schedule list` shows yours.")
        return
    _ephemeral(ack, *cancel_prompt(request))  # the click on "Cancel" does it


def _settings(deps: Deps, command: dict[str, Any], rest: str, ack: Ack, respond: Respond) -> None:
    ack()
    with deps.uow() as uow:
        rep = _rep(uow.session, command)
    hours = (rep.working_hours.get("0") if rep else None) or ["09:00", "17:00"]
    current = RepSettings(
        timezone=rep.timezone if rep else "UTC",
        work_start=hours[0],
        work_end=hours[1],
        brief_time=rep.brief_time if rep else "08:00",
        quiet_start=rep.quiet_hours_start if rep else None,
        quiet_end=rep.quiet_hours_end if rep else None,
        daily_send_limit=rep.daily_send_limit if rep else deps.settings.daily_send_limit,
        delegates=tuple(rep.delegate_slack_ids) if rep else (),
        zoom_link=rep.zoom_link if rep else "",
    )
    deps.slack_client.views_open(trigger_id=command["trigger_id"], view=settings_view(current))


def _connect(deps: Deps, command: dict[str, Any], rest: str, ack: Ack, respond: Respond) -> None:
    ack()
    if deps.oauth is None:
        respond(
            text="Calendar connections aren't set up here yet: an admin needs to configure "
            "Google or Microsoft sign-in (see the README). Until then, the built-in calendar.",
            response_type="ephemeral",
        )
        return
    profile = profile_of(deps.slack_client, command["user_id"])
    with deps.uow() as uow:
        rep = ensure_rep(
            uow.session,
            org_id=command["team_id"],
            profile=profile,
            now=deps.clock.now(),
            daily_send_limit=deps.settings.daily_send_limit,
        )
        uow.commit()
    links: list[dict[str, Any]] = []
    silent: list[str] = []
    for name in deps.settings.oauth_providers():
        try:
            url = deps.oauth.start(
                provider=name, org_id=command["team_id"], rep_id=rep.id, now=deps.clock.now()
            )
        except TransientError:
            # Microsoft's link is made from its sign-in service's discovery document.
            silent.append(name.capitalize())
            continue
        links.append(button(f"Connect {name.capitalize()}", f"connect:{name}", name) | {"url": url})
    if deps.settings.mail_backend == "connected":
        # The same consent covers the mailbox: approved emails leave from the rep's own address.
        intro = (
            "Connect your calendar and mailbox so I can see when you're free, book real "
            "invites, send the emails you approve from your own address, and read the replies."
        )
        scope = (
            "I only ask for free/busy, events on calendars you own, and sending and reading mail."
        )
    else:
        intro = "Connect your calendar so I can see when you're free and book real invites."
        scope = "I only ask for free/busy and events on calendars you own."
    if silent:
        scope += (
            f" {' and '.join(silent)} sign-in didn't answer just now: run /schedule connect "
            "again in a minute to connect it."
        )
    # Slack refuses an actions block without elements.
    actions = [{"type": "actions", "block_id": "connect", "elements": links}] if links else []
    respond(
        text=intro,
        blocks=[section(f"{intro} {scope}"), *actions],
        response_type="ephemeral",
    )


SUBCOMMANDS: dict[str, Handler] = {
    "list": _list,
    "status": _status,
    "stats": _stats,
    "pause": _state_change(own_requests.pause, "pause"),
    "resume": _state_change(own_requests.resume, "resume"),
    "cancel": _cancel,
    "settings": _settings,
    "connect": _connect,
    "review": review_command,
    "templates": templates_command,
    "transcript": transcript_command,
}
