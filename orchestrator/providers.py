"""Provider adapters built from settings: per-org calendars and the OAuth flow that connects them.

The Google and Microsoft adapters pick whose stored token to use by email, so they are built per
org (the Slack team) and cached; the embedded calendar serves every org.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from connectors.credentials import CredentialStore, TokenCipher
from connectors.oauth import (
    GOOGLE_AUTHORIZE_URL,
    GOOGLE_TOKEN_URL,
    MICROSOFT_AUTHORITY,
    OAuthFlow,
    OAuthProvider,
    google_provider,
    microsoft_provider,
)
from connectors.ports import CalendarPort, Clock
from orchestrator.settings import Settings


def oauth_providers(settings: Settings) -> dict[str, OAuthProvider]:
    providers: dict[str, OAuthProvider] = {}
    if settings.google_client_id and settings.google_client_secret:
        providers["google"] = google_provider(
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            authorize_url=settings.google_authorize_url or GOOGLE_AUTHORIZE_URL,
            token_url=settings.google_token_url or GOOGLE_TOKEN_URL,
        )
    if settings.microsoft_client_id and settings.microsoft_client_secret:
        providers["microsoft"] = microsoft_provider(
            client_id=settings.microsoft_client_id,
            client_secret=settings.microsoft_client_secret,
            tenant=settings.microsoft_tenant,
            authority=settings.microsoft_authority or MICROSOFT_AUTHORITY,
        )
    return providers


def credential_store(settings: Settings, sessions: sessionmaker[Session]) -> CredentialStore | None:
    if not settings.credential_keys:
        return None
    return CredentialStore(sessions, TokenCipher(settings.credential_keys))


def oauth_flow(settings: Settings, store: CredentialStore | None) -> OAuthFlow | None:
    providers = oauth_providers(settings)
    if not providers or store is None or not settings.oauth_state_secret or not settings.public_url:
        return None
    base = settings.public_url.rstrip("/")
    return OAuthFlow(
        providers=providers,
        redirect_uri=lambda provider: f"{base}/oauth/{provider}/callback",
        state_secret=settings.oauth_state_secret,
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

    from connectors.calendar.microsoft import GRAPH_URL, MicrosoftCalendar, StoredMicrosoftAccounts

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
