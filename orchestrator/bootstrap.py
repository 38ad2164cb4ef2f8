"""The composition root: the one place that turns settings into real or embedded adapters.

Nothing in the project opens a client, engine or connection at import time; it happens here,
when a process (web, worker, clock, demo, a test) asks for its dependencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from connectors.calendar.local import LocalCalendar
from connectors.clock import SystemClock
from connectors.credentials import CredentialStore
from connectors.mail.local import LocalMailbox
from connectors.oauth import OAuthFlow
from connectors.ports import CalendarPort, ChatPort, Clock, LLMPort, MailPort, MailReader
from connectors.slack import SlackChat, make_web_client
from db.engine import make_engine, make_session_factory
from db.models import Rep
from db.uow import UnitOfWork
from orchestrator.llm_budget import llm_client
from orchestrator.providers import (
    RepMailboxes,
    calendar_factory,
    credential_store,
    embedded_reader,
    oauth_flow,
)
from orchestrator.settings import Settings
from orchestrator.wakeups import WakeUps

if TYPE_CHECKING:
    from orchestrator.cards import ActionView
    from orchestrator.decisions import DecisionView
    from orchestrator.steps.find_times import PickerView
    from orchestrator.steps.meeting import MeetingCheck
    from skills.compose_brief import Brief

Card = tuple[str, list[dict[str, Any]]]  # fallback text, Block Kit blocks


@dataclass(frozen=True)
class Cards:
    """The Block Kit builders (pure functions in bot/), handed to the orchestrator here so
    that the worker posts cards without importing the Slack layer."""

    approval: Callable[[ActionView], Card]
    brief: Callable[[Brief], Card]
    decision: Callable[[DecisionView], Card]
    picker: Callable[[PickerView], Card]
    meeting: Callable[[MeetingCheck], Card]


def slack_cards() -> Cards:
    from bot.blocks import approval_card
    from bot.brief_blocks import brief_card
    from bot.decision_blocks import decision_card
    from bot.meeting_blocks import meeting_check_card
    from bot.picker_blocks import picker_card

    return Cards(approval_card, brief_card, decision_card, picker_card, meeting_check_card)


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

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

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


def make_redis(settings: Settings) -> Redis:
    if settings.redis_url:
        return Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
    # The embedded stand-in lives in this process only; rq needs its Lua support.
    import fakeredis

    return fakeredis.FakeRedis()


def make_queue(settings: Settings, redis: Redis) -> Queue:
    return Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    redis: Redis | None = None,
    calendar: CalendarPort | None = None,
    mail: MailPort | None = None,
    chat: ChatPort | None = None,
    llm: LLMPort | None = None,
) -> Deps:
    """Build every dependency from settings; keyword arguments replace one adapter (tests)."""

    settings = settings or Settings()
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    redis = redis if redis is not None else make_redis(settings)
    queue = make_queue(settings, redis)
    slack_client = make_web_client(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    if errors := settings.config_errors():
        raise ValueError("; ".join(errors))
    store = credential_store(settings, sessions)
    return Deps(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clock=clock,
        redis=redis,
        queue=queue,
        wakeups=WakeUps(queue),
        calendar=calendar or LocalCalendar(sessions, org_id="embedded"),
        mail=mail or LocalMailbox(sessions, clock=clock),
        chat=chat or SlackChat(slack_client),
        slack_client=slack_client,
        # Unbudgeted: steps reach it through `llm_budget.llm_for(deps, org_id=, rep_id=)`.
        llm=llm if llm is not None else llm_client(settings),
        cards=slack_cards(),
        credentials=store,
        oauth=oauth_flow(settings, store),
        calendar_factory=None if calendar else calendar_factory(settings, sessions, store, clock),
        mailboxes=RepMailboxes(settings=settings, sessions=sessions, store=store, clock=clock),
    )
