"""The Procfile's `web` line, run as written: gunicorn serves signed Slack requests, probes and
an access log without query strings, and a worker that cannot serve exits with one line."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.local_slack import LocalSlack
from bot.slack_requests import post_signed, slash_command
from db.migrate import upgrade
from tests.fakes.mailservers import free_port
from tests.support.stack import USERS

ROOT = Path(__file__).resolve().parents[1]
SECRET = "gunicorn-signing-secret"


def procfile_web() -> list[str]:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return shlex.split(line.removeprefix("web:"))
    raise AssertionError("the Procfile has no web process")


class Running:
    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "".join(self.lines)
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not answer /healthz:\n" + "".join(self.lines))


def start(env: dict[str, str]) -> Running:
    command = procfile_web()
    assert command[0] == "gunicorn"
    exe = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(exe), *command[1:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return Running(proc, int(env["PORT"]))


@pytest.fixture
def slack() -> Iterator[LocalSlack]:
    running = LocalSlack.start(users=USERS)
    yield running
    running.stop()


@pytest.fixture
def env(tmp_path: Path, slack: LocalSlack) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade(url)
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.api_url,
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "WEB_CONCURRENCY": "2",
    }


def test_the_procfile_web_serves_signed_slack_requests_under_gunicorn(
    env: dict[str, str], slack: LocalSlack
) -> None:
    web = start(env)
    try:
        web.wait_ready()
        reply = post_signed(
            web.url + "/slack/events",
            slash_command(
                text="help",
                user_id="U0REP",
                team_id=slack.team_id,
                response_url=slack.hook_url("h1"),
                trigger_id="t1",
            ),
            secret=SECRET,
        )
        assert reply.status == 200
        assert '"response_type": "ephemeral"' in reply.body
        assert "/schedule demo with john@acme.com" in reply.body

        forged = post_signed(
            web.url + "/slack/events",
            slash_command(
                text="help",
                user_id="U0REP",
                team_id=slack.team_id,
                response_url=slack.hook_url("h2"),
                trigger_id="t2",
            ),
            secret="not-the-secret",
        )
        assert forged.status == 401

        big = post_signed(
            web.url + "/slack/events",
            slash_command(
                text="x" * (1024 * 1024 + 10),
                user_id="U0REP",
                team_id=slack.team_id,
                response_url=slack.hook_url("h3"),
                trigger_id="t3",
            ),
            secret=SECRET,
        )
        assert big.status == 413

        # Connections are not configured here: a 404 page, but the request is logged.
        with pytest.raises(urllib.error.HTTPError) as callback:
            urllib.request.urlopen(
                web.url + "/oauth/google/callback?code=one-time-code&state=s", timeout=10
            )
        assert callback.value.code == 404
    finally:
        web.proc.terminate()
        web.proc.wait(timeout=30)
    log = "".join(web.lines)
    assert '"POST /slack/events HTTP/1.1" 200' in log, log
    assert '"POST /slack/events HTTP/1.1" 413' in log
    assert "one-time-code" not in log  # no query strings in the access log
    assert "gthread" in log  # threaded workers


def test_gunicorn_workers_refuse_a_missing_token_in_one_line(env: dict[str, str]) -> None:
    web = start({**env, "SLACK_BOT_TOKEN": ""})
    assert web.proc.wait(timeout=60) != 0
    time.sleep(0.2)
    log = "".join(web.lines)
    assert "SLACK_BOT_TOKEN (xoxb-…) required (README: Production)" in log
