"""A rep's stored Microsoft token as the azure-core credential both Graph adapters (calendar
and mail) authenticate with."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

from azure.core.credentials import AccessToken
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from connectors.credentials import CredentialStore, rep_id_for_email
from connectors.errors import ReconnectRequired
from connectors.oauth import DEFAULT_TIMEOUT, OAuthProvider, refresh_access_token
from connectors.oauth import expires_at as token_expiry
from connectors.ports import Clock


class StoredGraphCredential:
    """An azure-core ``TokenCredential`` over a rep's stored Microsoft token: hands out the
    access token while it is fresh, refreshes it at the token endpoint when it is not, and
    stores the new one (Microsoft rotates refresh tokens, so the new one must be kept)."""

    EARLY = timedelta(minutes=5)

    def __init__(
        self,
        *,
        store: CredentialStore,
        provider: OAuthProvider,
        org_id: str,
        rep_id: uuid.UUID,
        clock: Clock,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._store = store
        self._provider = provider
        self._org_id = org_id
        self._rep_id = rep_id
        self._clock = clock
        self._timeout = timeout
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self._lock:
            stored = self._store.load(
                org_id=self._org_id, rep_id=self._rep_id, provider=self._provider.name
            )
            if stored is None or not stored.token.get("refresh_token"):
                raise ReconnectRequired("no stored Microsoft token for this rep")
            now = self._clock.now()
            expiry = stored.expires_at
            if (
                expiry is not None
                and expiry - self.EARLY > now
                and stored.token.get("access_token")
            ):
                return AccessToken(str(stored.token["access_token"]), int(expiry.timestamp()))
            token = refresh_access_token(
                self._provider,
                refresh_token=str(stored.token["refresh_token"]),
                timeout=self._timeout,
            )
            expiry = token_expiry(token, now) or now + timedelta(hours=1)
            self._store.save(
                org_id=self._org_id,
                rep_id=self._rep_id,
                provider=self._provider.name,
                token=token,
                scopes=stored.scopes,
                expires_at=expiry,
                now=now,
            )
            return AccessToken(str(token["access_token"]), int(expiry.timestamp()))


class StoredMicrosoftAccounts:
    """``credential_for(email)`` for MicrosoftCalendar: the rep with that email in the org, if
    they connected Microsoft 365."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        store: CredentialStore,
        provider: OAuthProvider,
        org_id: str,
        clock: Clock,
    ) -> None:
        self._sessions = session_factory
        self._store = store
        self._provider = provider
        self._org_id = org_id
        self._clock = clock

    def credential_for(self, email: str) -> StoredGraphCredential | None:
        rep_id = rep_id_for_email(self._sessions, org_id=self._org_id, email=email)
        if rep_id is None:
            return None
        if (
            self._store.load(org_id=self._org_id, rep_id=rep_id, provider=self._provider.name)
            is None
        ):
            return None
        return StoredGraphCredential(
            store=self._store,
            provider=self._provider,
            org_id=self._org_id,
            rep_id=rep_id,
            clock=self._clock,
        )
