"""Any other provider: SMTP to send, IMAP to keep the Sent copy, reconcile and read replies.

Plain SMTP has no idempotency key. We narrow the gap instead: the Sent copy is appended over
IMAP right after the server accepted the message, and ``find_sent`` searches Sent for our
Message-ID. A timeout *after* the server accepted DATA but before the append still looks
unsent — the one case where a retry can duplicate an email (providers that file SMTP sends in
Sent themselves, like Gmail and Fastmail, close it: set ``save_sent=False`` for them).

Threads: SMTP has no thread ids, so the thread is named by its root Message-ID (the first
References entry), which is what every reply carries.
"""

from __future__ import annotations

import imaplib
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from email import policy
from email.parser import BytesHeaderParser
from typing import Any, TypeVar

from connectors.errors import PermanentError, ReconnectRequired, TransientError
from connectors.mail.mime import build_mime, parse_address
from connectors.ports import Clock, InboundBatch, InboundRaw, OutboundEmail, SentEmail

DEFAULT_TIMEOUT = 30.0
RESYNC_WINDOW = timedelta(days=8)
_MSG_ID = re.compile(r"<[^<>\s]+>")

T = TypeVar("T")


class SmtpImapMailbox:
    """One mailbox reached over SMTP (send) and IMAP (Sent copy, lookup, inbound)."""

    def __init__(
        self,
        *,
        clock: Clock,
        smtp_host: str,
        imap_host: str,
        username: str,
        password: str,
        smtp_port: int = 587,
        imap_port: int = 993,
        smtp_security: str = "starttls",  # "starttls" | "ssl" | "none" (tests only)
        imap_ssl: bool = True,
        sent_folder: str = "Sent",
        inbox: str = "INBOX",
        save_sent: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        imap_username: str | None = None,
        imap_password: str | None = None,
    ) -> None:
        """``username``/``password`` log in to SMTP (skipped when empty: a relay that trusts
        the network) and, unless ``imap_username``/``imap_password`` are given, to IMAP."""
        if smtp_security not in {"starttls", "ssl", "none"}:
            raise ValueError(f"unknown smtp_security {smtp_security!r}")
        self._clock = clock
        self._smtp = (smtp_host, smtp_port, smtp_security)
        self._imap = (imap_host, imap_port, imap_ssl)
        self._user = username
        self._password = password
        self._imap_user = imap_username or username
        self._imap_password = imap_password or password
        self._sent = sent_folder
        self._inbox = inbox
        self._save_sent = save_sent
        self._timeout = timeout
        self._ssl = ssl_context or ssl.create_default_context()

    def check_login(self) -> None:
        """Log in to both servers and do nothing else (`convene doctor`); raises as a send would."""
        self._smtp_call(lambda smtp: smtp.noop())
        self._imap_call(lambda imap: imap.noop())

    # --- MailPort -----------------------------------------------------------------------------

    def send(self, email: OutboundEmail) -> SentEmail:
        raw = build_mime(email, date=self._clock.now()).as_bytes()
        sender = parse_address(email.sender).addr_spec
        recipients = [parse_address(a).addr_spec for a in (*email.to, *email.cc)]
        self._smtp_call(lambda smtp: smtp.sendmail(sender, recipients, raw))
        if self._save_sent:
            # A failed append must not turn a delivered email into a retried one: the send
            # succeeded, so only the Sent copy is missing (find_sent may then miss it).
            with suppress(TransientError):
                self._imap_call(lambda imap: self._append_sent(imap, raw))
        return SentEmail(
            message_id=email.message_id, provider_id=email.message_id, thread_id=_thread_of(raw)
        )

    def find_sent(self, *, sender: str, message_id: str) -> SentEmail | None:
        if not _MSG_ID.fullmatch(message_id.strip()):
            raise PermanentError(f"not a Message-ID: {message_id[:80]!r}")

        def search(imap: imaplib.IMAP4) -> SentEmail | None:
            _check(imap.select(_quote(self._sent), readonly=True))
            typ, data = imap.uid("SEARCH", "HEADER", "Message-ID", _quote(message_id.strip()))
            _check((typ, data))
            uids = (data[0] or b"").split()
            if not uids:
                return None
            headers = self._fetch(imap, uids[0], "BODY.PEEK[HEADER]")
            return SentEmail(
                message_id=message_id,
                provider_id=message_id,
                thread_id=_thread_of(headers or b""),
            )

        return self._imap_call(search)

    # --- MailReader ---------------------------------------------------------------------------

    def fetch_new(self, cursor: str | None) -> InboundBatch:
        def read(imap: imaplib.IMAP4) -> InboundBatch:
            _check(imap.select(_quote(self._inbox), readonly=True))  # readonly: leave \Seen alone
            validity = _response_int(imap, "UIDVALIDITY")
            typ, data = imap.uid("SEARCH", "ALL")
            _check((typ, data))
            all_uids = [int(u) for u in (data[0] or b"").split()]
            top = max(all_uids, default=0)
            if cursor is None:
                return InboundBatch(messages=[], cursor=f"{validity}:{top}")
            old_validity, _, last = cursor.partition(":")
            if old_validity == str(validity):
                wanted = [u for u in all_uids if u > int(last)]
            else:
                # UIDVALIDITY changed: old UIDs mean nothing; re-read the recent inbox.
                since = (self._clock.now() - RESYNC_WINDOW).strftime("%d-%b-%Y")
                typ, data = imap.uid("SEARCH", "SINCE", since)
                _check((typ, data))
                wanted = [int(u) for u in (data[0] or b"").split()]
            messages = []
            for uid in wanted:
                raw = self._fetch(imap, str(uid).encode(), "BODY.PEEK[]")
                if raw is not None:
                    messages.append(
                        InboundRaw(
                            provider_id=f"{validity}:{uid}", thread_id=_thread_of(raw), raw=raw
                        )
                    )
            return InboundBatch(messages=messages, cursor=f"{validity}:{max([top, *wanted])}")

        return self._imap_call(read)

    # --- internals ----------------------------------------------------------------------------

    def _append_sent(self, imap: imaplib.IMAP4, raw: bytes) -> None:
        when = imaplib.Time2Internaldate(time.mktime(self._clock.now().timetuple()))
        _check(imap.append(_quote(self._sent), r"(\Seen)", when, raw))

    @staticmethod
    def _fetch(imap: imaplib.IMAP4, uid: bytes, item: str) -> bytes | None:
        typ, data = imap.uid("FETCH", uid.decode(), f"({item})")
        _check((typ, data))
        for part in data:
            if isinstance(part, tuple) and len(part) == 2:
                return bytes(part[1])
        return None  # expunged meanwhile

    @contextmanager
    def _smtp_session(self) -> Iterator[smtplib.SMTP]:
        host, port, security = self._smtp
        smtp: smtplib.SMTP
        if security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=self._timeout, context=self._ssl)
        else:
            smtp = smtplib.SMTP(host, port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if security == "starttls":
                smtp.starttls(context=self._ssl)
                smtp.ehlo()
            if self._user:
                smtp.login(self._user, self._password)
            yield smtp
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _smtp_call(self, action: Callable[[smtplib.SMTP], object]) -> None:
        try:
            with self._smtp_session() as smtp:
                action(smtp)
        except smtplib.SMTPAuthenticationError as exc:
            raise ReconnectRequired(f"smtp: login refused ({exc.smtp_code})") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            text = f"smtp: recipients refused: {sorted(exc.recipients)}"
            temporary = all(400 <= c < 500 for c in codes)  # greylisting, mailbox busy
            raise (TransientError(text) if temporary else PermanentError(text)) from exc
        except smtplib.SMTPResponseException as exc:
            error = exc.smtp_error
            detail = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
            text = f"smtp: {exc.smtp_code} {detail}"
            temporary = 400 <= exc.smtp_code < 500
            raise (TransientError(text) if temporary else PermanentError(text)) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise TransientError(f"smtp: disconnected: {exc}") from exc
        except smtplib.SMTPException as exc:
            # Before OSError: SMTPException subclasses it. No AUTH/STARTTLS offered, etc.:
            # a configuration problem that retrying cannot fix.
            raise PermanentError(f"smtp: {type(exc).__name__}: {exc}") from exc
        except (TimeoutError, OSError) as exc:
            raise TransientError(f"smtp: {type(exc).__name__}: {exc}") from exc

    def _imap_call(self, action: Callable[[imaplib.IMAP4], T]) -> T:
        host, port, use_ssl = self._imap
        try:
            imap = (
                imaplib.IMAP4_SSL(host, port, ssl_context=self._ssl, timeout=self._timeout)
                if use_ssl
                else imaplib.IMAP4(host, port, timeout=self._timeout)
            )
        except OSError as exc:
            raise TransientError(f"imap: {type(exc).__name__}: {exc}") from exc
        try:
            try:
                imap.login(self._imap_user, self._imap_password)
            except imaplib.IMAP4.error as exc:
                raise ReconnectRequired(f"imap: login refused: {exc}") from exc
            return action(imap)
        except imaplib.IMAP4.abort as exc:
            raise TransientError(f"imap: connection lost: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            raise PermanentError(f"imap: {exc}") from exc
        except OSError as exc:
            raise TransientError(f"imap: {type(exc).__name__}: {exc}") from exc
        finally:
            with suppress(imaplib.IMAP4.error, OSError):
                imap.logout()


def _check(result: tuple[str, Any]) -> None:
    typ, data = result
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{typ} {data!r}")


def _quote(value: str) -> str:
    """An IMAP quoted string (folder names and search keys may contain spaces)."""
    if any(c in value for c in "\r\n\0"):
        raise PermanentError("line break in an IMAP argument")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _response_int(imap: imaplib.IMAP4, name: str) -> int:
    typ, data = imap.response(name)
    value = data[0] if data else None
    if value is None:
        raise imaplib.IMAP4.error(f"server sent no {name}")
    return int(value)


def _thread_of(raw: bytes) -> str:
    """The thread's root Message-ID: first References entry, else In-Reply-To, else itself."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    for name in ("References", "In-Reply-To", "Message-ID"):
        ids = _MSG_ID.findall(str(headers.get(name, "")))
        if ids:
            return str(ids[0])
    return ""
