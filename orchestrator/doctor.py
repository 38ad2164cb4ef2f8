"""`convene doctor`: what is configured, what production still needs, and what is broken."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from sqlalchemy import inspect, text

from orchestrator.settings import Settings


def _redact(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def _effective_mail(settings: Settings, mail_reps: dict[str, int]) -> dict[str, int]:
    """Reps per mailbox they actually use: reps still on "local" follow MAIL_BACKEND."""
    effective = {k: v for k, v in mail_reps.items() if k != "local"}
    if local := mail_reps.get("local", 0):
        default = {"connected": "not connected yet"}.get(
            settings.mail_backend, settings.mail_backend
        )
        effective[default] = effective.get(default, 0) + local
    return effective


def _mail_summary(settings: Settings, mail_reps: dict[str, int]) -> str:
    counts = ", ".join(
        f"{mailbox}: {n} rep(s)"
        for mailbox, n in sorted(_effective_mail(settings, mail_reps).items())
    )
    return settings.mail_backend + (f" ({counts})" if counts else "")


def _mail_problems(settings: Settings, mail_reps: dict[str, int]) -> list[str]:
    """Reps whose mailbox this configuration cannot open (MAIL_BACKEND's own gaps are already
    in `config_errors`)."""
    effective = _effective_mail(settings, mail_reps)
    problems = []
    if effective.get("smtp") and settings.mail_backend != "smtp":
        problems += [
            f"{error} ({effective['smtp']} rep(s) use SMTP)" for error in settings.smtp_errors()
        ]
    for mailbox, oauth in (("gmail", "google"), ("microsoft", "microsoft")):
        if effective.get(mailbox) and oauth not in settings.oauth_providers():
            prefix = oauth.upper()
            problems.append(
                f"{effective[mailbox]} rep(s) use {mailbox} mail: set {prefix}_CLIENT_ID and "
                f"{prefix}_CLIENT_SECRET"
            )
    return problems


def _embedded_on_postgres(settings: Settings) -> list[str]:
    """A production database with the embedded mailbox or calendar: nothing would ever leave."""
    if not settings.database_url.startswith("postgresql"):
        return []
    problems = []
    if settings.mail_backend == "local":
        problems.append(
            "MAIL_BACKEND=local on PostgreSQL: approved emails would stay in the embedded "
            "mailbox and never reach a prospect; set MAIL_BACKEND=smtp or connected"
        )
    if settings.calendar_backend == "local":
        problems.append(
            "CALENDAR_BACKEND=local on PostgreSQL: free/busy and invites would use the embedded "
            "calendar, not the team's; set CALENDAR_BACKEND=google or microsoft"
        )
    return problems


# What each provider extra brings (pyproject's optional dependencies), by the module it adds.
EXTRAS = {"google": "googleapiclient", "microsoft": "msgraph", "llm": "litellm"}


def _missing_extras(settings: Settings, *, installed: Callable[[str], bool]) -> list[str]:
    """Settings that need a provider SDK this installation left out."""
    needs: dict[str, str] = {}
    providers = settings.oauth_providers()
    if settings.calendar_backend == "google" or "google" in providers:
        needs.setdefault("google", "Google sign-in or CALENDAR_BACKEND=google")
    if settings.calendar_backend == "microsoft" or "microsoft" in providers:
        needs.setdefault("microsoft", "Microsoft sign-in or CALENDAR_BACKEND=microsoft")
    if settings.llm_model != "rules":
        needs["llm"] = f"LLM_MODEL={settings.llm_model}"
    return [
        f"{why} needs the `{extra}` extra: pip install --require-hashes -r "
        f"requirements/{extra}.lock"
        for extra, why in needs.items()
        if not installed(EXTRAS[extra])
    ]


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def run_doctor(settings: Settings, *, echo: Callable[[str], None], offline: bool = False) -> int:
    """Print a report; return 0 when usable (embedded counts), 1 when something is broken.

    Unless ``offline``, also log in where the settings point (Slack, the OAuth redirect, SMTP
    and IMAP, the model) and report what refuses.
    """
    from db.engine import make_engine
    from db.migrate import schema_problem
    from orchestrator import doctor_online
    from orchestrator.bootstrap import make_redis

    broken: list[str] = [
        *settings.config_errors(),
        *_embedded_on_postgres(settings),
        *_missing_extras(settings, installed=_installed),
    ]
    connected: dict[str, int] = {}
    mail_reps: dict[str, int] = {}  # Rep.mail_provider -> how many reps
    first_rep: str | None = None  # stands for `{email}` in a shared SMTP/IMAP login
    echo(f"database      {_redact(settings.database_url)}")
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            tables = set(inspect(conn).get_table_names())
            if problem := schema_problem(settings.database_url):
                broken.append(problem)
            if "reps" in tables and "credentials" in tables:
                rows = conn.execute(
                    text("SELECT provider, COUNT(*) FROM credentials GROUP BY provider")
                ).all()
                connected = {str(provider): int(count) for provider, count in rows}
                rows = conn.execute(
                    text("SELECT mail_provider, COUNT(*) FROM reps GROUP BY mail_provider")
                ).all()
                mail_reps = {str(provider): int(count) for provider, count in rows}
                first_rep = conn.execute(text("SELECT MIN(email) FROM reps")).scalar()
    except Exception as exc:  # noqa: BLE001 - report every failure, don't stop at the first
        broken.append(f"database unreachable: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()

    echo(f"queue         {_redact(settings.redis_url) if settings.redis_url else 'in-process'}")
    try:
        make_redis(settings).ping()
    except Exception as exc:  # noqa: BLE001
        broken.append(f"redis unreachable: {type(exc).__name__}: {exc}")

    # The key itself is never printed: only whether it is there.
    echo(
        f"llm           {settings.llm_model}, "
        f"llm api key {'set' if settings.llm_api_key else 'unset'}"
    )
    echo(f"calendar      {settings.calendar_backend}")
    providers = settings.oauth_providers()
    if providers:
        counts = ", ".join(f"{p}: {connected.get(p, 0)} rep(s)" for p in providers)
        echo(f"connections   {counts}")
    echo(f"mail          {_mail_summary(settings, mail_reps)}")
    broken += _mail_problems(settings, mail_reps)
    echo(
        f"slack         {'token set' if settings.slack_bot_token else 'no token'}, "
        f"{'signing secret set' if settings.slack_signing_secret else 'no signing secret'}"
    )
    # Whether errors are reported and under which environment; the DSN is never printed.
    environment = settings.sentry_environment or "production"
    echo(
        f"errors        sentry, environment {environment}"
        if settings.sentry_dsn
        else "errors        not reported (SENTRY_DSN unset)"
    )
    if offline:
        echo("online checks skipped (--offline)")
    else:
        broken += doctor_online.slack_problems(settings, echo)
        broken += doctor_online.redirect_problems(settings, echo)
        broken += doctor_online.mail_problems(settings, echo, rep_email=first_rep)
        broken += doctor_online.model_problems(settings, echo)
    for gap in settings.production_gaps():
        echo(f"  not production-ready: {gap}")
    for problem in broken:
        echo(f"  BROKEN: {problem}")
    echo("ok" if not broken else f"{len(broken)} problem(s)")
    return 1 if broken else 0


def run_health(settings: Settings, *, echo: Callable[[str], None]) -> int:
    """The readiness checks and every current health finding; 1 when there is any."""
    from orchestrator.bootstrap import bootstrap
    from orchestrator.health import find_problems, readiness

    deps = bootstrap(settings)
    try:
        ready, checks = readiness(deps)
        for name, state in checks.items():
            echo(f"{name:<13} {state}")
        findings = find_problems(deps)
    finally:
        deps.engine.dispose()
    for finding in findings:
        echo(f"  FINDING: {finding.text}")
    echo("healthy" if ready and not findings else f"{len(findings)} finding(s)")
    return 0 if ready and not findings else 1
