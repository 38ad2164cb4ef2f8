"""Tokens encrypted at rest: MultiFernet with rotation, and a store that never writes plaintext."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from connectors.credentials import CredentialKeyError, CredentialStore, TokenCipher
from db.engine import make_engine, make_session_factory
from db.models import Rep

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
TOKEN = {
    "access_token": "ya29.ACCESS-PLAINTEXT-123",
    "refresh_token": "1//REFRESH-PLAINTEXT-456",
    "expires_in": 3599,
    "token_type": "Bearer",
}
OLD, NEW = TokenCipher.generate_key(), TokenCipher.generate_key()


@pytest.fixture
def sessions(sqlite_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(sqlite_url))


def add_rep(sessions: sessionmaker[Session], org_id: str = "T1") -> uuid.UUID:
    rep = Rep(
        org_id=org_id,
        slack_user_id=f"U{uuid.uuid4().hex[:6]}",
        email="sam@acme.test",
        created_at=NOW,
    )
    with sessions() as session:
        session.add(rep)
        session.commit()
    return rep.id


def raw_ciphertexts(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return [row[0] for row in session.execute(text("SELECT token_ciphertext FROM credentials"))]


def test_cipher_round_trip_hides_the_token() -> None:
    cipher = TokenCipher(NEW)
    sealed = cipher.encrypt(TOKEN)
    assert "PLAINTEXT" not in sealed
    assert cipher.decrypt(sealed) == TOKEN


def test_rotation_keeps_old_tokens_readable_then_moves_them() -> None:
    sealed_old = TokenCipher(OLD).encrypt(TOKEN)
    both = TokenCipher(f"{NEW}, {OLD}")  # settings form: comma-separated, first encrypts
    assert both.decrypt(sealed_old) == TOKEN
    rotated = both.rotate(sealed_old)
    assert TokenCipher(NEW).decrypt(rotated) == TOKEN
    with pytest.raises(CredentialKeyError):
        TokenCipher(OLD).decrypt(rotated)
    with pytest.raises(CredentialKeyError):
        TokenCipher(NEW).decrypt(sealed_old)


def test_bad_key_configuration_is_refused_without_echoing_the_key() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TokenCipher(" , ")
    with pytest.raises(ValueError, match="invalid credential encryption key") as caught:
        TokenCipher("not-a-fernet-key-SECRETISH")
    assert "SECRETISH" not in str(caught.value)


def test_database_holds_no_plaintext_token(sessions: sessionmaker[Session]) -> None:
    rep_id = add_rep(sessions)
    store = CredentialStore(sessions, TokenCipher(NEW))
    store.save(
        org_id="T1",
        rep_id=rep_id,
        provider="google",
        token=TOKEN,
        scopes=["https://www.googleapis.com/auth/calendar.freebusy"],
        expires_at=NOW + timedelta(seconds=3599),
        now=NOW,
    )
    [stored] = raw_ciphertexts(sessions)
    assert str(TOKEN["access_token"]) not in stored
    assert str(TOKEN["refresh_token"]) not in stored
    assert "PLAINTEXT" not in stored
    # And nowhere else in the row either (scopes and dates are not secrets, tokens are).
    with sessions() as session:
        row = session.execute(text("SELECT * FROM credentials")).one()
    assert not any("PLAINTEXT" in str(value) for value in row)
    loaded = store.load(org_id="T1", rep_id=rep_id, provider="google")
    assert loaded is not None
    assert loaded.token == TOKEN
    assert loaded.scopes == ("https://www.googleapis.com/auth/calendar.freebusy",)
    assert loaded.expires_at == NOW + timedelta(seconds=3599)
    assert "PLAINTEXT" not in repr(loaded)


def test_save_replaces_and_scopes_by_org_rep_provider(sessions: sessionmaker[Session]) -> None:
    rep_id = add_rep(sessions)
    store = CredentialStore(sessions, TokenCipher(NEW))
    common = {"org_id": "T1", "rep_id": rep_id, "scopes": [], "expires_at": None}
    store.save(provider="google", token={"access_token": "a1"}, now=NOW, **common)  # type: ignore[arg-type]
    store.save(provider="google", token={"access_token": "a2"}, now=NOW, **common)  # type: ignore[arg-type]
    store.save(provider="microsoft", token={"access_token": "m1"}, now=NOW, **common)  # type: ignore[arg-type]
    assert len(raw_ciphertexts(sessions)) == 2
    loaded = store.load(org_id="T1", rep_id=rep_id, provider="google")
    assert loaded is not None and loaded.token == {"access_token": "a2"}
    assert store.load(org_id="T2", rep_id=rep_id, provider="google") is None
    assert store.connected(org_id="T1") == [(rep_id, "google"), (rep_id, "microsoft")]
    assert store.delete(org_id="T1", rep_id=rep_id, provider="microsoft") is True
    assert store.delete(org_id="T1", rep_id=rep_id, provider="microsoft") is False
    assert store.connected(org_id="T1") == [(rep_id, "google")]


def test_rotate_all_then_drop_the_old_key(sessions: sessionmaker[Session]) -> None:
    rep_id = add_rep(sessions)
    CredentialStore(sessions, TokenCipher(OLD)).save(
        org_id="T1",
        rep_id=rep_id,
        provider="google",
        token=TOKEN,
        scopes=[],
        expires_at=None,
        now=NOW,
    )
    before = raw_ciphertexts(sessions)
    assert CredentialStore(sessions, TokenCipher([NEW, OLD])).rotate_all(now=NOW) == 1
    assert raw_ciphertexts(sessions) != before
    only_new = CredentialStore(sessions, TokenCipher(NEW))
    loaded = only_new.load(org_id="T1", rep_id=rep_id, provider="google")
    assert loaded is not None and loaded.token == TOKEN
    with pytest.raises(CredentialKeyError):
        CredentialStore(sessions, TokenCipher(OLD)).load(
            org_id="T1", rep_id=rep_id, provider="google"
        )


def test_two_callbacks_at_once_both_succeed_and_leave_one_row(pg_url: str) -> None:
    """A double click on Allow finishes two OAuth callbacks together: neither may fail on the
    unique key, and the rep keeps one token."""
    sessions = make_session_factory(make_engine(pg_url))
    rep_id = add_rep(sessions)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def callback(n: int) -> None:
        store = CredentialStore(sessions, TokenCipher(NEW))
        barrier.wait()
        try:
            store.save(
                org_id="T1",
                rep_id=rep_id,
                provider="google",
                token={**TOKEN, "access_token": f"ya29.CALLBACK-{n}"},
                scopes=["calendar"],
                expires_at=NOW + timedelta(hours=1),
                now=NOW,
            )
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=callback, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(raw_ciphertexts(sessions)) == 1
    stored = CredentialStore(sessions, TokenCipher(NEW)).load(
        org_id="T1", rep_id=rep_id, provider="google"
    )
    assert stored is not None
    assert stored.token["access_token"].startswith("ya29.CALLBACK-")
