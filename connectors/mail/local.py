"""The embedded mailbox, stored in the database: a send lands in the sender's Sent folder and
in each recipient's inbox, like a provider would do it.

Reading (``fetch_new``) covers the inboxes of our reps only — prospects' mailboxes live in the
same table for the demo and sandbox, and their copies of our emails are not inbound mail.

Like a real provider it takes any message delivered to it, hostile ones included: bytes a text
column cannot hold (NUL, 8-bit that is not UTF-8) are kept losslessly in an encoded form, and
a message without a usable Message-ID is stored under one the mailbox makes up, while reading
hands back the bytes exactly as delivered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from sqlalchemy import ColumnElement, and_, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from connectors.mail.mime import build_mime
from connectors.ports import Clock, InboundBatch, InboundRaw, OutboundEmail, SentEmail
from db.models import LocalMailMessage, Rep
from skills.clean_text import clean_line
from skills.email_text import bare_subject

FETCH_LIMIT = 200
_MSG_IDS = re.compile(r"<[^<>\s]+>")
# Raw bytes a text column cannot hold are stored as this prefix and their base64.
_ENCODED = "x-convene-base64:"
MAX_ID_CHARS = 250  # longer is no real Message-ID, and would not fit an index row


@dataclass(frozen=True)
class _Cursor:
    """Position in the inbox: the newest ``created_at`` seen, and the rows seen at exactly
    that instant (several rows share one timestamp under a manual clock, and row ids are
    random, so the timestamp alone could skip or repeat them)."""

    after: datetime
    seen: frozenset[str]

    def encode(self) -> str:
        return json.dumps({"after": self.after.isoformat(), "seen": sorted(self.seen)})

    @classmethod
    def decode(cls, text: str) -> _Cursor:
        data = json.loads(text)
        return cls(after=datetime.fromisoformat(data["after"]), seen=frozenset(data["seen"]))


class LocalMailbox:
    def __init__(
        self, session_factory: sessionmaker[Session], *, clock: Clock, org_id: str = "embedded"
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._org_id = org_id

    def send(self, email: OutboundEmail) -> SentEmail:
        now = self._clock.now()
        raw = build_mime(email, date=now).as_string()
        # A new conversation is identified by its first message, as Gmail and Graph do.
        thread_id = email.thread_id or email.message_id
        rows = [self._row(email.sender, "sent", email, thread_id, raw, now)]
        # Cc'd people get their copy too; one per mailbox, since a duplicate address would
        # trip the unique Message-ID per mailbox and roll back the whole delivery.
        recipients = dict.fromkeys(a.lower() for a in [*email.to, *email.cc])
        rows += [self._row(to, "inbox", email, thread_id, raw, now) for to in recipients]
        with self._sessions() as session:
            session.add_all(rows)
            try:
                session.commit()
            except IntegrityError:
                # Same Message-ID already delivered: sending is idempotent here, like a
                # provider that de-duplicates on Message-ID.
                session.rollback()
        return SentEmail(
            message_id=email.message_id, provider_id=email.message_id, thread_id=thread_id
        )

    def find_sent(self, *, sender: str, message_id: str) -> SentEmail | None:
        with self._sessions() as session:
            row = session.exec(
                select(LocalMailMessage).where(
                    LocalMailMessage.org_id == self._org_id,
                    LocalMailMessage.mailbox == sender.lower(),
                    LocalMailMessage.folder == "sent",
                    LocalMailMessage.message_id == message_id,
                )
            ).first()
        if row is None:
            return None
        return SentEmail(
            message_id=row.message_id, provider_id=row.message_id, thread_id=row.thread_id
        )

    def messages(self, *, mailbox: str, folder: str = "inbox") -> list[LocalMailMessage]:
        """What a mailbox holds, oldest first (demo, sandbox and tests read it)."""
        with self._sessions() as session:
            return list(
                session.exec(
                    select(LocalMailMessage)
                    .where(
                        LocalMailMessage.org_id == self._org_id,
                        LocalMailMessage.mailbox == mailbox.lower(),
                        LocalMailMessage.folder == folder,
                    )
                    .order_by(col(LocalMailMessage.created_at), col(LocalMailMessage.message_id))
                )
            )

    # --- MailReader ---------------------------------------------------------------------------

    def fetch_new(self, cursor: str | None, *, mailbox: str | None = None) -> InboundBatch:
        """Inbox messages of our reps (or of one ``mailbox``) received after ``cursor``."""
        with self._sessions() as session:
            boxes = [mailbox.lower()] if mailbox else self._rep_mailboxes(session)
            if cursor is None:
                return InboundBatch(messages=[], cursor=self._start(session, boxes).encode())
            position = _Cursor.decode(cursor)
            rows = list(
                session.exec(
                    select(LocalMailMessage)
                    .where(self._inbox_of(boxes))
                    .where(col(LocalMailMessage.created_at) >= position.after)
                    .where(col(LocalMailMessage.id).notin_(_uuids(position.seen)))
                    .order_by(col(LocalMailMessage.created_at), col(LocalMailMessage.id))
                    .limit(FETCH_LIMIT)
                )
            )
        return InboundBatch(
            messages=[_inbound(r) for r in rows],
            cursor=_advance(position, rows).encode(),
        )

    def reader_for(self, address: str) -> _MailboxReader:
        """One rep's inbox as a ``MailReader``, like the per-rep Gmail or Graph adapters."""
        return _MailboxReader(self, address)

    def deliver(self, raw: bytes, *, to: str) -> InboundRaw:
        """Put a message someone sent into ``to``'s inbox, threaded as Gmail would: into the
        conversation its ``In-Reply-To``/``References`` name when the subject still matches,
        otherwise a new conversation (tests, demo and sandbox play the prospect with it)."""
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw[:_HEADERS_READ])
        message_id = _storable_id(_first_id(_header(headers, "Message-ID")), raw)
        subject = clean_line(_header(headers, "Subject"))[:1000]
        now = self._clock.now()
        with self._sessions() as session:
            existing = self._stored(session, to, message_id)
            if existing is not None:
                # Providers store one copy per Message-ID and mailbox; a second delivery is a no-op.
                return _inbound(existing)
            parents = _MSG_IDS.findall(
                f"{_header(headers, 'In-Reply-To')} {_header(headers, 'References')}"
            )[-50:]
            thread_id = self._thread_of(session, to, parents, subject) or self._new_thread(
                session, to, message_id
            )
            row = LocalMailMessage(
                org_id=self._org_id,
                mailbox=to.lower(),
                folder="inbox",
                message_id=message_id,
                thread_id=thread_id,
                sender=clean_line(_first_address(_header(headers, "From")))[:MAX_ID_CHARS],
                recipients=[
                    clean_line(a)[:MAX_ID_CHARS]
                    for _, a in getaddresses([_header(headers, "To")])[:100]
                    if a
                ],
                subject=subject,
                raw=_stored_raw(raw),
                created_at=self._after_the_last(session, to, now),
            )
            session.add(row)
            session.commit()
            session.refresh(row)
            return _inbound(row)

    def _after_the_last(self, session: Session, mailbox: str, now: datetime) -> datetime:
        """`now`, or just after the mailbox's newest message when that is not earlier: a
        mailbox keeps the order mail arrived in (a correction read before the answer it
        corrects is answered first), even when a stopped clock gives both the same time."""
        newest = session.exec(
            select(func.max(LocalMailMessage.created_at)).where(
                LocalMailMessage.org_id == self._org_id,
                LocalMailMessage.mailbox == mailbox.lower(),
                LocalMailMessage.folder == "inbox",
            )
        ).one()
        if newest is None:
            return now
        newest = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
        return max(now, newest + timedelta(microseconds=1))

    def _rep_mailboxes(self, session: Session) -> list[str]:
        return sorted({email.lower() for email in session.exec(select(Rep.email))})

    def _inbox_of(self, boxes: Sequence[str]) -> ColumnElement[bool]:
        return and_(
            col(LocalMailMessage.org_id) == self._org_id,
            col(LocalMailMessage.folder) == "inbox",
            col(LocalMailMessage.mailbox).in_(boxes),
        )

    def _start(self, session: Session, boxes: Sequence[str]) -> _Cursor:
        """Start from now: whatever the inboxes already hold counts as seen."""
        newest = session.exec(
            select(func.max(LocalMailMessage.created_at)).where(self._inbox_of(boxes))
        ).one()
        after = max(self._clock.now(), _aware(newest)) if newest else self._clock.now()
        at_boundary = session.exec(
            select(LocalMailMessage.id)
            .where(self._inbox_of(boxes))
            .where(col(LocalMailMessage.created_at) >= after)
        ).all()
        return _Cursor(after=after, seen=frozenset(i.hex for i in at_boundary))

    def _stored(self, session: Session, mailbox: str, message_id: str) -> LocalMailMessage | None:
        return session.exec(
            select(LocalMailMessage).where(
                LocalMailMessage.org_id == self._org_id,
                LocalMailMessage.mailbox == mailbox.lower(),
                LocalMailMessage.folder == "inbox",
                LocalMailMessage.message_id == message_id,
            )
        ).first()

    def _new_thread(self, session: Session, mailbox: str, message_id: str) -> str:
        """A new conversation is named by its first message, unless that Message-ID already
        names one here (a sender copying ours must not join our thread by it)."""
        taken = session.exec(
            select(LocalMailMessage.id).where(
                LocalMailMessage.org_id == self._org_id,
                LocalMailMessage.mailbox == mailbox.lower(),
                col(LocalMailMessage.thread_id) == message_id,
            )
        ).first()
        if taken is None:
            return message_id
        return (
            f"<{hashlib.sha256(f'{mailbox}{message_id}'.encode()).hexdigest()[:32]}@local.invalid>"
        )

    def _thread_of(
        self, session: Session, mailbox: str, parents: list[str], subject: str
    ) -> str | None:
        if not parents:
            return None
        known = session.exec(
            select(LocalMailMessage).where(
                LocalMailMessage.org_id == self._org_id,
                LocalMailMessage.mailbox == mailbox.lower(),
                col(LocalMailMessage.message_id).in_(parents),
            )
        ).all()
        # Gmail starts a new conversation when the subject changes, even with In-Reply-To.
        same_subject = [m for m in known if bare_subject(m.subject) == bare_subject(subject)]
        return same_subject[0].thread_id if same_subject else None

    def _row(
        self,
        mailbox: str,
        folder: str,
        email: OutboundEmail,
        thread_id: str,
        raw: str,
        now: datetime,
    ) -> LocalMailMessage:
        return LocalMailMessage(
            org_id=self._org_id,
            mailbox=mailbox.lower(),
            folder=folder,
            message_id=email.message_id,
            thread_id=thread_id,
            sender=email.sender,
            recipients=list(email.to),
            subject=email.subject,
            raw=raw,
            created_at=now,
        )


class _MailboxReader:
    """``MailReader`` over one mailbox of the embedded provider."""

    def __init__(self, mailbox: LocalMailbox, address: str) -> None:
        self._mailbox = mailbox
        self._address = address

    def fetch_new(self, cursor: str | None) -> InboundBatch:
        return self._mailbox.fetch_new(cursor, mailbox=self._address)


def _advance(position: _Cursor, rows: Sequence[LocalMailMessage]) -> _Cursor:
    if not rows:
        return position
    newest = _aware(rows[-1].created_at)
    at_newest = {r.id.hex for r in rows if _aware(r.created_at) == newest}
    if newest == position.after:
        at_newest |= position.seen
    return _Cursor(after=newest, seen=frozenset(at_newest))


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _uuids(hexes: frozenset[str]) -> list[uuid.UUID]:
    return [uuid.UUID(h) for h in hexes]


def _inbound(row: LocalMailMessage) -> InboundRaw:
    return InboundRaw(provider_id=row.id.hex, thread_id=row.thread_id, raw=_raw_bytes(row.raw))


_HEADERS_READ = 300_000  # the header parser's cost grows with what it is given


def _header(headers: object, name: str) -> str:
    """A header as text, or "" when it is one the parser cannot model."""
    try:
        value = headers.get(name)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a malformed header reads as absent
        return ""
    return str(value) if value is not None else ""


def _storable_id(message_id: str, raw: bytes) -> str:
    """The Message-ID the row is stored under: the message's own, or, when it has none or one
    no index can hold, one derived from its bytes (the raw message is left as it came)."""
    if message_id and len(message_id) <= MAX_ID_CHARS and clean_line(message_id) == message_id:
        return message_id
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@local.invalid>"


def _stored_raw(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text or text.startswith(_ENCODED):
        return _ENCODED + base64.b64encode(raw).decode("ascii")
    return text


def _raw_bytes(stored: str) -> bytes:
    if stored.startswith(_ENCODED):
        return base64.b64decode(stored[len(_ENCODED) :])
    return stored.encode()


def _first_id(value: str) -> str:
    found = _MSG_IDS.findall(value)
    return found[0] if found else ""


def _first_address(value: str) -> str:
    found = [a.lower() for _, a in getaddresses([value]) if a]
    return found[0] if found else ""
