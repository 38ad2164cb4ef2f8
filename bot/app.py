"""The Bolt app. Listeners ack first, validate, persist, enqueue — real work runs in workers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

from bot.after_ack import AfterAck
from bot.listeners import (
    brief,
    cards,
    decisions,
    home,
    inbound_requests,
    meeting,
    picker,
    reply_hints,
    review,
    schedule,
    start,
    stranger_replies,
    templates,
    transcript_files,
    transcripts,
)
from orchestrator.deps import Deps
from orchestrator.settings import reveal


def build_app(deps: Deps, *, socket_mode: bool = False, after_ack: AfterAck | None = None) -> App:
    """The app for HTTP (every request signature-checked) or Socket Mode (no HTTP at all).

    `after_ack`: the pool the listeners hand their work to; a serving process passes its own
    and starts its `keep_replaying` loop, which finishes work a dead process acked."""
    settings = deps.settings
    if not socket_mode and not settings.slack_signing_secret:
        raise ValueError("SLACK_SIGNING_SECRET is required to serve Slack over HTTP")
    app = App(
        signing_secret=reveal(settings.slack_signing_secret) or "",
        # Socket Mode frames arrive over the WebSocket our app token opened; nothing to sign.
        request_verification_enabled=not socket_mode,
        client=deps.slack_client,
        # A fake or misconfigured token should fail requests loudly, not the process start.
        token_verification_enabled=False,
        # Listeners ack on these threads and then persist; Bolt's default of 5 lets a burst of
        # commands queue behind each other's post-ack work until Slack's 3 s runs out.
        listener_executor=ThreadPoolExecutor(max_workers=settings.listener_threads),
    )
    # Its own threads: work after an ack never holds up the next request's ack.
    after_ack = after_ack or AfterAck(deps)
    schedule.register(app, deps, after_ack)
    start.register(app, deps, after_ack)
    for listeners in (cards, decisions, home, meeting, picker, review, brief, reply_hints):
        listeners.register(app, deps)
    stranger_replies.register(app, deps)
    templates.register(app, deps)
    inbound_requests.register(app, deps)
    transcripts.register(app, deps)
    transcript_files.register(app, deps)
    return app
