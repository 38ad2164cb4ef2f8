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
from connectors.ports import CalendarPort, ChatPort, Clock, LLMPort, MailPort
from connectors.slack import SlackChat, make_web_client
from db.engine import make_engine, make_session_factory
from db.uow import UnitOfWork
from orchestrator.llm_budget import llm_client
from orchestrator.providers import calendar_factory, credential_store, oauth_flow
from orchestrator.settings import Settings
from orchestrator.wakeups import WakeUps

if TYPE_CHECKING:
    from orchestrator.cards import ActionView
    from skills.compose_brief import Brief

CardBuilder = Callable[["ActionView"], tuple[str, list[dict[str, Any]]]]
BriefBuilder = Callable[["Brief"], tuple[str, list[dict[str, Any]]]]


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
    approval_card: CardBuilder
    brief_card: BriefBuilder
    credentials: CredentialStore | None = None
    oauth: OAuthFlow | None = None
    # org_id -> calendar for provider backends; None means `calendar` serves every org.
    calendar_factory: Callable[[str], CalendarPort] | None = None
    _calendars: dict[str, CalendarPort] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def calendar_for(self, org_id: str) -> CalendarPort:
        if self.calendar_factory is None:
            return self.calendar
        if org_id not in self._calendars:
            self._calendars[org_id] = self.calendar_factory(org_id)
        return self._calendars[org_id]


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
    from bot.blocks import approval_card
    from bot.brief_blocks import brief_card

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
        approval_card=approval_card,
        brief_card=brief_card,
        credentials=store,
        oauth=oauth_flow(settings, store),
        calendar_factory=None if calendar else calendar_factory(settings, sessions, store, clock),
    )
