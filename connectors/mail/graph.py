"""Microsoft 365 as the rep's mailbox, through msgraph-sdk.

Sending creates a draft and sends it (``createReply`` on the message we answer, so Exchange
threads it in the conversation; a new draft otherwise). A draft, unlike ``sendMail``, answers
with its id and ``conversationId`` at once, so the thread id is always captured. Every draft
carries our RFC 5322 ``internetMessageId``: a retry first reuses a draft an earlier attempt left
behind, and ``find_sent`` looks the id up in Sent Items. ``Prefer: IdType="ImmutableId"`` keeps
the message id stable when the sent draft moves folders. Inbound mail is read with a delta
query on the Inbox; the cursor is the delta link.

The SDK runs on a private event loop (:class:`connectors.graph_runtime.LoopThread`) so the
sync orchestrator can call it from any thread; its errors are read by
:func:`connectors.graph_runtime.graph_error`. The SDK's own retry middleware is switched off —
the orchestrator owns retries — and every request has an httpx timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from azure.core.credentials import TokenCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.file_attachment import FileAttachment
from msgraph.generated.models.internet_message_header import InternetMessageHeader
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.models.subscription import Subscription
from msgraph.generated.users.item.mail_folders.item.messages.delta.delta_request_builder import (
    DeltaRequestBuilder,
)
from msgraph.generated.users.item.messages.item.create_reply.create_reply_post_request_body import (
    CreateReplyPostRequestBody,
)
from msgraph.generated.users.item.messages.messages_request_builder import (
    MessagesRequestBuilder,
)
from msgraph.graph_request_adapter import options as graph_adapter_options
from msgraph_core import GraphClientFactory

from connectors.errors import PermanentError, TransientError
from connectors.graph_runtime import GRAPH_URL, LoopThread, graph_error
from connectors.mail.mime import build_mime, parse_address
from connectors.mail.outbound import thread_subject
from connectors.ports import Clock, InboundBatch, InboundRaw, OutboundEmail, SentEmail

DEFAULT_TIMEOUT = 30.0
SCOPES = ("https://graph.microsoft.com/.default",)
# After the delta state expired we re-read this much of the Inbox (intake de-duplicates).
RESYNC_WINDOW = timedelta(days=8)
# Sync-state errors Graph answers when a delta link is too old or was reset.
_EXPIRED_DELTA = {"syncstatenotfound", "syncstateinvalid", "resyncrequired"}

T = TypeVar("T")
# Generated query-parameter dataclasses; kiota maps their fields to $filter/$select/$top.
_MessagesQuery = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters
_DeltaQuery = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters


class GraphNotFound(PermanentError):
    """404 from Graph: unknown message or folder."""


class _DeltaExpired(Exception):
    pass


class GraphMailbox:
    """One rep's Microsoft 365 mailbox. Implements ``MailPort`` and ``MailReader``."""

    def __init__(
        self,
        credential: TokenCredential,
        *,
        clock: Clock,
        user_id: str = "me",
        base_url: str = GRAPH_URL,
        timeout: float = DEFAULT_TIMEOUT,
        scopes: tuple[str, ...] = SCOPES,
    ) -> None:
        """``user_id`` is "me" with a delegated token, else the rep's address (app-only).
        ``base_url`` may be plain http only for localhost (the SDK's rule), i.e. a test fake."""
        self._credential = credential
        self._clock = clock
        self._user = user_id
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._scopes = scopes
        self._client: GraphServiceClient | None = None
        self._runner = LoopThread("graph-mailbox")

    # --- MailPort -----------------------------------------------------------------------------

    def send(self, email: OutboundEmail) -> SentEmail:
        # Same header rules as every raw-MIME provider; Graph gets the validated values.
        build_mime(email, date=self._clock.now())
        return self._run(lambda: self._send(email), what="send")

    def find_sent(self, *, sender: str, message_id: str) -> SentEmail | None:
        found = self._run(lambda: self._find("sentitems", message_id), what="find_sent")
        if found is None:
            return None
        return SentEmail(
            message_id=message_id, provider_id=str(found.id), thread_id=found.conversation_id or ""
        )

    # --- MailReader ---------------------------------------------------------------------------

    def fetch_new(self, cursor: str | None) -> InboundBatch:
        return self._run(lambda: self._fetch(cursor), what="fetch_new")

    # --- push -------------------------------------------------------------------------------

    def subscribe(
        self, *, notification_url: str, client_state: str, expires: datetime
    ) -> tuple[str, datetime]:
        """A change-notification subscription on new Inbox messages; returns its id and when
        it lapses. Graph first checks ``notification_url`` answers its validation request."""
        created = self._run(
            lambda: self._graph().subscriptions.post(
                Subscription(
                    change_type="created",
                    notification_url=notification_url,
                    resource=f"{self._resource_root()}/mailFolders('inbox')/messages",
                    expiration_date_time=expires,
                    client_state=client_state,
                )
            ),
            what="subscribe",
        )
        if created is None or not created.id:
            raise TransientError("graph returned no subscription")
        return created.id, created.expiration_date_time or expires

    def renew_subscription(self, subscription_id: str, *, expires: datetime) -> datetime:
        """Move a subscription's expiry; raises GraphNotFound when Graph no longer has it."""
        renewed = self._run(
            lambda: (
                self._graph()
                .subscriptions.by_subscription_id(subscription_id)
                .patch(Subscription(expiration_date_time=expires))
            ),
            what="renew_subscription",
        )
        return (renewed.expiration_date_time if renewed else None) or expires

    def _resource_root(self) -> str:
        return "me" if self._user == "me" else f"users/{self._user}"

    def close(self) -> None:
        """Stop the private event loop (the adapter can be used again afterwards)."""
        self._client = None
        self._runner.close()

    # --- async internals ----------------------------------------------------------------------

    def _root(self) -> Any:
        graph = self._graph()
        return graph.me if self._user == "me" else graph.users.by_user_id(self._user)

    @staticmethod
    def _config(query: Any = None) -> RequestConfiguration[Any]:
        config: RequestConfiguration[Any] = RequestConfiguration()
        config.headers.add("Prefer", 'IdType="ImmutableId"')
        config.query_parameters = query
        return config

    async def _send(self, email: OutboundEmail) -> SentEmail:
        root = self._root()
        draft = await self._find("drafts", email.message_id)
        if draft is None:
            draft = await self._create_draft(email)
        assert draft is not None and draft.id is not None
        await root.messages.by_message_id(draft.id).send.post(request_configuration=self._config())
        return SentEmail(
            message_id=email.message_id,
            provider_id=draft.id,
            thread_id=draft.conversation_id or "",
        )

    async def _create_draft(self, email: OutboundEmail) -> Message:
        root = self._root()
        message = _graph_message(email)
        parent = await self._find(None, email.in_reply_to) if email.in_reply_to else None
        if parent is None or parent.id is None:
            created: Message | None = await root.messages.post(
                message, request_configuration=self._config()
            )
        else:
            # createReply makes Exchange set In-Reply-To/References and the conversation; our
            # recipients, body and Message-ID replace its defaults (replying to our own earlier
            # email would otherwise address the rep).
            attachments, message.attachments = message.attachments, None
            created = await root.messages.by_message_id(parent.id).create_reply.post(
                CreateReplyPostRequestBody(message=message),
                request_configuration=self._config(),
            )
            if created is not None and created.id is not None:
                for attachment in attachments or []:
                    await root.messages.by_message_id(created.id).attachments.post(
                        attachment, request_configuration=self._config()
                    )
        if created is None or created.id is None:
            raise TransientError("graph returned no draft")
        return created

    async def _find(self, folder: str | None, internet_message_id: str | None) -> Message | None:
        if not internet_message_id:
            return None
        root = self._root()
        messages = (
            root.messages
            if folder is None
            else root.mail_folders.by_mail_folder_id(folder).messages
        )
        literal = internet_message_id.replace("'", "''")  # OData string literal quoting
        page = await messages.get(
            request_configuration=self._config(
                _MessagesQuery(
                    filter=f"internetMessageId eq '{literal}'",
                    select=["id", "conversationId", "internetMessageId"],
                    top=1,
                )
            )
        )
        values = list(page.value or []) if page is not None else []
        return values[0] if values else None

    async def _fetch(self, cursor: str | None) -> InboundBatch:
        if cursor is None:
            _, link = await self._delta(None)
            return InboundBatch(messages=[], cursor=link)
        try:
            items, link = await self._delta(cursor)
        except _DeltaExpired:
            items, link = await self._delta(None)
            since = self._clock.now() - RESYNC_WINDOW
            items = [m for m in items if m.received_date_time and m.received_date_time >= since]
        messages = []
        for item in items:
            raw = await self._raw(str(item.id))
            if raw is not None:
                messages.append(
                    InboundRaw(
                        provider_id=str(item.id), thread_id=item.conversation_id or "", raw=raw
                    )
                )
        return InboundBatch(messages=messages, cursor=link)

    async def _delta(self, link: str | None) -> tuple[list[Message], str]:
        builder = self._root().mail_folders.by_mail_folder_id("inbox").messages.delta
        items: list[Message] = []
        seen: set[str] = set()
        try:
            if link is None:
                page = await builder.get(
                    request_configuration=self._config(
                        _DeltaQuery(select=["id", "conversationId", "receivedDateTime"])
                    )
                )
            else:
                page = await builder.with_url(link).get(request_configuration=self._config())
            while page is not None:
                for message in page.value or []:
                    removed = "@removed" in (message.additional_data or {})
                    if not removed and message.id and message.id not in seen:
                        seen.add(message.id)
                        items.append(message)
                if page.odata_next_link:
                    page = await builder.with_url(page.odata_next_link).get(
                        request_configuration=self._config()
                    )
                    continue
                if not page.odata_delta_link:
                    raise TransientError("graph delta ended without a delta link")
                return items, page.odata_delta_link
        except ODataError as exc:
            code = exc.error.code if exc.error else ""
            expired = exc.response_status_code == 410 or (code or "").lower() in _EXPIRED_DELTA
            if link is not None and expired:
                raise _DeltaExpired from exc
            raise
        raise TransientError("graph delta returned nothing")

    async def _raw(self, message_id: str) -> bytes | None:
        try:
            content: bytes | None = (
                await self._root()
                .messages.by_message_id(message_id)
                .content.get(request_configuration=self._config())
            )
        except ODataError as exc:
            if exc.response_status_code == 404:
                return None  # deleted between the delta and now
            raise
        return content

    # --- plumbing -----------------------------------------------------------------------------

    def _graph(self) -> GraphServiceClient:
        if self._client is None:
            # The SDK's own options (its /me URL rewrite, telemetry) plus retries switched off.
            options = {
                **graph_adapter_options,
                RetryHandlerOption.get_key(): RetryHandlerOption(max_retries=0, should_retry=False),
            }
            http = GraphClientFactory.create_with_default_middleware(
                client=httpx.AsyncClient(timeout=self._timeout), options=options
            )
            auth = AzureIdentityAuthenticationProvider(
                self._credential, scopes=list(self._scopes), allowed_hosts=[]
            )
            adapter = GraphRequestAdapter(auth, client=http)
            adapter.base_url = self._base_url
            self._client = GraphServiceClient(request_adapter=adapter)
        return self._client

    def _run(self, make: Callable[[], Awaitable[T]], *, what: str) -> T:
        async def guarded() -> T:
            return await make()

        try:
            # Several requests per call, each with its own timeout; this is the outer bound.
            return self._runner.run(guarded(), timeout=self._timeout * 6 + 5, what=what)
        except Exception as exc:
            mapped = graph_error(exc, what, now=self._clock.now(), not_found=GraphNotFound)
            if mapped is exc:
                raise
            raise mapped from exc


def _graph_message(email: OutboundEmail) -> Message:
    def recipients(addresses: Any) -> list[Recipient]:
        out = []
        for value in addresses:
            parsed = parse_address(value)
            out.append(
                Recipient(
                    email_address=EmailAddress(
                        address=parsed.addr_spec, name=parsed.display_name or None
                    )
                )
            )
        return out

    message = Message(
        subject=thread_subject(email.subject, replying=bool(email.in_reply_to)),
        body=ItemBody(
            content_type=BodyType.Html if email.html is not None else BodyType.Text,
            content=email.html if email.html is not None else email.body,
        ),
        to_recipients=recipients(email.to),
        cc_recipients=recipients(email.cc) or None,
        internet_message_id=email.message_id,
    )
    extra = [
        InternetMessageHeader(name=name, value=value)
        for name, value in email.headers.items()
        if name.lower().startswith("x-")  # Graph accepts only X- headers
    ]
    if extra:
        message.internet_message_headers = extra
    if email.ics is not None:
        method = email.ics_method.upper()
        message.attachments = [
            FileAttachment(
                odata_type="#microsoft.graph.fileAttachment",
                name="invite.ics",
                content_type=f"text/calendar; method={method}",
                content_bytes=email.ics,
            )
        ]
    return message
