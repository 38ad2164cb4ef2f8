"""The embedded mailbox, stored in the database: a send lands in the sender's Sent folder and
in each recipient's inbox, like a provider would do it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from connectors.mail.mime import build_mime
from connectors.ports import Clock, OutboundEmail, SentEmail
from db.models import LocalMailMessage


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
        rows += [self._row(to, "inbox", email, thread_id, raw, now) for to in email.to]
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
