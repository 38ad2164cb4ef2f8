"""Error reporting: off without SENTRY_DSN; with it, real failures reach a local stand-in for
Sentry's ingest endpoint over HTTP (sentry-sdk's own transport), carrying no email body, no
token and no address beyond its domain.

The stand-in is the recording HTTP server every provider fake uses; the DSN points at it, so
sentry-sdk posts its envelopes to /api/1/envelope/ there. The tests read the raw bytes.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import fakeredis
import pytest
import sentry_sdk
import structlog
from sqlmodel import col

from connectors.clock import ManualClock
from connectors.errors import PermanentError
from connectors.mail.local import LocalMailbox
from connectors.ports import OutboundEmail, SentEmail
from db.models import ActionStatus, PendingAction
from orchestrator import error_reporting
from orchestrator.doctor import run_doctor
from orchestrator.logs import configure
from orchestrator.settings import Settings
from tests.fakes.http import FakeHTTP, Response
from tests.support.stack import REP_EMAIL, Stack, wait_for

PROSPECT = "john@acme.example"
TOKEN = "xoxb-123-456-sentryLeakCanary"
REPLY = (
    "Hi Rita,\n\nTuesday at 3pm works for our whole team, see you then.\n"
    "Our budget for this is confidential, please keep it between us.\n\nJohn"
)


class RejectingMailbox(LocalMailbox):
    """A relay that refuses the message and echoes it back in its error, as some do."""

    refused: list[str]

    def send(self, email: OutboundEmail) -> SentEmail:
        message_body = email.body  # a frame local: where sentry-sdk would look by default
        self.refused.append(message_body)
        raise PermanentError(
            f"554 relay refused {email.to[0]} from {email.sender} (auth {TOKEN}): "
            f"{message_body!r}\n\n{message_body}"
        )


@pytest.fixture
def ingest() -> Iterator[FakeHTTP]:
    fake = FakeHTTP()
    fake.route("POST", "/api/1/envelope/", lambda _request: Response(200, {}))
    yield fake
    fake.close()


@pytest.fixture
def dsn(ingest: FakeHTTP) -> Iterator[str]:
    yield f"http://public-key@{ingest.url.removeprefix('http://')}/1"
    # Other tests share this process: no client, no structlog chain left behind.
    if sentry_sdk.is_initialized():
        error_reporting.stop()
    configure(level="WARNING")
    structlog.reset_defaults()
    assert not sentry_sdk.is_initialized()


def received(ingest: FakeHTTP) -> list[bytes]:
    """Every envelope sentry-sdk posted, uncompressed."""
    bodies = []
    for request in ingest.requests("POST", "/api/1/envelope/"):
        raw = request.raw
        if request.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        bodies.append(raw)
    return bodies


def events(envelope: bytes) -> list[dict[str, Any]]:
    """The event items of an envelope: a header line, then item headers each before a payload
    (of ``length`` bytes when the header says so, else one line)."""
    _header, _, rest = envelope.partition(b"\n")
    found = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item = json.loads(item_line)
        if "length" in item:
            payload, rest = rest[: item["length"]], rest[item["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        if item.get("type") == "event":
            found.append(json.loads(payload))
    return found


def sent_events(ingest: FakeHTTP) -> list[dict[str, Any]]:
    sentry_sdk.flush(timeout=5)
    return [event for envelope in received(ingest) for event in events(envelope)]


def leaked(raw: bytes, *texts: str) -> list[str]:
    """Which of ``texts`` (or any line of them of 8+ characters) appear in ``raw``, as sent."""
    found = []
    for text in texts:
        for part in [text, *text.splitlines()]:
            part = part.strip()
            encoded = json.dumps(part)[1:-1].encode()  # as it sits inside a JSON string
            if len(part) >= 8 and (part.encode() in raw or encoded in raw):
                found.append(part)
    return found


def test_without_a_dsn_sentry_is_never_started() -> None:
    settings = Settings(_env_file=None)
    assert settings.sentry_dsn is None
    assert error_reporting.start(settings, process="worker") is False
    assert not sentry_sdk.is_initialized()
    error_reporting.report(RuntimeError(f"nothing to send to {PROSPECT}"))  # a no-op, no error
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.parametrize("reporting", [True, False], ids=["dsn", "no-dsn"])
def test_the_clock_process_starts_reporting_only_with_a_dsn(
    reporting: bool, ingest: FakeHTTP, sqlite_url: str
) -> None:
    # A real `convene clock --once`: settings from the environment, as in production.
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "REDIS_URL": "",
        "SENTRY_DSN": f"http://public-key@{ingest.url.removeprefix('http://')}/1"
        if reporting
        else "",
    }
    cmd = [sys.executable, "-m", "orchestrator", "clock", "--once"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert ("error reporting on (SENTRY_DSN)" in result.stdout) is reporting
    # A healthy tick has nothing to report: warnings are breadcrumbs, not events.
    assert [e for envelope in received(ingest) for e in events(envelope)] == []


def test_doctor_says_whether_errors_are_reported_never_the_dsn(sqlite_url: str) -> None:
    base = {"_env_file": None, "database_url": sqlite_url, "redis_url": None}
    lines: list[str] = []
    run_doctor(Settings(**base), echo=lines.append, offline=True)  # type: ignore[arg-type]
    assert "errors        not reported (SENTRY_DSN unset)" in lines
    dsn = "https://0123456789abcdef@o1.ingest.sentry.io/42"
    lines = []
    settings = Settings(**base, sentry_dsn=dsn, sentry_environment="staging")  # type: ignore[arg-type]
    run_doctor(settings, echo=lines.append, offline=True)
    assert "errors        sentry, environment staging" in lines
    assert "0123456789abcdef" not in "\n".join(lines)
    assert not sentry_sdk.is_initialized(), "the doctor reports, it does not start sentry"


def test_a_failed_send_reaches_sentry_without_body_token_or_address(
    ingest: FakeHTTP, dsn: str, sqlite_url: str, clock: ManualClock
) -> None:
    with Stack.start(
        database_url=sqlite_url, redis=fakeredis.FakeRedis(), clock=clock, sentry_dsn=dsn
    ) as stack:
        settings = stack.deps.settings
        configure(level="INFO", secrets=settings.secret_values())
        assert error_reporting.start(settings, process="worker") is True
        client = sentry_sdk.get_client()
        assert error_reporting.start(settings, process="worker") is True
        assert sentry_sdk.get_client() is client, "started once per process"
        mailbox = RejectingMailbox(stack.deps.sessions, clock=stack.clock)
        mailbox.refused = []
        stack.deps.mail = mailbox
        stack.schedule(f"demo with {PROSPECT}")
        stack.drain()
        card = wait_for(stack.cards, "the approval card")[0]
        stack.click("approve_action", card)
        wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "ok")
        stack.clock.advance(timedelta(seconds=30))
        stack.tick()
        wait_for(lambda: mailbox.refused, "the relay's refusal")
        wait_for(
            lambda: stack.rows(PendingAction, col(PendingAction.status) == ActionStatus.failed),
            "the send recorded as failed",
        )
        sent = wait_for(lambda: sent_events(ingest), "an event at the ingest endpoint")
        slack_token = settings.slack_bot_token
        assert slack_token is not None

    (event,) = [e for e in sent if e.get("exception")]
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "PermanentError"
    assert exception["value"].startswith("554 relay refused …@acme.example from …@northwind")
    frames = exception["stacktrace"]["frames"]
    assert any(frame["function"] == "send" for frame in frames), "the stack says where"
    assert all("vars" not in frame for frame in frames)
    assert event["tags"]["process"] == "worker"

    raw = b"".join(received(ingest))
    assert b"@acme.example" in raw, "the domain says which customer"
    body = mailbox.refused[0]
    assert len(body.splitlines()) > 2, "a real email body was refused"
    assert leaked(raw, body) == []
    # (The DSN's key is in every envelope's header: Sentry's public key, public by design.)
    for secret in (PROSPECT, REP_EMAIL, TOKEN, slack_token.get_secret_value()):
        assert secret.encode() not in raw, secret


def test_addresses_and_tokens_are_scrubbed_from_every_part_of_an_event(
    ingest: FakeHTTP, dsn: str
) -> None:
    settings = Settings(_env_file=None, sentry_dsn=dsn, slack_signing_secret="signing-9f8e7d")
    configure(level="INFO", secrets=settings.secret_values())
    assert error_reporting.start(settings, process="web")
    graph = "https://graph.microsoft.com/v1.0/users/john%40acme.example/messages"
    with sentry_sdk.isolation_scope() as scope:
        scope.set_tag("prospect", PROSPECT)
        scope.set_extra("reply", REPLY)
        scope.set_context(
            "mail", {"from": f"John <{PROSPECT}>", "authorization": "Basic am9objpwdw==x"}
        )
        sentry_sdk.add_breadcrumb(
            category="mail",
            message=f"read a reply from {PROSPECT} with {TOKEN}",
            data={"body": REPLY, "url": f"{graph}?$search=%22budget%22&code=one-time-code"},
        )
        logging.getLogger("convene.inbox").info("polled %s", PROSPECT)
        structlog.get_logger("convene.inbox").error(
            "reply_unreadable", sender=PROSPECT, token=TOKEN, body=REPLY, signing="signing-9f8e7d"
        )
        sentry_sdk.capture_message(f"cannot read the reply from {PROSPECT}:\n{REPLY}")

    sent = wait_for(lambda: len(sent_events(ingest)) >= 2 and sent_events(ingest), "2 events")
    logged = next(e for e in sent if e.get("logger") == "convene.inbox")
    assert logged["logentry"]["message"] == "reply_unreadable", "grouped by the event's name"
    assert logged["extra"]["sender"] == "…@acme.example"
    assert logged["extra"]["body"] == "[text]" and logged["extra"]["token"] == "[redacted]"
    message = next(e for e in sent if e.get("logger") != "convene.inbox")
    assert "cannot read the reply from …@acme.example: […]" in json.dumps(
        message, ensure_ascii=False
    )
    assert message["extra"]["reply"] == "[text]"
    assert message["tags"]["prospect"] == "…@acme.example"
    assert message["contexts"]["mail"]["from"] == "John <…@acme.example>"
    crumbs = message["breadcrumbs"]["values"]
    read = next(c for c in crumbs if c.get("category") == "mail")
    assert read["message"].startswith("read a reply from …@acme.example with [redacted]")
    assert read["data"] == {
        "url": "https://graph.microsoft.com/v1.0/users/…%40acme.example/messages"
    }
    assert any(c.get("message") == "polled …@acme.example" for c in crumbs)

    raw = b"".join(received(ingest))
    assert leaked(raw, REPLY) == []
    for secret in (PROSPECT, "john%40acme", TOKEN, "signing-9f8e7d", "am9objpw", "one-time"):
        assert secret.encode() not in raw, secret
