"""Structured logs: key=value for people, JSON lines for machines (LOG_JSON=true).

Every line, ours and every library's (stdlib loggers are routed through the same structlog
chain), passes one `Redactor` last before it is rendered: configured secret values and the
shapes of tokens never reach a log, however they got into a message, a field or a traceback.
Tracebacks are printed plainly, without local variables: a frame's locals are where tokens sit.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

REDACTED = "[redacted]"
# Shorter values would blank ordinary words; no real secret is this short.
_MIN_SECRET_LENGTH = 6

# Shapes a secret has even when nobody configured it here: tokens a provider hands out at
# run time (OAuth access and refresh tokens), or a colleague's token pasted into an error.
_TOKEN_SHAPES = re.compile(
    r"""
      xox[abposr]-[A-Za-z0-9-]{6,}          # Slack bot, user, legacy tokens
    | xapp-[A-Za-z0-9-]{6,}                 # Slack app-level tokens (Socket Mode)
    | ya29\.[A-Za-z0-9_.-]{6,}              # Google access tokens
    | 1//[A-Za-z0-9_-]{6,}                  # Google refresh tokens
    | eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*   # JWTs (Microsoft tokens)
    | (?<=Bearer\ )[^\s'",;]{6,}
    | (?<=Basic\ )[A-Za-z0-9+/=]{6,}
    """,
    re.VERBOSE,
)
# "refresh_token": "…", access_token=…, password: … — the value after a secret-named key.
# The OAuth libraries log the PKCE verifier at DEBUG; without it a logged code is useless.
_SECRET_FIELDS = re.compile(
    r"""(?P<key>(?:access|refresh|id)_token|client_secret|code_verifier|password|api_key
        |signing_secret)
        (?P<sep>['"]?\s*[:=]\s*['"]?)(?P<value>[^\s'",&}]+)""",
    re.VERBOSE | re.IGNORECASE,
)
# scheme://user:password@host — the password part.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<value>[^@\s/]+)(?=@)")
_SECRET_KEYS = re.compile(r"token|secret|password|api_key|authorization", re.IGNORECASE)


class Redactor:
    """A structlog processor that blanks secrets in every string of an event, nested or not."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted(
            {s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True
        )
        self._values = re.compile("|".join(map(re.escape, values))) if values else None

    def redact(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        text = _TOKEN_SHAPES.sub(REDACTED, text)
        text = _SECRET_FIELDS.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
        return _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}", text)

    def redact_field(self, key: str, value: str) -> str:
        """``value`` redacted, or blanked whole when ``key`` names a secret ("refresh_token")."""
        if key and _SECRET_KEYS.search(key) and value:
            return REDACTED
        return self.redact(value)

    def _clean(self, value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            return self.redact_field(key, value)
        if isinstance(value, Mapping):
            return {k: self._clean(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set):
            return [self._clean(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        # Objects are rendered with repr/str later: render them here, where we can clean them.
        return self.redact(repr(value))

    def __call__(self, _logger: Any, _method: str, event_dict: EventDict) -> EventDict:
        cleaned: MutableMapping[str, Any] = {}
        for key, value in event_dict.items():
            if key in ("_record", "_from_structlog"):
                cleaned[key] = value  # the stdlib bridge's own bookkeeping, never rendered
            elif key == "event":
                cleaned[key] = self._clean(value)
            else:
                cleaned[key] = self._clean(value, key)
        return dict(cleaned)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of each line, not at configuration
    (a test runner or a daemon may swap it after logging is set up)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure(
    *,
    level: str = "INFO",
    json: bool = False,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Route structlog and the standard library through one chain that ends in the redactor."""
    redactor = Redactor(secrets)
    numeric_level = logging.getLevelName(level.upper())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # The traceback becomes text here, before the redactor, and without frame locals;
            # JSON lines carry that text under "exception", not a bare `"exc_info": true`.
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    # Alembic lists its plugins at INFO whenever it is imported: not news to anyone.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        cache_logger_on_first_use=False,
    )
