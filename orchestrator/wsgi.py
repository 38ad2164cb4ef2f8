"""The WSGI entry point a production server imports: `gunicorn 'orchestrator.wsgi:create_app()'`.

Each gunicorn worker process calls `create_app` once, after the fork, so nothing connects in
the master. The checks are `convene web`'s: the Slack settings and the schema revision.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from orchestrator.settings import Settings

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# gunicorn's arbiter shuts down, instead of respawning workers forever, when one exits with
# this code at boot ("Worker failed to boot").
WORKER_BOOT_ERROR = 3


def create_app(settings: Settings | None = None) -> WSGIApp:
    from bot.after_ack import AfterAck
    from bot.app import build_app
    from bot.web import wsgi_app
    from db.migrate import schema_problem
    from orchestrator import jobs
    from orchestrator.bootstrap import bootstrap
    from orchestrator.engine.embedded import run_in_background
    from orchestrator.error_reporting import start as start_error_reporting
    from orchestrator.logs import configure

    settings = settings or Settings()
    configure(level=settings.log_level, json=settings.log_json, secrets=settings.secret_values())
    if problem := settings.http_problem() or schema_problem(settings.database_url):
        print(problem, file=sys.stderr, flush=True)
        raise SystemExit(WORKER_BOOT_ERROR)
    start_error_reporting(settings, process="web")
    deps = bootstrap(settings)
    jobs.install(deps)
    if settings.redis_url is None:
        # No Redis: this worker process also runs the queue and the clock (a demo or a single
        # box). Several gunicorn workers then each run one; the clock is safe to run twice.
        run_in_background(deps, stop=threading.Event())
    after_ack = AfterAck(deps)
    app = wsgi_app(build_app(deps, after_ack=after_ack), deps)
    after_ack.keep_replaying()  # finishes what a dead worker process acknowledged
    return app
