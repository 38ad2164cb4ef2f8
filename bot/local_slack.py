"""A stand-in for Slack's Web API and response URLs, over real HTTP on 127.0.0.1.

The demo, the sandbox and the tests point slack-sdk's WebClient at it. It records every call,
answers the methods Convene uses, and enforces the Block Kit limits Slack enforces, so a card
that Slack would reject fails here too.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
MAX_SECTION_TEXT = 3000
MAX_FIELDS, MAX_FIELD_TEXT = 10, 2000
MAX_ACTION_ELEMENTS = 25
MAX_ID = 255
MAX_BUTTON_TEXT, MAX_BUTTON_VALUE = 75, 2000
MAX_OPTION_TEXT, MAX_OPTION_VALUE, MAX_OPTIONS = 75, 150, 100
RESPONSE_URL_USES = 5


def block_errors(blocks: list[dict[str, Any]], *, surface: str = "message") -> list[str]:
    """Why Slack would answer `invalid_blocks`, or an empty list."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS[surface]:
        errors.append(f"{len(blocks)} blocks > {MAX_BLOCKS[surface]}")
    for i, block in enumerate(blocks):
        where = f"block {i} ({block.get('type')})"
        if len(block.get("block_id", "")) > MAX_ID:
            errors.append(f"{where}: block_id too long")
        text = (block.get("text") or {}).get("text", "")
        if block.get("type") == "section" and len(text) > MAX_SECTION_TEXT:
            errors.append(f"{where}: text {len(text)} > {MAX_SECTION_TEXT}")
        fields = block.get("fields") or []
        if len(fields) > MAX_FIELDS or any(len(f.get("text", "")) > MAX_FIELD_TEXT for f in fields):
            errors.append(f"{where}: fields over limit")
        elements = list(block.get("elements") or [])
        for single in ("accessory", "element"):  # a section's accessory, an input's element
            if block.get(single):
                elements.append(block[single])
        if block.get("type") == "actions" and len(elements) > MAX_ACTION_ELEMENTS:
            errors.append(f"{where}: {len(elements)} elements > {MAX_ACTION_ELEMENTS}")
        seen: set[str] = set()
        for element in elements:
            errors += _element_errors(element, where, seen)
    return errors


def _element_errors(element: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    errors = []
    action_id = element.get("action_id")
    if action_id is not None:
        if len(action_id) > MAX_ID:
            errors.append(f"{where}: action_id too long")
        if action_id in seen:
            errors.append(f"{where}: duplicate action_id {action_id}")
        seen.add(action_id)
    if element.get("type") == "button":
        if len(element.get("text", {}).get("text", "")) > MAX_BUTTON_TEXT:
            errors.append(f"{where}: button text > {MAX_BUTTON_TEXT}")
        if len(element.get("value", "")) > MAX_BUTTON_VALUE:
            errors.append(f"{where}: button value > {MAX_BUTTON_VALUE}")
    return errors + _input_errors(element, where)


def _input_errors(element: dict[str, Any], where: str) -> list[str]:
    """Slack refuses a select whose preselected option is not one of its options, an option
    over its limits, and an initial value longer than the input's own max_length."""
    errors = []
    options = element.get("options") or []
    if len(options) > MAX_OPTIONS:
        errors.append(f"{where}: {len(options)} options > {MAX_OPTIONS}")
    for option in options:
        if len(option.get("text", {}).get("text", "")) > MAX_OPTION_TEXT:
            errors.append(f"{where}: option text > {MAX_OPTION_TEXT}")
        if len(option.get("value", "")) > MAX_OPTION_VALUE:
            errors.append(f"{where}: option value > {MAX_OPTION_VALUE}")
    if "initial_option" in element and element["initial_option"] not in options:
        errors.append(f"{where}: initial_option is not one of the options")
    limit = element.get("max_length")
    if limit is not None and len(element.get("initial_value", "")) > limit:
        errors.append(f"{where}: initial_value longer than max_length {limit}")
    return errors


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions (chat.update)


@dataclass
class LocalSlack:
    """Start with `LocalSlack.start(users=…)`; `api_url` to WebClient, `hook_url` to payloads."""

    token: str = "xoxb-local"
    app_token: str = "xapp-local"
    socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode)
    team_id: str = "T0LOCAL"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # posts to response_url
    home_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    modals: list[dict[str, Any]] = field(default_factory=list)  # views.open, in order
    used_triggers: set[str] = field(default_factory=set)
    rate_limited_calls: int = 0  # the next N Web API calls answer 429
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # id -> (name, content)
    _hook_uses: dict[str, int] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @classmethod
    def start(cls, **kwargs: Any) -> LocalSlack:
        slack = cls(**kwargs)
        slack._server = _Server(("127.0.0.1", 0), _handler(slack))
        threading.Thread(target=slack._server.serve_forever, daemon=True).start()
        return slack

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def hook_url(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.calls if c["method"] == method]

    def message(self, channel: str, ts: str) -> Message:
        with self._lock:
            return next(m for m in self.messages if m.channel == channel and m.ts == ts)

    # --- the Web API ------------------------------------------------------------------------

    def api(self, method: str, args: dict[str, Any], auth: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append({"method": method, "args": args})
            if self.rate_limited_calls > 0:
                self.rate_limited_calls -= 1
                return 429, {"ok": False, "error": "ratelimited"}
            expected = self.app_token if method == "apps.connections.open" else self.token
            if auth != f"Bearer {expected}":
                return 200, {"ok": False, "error": "invalid_auth"}
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method"}
            return 200, handler(args)

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self.files.get(str(args.get("file", "")))
        if found is None:
            return {"ok": False, "error": "file_not_found"}
        name, content = found
        download = f"{self.url}/files-pri/{self.team_id}-{args['file']}/download/{name}"
        file = {"id": args["file"], "name": name, "size": len(content)}
        return {"ok": True, "file": file | {"url_private_download": download}}

    def download(self, path: str, auth: str) -> tuple[int, bytes]:
        """A file's bytes, for the bot's token only (as Slack's `url_private_download`)."""
        if auth != f"Bearer {self.token}":
            return 403, b""
        file_id = path.removeprefix("/files-pri/").split("/")[0].removeprefix(f"{self.team_id}-")
        found = self.files.get(file_id)
        return (200, found[1]) if found else (404, b"")

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "team_id": self.team_id, "user_id": "UCONVENE", "bot_id": "BCONVENE"}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            return {"ok": False, "error": "socket_mode_not_enabled"}
        return {"ok": True, "url": self.socket_url}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": args["user"], **user}}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = args.get("users")
        user = users[0] if isinstance(users, list) else str(users).split(",")[0]
        return {"ok": True, "channel": {"id": "D" + user}}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        blocks = _blocks(args)
        if errors := block_errors(blocks):
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        ts = f"{1700000000 + next(self._ts)}.000100"
        self.messages.append(Message(args["channel"], ts, args.get("text", ""), blocks))
        return {"ok": True, "channel": args["channel"], "ts": ts}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        blocks = _blocks(args)
        if errors := block_errors(blocks):
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        for message in self.messages:
            if message.channel == args["channel"] and message.ts == args["ts"]:
                message.history.append({"text": message.text, "blocks": message.blocks})
                message.text, message.blocks = args.get("text", ""), blocks
                return {"ok": True, "channel": message.channel, "ts": message.ts}
        return {"ok": False, "error": "message_not_found"}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id", ""))
        if trigger in self.used_triggers:
            return {"ok": False, "error": "exchanged_trigger_id"}
        self.used_triggers.add(trigger)
        raw = args.get("view") or {}
        view: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
        if errors := block_errors(view.get("blocks", []), surface="modal"):
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        view = {**view, "id": f"V{len(self.modals) + 1:04d}"}
        self.modals.append(view)
        return {"ok": True, "view": view}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        raw = args.get("view") or {}
        view: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
        if errors := block_errors(view.get("blocks", []), surface="home"):
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        self.home_views[args["user_id"]] = view
        return {"ok": True, "view": view}

    # --- response_url -----------------------------------------------------------------------

    def hook(self, name: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            uses = self._hook_uses.get(name, 0) + 1
            self._hook_uses[name] = uses
            if uses > RESPONSE_URL_USES:
                return 404, {"ok": False, "error": "used_too_many_times"}
            if errors := block_errors(_blocks(body)):
                return 400, {"ok": False, "error": "invalid_blocks", "errors": errors}
            self.responses.append({"hook": name, **body})
            return 200, {"ok": True}


class _Server(ThreadingHTTPServer):
    # Like the app's own server: a burst of listeners calling at once must not find a listen
    # backlog of 5 (socketserver's default) and wait out handshake retransmits.
    request_queue_size = 1024


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def _handler(slack: LocalSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test and demo output clean
            pass

        def _body(self) -> dict[str, Any]:
            url = urlparse(self.path)
            args: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if raw and "json" in self.headers.get("Content-Type", ""):
                args.update(json.loads(raw))
            elif raw:
                args.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
            return args

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            path = unquote(urlparse(self.path).path)
            args = self._body()
            if path.startswith("/api/"):
                auth = self.headers.get("Authorization", "")
                self._reply(*slack.api(path.removeprefix("/api/"), args, auth))
            elif path.startswith("/hooks/"):
                self._reply(*slack.hook(path.removeprefix("/hooks/"), args))
            else:
                self._reply(404, {"ok": False, "error": "not_found"})

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = unquote(urlparse(self.path).path)
            if not path.startswith("/files-pri/"):
                self.do_POST()
                return
            status, content = slack.download(path, self.headers.get("Authorization", ""))
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    return Handler
