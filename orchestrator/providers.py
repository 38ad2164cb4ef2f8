"""Provider adapters built from settings: per-org calendars, per-rep mailboxes, and the OAuth
flow that connects them.

The Google and Microsoft calendars pick whose stored token to use by email, so they are built per
org (the Slack team) and cached; the embedded calendar serves every org. Mail is per rep: each
rep's `mail_provider` says whose mailbox their email leaves from and where replies are read.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from connectors.credentials import CredentialStore, StoredCredential, TokenCipher
from connectors.errors import PermanentError, ReconnectRequired
from connectors.oauth import (
    GOOGLE_AUTHORIZE_URL,
    GOOGLE_TOKEN_URL,
    MAIL_PROVIDER,
    MICROSOFT_AUTHORITY,
    OAuthFlow,
    OAuthProvider,
    google_provider,
    microsoft_provider,
)
from connectors.ports import CalendarPort, Clock, InboundBatch, MailPort, MailReader
from db.models import Rep
from orchestrator.settings import Settings, reveal

if TYPE_CHECKING:
    from connectors.mail.smtp_imap import SmtpImapMailbox


def oauth_providers(settings: Settings) -> dict[str, OAuthProvider]:
    # Mail scopes are asked for only when reps' own mailboxes are used: an org that keeps mail
    # on SMTP (or embedded) connects calendars alone.
    mail = settings.mail_backend == "connected"
    providers: dict[str, OAuthProvider] = {}
    if settings.google_client_id and settings.google_client_secret:
        providers["google"] = google_provider(
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
            authorize_url=settings.google_authorize_url or GOOGLE_AUTHORIZE_URL,
            token_url=settings.google_token_url or GOOGLE_TOKEN_URL,
            mail=mail,
        )
    if settings.microsoft_client_id and settings.microsoft_client_secret:
        providers["microsoft"] = microsoft_provider(
            client_id=settings.microsoft_client_id,
            client_secret=settings.microsoft_client_secret.get_secret_value(),
            tenant=settings.microsoft_tenant,
            authority=settings.microsoft_authority or MICROSOFT_AUTHORITY,
            mail=mail,
        )
    return providers


def credential_store(settings: Settings, sessions: sessionmaker[Session]) -> CredentialStore | None:
    if not settings.credential_keys:
        return None
    return CredentialStore(sessions, TokenCipher(settings.credential_keys.get_secret_value()))


def oauth_flow(settings: Settings, store: CredentialStore | None) -> OAuthFlow | None:
    providers = oauth_providers(settings)
    if not providers or store is None or not settings.oauth_state_secret or not settings.public_url:
        return None
    base = settings.public_url.rstrip("/")
    return OAuthFlow(
        providers=providers,
        redirect_uri=lambda provider: f"{base}/oauth/{provider}/callback",
        state_secret=settings.oauth_state_secret.get_secret_value(),
        store=store,
    )


def calendar_factory(
    settings: Settings,
    sessions: sessionmaker[Session],
    store: CredentialStore | None,
    clock: Clock,
) -> Callable[[str], CalendarPort] | None:
    """`org_id -> CalendarPort` for a provider backend; None for the embedded calendar."""
    if settings.calendar_backend == "local":
        return None
    providers = oauth_providers(settings)
    if store is None or settings.calendar_backend not in providers:
        raise ValueError("; ".join(settings.config_errors()) or "calendar backend not configured")
    # Provider SDKs are imported only by the deployments that use them (msgraph alone costs
    # a noticeable part of a second at every process start).
    if settings.calendar_backend == "google":
        from connectors.calendar.google import GoogleCalendar, StoredGoogleAccounts

        google = providers["google"]

        def google_for(org_id: str) -> CalendarPort:
            accounts = StoredGoogleAccounts(
                session_factory=sessions,
                store=store,
                org_id=org_id,
                clock=clock,
                client_id=google.client_id,
                client_secret=google.client_secret,
                token_uri=google.token_url,
            )
            return GoogleCalendar(
                accounts.credentials_for,
                api_endpoint=settings.google_api_endpoint,
                on_refresh=accounts.on_refresh,
            )

        return google_for

    from connectors.calendar.microsoft import MicrosoftCalendar
    from connectors.graph_accounts import StoredMicrosoftAccounts
    from connectors.graph_runtime import GRAPH_URL

    microsoft = providers["microsoft"]

    def microsoft_for(org_id: str) -> CalendarPort:
        accounts = StoredMicrosoftAccounts(
            session_factory=sessions, store=store, provider=microsoft, org_id=org_id, clock=clock
        )
        return MicrosoftCalendar(
            accounts.credential_for,
            base_url=settings.graph_base_url or GRAPH_URL,
            tentative_is_busy=settings.tentative_is_busy,
        )

    return microsoft_for


# --- mail: each rep's own mailbox --------------------------------------------------------------

MAIL_PROVIDERS = ("local", "gmail", "microsoft", "smtp")
# Rep.mail_provider -> the OAuth provider whose stored token opens that mailbox.
_OAUTH_OF = {mail: oauth for oauth, mail in MAIL_PROVIDER.items()}


class MailboxNotConnected(ReconnectRequired):
    """The rep has no usable grant for their mailbox: only connecting it again helps."""


@runtime_checkable
class MailboxDirectory(Protocol):
    """An adapter that serves many mailboxes (the embedded one) hands out one reader per rep;
    single-mailbox adapters (Gmail, Graph, IMAP) are readers themselves."""

    def reader_for(self, address: str) -> MailReader: ...


def embedded_reader(mail: object, rep: Rep) -> MailReader | None:
    """The rep's inbox in a shared adapter (``Deps.mail``), or None when it cannot read mail."""
    if isinstance(mail, MailboxDirectory):
        return mail.reader_for(rep.email)
    # MailReader is not runtime-checkable (connectors/ports.py); look for its one method.
    if callable(getattr(mail, "fetch_new", None)):
        return mail  # type: ignore[return-value]
    return None


def mail_provider_of(settings: Settings, rep: Rep) -> str:
    """Where the rep's mail goes: their own provider once set, else the deployment's default
    (``connected`` for a rep who has not connected a mailbox yet)."""
    if rep.mail_provider != "local":
        return rep.mail_provider
    return "local" if settings.mail_backend == "local" else settings.mail_backend


@dataclass(frozen=True)
class RepMailbox:
    port: MailPort
    reader: MailReader
    grant: str  # what it was opened with (provider + a digest of the grant), never a secret


class _AddressedTo:
    """A shared inbox as one rep's reader: only mail naming the rep as a recipient, so an
    unplaceable message reaches the rep it was written to, not whoever polled first."""

    HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To")

    def __init__(self, reader: MailReader, address: str) -> None:
        self._reader = reader
        self._address = address.lower()

    def fetch_new(self, cursor: str | None) -> InboundBatch:
        batch = self._reader.fetch_new(cursor)
        mine = [m for m in batch.messages if self._address in _recipients(m.raw)]
        return InboundBatch(messages=mine, cursor=batch.cursor)


def _recipients(raw: bytes) -> set[str]:
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    values = [v for name in _AddressedTo.HEADERS for v in headers.get_all(name, [])]
    return {address.lower() for _, address in getaddresses([str(v) for v in values])}


def _digest(*parts: str) -> str:
    # A cache key and dedupe key that changes with the grant without holding the secret itself.
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


class RepMailboxes:
    """Each rep's mailbox, by `mail_provider`: Gmail or Microsoft 365 through the rep's stored
    OAuth token, SMTP/IMAP through the org's server; None for the embedded mailbox.

    Built on first use (no connection until a call) and cached per rep. A cached mailbox is
    reused while its grant is unchanged; a reconnect or a provider change opens a new one, so a
    long-running worker never keeps a revoked token.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        store: CredentialStore | None,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._store = store
        self._clock = clock
        self._oauth = oauth_providers(settings)
        self._open: dict[uuid.UUID, RepMailbox] = {}
        self._lock = threading.Lock()

    def mailbox(self, rep: Rep) -> RepMailbox | None:
        """The rep's mailbox; None when the embedded one serves them. Raises
        :class:`MailboxNotConnected` for a rep without a grant, PermanentError when the
        deployment lacks the provider's configuration."""
        provider = mail_provider_of(self._settings, rep)
        if provider == "local":
            return None
        stored = self._stored(rep, provider)
        grant = self._grant(provider, stored)
        with self._lock:
            cached = self._open.get(rep.id)
            if cached is not None and cached.grant == grant:
                return cached
            opened = self._open_mailbox(rep, provider, stored, grant)
            self._open[rep.id] = opened
        if cached is not None:
            _close(cached.port)
        return opened

    def grant_of(self, rep: Rep) -> str:
        """A digest naming the rep's current grant ("none" without one): a notice keyed on it
        is sent once per lost grant, and again after a reconnect is lost."""
        provider = mail_provider_of(self._settings, rep)
        try:
            return self._grant(provider, self._stored(rep, provider))
        except PermanentError:
            return f"{provider}:none"

    # --- internals ----------------------------------------------------------------------------

    def _stored(self, rep: Rep, provider: str) -> StoredCredential | None:
        if provider == "connected":
            raise MailboxNotConnected(
                f"{rep.email} has not connected a mailbox yet: run /schedule connect"
            )
        if provider not in MAIL_PROVIDERS:
            raise PermanentError(f"unknown mail provider {provider!r} for {rep.email}")
        if provider not in _OAUTH_OF:
            return None
        oauth = _OAUTH_OF[provider]
        if oauth not in self._oauth or self._store is None:
            raise PermanentError(
                f"{provider} mail needs {oauth.upper()}_CLIENT_ID, {oauth.upper()}_CLIENT_SECRET "
                "and CREDENTIAL_KEYS"
            )
        stored = self._store.load(org_id=rep.org_id, rep_id=rep.id, provider=oauth)
        if stored is None or not stored.token.get("refresh_token"):
            raise MailboxNotConnected(
                f"{rep.email} has no {provider} connection: run /schedule connect"
            )
        return stored

    def _grant(self, provider: str, stored: StoredCredential | None) -> str:
        if stored is None:  # SMTP: the org's server and login (never the password) name it
            username, _ = self._settings.imap_login
            return f"{provider}:{_digest(self._settings.smtp_host or '', username or '')}"
        return f"{provider}:{_digest(str(stored.token.get('refresh_token')))}"

    def _open_mailbox(
        self, rep: Rep, provider: str, stored: StoredCredential | None, grant: str
    ) -> RepMailbox:
        if provider == "smtp":
            return self._smtp(rep, grant)
        assert stored is not None
        if provider == "gmail":
            return self._gmail(rep, stored, grant)
        return self._microsoft(rep, grant)

    def _gmail(self, rep: Rep, stored: StoredCredential, grant: str) -> RepMailbox:
        # Provider SDKs are imported only by deployments that use them.
        from connectors.calendar.google import StoredGoogleAccounts
        from connectors.mail.gmail import GmailMailbox

        google = self._oauth["google"]
        # Writing refreshed access tokens back keeps every worker from refreshing on each call.
        accounts = StoredGoogleAccounts(
            session_factory=self._sessions,
            store=self._require_store(),
            org_id=rep.org_id,
            client_id=google.client_id,
            client_secret=google.client_secret,
            clock=self._clock,
            token_uri=google.token_url,
        )
        credentials = accounts.credentials(stored)
        email = rep.email
        box = GmailMailbox(
            credentials,
            clock=self._clock,
            api_endpoint=self._settings.gmail_api_endpoint,
            timeout=self._settings.mail_timeout_seconds,
            # google-auth refreshes `credentials` in place; store what it now holds.
            on_refresh=lambda _refreshed: accounts.on_refresh(email, credentials),
        )
        return RepMailbox(port=box, reader=box, grant=grant)

    def _microsoft(self, rep: Rep, grant: str) -> RepMailbox:
        from connectors.graph_accounts import StoredGraphCredential
        from connectors.graph_runtime import GRAPH_URL
        from connectors.mail.graph import GraphMailbox

        # Reads the stored token on each request and refreshes (and stores) it when stale.
        credential = StoredGraphCredential(
            store=self._require_store(),
            provider=self._oauth["microsoft"],
            org_id=rep.org_id,
            rep_id=rep.id,
            clock=self._clock,
        )
        box = GraphMailbox(
            credential,
            clock=self._clock,
            base_url=self._settings.graph_base_url or GRAPH_URL,
            timeout=self._settings.mail_timeout_seconds,
        )
        return RepMailbox(port=box, reader=box, grant=grant)

    def _smtp(self, rep: Rep, grant: str) -> RepMailbox:
        if errors := self._settings.smtp_errors():
            raise PermanentError("; ".join(errors))
        box = smtp_mailbox(self._settings, clock=self._clock, rep_email=rep.email)
        shared = "{email}" not in (self._settings.imap_login[0] or "")
        reader: MailReader = _AddressedTo(box, rep.email) if shared else box
        return RepMailbox(port=box, reader=reader, grant=grant)

    def _require_store(self) -> CredentialStore:
        if self._store is None:
            raise PermanentError("provider mail needs CREDENTIAL_KEYS")
        return self._store


def smtp_mailbox(settings: Settings, *, clock: Clock, rep_email: str) -> SmtpImapMailbox:
    """The org's SMTP/IMAP server as `rep_email` reaches it (`{email}` in a login is theirs)."""
    from connectors.mail.smtp_imap import SmtpImapMailbox

    s = settings
    assert s.smtp_host is not None and s.imap_host is not None, "checked by smtp_errors()"
    imap_username, imap_password = s.imap_login

    def login(username: str | None) -> str:
        return (username or "").replace("{email}", rep_email)

    return SmtpImapMailbox(
        clock=clock,
        smtp_host=s.smtp_host,
        smtp_port=s.smtp_port,
        smtp_security=s.smtp_security,
        username=login(s.smtp_username),
        password=reveal(s.smtp_password) or "",
        imap_host=s.imap_host,
        imap_port=s.imap_port,
        imap_ssl=s.imap_ssl,
        imap_username=login(imap_username),
        imap_password=reveal(imap_password) or "",
        sent_folder=s.imap_sent_folder,
        save_sent=s.smtp_save_sent,
        timeout=s.mail_timeout_seconds,
    )


def _close(port: MailPort) -> None:
    """Release what a replaced mailbox holds (the Graph adapter's event-loop thread)."""
    close = getattr(port, "close", None)
    if callable(close):
        close()
