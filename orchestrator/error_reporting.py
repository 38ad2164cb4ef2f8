"""Optional error reporting: Sentry when SENTRY_DSN is set, scrubbed before anything leaves.

Without SENTRY_DSN, sentry-sdk is never started. With it, each process (`convene web`, `worker`,
`clock`, `socket`, and each gunicorn worker) calls :func:`start` once as it starts. Then errors
logged at ERROR, uncaught exceptions, and the failures the engine records on a row (a step, a
send) become events. Errors only: no tracing, no sessions, no profiles.

An event leaves with the exception's type, the stack (files, functions, lines and the code
around them), a short message, the process and the environment, and nothing of our customers':

- no email bodies: no frame locals, request bodies, headers, cookies, query strings, database
  parameters or model prompts are collected. A message (an exception's, a log line's, a
  breadcrumb's) keeps only its first line, quoted text of more than a few words blanked, at most
  :data:`MAX_TEXT` characters; any other text over several lines (an extra field, a context)
  leaves as "[text]". A body pasted into an error runs past the first line or sits in quotes
  (``{body!r}``); one pasted raw into the first line would leave that line, and only that;
- no tokens: every string goes through the log :class:`~orchestrator.logs.Redactor`
  (configured secrets, token shapes, fields named like secrets);
- no address beyond its domain: sam@acme.com leaves as …@acme.com (which customer, not who).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from orchestrator.logs import Redactor
from orchestrator.settings import Settings, reveal

if TYPE_CHECKING:
    from sentry_sdk._types import Event

MAX_TEXT = 300
# Quoted text this long is someone's words (a repr'd body, a subject), not an error's own.
_QUOTED = re.compile(r"'[^'\n]{16,}'|\"[^\"\n]{16,}\"")
# The local part of an address, written plainly or URL-encoded (Graph paths: users/sam%40…).
_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+(@|%40)(?=[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# What a breadcrumb's data may keep: where an HTTP call went and how it ended.
_BREADCRUMB_DATA = ("method", "status_code", "reason", "url")


def domain_only(text: str) -> str:
    """``text`` with every email address reduced to its domain: "…@acme.com"."""
    return _ADDRESS.sub(lambda m: f"…{m.group(1)}", text)


# Where a string is a message, its first line says what went wrong; anywhere else (an extra
# field, a context) text running over several lines is something someone wrote.
_MESSAGE_KEYS = frozenset({"message", "formatted", "value"})


def _first_words(text: str, key: str) -> str:
    text = _QUOTED.sub("'[text]'", text)
    first, _, rest = text.partition("\n")
    if rest.strip():
        if key not in _MESSAGE_KEYS:
            return "[text]"
        first += " […]"
    return first if len(first) <= MAX_TEXT else first[: MAX_TEXT - 1] + "…"


def _without_query(url: str) -> str:
    # A query string carries OAuth codes and search terms; the path says what was called.
    return url.split("?", 1)[0].split("#", 1)[0]


class Scrubber:
    """sentry-sdk's ``before_send`` and ``before_breadcrumb``: every string of an event, however
    deep, through the redactor, then addresses to domains, then the free-text rule."""

    def __init__(self, secrets: list[str]) -> None:
        self._redactor = Redactor(secrets)

    def text(self, value: str, key: str = "") -> str:
        return _first_words(domain_only(self._redactor.redact_field(key, value)), key)

    def _scrub(self, value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            return self.text(value, key)
        if isinstance(value, Mapping):
            return {
                self.text(k) if isinstance(k, str) else k: self._scrub(v, str(k))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self._scrub(v) for v in value]
        if value is None or isinstance(value, bool | int | float | datetime | date):
            return value
        # Sentry would send its repr: render it here, where it can be cleaned.
        return self.text(repr(value))

    def event(self, sent: Event, hint: dict[str, Any] | None) -> Event:
        event = cast(dict[str, Any], sent)
        event.pop("user", None)
        if isinstance(request := event.get("request"), Mapping):
            event["request"] = {
                "method": request.get("method"),
                "url": _without_query(str(request.get("url", ""))),
            }
        for frame in _frames(event):
            frame.pop("vars", None)  # locals are where bodies and tokens sit
        if (fields := _structlog_fields(hint)) is not None:
            name, rest = fields
            event["logentry"] = {"message": name, "formatted": name, "params": []}
            event["extra"] = {**event.get("extra", {}), **rest}
        modules = event.pop("modules", None)  # package names and versions, left as they are
        scrubbed: dict[str, Any] = self._scrub(event)
        if modules is not None:
            scrubbed["modules"] = modules
        return cast("Event", scrubbed)

    def breadcrumb(self, crumb: dict[str, Any], hint: dict[str, Any] | None) -> dict[str, Any]:
        data = crumb.get("data") or {}
        kept = {k: data[k] for k in _BREADCRUMB_DATA if k in data}
        if "url" in kept:
            kept["url"] = _without_query(str(kept["url"]))
        crumb["data"] = kept
        if (fields := _structlog_fields(hint)) is not None:
            crumb["message"] = fields[0]
        scrubbed: dict[str, Any] = self._scrub(crumb)
        return scrubbed


def _frames(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for part in ("exception", "threads"):
        for value in (event.get(part) or {}).get("values") or []:
            found.extend((value.get("stacktrace") or {}).get("frames") or [])
    return found


def _structlog_fields(hint: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]] | None:
    """A structlog line's event name and its other fields. Its stdlib record carries the whole
    event dict as the message; the name alone groups the same failure into one Sentry issue."""
    record = (hint or {}).get("log_record")
    message = getattr(record, "msg", None)
    if not isinstance(message, Mapping) or "event" not in message:
        return None
    rest = {
        str(k): v for k, v in message.items() if k not in ("event", "timestamp", "level", "logger")
    }
    return str(message["event"]), rest


def _nothing(_item: Any, _hint: Any) -> None:
    return None


def start(settings: Settings, *, process: str) -> bool:
    """Start sentry-sdk for this process if SENTRY_DSN is set (once; later calls keep it)."""
    dsn = reveal(settings.sentry_dsn)
    if not dsn:
        return False
    import sentry_sdk

    if sentry_sdk.is_initialized():
        return True
    from sentry_sdk.integrations.logging import LoggingIntegration

    scrubber = Scrubber(settings.secret_values())
    sentry_sdk.init(
        dsn=dsn,
        environment=settings.sentry_environment,
        before_send=scrubber.event,
        before_breadcrumb=scrubber.breadcrumb,
        # Log lines at ERROR become events, INFO and up breadcrumbs; none is sent as a "Sentry
        # log" (sentry-sdk 3 would ship every INFO line by itself): the logs stay ours.
        integrations=[LoggingIntegration(level=None, event_level=logging.ERROR)],
        before_send_log=_nothing,
        before_send_metric=_nothing,
        max_request_body_size="never",
        # What sentry-sdk would collect by itself, all off (see the module's docstring).
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "off"}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "graphql": {"document": False, "variables": False},
            "gen_ai": {"inputs": False, "outputs": False},
            "mcp": {"inputs": False, "outputs": False},
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,
        },
        traces_sample_rate=None,
        auto_session_tracking=False,
    )
    sentry_sdk.get_global_scope().set_tag("process", process)
    return True


def report(exc: BaseException) -> None:
    """Send a failure that was caught and recorded (a step, a send) when reporting is on."""
    if "sentry_sdk" in sys.modules:  # never imported means never started
        import sentry_sdk

        sentry_sdk.capture_exception(exc)


def stop(timeout: float = 2.0) -> None:
    """Send what is queued and forget the client (a test's teardown; processes just exit)."""
    import sentry_sdk

    client = sentry_sdk.get_client()
    client.close(timeout=timeout)
    sentry_sdk.get_global_scope().set_client(None)
