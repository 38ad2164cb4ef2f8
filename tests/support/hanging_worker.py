"""A real worker process (the loop `convene worker` runs) on the test's clock, whose calendar or
mailbox may hang after doing its work.

The killed-worker tests start this as a subprocess and SIGKILL it mid-job, the way an OOM kill
or a lost node would end a production worker (or arm a crash point in its environment:
`CONVENE_CRASH_AT`), with `none` it hangs nowhere:

    python -m tests.support.hanging_worker DATABASE_URL REDIS_URL NOW_ISO calendar|mail|none
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime

from connectors.calendar.local import LocalCalendar
from connectors.clock import ManualClock
from connectors.mail.local import LocalMailbox
from connectors.ports import Interval, OutboundEmail, SentEmail
from orchestrator import jobs
from orchestrator.bootstrap import bootstrap
from orchestrator.engine.processes import run_worker
from orchestrator.settings import Settings

HANG_SECONDS = 120


class HangingCalendar(LocalCalendar):
    def free_busy(
        self, *, emails: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Interval]]:
        print("hanging in free_busy", flush=True)
        time.sleep(HANG_SECONDS)
        return super().free_busy(emails=emails, start=start, end=end)


class HangingMailbox(LocalMailbox):
    """The provider accepts the message, then the call never returns (a timeout after send)."""

    def send(self, email: OutboundEmail) -> SentEmail:
        sent = super().send(email)
        print("sent; now hanging", flush=True)
        time.sleep(HANG_SECONDS)
        return sent


def main(database_url: str, redis_url: str, now: str, hang: str) -> None:
    settings = Settings(database_url=database_url, redis_url=redis_url, slack_api_url=None)
    clock = ManualClock(datetime.fromisoformat(now))
    probe = bootstrap(settings, clock=clock)
    calendar = HangingCalendar(probe.sessions, org_id="embedded") if hang == "calendar" else None
    mail = HangingMailbox(probe.sessions, clock=clock) if hang == "mail" else None
    deps = bootstrap(settings, clock=clock, calendar=calendar, mail=mail)
    jobs.install(deps)
    run_worker(deps, burst=False, max_jobs=None)


if __name__ == "__main__":
    main(*sys.argv[1:5])
