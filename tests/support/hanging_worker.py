"""A real, forking RQ worker whose calendar or mailbox hangs after doing its work.

The killed-worker test starts this as a subprocess and SIGKILLs it mid-job, the way an OOM kill
or a lost node would end a production worker:

    python -m tests.support.hanging_worker DATABASE_URL REDIS_URL NOW_ISO calendar|mail
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime

from rq import Worker
from rq.serializers import JSONSerializer

from connectors.calendar.local import LocalCalendar
from connectors.clock import ManualClock
from connectors.mail.local import LocalMailbox
from connectors.ports import Interval, OutboundEmail, SentEmail
from orchestrator import jobs
from orchestrator.bootstrap import bootstrap
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
    Worker([deps.queue], connection=deps.redis, serializer=JSONSerializer).work(burst=False)


if __name__ == "__main__":
    main(*sys.argv[1:5])
