"""The composition root: the one place that turns settings into real or embedded adapters.

Nothing in the project opens a client, engine or connection at import time; it happens here,
when a process (web, worker, clock, demo, a test) asks for its dependencies.
"""

from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from connectors.calendar.local import LocalCalendar
from connectors.clock import SystemClock
from connectors.mail.local import LocalMailbox
from connectors.ports import (
    CalendarPort,
    ChatPort,
    Clock,
    LLMPort,
    MailPort,
    VideoRoomsPort,
    WebhookPort,
)
from connectors.slack import SlackChat, make_web_client
from connectors.webhooks import HttpWebhooks
from connectors.zoom import ZoomRooms
from db.engine import make_engine, make_session_factory
from orchestrator.deps import Deps
from orchestrator.engine.wakeups import WakeUps
from orchestrator.llm_budget import llm_client
from orchestrator.providers import RepMailboxes, calendar_factory, credential_store, oauth_flow
from orchestrator.settings import Settings, reveal
from orchestrator.views import Cards


def slack_cards() -> Cards:
    from bot.blocks import approval_card
    from bot.brief_blocks import brief_card
    from bot.decision_blocks import decision_card
    from bot.meeting_blocks import meeting_check_card
    from bot.picker_blocks import picker_card
    from bot.pre_meeting_blocks import pre_meeting_card
    from bot.reply_hints import with_copied, with_zone_hint

    return Cards(
        approval_card,
        brief_card,
        decision_card,
        picker_card,
        meeting_check_card,
        pre_meeting_card,
        with_zone_hint,
        with_copied,
    )


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
    webhooks: WebhookPort | None = None,
    rooms: VideoRoomsPort | None = None,
) -> Deps:
    """Build every dependency from settings; keyword arguments replace one adapter (tests)."""

    settings = settings or Settings()
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    redis = redis if redis is not None else make_redis(settings)
    queue = make_queue(settings, redis)
    slack_client = make_web_client(
        token=reveal(settings.slack_bot_token), base_url=settings.slack_api_url
    )
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
        # Unbudgeted: steps reach it through `StepPorts.llm_for`, behind the org's budget.
        llm=llm if llm is not None else llm_client(settings),
        cards=slack_cards(),
        credentials=store,
        oauth=oauth_flow(settings, store),
        calendar_factory=None if calendar else calendar_factory(settings, sessions, store, clock),
        mailboxes=RepMailboxes(settings=settings, sessions=sessions, store=store, clock=clock),
        webhooks=webhooks
        or HttpWebhooks(timeout=settings.webhook_timeout_seconds, ca_file=settings.webhook_ca_file),
        rooms=rooms if rooms is not None else zoom_rooms(settings, clock),
    )


def zoom_rooms(settings: Settings, clock: Clock) -> VideoRoomsPort | None:
    if (app := settings.zoom_app()) is None:
        return None
    account_id, client_id, secret = app
    return ZoomRooms(
        account_id=account_id,
        client_id=client_id,
        client_secret=secret.get_secret_value(),
        clock=clock,
        api_url=settings.zoom_api_url,
        token_url=settings.zoom_token_url,
    )
