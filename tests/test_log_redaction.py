"""No secret reaches a log line: configured values, token shapes, tracebacks, library loggers.

The whole-flow test runs a conversation at DEBUG with every secret setting configured, with logs
rendered both for people and as JSON, and greps every line for every secret.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import fakeredis
import pytest
import structlog
from pydantic import SecretStr

from connectors.clock import ManualClock
from orchestrator.logs import REDACTED, Redactor, configure
from orchestrator.settings import Settings
from tests.support.conversation.expectations import expect_booked, expect_email, expect_status
from tests.support.conversation.prospect_mail import prospect_replies
from tests.support.conversation.rep_slack import rep_approves, rep_schedules
from tests.support.conversation.script import conversation, play
from tests.support.conversation.times import Offered
from tests.support.conversation.world import PROSPECT
from tests.support.stack import SECRET, Stack

SECRETS = {
    "llm_api_key": "sk-test-4f9a8b7c6d5e4f3a2b1c",
    "slack_app_token": "xapp-1-A0TEST-1234567890-abcdef0123456789",
    "credential_keys": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=",
    "oauth_state_secret": "state-secret-8d7c6b5a4f3e",
    "google_client_secret": "GOCSPX-test-client-secret-1a2b3c",
    "microsoft_client_secret": "msft~client~secret~9z8y7x6w",
    "smtp_password": "smtp-pass-5u4t3s2r",
    "imap_password": "imap-pass-1q2w3e4r",
}
RUNTIME_TOKENS = [
    "xoxb-999-888-runtimeTokenValue",
    "ya29.a0AfH6SMBruntimeAccessToken",
    "1//0gRuntimeRefreshToken-xyz",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyaXRhIn0.c2lnbmF0dXJlLXZhbHVl",
]


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    configure(level="WARNING")  # later tests get the default chain back
    structlog.reset_defaults()


def every_secret(settings: Settings) -> list[str]:
    values = settings.secret_values()
    assert SECRET in values and settings.slack_bot_token is not None
    return [*values, *RUNTIME_TOKENS]


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def test_settings_never_print_a_secret() -> None:
    settings = Settings(_env_file=None, slack_signing_secret=SECRET, **SECRETS)  # type: ignore[arg-type]
    assert not leaks(repr(settings) + str(settings.model_dump()), [SECRET, *SECRETS.values()])
    assert isinstance(settings.slack_signing_secret, SecretStr)


def test_secret_values_include_url_passwords_and_each_fernet_key() -> None:
    settings = Settings(
        _env_file=None,
        database_url="postgresql://convene:db-pass-77aa@db.internal/convene",
        redis_url="redis://:redis-pass-88bb@cache.internal:6379/0",
        credential_keys="first-key-aaaaaa,second-key-bbbbbb",
    )
    values = settings.secret_values()
    for expected in ("db-pass-77aa", "redis-pass-88bb", "first-key-aaaaaa", "second-key-bbbbbb"):
        assert expected in values


@pytest.mark.parametrize(
    "line",
    [
        "token xoxb-123-456-abcdefABCDEF rejected",
        "socket mode with xapp-1-A0B-123-abcdef",
        "google said ya29.a0AfH6SMBxyz123 is expired",
        "refreshing 1//0gAbCdEfGhIj-kl",
        "graph token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_value",
        "Authorization: Bearer abc.def.ghi-123",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        '{"access_token": "opaque-value-123", "expires_in": 3599}',
        "refresh_token=opaque-refresh-456&grant_type=refresh_token",
        "connect postgresql+psycopg://convene:s3cr3t-pw@db/convene failed",
    ],
)
def test_token_shapes_are_redacted_without_configuration(line: str) -> None:
    cleaned = Redactor().redact(line)
    assert REDACTED in cleaned
    for secret in ("abcdefABCDEF", "A0B-123", "a0AfH6", "0gAbCd", "eyJzdWIi", "abc.def"):
        assert secret not in cleaned
    for secret in ("dXNlcjpw", "opaque-value", "opaque-refresh", "s3cr3t-pw"):
        assert secret not in cleaned


def test_ordinary_text_is_left_alone() -> None:
    line = "request 42 booked for Tue Dec 8 9:00 AM EST with john@acme.example (token bucket ok)"
    assert Redactor(["short", "a-long-secret"]).redact(line) == line


def test_a_traceback_is_printed_without_locals_and_redacted(log_stream: io.StringIO) -> None:
    configure(level="DEBUG", secrets=["hunter2-signing"], stream=log_stream)
    token = "hunter2-signing"  # a frame local: rich tracebacks would print it

    def fails() -> None:
        raise RuntimeError(f"Slack refused {token} and xoxb-1-2-leakedTokenValue")

    try:
        fails()
    except RuntimeError:
        structlog.get_logger("t").exception("send_failed", header=f"Bearer {token}")
    text = log_stream.getvalue()
    assert "Traceback (most recent call last)" in text and "RuntimeError" in text
    assert "hunter2-signing" not in text and "leakedTokenValue" not in text
    assert "token = " not in text  # no locals table


def test_json_lines_keep_the_formatted_traceback(log_stream: io.StringIO) -> None:
    configure(level="INFO", json=True, secrets=["json-secret-abc"], stream=log_stream)
    try:
        raise ValueError("bad json-secret-abc")
    except ValueError:
        logging.getLogger("some.library").exception("library failure")
    line = json.loads(log_stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "library failure"
    assert "Traceback" in line["exception"] and "ValueError" in line["exception"]
    assert "json-secret-abc" not in json.dumps(line)
    assert "exc_info" not in line


def test_library_loggers_go_through_the_redactor(log_stream: io.StringIO) -> None:
    configure(level="DEBUG", secrets=["configured-lib-secret"], stream=log_stream)
    logging.getLogger("urllib3.connectionpool").debug(
        "POST /api/chat.postMessage headers=%s", {"Authorization": "Bearer xoxb-5-6-libToken"}
    )
    logging.getLogger("slack_sdk.web").debug("sending configured-lib-secret")
    text = log_stream.getvalue()
    assert "chat.postMessage" in text and "sending" in text
    assert "libToken" not in text and "configured-lib-secret" not in text


def test_structured_fields_named_like_secrets_are_blanked(log_stream: io.StringIO) -> None:
    configure(level="INFO", json=True, stream=log_stream)
    structlog.get_logger().info(
        "oauth_exchange", refresh_token="plain-opaque-r", nested={"client_secret": "opaque-c"}
    )
    line = json.loads(log_stream.getvalue().strip())
    assert line["refresh_token"] == REDACTED and line["nested"]["client_secret"] == REDACTED


@pytest.mark.parametrize("as_json", [False, True], ids=["console", "json"])
def test_a_whole_conversation_at_debug_logs_no_secret(
    as_json: bool, log_stream: io.StringIO, sqlite_url: str, clock: ManualClock
) -> None:
    with Stack.start(
        database_url=sqlite_url, redis=fakeredis.FakeRedis(), clock=clock, **SECRETS
    ) as stack:
        secrets = every_secret(stack.deps.settings)
        configure(level="DEBUG", json=as_json, secrets=secrets, stream=log_stream)
        log = structlog.get_logger("convene.test")
        log.debug("settings_loaded", settings=stack.deps.settings)
        for token in RUNTIME_TOKENS:
            logging.getLogger("httpx").debug("refreshed: Authorization: Bearer %s", token)
        play(
            conversation(
                "logged end to end",
                rep_schedules(f"demo with {PROSPECT} next week 45m"),
                rep_approves("email_initial"),
                expect_email(number=1, offers=True),
                prospect_replies("Tuesday works for me."),
                rep_approves("calendar_book"),
                expect_booked(Offered(2), attendees=[PROSPECT]),
                rep_approves("email_confirmation"),
                expect_status("confirmed"),
            ),
            stack,
        )
    text = log_stream.getvalue()
    lines = text.splitlines()
    assert len(lines) > 20, "the flow should have logged at DEBUG"
    assert sum("step_done" in line for line in lines) >= 5  # our own steps were logged
    # slack-sdk logs its request headers at DEBUG: the bot token was there to be caught.
    assert any("chat.postMessage" in line and "Authorization" in line for line in lines)
    assert leaks(text, secrets) == []
    if as_json:
        assert all(json.loads(line) for line in lines)
