"""What every process runs on: the adapters, stores and queues `bootstrap` builds once.

Only the type lives here, so steps, the engine and the Slack listeners can name their
dependencies without importing the composition root that builds them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from redis import Redis
from rq import Queue
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from connectors.credentials import CredentialStore
from connectors.oauth import OAuthFlow
from connectors.ports import (
    CalendarPort,
    ChatPort,
    Clock,
    LLMPort,
    MailPort,
    MailReader,
    VideoRoomsPort,
    WebhookPort,
)
from db.models import Rep
from db.uow import UnitOfWork
from orchestrator.engine.wakeups import WakeUps
from orchestrator.notices.post import Notices
from orchestrator.providers import RepMailboxes, embedded_reader
from orchestrator.settings import Settings
from orchestrator.views import Cards


@dataclass
class Deps:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    redis: Redis
    queue: Queue
    wakeups: WakeUps
    calendar: CalendarPort
    mail: MailPort
    chat: ChatPort
    slack_client: WebClient
    llm: LLMPort | None
    cards: Cards
    credentials: CredentialStore | None = None
    oauth: OAuthFlow | None = None
    # org_id -> calendar for provider backends; None means `calendar` serves every org.
    calendar_factory: Callable[[str], CalendarPort] | None = None
    _calendars: dict[str, CalendarPort] = field(default_factory=dict)
    # Reps' own mailboxes (Gmail, Microsoft 365, SMTP/IMAP); `mail` serves reps on "local".
    mailboxes: RepMailboxes | None = None
    # Where webhook deliveries are POSTed (an https client; tests point it at local receivers).
    webhooks: WebhookPort | None = None
    # Zoom rooms per booking when a Zoom app is configured; else the rep's own link.
    rooms: VideoRoomsPort | None = None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    @property
    def notices(self) -> Notices:
        # Built on each use: tests swap adapters on a live Deps.
        return Notices(
            chat=self.chat,
            clock=self.clock,
            dm_per_hour_cap=self.settings.dm_per_hour_cap,
            sessions=self.sessions,
        )

    def calendar_for(self, org_id: str) -> CalendarPort:
        if self.calendar_factory is None:
            return self.calendar
        if org_id not in self._calendars:
            self._calendars[org_id] = self.calendar_factory(org_id)
        return self._calendars[org_id]

    def mail_for(self, rep: Rep) -> MailPort:
        """The mailbox the rep's email leaves from (raises ReconnectRequired without a grant)."""
        mailbox = self.mailboxes.mailbox(rep) if self.mailboxes else None
        # Read `mail` at call time: tests and the sandbox may swap the embedded adapter.
        return self.mail if mailbox is None else mailbox.port

    def reader_for(self, rep: Rep) -> MailReader | None:
        """The rep's inbox, or None when their mailbox cannot be read (nothing to poll)."""
        mailbox = self.mailboxes.mailbox(rep) if self.mailboxes else None
        return embedded_reader(self.mail, rep) if mailbox is None else mailbox.reader
