"""Run Alembic migrations programmatically (`convene db upgrade`, tests)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; escape it so passwords survive.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def schema_problem(url: str) -> str | None:
    """Why the database at ``url`` cannot serve this code, in one line; None when it can.

    Processes check this at start, so a forgotten `convene db upgrade` is one clear line
    instead of a traceback per request.
    """
    # Alembic announces its plugins and dialect at INFO: noise before every process start.
    chatter = logging.getLogger("alembic")
    level = chatter.level
    chatter.setLevel(logging.WARNING)
    try:
        return _schema_problem(url)
    except Exception as exc:  # noqa: BLE001 - any failure here is "cannot start", said once
        reason = (str(exc).strip().splitlines() or [""])[0]
        return f"database unreachable: {type(exc).__name__}: {reason}"
    finally:
        chatter.setLevel(level)


def _schema_problem(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from db.engine import make_engine

    script = ScriptDirectory.from_config(alembic_config(url))
    heads = set(script.get_heads())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    if current == heads:
        return None
    if not current:
        return "database has no tables: run `convene db upgrade`"
    for revision in current:
        try:
            script.get_revision(revision)
        except CommandError:
            return (
                f"database schema {revision} is newer than this release: "
                "deploy the release that wrote it, or `convene db downgrade` with that release"
            )
    return "database schema is behind: run `convene db upgrade`"
