"""The sandbox's own web server: the page, its script, and the small JSON API the script calls.

Each API call is one thing a person does on the page; it becomes what the real world would do:
a signed Slack request to the app, an email into the embedded mailbox, or time passing on the
clock (followed by the clock's tick). A background loop plays the worker and, every few
seconds, the clock process, as `convene web` does without Redis.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog

from bot.sandbox import panels
from bot.sandbox.inbox import prospect_threads, reply_to
from bot.sandbox.seed import COLLEAGUE, PROSPECT, Contact
from bot.sandbox.slack_client import SlackClient
from bot.sandbox.world import World
from connectors.clock import OffsetClock

log = structlog.get_logger(__name__)

StartResponse = Callable[..., Any]
STATIC = {
    "/": ("page.html", "text/html; charset=utf-8"),
    "/static/sandbox.js": ("sandbox.js", "text/javascript; charset=utf-8"),
    "/static/sandbox.css": ("sandbox.css", "text/css; charset=utf-8"),
}
MAX_BODY = 1_000_000
WORKER_SECONDS = 0.3
TICK_SECONDS = 3.0


class BadRequest(Exception):
    pass


@dataclass
class Sandbox:
    """One seeded world and the rep's Slack client on it; `reset` starts both over."""

    world: World
    client: SlackClient
    workdir: tempfile.TemporaryDirectory[str]
    stopped: threading.Event = field(default_factory=threading.Event)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def start(cls) -> Sandbox:
        workdir = tempfile.TemporaryDirectory(prefix="convene-sandbox-")
        world = World.start(Path(workdir.name), clock=OffsetClock())
        return cls(world=world, client=SlackClient(world), workdir=workdir)

    def reset(self) -> None:
        with self.lock:
            old, old_dir = self.world, self.workdir
            self.workdir = tempfile.TemporaryDirectory(prefix="convene-sandbox-")
            self.world = World.start(Path(self.workdir.name), clock=OffsetClock())
            self.client = SlackClient(self.world)
            old.stop()
            old_dir.cleanup()

    def stop(self) -> None:
        self.stopped.set()
        with self.lock:
            self.world.stop()
            self.workdir.cleanup()

    def background(self) -> threading.Thread:
        """The worker (every fraction of a second) and the clock's tick (every few seconds)."""

        def loop() -> None:
            waited = 0.0
            while not self.stopped.wait(WORKER_SECONDS):
                waited += WORKER_SECONDS
                try:
                    with self.lock:
                        if waited >= TICK_SECONDS:
                            waited = 0.0
                            self.world.tick()
                        else:
                            self.world.run()
                except Exception as exc:  # noqa: BLE001 - keep the sandbox alive, say why
                    log.exception("sandbox_loop_error", error=repr(exc))

        thread = threading.Thread(target=loop, name="convene-sandbox", daemon=True)
        thread.start()
        return thread

    # --- what the page asks for -------------------------------------------------------------

    def regions(self, week: int) -> dict[str, Any]:
        with self.lock:
            return {"regions": panels.regions(self.world, self.client, week=week)}

    def command(self, body: dict[str, Any]) -> dict[str, Any]:
        text = str(body.get("text", "")).strip()
        if not text.startswith("/schedule"):
            raise BadRequest("This workspace only knows /schedule")
        reply = self.client.command(text.removeprefix("/schedule").strip())
        return {"status": reply.status}

    def act(self, body: dict[str, Any]) -> dict[str, Any]:
        action, state = dict(body.get("action") or {}), dict(body.get("state") or {})
        surface = body.get("surface")
        if surface == "dm":
            reply = self.client.act(entry_id=int(body.get("entry", 0)), action=action, state=state)
        elif surface == "home":
            view = self.client.home_view()
            if view is None:
                raise BadRequest("the Home tab is not open")
            reply = self.client.act_in_view(view=view, action=action, state=state)
        elif surface == "modal" and self.client.modal is not None:
            reply = self.client.act_in_view(view=self.client.modal, action=action, state=state)
        else:
            raise BadRequest(f"nothing to click on {surface!r}")
        return {"status": reply.status}

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.client.submit(dict(body.get("values") or {}))
        return {"status": reply.status}

    def close_modal(self, body: dict[str, Any]) -> dict[str, Any]:
        self.client.close_modal()
        return {}

    def home(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"status": self.client.open_home().status}

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        """The prospect (or whoever they play) answers the thread's last email."""
        text = str(body.get("text", "")).strip()
        if not text:
            raise BadRequest("Write something first")
        threads = {panels.thread_key(t): t for t in prospect_threads(self.world)}
        thread = threads.get(str(body.get("thread", "")))
        if thread is None:
            raise BadRequest("That thread is gone (was the sandbox reset?)")
        sender = _sender(str(body.get("sender", "")), str(body.get("other", "")))
        raw, to = reply_to(
            thread.last,
            text=text,
            sender=sender,
            now=self.world.clock.now(),
            quote=bool(body.get("quote", True)),
        )
        with self.lock:
            self.world.deliver(raw, to=to)
            self.world.tick()  # the clock reads the mailbox now rather than in a few seconds
        return {"delivered_to": to}

    def clock(self, body: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        now = world.clock.now()
        target = {
            "hour": now + timedelta(hours=1),
            "minute": now + timedelta(minutes=1),
            "tomorrow": panels.tomorrow_at_nine(now),
            "meeting_end": panels.next_meeting_end(world),
        }.get(str(body.get("to")))
        if target is None or target <= now:
            raise BadRequest("nothing to move the clock to")
        with self.lock:
            world.advance(target - now)
        return {"now": world.clock.now().isoformat()}

    def do_reset(self, body: dict[str, Any]) -> dict[str, Any]:
        self.reset()
        return {}


def _sender(choice: str, other: str) -> Contact:
    for contact in (PROSPECT, COLLEAGUE):
        if choice == contact.email:
            return contact
    address = other.strip()
    if "@" not in address or any(c in address for c in "<>\r\n,"):
        raise BadRequest("Give the other sender an email address")
    return Contact(address.split("@")[0].replace(".", " ").title(), address)


def wsgi(sandbox: Sandbox) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    posts: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "/api/command": sandbox.command,
        "/api/act": sandbox.act,
        "/api/submit": sandbox.submit,
        "/api/close": sandbox.close_modal,
        "/api/home": sandbox.home,
        "/api/reply": sandbox.reply,
        "/api/clock": sandbox.clock,
        "/api/reset": sandbox.do_reset,
    }

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if method == "GET" and path in STATIC:
            name, content_type = STATIC[path]
            data = resources.files("bot.sandbox").joinpath(name).read_bytes()
            start_response(
                "200 OK", [("Content-Type", content_type), ("Cache-Control", "no-store")]
            )
            return [data]
        if method == "GET" and path == "/api/regions":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            week = min(max(int((query.get("week") or ["0"])[0] or 0), -1), 4)
            return _json(start_response, "200 OK", sandbox.regions(week))
        if method == "POST" and path in posts:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                if length > MAX_BODY:
                    raise BadRequest("too large")
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
                if not isinstance(body, dict):
                    raise BadRequest("expected a JSON object")
                return _json(start_response, "200 OK", {"ok": True, **posts[path](body)})
            except (BadRequest, ValueError, LookupError) as exc:
                return _json(start_response, "400 Bad Request", {"ok": False, "error": str(exc)})
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return app


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
    return [data]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def serve(sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 8080) -> WSGIServer:
    """Serve the page on a background thread; returns the server (port 0 picks a free one)."""
    server = make_server(
        host, port, wsgi(sandbox), server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="sandbox-page", daemon=True).start()
    return server
