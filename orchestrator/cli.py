"""`convene`: the processes of the Procfile plus the operator's tools.

This module and `bootstrap` are the composition root, so they alone may reach every layer.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from orchestrator.settings import Settings

app = typer.Typer(
    help="Convene: a Slack-first scheduling agent for sales teams.", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
calendar_app = typer.Typer(help="The embedded calendar.", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")
credentials_app = typer.Typer(help="Stored provider tokens.", no_args_is_help=True)
app.add_typer(credentials_app, name="credentials")


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]).upper()
            typer.echo(f"config error: {field}: {error['msg']}", err=True)
        raise typer.Exit(2) from exc
    from orchestrator.logs import configure

    configure(level=settings.log_level, json=settings.log_json, secrets=settings.secret_values())
    return settings


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations (the Procfile's release phase)."""
    from db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(...)) -> None:
    """Revert migrations down to REVISION (use `base` for an empty database)."""
    from db.migrate import downgrade

    downgrade(_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@calendar_app.command("import")
def calendar_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An .ics export.")],
    owner: Annotated[str, typer.Option(help="Whose calendar it is (their email).")],
) -> None:
    """Load an .ics export into the embedded calendar (recurring events as real instances)."""
    from connectors.calendar.local import LocalCalendar
    from db.engine import make_engine, make_session_factory

    engine = make_engine(_settings().database_url)
    try:
        count = LocalCalendar(make_session_factory(engine), org_id="embedded").seed_from_ics(
            path, calendar=owner
        )
    finally:
        engine.dispose()
    typer.echo(f"imported {count} event(s) into {owner}'s calendar")


@credentials_app.command("rotate")
def credentials_rotate() -> None:
    """Re-encrypt every stored token under the first of CREDENTIAL_KEYS (then drop old keys)."""
    from connectors.clock import SystemClock
    from db.engine import make_engine, make_session_factory
    from orchestrator.providers import credential_store

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        store = credential_store(settings, make_session_factory(engine))
        if store is None:
            typer.echo("CREDENTIAL_KEYS is not set: there is nothing to rotate with", err=True)
            raise typer.Exit(2)
        count = store.rotate_all(now=SystemClock().now())
    finally:
        engine.dispose()
    typer.echo(f"re-encrypted {count} credential(s) under the first key")


@app.command()
def doctor(
    offline: Annotated[
        bool, typer.Option(help="Skip the checks that log in to Slack, mail and the model.")
    ] = False,
    health: Annotated[
        bool, typer.Option(help="List the running deployment's health findings instead.")
    ] = False,
) -> None:
    """Check configuration and services; exit non-zero when something is broken."""
    from orchestrator.doctor import run_doctor, run_health

    settings = _settings()
    if health:
        _require_schema(settings)
        raise typer.Exit(run_health(settings, echo=typer.echo))
    raise typer.Exit(run_doctor(settings, echo=typer.echo, offline=offline))


@app.command()
def demo() -> None:
    """Run the scripted flow end to end on embedded defaults and print what happened."""
    from bot.demo import run_demo

    raise typer.Exit(run_demo(echo=typer.echo))


def _start_error_reporting(settings: Settings, process: str) -> None:
    from orchestrator.error_reporting import start

    if start(settings, process=process):
        typer.echo("error reporting on (SENTRY_DSN)")


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Where the page listens (on 127.0.0.1).")] = 8080,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Don't open a browser.")] = False,
) -> None:
    """Try Convene in a browser: the rep's Slack, the prospect's inbox, the team calendar and a
    clock, on embedded defaults (nothing to configure, nothing leaves this machine)."""
    import webbrowser

    from bot.sandbox.server import Sandbox, serve
    from orchestrator.logs import configure

    configure(level="WARNING")
    stop = _stop_on_sigterm()  # before the address is printed: a SIGTERM then stops it cleanly
    running = Sandbox.start()
    server = serve(running, port=port)
    url = f"http://127.0.0.1:{server.server_port}/"
    typer.echo(f"Convene sandbox on {url} (Ctrl-C stops it; nothing is kept)")
    running.background()
    if not no_browser:
        webbrowser.open(url)
    try:
        _wait_forever(stop)
    finally:
        server.shutdown()
        running.stop()


def _require_slack(settings: Settings) -> None:
    if problem := settings.http_problem():
        typer.echo(problem, err=True)
        raise typer.Exit(2)


def _require_schema(settings: Settings) -> None:
    """Exit with one line when the database cannot serve this release (or cannot be reached)."""
    from db.migrate import schema_problem

    if problem := schema_problem(settings.database_url):
        typer.echo(problem, err=True)
        raise typer.Exit(2)


def _stop_on_sigterm() -> threading.Event:
    """An event SIGTERM sets; installed before a process says it is up, so a supervisor's (or
    a test's) SIGTERM right after that line stops it cleanly instead of killing it."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def _wait_forever(stop: threading.Event) -> None:
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass


@app.command()
def web() -> None:
    """Serve Slack over HTTP (/slack/events) and /healthz."""
    from bot.after_ack import AfterAck
    from bot.app import build_app
    from bot.web import serve
    from orchestrator import jobs
    from orchestrator.bootstrap import bootstrap
    from orchestrator.engine.embedded import run_in_background

    settings = _settings()
    _require_slack(settings)
    _require_schema(settings)
    _start_error_reporting(settings, "web")
    stop = _stop_on_sigterm()
    deps = bootstrap(settings)
    jobs.install(deps)
    after_ack = AfterAck(deps)
    server = serve(
        build_app(deps, after_ack=after_ack), deps, host=settings.host, port=settings.port
    )
    after_ack.keep_replaying()
    typer.echo(f"listening on http://{settings.host}:{server.server_port}/slack/events")
    if settings.redis_url is None:
        typer.echo("REDIS_URL unset: running the worker and clock in this process")
        run_in_background(deps, stop=threading.Event())
    _wait_forever(stop)
    server.shutdown()


@app.command()
def socket() -> None:
    """Serve Slack over Socket Mode (no public URL needed)."""
    from bot.after_ack import AfterAck
    from bot.socket import socket_mode_handler
    from orchestrator import jobs
    from orchestrator.bootstrap import bootstrap
    from orchestrator.engine.embedded import run_in_background

    settings = _settings()
    if not settings.slack_app_token:
        typer.echo("SLACK_APP_TOKEN (xapp-…) is required for Socket Mode", err=True)
        raise typer.Exit(2)
    _require_schema(settings)
    _start_error_reporting(settings, "socket")
    deps = bootstrap(settings)
    jobs.install(deps)
    if settings.redis_url is None:
        run_in_background(deps, stop=threading.Event())
    after_ack = AfterAck(deps)
    handler = socket_mode_handler(deps, after_ack=after_ack)
    after_ack.keep_replaying()
    handler.start()


@app.command()
def worker(burst: bool = typer.Option(False, help="Exit when the queue is empty.")) -> None:
    """Run sequence steps and approved sends from the queue (scale by running more).

    One long-lived worker process runs the jobs, one at a time; this one forks a fresh one
    when it ends (after WORKER_MAX_JOBS jobs, or killed). A Redis outage is waited out: the
    worker reconnects when Redis is back."""
    from orchestrator import jobs
    from orchestrator.bootstrap import bootstrap
    from orchestrator.engine.processes import run_worker, supervise

    settings = _settings()
    if settings.redis_url is None:
        typer.echo(
            "REDIS_URL is required for a separate worker; without it `convene web` "
            "runs the worker in its own process",
            err=True,
        )
        raise typer.Exit(2)
    _require_schema(settings)
    _start_error_reporting(settings, "worker")
    deps = bootstrap(settings)
    jobs.install(deps)
    if burst:
        run_worker(deps, burst=True, max_jobs=None)
    else:
        supervise(deps, max_jobs=settings.worker_max_jobs)


@app.command()
def clock(once: bool = typer.Option(False, help="Run one tick and exit.")) -> None:
    """Every CLOCK_INTERVAL_SECONDS: re-wake lost work, dispatch what is due, read new mail.

    A failed tick (Redis or the database down) is logged and retried after a growing pause."""
    from orchestrator.bootstrap import bootstrap
    from orchestrator.engine.processes import run_clock

    settings = _settings()
    _require_schema(settings)
    _start_error_reporting(settings, "clock")
    deps = bootstrap(settings)
    if not run_clock(deps, once=once, echo=typer.echo):
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
