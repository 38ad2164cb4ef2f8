"""Provider OAuth tokens, encrypted at rest.

The ``credentials.token_ciphertext`` column holds a Fernet token of the JSON token dict; the
plaintext never reaches the database or a log line. Keys come from settings as a
comma-separated list: the first encrypts, every one decrypts, so an operator rotates by putting
a new key first, running :meth:`CredentialStore.rotate_all`, then dropping the old key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import func, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from connectors.errors import PermanentError
from db.models import Credential, Rep
from db.upsert import insert_or_ignore


class CredentialKeyError(PermanentError):
    """A stored token cannot be decrypted with the configured keys (a key was dropped too
    early, or the keys are wrong): an operator must fix the keys or the rep reconnect."""


class TokenCipher:
    def __init__(self, keys: str | Sequence[str]) -> None:
        listed = [k.strip() for k in keys.split(",")] if isinstance(keys, str) else list(keys)
        listed = [k for k in listed if k]
        if not listed:
            raise ValueError("at least one credential encryption key is required")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in listed])
        except ValueError as error:
            # Fernet's message names the key format, never the key itself.
            raise ValueError(f"invalid credential encryption key: {error}") from None

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, token: Mapping[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(dict(token), sort_keys=True).encode()).decode()

    def decrypt(self, ciphertext: str) -> dict[str, Any]:
        try:
            plain = self._fernet.decrypt(ciphertext.encode())
        except InvalidToken:
            raise CredentialKeyError(
                "stored token does not decrypt with any configured key"
            ) from None
        value = json.loads(plain)
        if not isinstance(value, dict):
            raise CredentialKeyError("stored token is not a JSON object")
        return value

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the first key (decrypting with any)."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise CredentialKeyError(
                "stored token does not decrypt with any configured key"
            ) from None


@dataclass(frozen=True)
class StoredCredential:
    org_id: str
    rep_id: uuid.UUID
    provider: str
    token: dict[str, Any]
    scopes: tuple[str, ...]
    expires_at: datetime | None

    def __repr__(self) -> str:  # tokens must never reach a log line, even by accident
        return (
            f"StoredCredential(org_id={self.org_id!r}, rep_id={self.rep_id!s}, "
            f"provider={self.provider!r}, scopes={self.scopes!r}, expires_at={self.expires_at!r})"
        )


class CredentialStore:
    def __init__(self, session_factory: sessionmaker[Session], cipher: TokenCipher) -> None:
        self._sessions = session_factory
        self._cipher = cipher

    def save(
        self,
        *,
        org_id: str,
        rep_id: uuid.UUID,
        provider: str,
        token: Mapping[str, Any],
        scopes: Sequence[str],
        expires_at: datetime | None,
        now: datetime,
    ) -> None:
        """Insert or replace the rep's token for ``provider`` (one row per org, rep, provider).

        One transaction of insert-or-ignore, then update: two OAuth callbacks finishing at once
        (a double click on Allow) both succeed, and the later one's token stays."""
        fields = {
            "token_ciphertext": self._cipher.encrypt(token),
            "scopes": list(scopes),
            "expires_at": expires_at,
            "updated_at": now,
        }
        key = {"org_id": org_id, "rep_id": rep_id, "provider": provider}
        with self._sessions() as session:
            new = {"id": uuid.uuid4(), **key, **fields, "created_at": now}
            if not insert_or_ignore(session, model=Credential, values=new):
                session.execute(
                    update(Credential)
                    .where(col(Credential.org_id) == org_id)
                    .where(col(Credential.rep_id) == rep_id)
                    .where(col(Credential.provider) == provider)
                    .values(**fields)
                )
            session.commit()

    def load(self, *, org_id: str, rep_id: uuid.UUID, provider: str) -> StoredCredential | None:
        with self._sessions() as session:
            row = self._row(session, org_id, rep_id, provider)
            if row is None:
                return None
            return StoredCredential(
                org_id=row.org_id,
                rep_id=row.rep_id,
                provider=row.provider,
                token=self._cipher.decrypt(row.token_ciphertext),
                scopes=tuple(row.scopes),
                expires_at=row.expires_at,
            )

    def delete(self, *, org_id: str, rep_id: uuid.UUID, provider: str) -> bool:
        """Forget a token (disconnect, or after the provider revoked it)."""
        with self._sessions() as session:
            row = self._row(session, org_id, rep_id, provider)
            if row is None:
                return False
            session.delete(row)
            session.commit()
            return True

    def connected(self, *, org_id: str) -> list[tuple[uuid.UUID, str]]:
        """(rep id, provider) pairs with a stored token, for `convene doctor` and the Home tab."""
        with self._sessions() as session:
            rows = session.exec(
                select(Credential.rep_id, Credential.provider).where(Credential.org_id == org_id)
            )
            return sorted(((r, p) for r, p in rows), key=lambda pair: (str(pair[0]), pair[1]))

    def rotate_all(self, *, now: datetime) -> int:
        """Re-encrypt every row under the first key; after this the old keys can be dropped."""
        with self._sessions() as session:
            rows = list(session.exec(select(Credential)))
            for row in rows:
                row.token_ciphertext = self._cipher.rotate(row.token_ciphertext)
                row.updated_at = now
                session.add(row)
            session.commit()
            return len(rows)

    @staticmethod
    def _row(session: Session, org_id: str, rep_id: uuid.UUID, provider: str) -> Credential | None:
        return session.exec(
            select(Credential).where(
                Credential.org_id == org_id,
                Credential.rep_id == rep_id,
                Credential.provider == provider,
            )
        ).first()


def rep_id_for_email(
    sessions: sessionmaker[Session], *, org_id: str, email: str
) -> uuid.UUID | None:
    """The rep in ``org_id`` with this email (any case): whose stored token a call uses."""
    with sessions() as session:
        return session.exec(
            select(Rep.id).where(Rep.org_id == org_id, func.lower(Rep.email) == email.lower())
        ).first()
