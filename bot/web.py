"""The HTTP face: Slack events at /slack/events, the OAuth callbacks, mail providers' push
notifications at /webhooks/gmail and /webhooks/graph, liveness at /healthz. A small threaded
WSGI server is enough here: every listener acks in milliseconds and hands real work to workers."""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from bot.push_routes import PATHS as PUSH_PATHS
from bot.push_routes import push_routes
from bot.replays import SeenRequests
from bot.slack_gate import slack_gate
from bot.transcript_webhook import PATH as TRANSCRIPT_PATH
from bot.transcript_webhook import transcript_webhook
from connectors.errors import TransientError
from connectors.oauth import Connected, OAuthError, StateError
from db.models import Rep
from orchestrator import metrics
from orchestrator.deps import Deps
from orchestrator.health import readiness
from orchestrator.notices.post import post_notice
from orchestrator.settings import reveal

StartResponse = Callable[..., Any]


def health(deps: Deps) -> tuple[bool, dict[str, str]]:
    checks: dict[str, str] = {}
    try:
        with deps.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        deps.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    return all(v == "ok" for v in checks.values()), checks


def wsgi_app(app: App, deps: Deps) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    seen = SeenRequests(deps.sessions)
    slack = slack_gate(
        SlackRequestHandler(app),
        signing_secret=reveal(deps.settings.slack_signing_secret) or "",
        seen=seen,
    )
    transcripts = transcript_webhook(deps, seen)

    registry = metrics.registry_for(deps)
    push = push_routes(deps)

    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/slack/events":
            return slack(environ, start_response)
        if path in PUSH_PATHS:
            return push(environ, start_response)
        if path == TRANSCRIPT_PATH:
            return transcripts(environ, start_response)
        if path.startswith("/oauth/") and path.endswith("/callback"):
            status, page = oauth_callback(deps, path.split("/")[2], environ.get("QUERY_STRING", ""))
            start_response(status, [("Content-Type", "text/html; charset=utf-8")])
            return [page.encode()]
        if path == "/healthz":
            ok, checks = health(deps)
            body = json.dumps({"ok": ok, **checks}).encode()
            # Without Redis this process still answers Slack (PostgreSQL holds the truth and
            # the clock re-wakes what could not be queued): only a lost database takes it
            # out of rotation.
            serving = checks["database"] == "ok"
            status = "200 OK" if serving else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", metrics.CONTENT_TYPE)])
            return [metrics.render(registry)]
        if path == "/readyz":
            # For a probe that should route traffic only to a complete deployment: schema at
            # head, and a clock and a worker alive (not only this process).
            ready, checks = readiness(deps)
            status = "200 OK" if ready else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps({"ok": ready, **checks}).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return route


def _page(title: str, text: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )


def oauth_callback(deps: Deps, provider: str, query: str) -> tuple[str, str]:
    """The browser's return from Google or Microsoft: store the token, tell the rep in Slack."""
    params = {k: v[0] for k, v in parse_qs(query).items()}
    if deps.oauth is None:
        return "404 Not Found", _page("Not set up", "Calendar connections are not configured.")
    try:
        connected = deps.oauth.complete(
            provider=provider,
            state=params.get("state", ""),
            code=params.get("code"),
            error=params.get("error"),
            now=deps.clock.now(),
        )
    except StateError:
        return "400 Bad Request", _page(
            "Link expired", "This connect link is invalid or too old. Run /schedule connect again."
        )
    except TransientError:
        return "503 Service Unavailable", _page(
            "Try again", f"{provider.capitalize()} did not answer. Reload this page to retry."
        )
    except OAuthError as exc:
        return "400 Bad Request", _page("Not connected", f"{exc}. Run /schedule connect again.")
    if connected.mail_provider is None:
        post_notice(
            deps.notices,
            rep_id=connected.rep_id,
            text=f":white_check_mark: Your {provider.capitalize()} calendar is connected.",
        )
        return "200 OK", _page("Connected", "Your calendar is connected. You can close this tab.")
    _use_mailbox(deps, connected)
    post_notice(
        deps.notices,
        rep_id=connected.rep_id,
        text=f":white_check_mark: Your {provider.capitalize()} calendar and mailbox are "
        "connected: emails you approve now go out from your own mailbox, and I read the "
        "replies there.",
    )
    return "200 OK", _page(
        "Connected", "Your calendar is connected, and your mailbox too. You can close this tab."
    )


def _use_mailbox(deps: Deps, connected: Connected) -> None:
    """Send and read the rep's mail through the mailbox they just connected."""
    with deps.uow() as uow:
        rep = uow.session.get(Rep, connected.rep_id)
        if rep is None or rep.org_id != connected.org_id:
            return
        if rep.mail_provider != connected.mail_provider:
            # A cursor is the old provider's format (a history id, a delta link…): the new
            # mailbox starts from now, and so does its push watch.
            rep.mail_cursor = None
            rep.watch_id = rep.watch_secret_digest = rep.watch_expires_at = None
        # A new grant: the clock makes or renews the watch at once (one made under a revoked
        # grant may be gone).
        rep.watch_renew_at = None
        rep.mail_provider = str(connected.mail_provider)
        uow.session.add(rep)
        uow.commit()


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: in a burst of Slack requests (a team clicking
    # Start at once) the kernel drops the rest of the handshakes, and each costs a retransmit
    # of a second or more. The kernel caps this at net.core.somaxconn.
    request_queue_size = 1024


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def make_web_server(app: App, deps: Deps, *, host: str, port: int) -> WSGIServer:
    """The server, bound and listening but not yet serving (its port may be 0 → chosen)."""
    return make_server(
        host,
        port,
        wsgi_app(app, deps),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )


def serve(app: App, deps: Deps, *, host: str, port: int) -> WSGIServer:
    """Start serving on a background thread; returns the server (its port may be 0 → chosen)."""
    server = make_web_server(app, deps, host=host, port=port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
