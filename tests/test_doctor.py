"""Failing fast and clearly: the schema check at every process start, and `convene doctor`'s
checks, each against a real local peer (Slack stand-in, HTTP, SMTP and IMAP servers, a fake
OpenAI-compatible model)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from bot.local_slack import LocalSlack
from db.migrate import alembic_config, schema_problem, upgrade
from orchestrator.cli import app
from orchestrator.doctor import run_doctor
from orchestrator.settings import Settings
from tests.fakes.http import FakeHTTP, Response
from tests.fakes.mailservers import free_port, imap_server, smtp_server
from tests.fakes.openai import FakeOpenAI

BEHIND = "database schema is behind: run `convene db upgrade`"
EMPTY = "database has no tables: run `convene db upgrade`"


def previous_revision(url: str) -> str:
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_revision("head")
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


@pytest.fixture
def stale_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'stale.db'}"
    upgrade(url, previous_revision(url))
    return url


# --- the schema check at start -------------------------------------------------------------------


def test_schema_problem_names_each_state(tmp_path: Path, stale_url: str) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert schema_problem(empty) == EMPTY
    assert schema_problem(stale_url) == BEHIND
    upgrade(stale_url)
    assert schema_problem(stale_url) is None


def test_schema_newer_than_the_code_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ahead.db'}"
    upgrade(url)
    import sqlite3

    with sqlite3.connect(tmp_path / "ahead.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed0001'")
    problem = schema_problem(url)
    assert problem is not None and "f00dfeed0001 is newer than this release" in problem


@pytest.mark.parametrize(
    "command",
    [["clock", "--once"], ["worker", "--burst"]],
    ids=["clock", "worker"],
)
def test_processes_refuse_a_stale_schema_in_one_line(command: list[str], stale_url: str) -> None:
    # The worker needs a REDIS_URL to start at all; nothing listens there, and nothing should
    # try: the schema is checked first.
    env = {"DATABASE_URL": stale_url, "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 2
    assert result.output.strip() == BEHIND


def test_web_refuses_a_stale_schema_and_names_a_missing_token(stale_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": stale_url,
        "REDIS_URL": "",
        "SLACK_SIGNING_SECRET": "signing-secret",
        "SLACK_BOT_TOKEN": "",
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
    }
    cmd = [sys.executable, "-m", "orchestrator", "web"]
    missing = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "SLACK_BOT_TOKEN (xoxb-…) required (README: Production)"

    stale = subprocess.run(
        cmd, env={**env, "SLACK_BOT_TOKEN": "xoxb-1"}, capture_output=True, text=True, timeout=60
    )
    assert stale.returncode == 2
    assert stale.stderr.strip() == BEHIND
    assert "Traceback" not in stale.stdout + stale.stderr


# --- convene doctor ------------------------------------------------------------------------------


@pytest.fixture
def base(sqlite_url: str) -> dict[str, object]:
    return {"_env_file": None, "database_url": sqlite_url, "redis_url": None}


def doctor(settings: Settings, *, offline: bool = False) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = run_doctor(settings, echo=lines.append, offline=offline)
    return code, lines


def broken(lines: list[str]) -> list[str]:
    return [line.strip().removeprefix("BROKEN: ") for line in lines if "BROKEN" in line]


@pytest.fixture
def slack() -> Iterator[LocalSlack]:
    running = LocalSlack.start(users={})
    yield running
    running.stop()


def test_doctor_calls_auth_test_with_the_bot_token(base: dict, slack: LocalSlack) -> None:
    good = Settings(**base, slack_bot_token=slack.token, slack_api_url=slack.api_url)
    code, lines = doctor(good)
    assert code == 0, lines
    assert any("slack auth.test ok: team" in line for line in lines)

    revoked = Settings(**base, slack_bot_token="xoxb-revoked", slack_api_url=slack.api_url)
    code, lines = doctor(revoked)
    assert code == 1
    assert broken(lines) == [
        "Slack refused the bot token (invalid_auth): reinstall the app and copy its new token"
    ]
    assert "xoxb-revoked" not in "\n".join(lines)


def test_offline_skips_every_network_check(base: dict, slack: LocalSlack) -> None:
    revoked = Settings(**base, slack_bot_token="xoxb-revoked", slack_api_url=slack.api_url)
    calls = len(slack.calls)
    code, lines = doctor(revoked, offline=True)
    assert code == 0 and "online checks skipped (--offline)" in lines
    assert len(slack.calls) == calls


def oauth(base: dict, public_url: str) -> Settings:
    return Settings(
        **base,
        google_client_id="id",
        google_client_secret="client-secret",
        credential_keys="k" * 44,
        oauth_state_secret="state-secret",
        public_url=public_url,
    )


def test_doctor_checks_the_oauth_redirect_reaches_us(base: dict) -> None:
    web = FakeHTTP()
    web.route("GET", "/healthz", lambda _request: Response(200, {"ok": True}))
    try:
        code, lines = doctor(oauth(base, web.url))
        assert code == 0, lines
        assert (
            f"  oauth redirect for google: {web.url}/oauth/google/callback (register it)" in lines
        )
        assert web.requests("GET", "/healthz")
    finally:
        web.close()
    # The same address with nothing behind it any more.
    code, lines = doctor(oauth(base, web.url))
    assert code == 1
    assert broken(lines)[0].startswith(f"{web.url}/healthz answered ")
    assert "would not reach convene web" in broken(lines)[0]


def test_doctor_wants_https_for_a_public_redirect(base: dict) -> None:
    code, lines = doctor(oauth(base, "http://convene.example.com"))
    assert code == 1
    assert "is not https" in broken(lines)[0]


def smtp(base: dict, smtp_port: int, imap_port: int, password: str) -> Settings:
    return Settings(
        **base,
        mail_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_username="sam",
        smtp_password=password,
        imap_host="127.0.0.1",
        imap_port=imap_port,
        imap_ssl=False,
    )


def test_doctor_logs_in_to_smtp_and_imap(base: dict) -> None:
    with smtp_server() as (_sink, smtp_port), imap_server() as imap_port:
        code, lines = doctor(smtp(base, smtp_port, imap_port, "pw"))
        assert code == 0, lines
        assert "  smtp 127.0.0.1 and imap 127.0.0.1: login ok" in lines

        code, lines = doctor(smtp(base, smtp_port, imap_port, "wrong-password"))
        assert code == 1
        assert broken(lines) == [
            "smtp: login refused (535): check SMTP_*/IMAP_* host, port, security and login"
        ]
        assert "wrong-password" not in "\n".join(lines)


def test_doctor_asks_the_model_one_question(base: dict) -> None:
    model = FakeOpenAI()
    try:
        settings = Settings(
            **base, llm_model="openai/gpt-4o-mini", llm_api_base=model.api_base, llm_api_key="sk-1"
        )
        model.answer({"ok": True})
        code, lines = doctor(settings)
        assert code == 0, lines
        assert "  model openai/gpt-4o-mini: answered" in lines
        assert len(model.requests) == 1

        model.fail(401, "Incorrect API key provided")
        code, lines = doctor(settings)
        assert code == 1
        (problem,) = broken(lines)
        assert problem.startswith("model openai/gpt-4o-mini failed (")
        assert problem.endswith(
            "check LLM_MODEL, LLM_API_BASE and LLM_API_KEY, or set LLM_MODEL=rules"
        )
    finally:
        model.close()


@pytest.mark.postgres
def test_doctor_fails_postgres_with_the_embedded_mailbox_or_calendar(pg_url: str) -> None:
    settings = Settings(_env_file=None, database_url=pg_url, redis_url=None)
    code, lines = doctor(settings, offline=True)
    assert code == 1
    problems = broken(lines)
    assert any(p.startswith("MAIL_BACKEND=local on PostgreSQL") for p in problems)
    assert any(p.startswith("CALENDAR_BACKEND=local on PostgreSQL") for p in problems)
