"""The README's first command, and the operator's tools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from bot.demo import run_demo
from orchestrator.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_demo_prints_the_whole_story() -> None:
    lines: list[str] = []
    assert run_demo(echo=lines.append) == 0
    transcript = "\n".join(lines)
    for expected in [
        "Convene acks within Slack's 3 s: HTTP 200",
        "[Approve & send]",
        "Sending at",
        ":white_check_mark: Sent",
        "john@acme.example's inbox now holds 1 message(s)",
        "Request ACME-1: status awaiting_response",
        "request_created → slots_found → draft_created → action_approve → action_executed "
        "→ event_state_changed → email_sent",
    ]:
        assert expected in transcript, expected


def test_demo_plays_the_whole_loop_to_the_morning_brief() -> None:
    lines: list[str] = []
    assert run_demo(echo=lines.append) == 0
    transcript = "\n".join(lines)
    # Each step, in this order: the reply, the booking card and its approval, the invite in
    # the prospect's inbox, the meeting on Sam's calendar, the confirmation, the brief.
    steps = [
        'John Doe replies in the thread: "Tuesday at 10 works',
        "Convene understands the reply and DMs a booking card:",
        "Calendar invite to *john@acme.example*",
        "Book 45 min starting Tue ",
        ":white_check_mark: Sent",
        "john@acme.example's inbox now holds 2 message(s); the newest:",
        "invite attached (METHOD:REQUEST): Demo with john@acme.example, Tue ",
        "On sam@northwind.example's calendar: Demo with john@acme.example, Tue ",
        "Confirmation email to *john@acme.example*",
        "Request ACME-1: status confirmed, meeting Tue ",
        "the clock's tick sends Sam's morning brief:",
        "Demo with john@acme.example with john@acme.example (ACME-1) · _booked by Convene_",
    ]
    at = transcript.index("inbox now holds 1 message(s)")
    for step in steps:
        found = transcript.find(step, at)
        assert found >= 0, f"missing, or out of order: {step}"
        at = found
    # The invite's time and the calendar's agree: ten o'clock, Sam's (and John's) time.
    invite = next(line for line in lines if "invite attached" in line)
    calendar = next(line for line in lines if "'s calendar: Demo" in line)
    assert " 10:00 E" in invite and " 10:00 E" in calendar, (invite, calendar)
    assert invite.split(", ")[1].split(" 10:00")[0] in calendar


def test_demo_console_script_exits_zero(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "inbox now holds 1 message(s)" in result.stdout
    assert list(tmp_path.iterdir()) == [], "the demo must leave nothing behind"


def test_sandbox_command_serves_the_page_and_stops_cleanly(tmp_path: Path) -> None:
    import signal
    import urllib.request

    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "sandbox", "--port", "0", "--no-browser"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the page is served
        assert line.startswith("Convene sandbox on http://127.0.0.1:"), line
        url = line.split()[3]
        with urllib.request.urlopen(url, timeout=10) as page:
            assert "Convene sandbox" in page.read().decode()
        with urllib.request.urlopen(url + "static/sandbox.js", timeout=10) as script:
            assert "/api/regions" in script.read().decode()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    assert list(tmp_path.iterdir()) == [], "the sandbox keeps nothing"


def test_doctor_on_a_fresh_embedded_setup_says_what_is_missing(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": ""}
    result = CliRunner().invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1
    assert "BROKEN: database has no tables: run `convene db upgrade`" in result.output
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    result = CliRunner().invoke(app, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    assert "not production-ready: REDIS_URL is unset" in result.output


def test_doctor_rejects_broken_config() -> None:
    result = CliRunner().invoke(app, ["doctor"], env={"DATABASE_URL": "mysql://x"})
    assert result.exit_code == 2
    assert "DATABASE_URL" in result.output and "sqlite" in result.output


def test_worker_without_redis_explains_itself(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["worker", "--burst"],
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": ""},
    )
    assert result.exit_code == 2
    assert "REDIS_URL is required" in result.output


def test_healthz_reports_database_and_queue(stack) -> None:  # type: ignore[no-untyped-def]
    import json
    import urllib.request

    url = stack.events_url.replace("/slack/events", "/healthz")
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": True, "database": "ok", "redis": "ok"}


def test_clock_once_runs_one_tick(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": ""}
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    result = CliRunner().invoke(app, ["clock", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert "rewoken_jobs=0 rewoken_actions=0 requests=0 expired=0 briefs=0" in result.output


def test_doctor_reports_calendar_configuration(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": ""}
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    broken = CliRunner().invoke(app, ["doctor"], env={**env, "CALENDAR_BACKEND": "google"})
    assert broken.exit_code == 1
    assert "BROKEN: CALENDAR_BACKEND=google needs GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET" in (
        broken.output
    )
    google = {
        "GOOGLE_CLIENT_ID": "id",
        "GOOGLE_CLIENT_SECRET": "s",
        "CREDENTIAL_KEYS": "",
        "OAUTH_STATE_SECRET": "",
        "PUBLIC_URL": "",
    }
    partial = CliRunner().invoke(app, ["doctor"], env={**env, **google})
    assert "BROKEN: connecting calendars needs CREDENTIAL_KEYS" in partial.output
    complete = {
        **google,
        "CREDENTIAL_KEYS": "k",
        "OAUTH_STATE_SECRET": "x",
        "PUBLIC_URL": "https://convene.example",
    }
    ok = CliRunner().invoke(app, ["doctor", "--offline"], env={**env, **complete})
    assert ok.exit_code == 0, ok.output
    assert "connections   google: 0 rep(s)" in ok.output


ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:standup@example\r
DTSTAMP:20261101T000000Z\r
DTSTART:20261130T150000Z\r
DTEND:20261130T153000Z\r
RRULE:FREQ=DAILY;COUNT=3\r
SUMMARY:Standup\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_calendar_import_loads_recurring_instances(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": ""}
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    ics = tmp_path / "team.ics"
    ics.write_bytes(ICS)
    result = CliRunner().invoke(
        app, ["calendar", "import", str(ics), "--owner", "sam@northwind.example"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "imported 3 event(s) into sam@northwind.example's calendar" in result.output


def test_credentials_rotate_needs_keys_then_reencrypts(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": "", "CREDENTIAL_KEYS": ""}
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    refused = CliRunner().invoke(app, ["credentials", "rotate"], env=env)
    assert refused.exit_code == 2 and "CREDENTIAL_KEYS is not set" in refused.output
    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    result = CliRunner().invoke(
        app, ["credentials", "rotate"], env={**env, "CREDENTIAL_KEYS": keys}
    )
    assert result.exit_code == 0 and "re-encrypted 0 credential(s)" in result.output


def test_a_sigterm_right_after_the_sandbox_says_where_it_is_stops_it_cleanly(
    tmp_path: Path,
) -> None:
    """A supervisor may stop a process the moment it says it is up: the handler is in place
    before that line."""
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "sandbox", "--port", "0", "--no-browser"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("Convene sandbox on http://127.0.0.1:")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
