"""RFC 5322 messages built only through the email library's header API.

Untrusted text (prospect names, subjects, addresses) goes into headers here and nowhere else.
`email.policy.SMTP` refuses a raw CR or LF in a header value, but on the Python versions we run
it *decodes* RFC 2047 encoded words on assignment (``=?utf-8?q?x=0D=0ABcc:_y?=`` becomes a real
``Bcc:`` line when serialised, CVE-2024-6923), so every value is also checked after decoding,
and the finished message is parsed back and must carry exactly the headers we set. Anything
else raises :class:`UnsafeHeaderError` — a permanent failure, never a mangled send.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from email.header import decode_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP, default
from email.utils import format_datetime

from connectors.errors import PermanentError
from connectors.mail.outbound import thread_references, thread_subject
from connectors.ports import OutboundEmail


class UnsafeHeaderError(PermanentError, ValueError):
    """A header value could change the message's header set; the email is not sent.

    Also a ValueError, so callers that caught the email library's own ValueError still do.
    """


# Line breaks in any Unicode sense (str.splitlines), other C0/C1 controls and DEL: none of them
# belongs in a header, and several are line separators to some mail software.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
# ASCII addr-spec; internationalised addresses are refused rather than guessed at.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})+"
_ADDR_SPEC = re.compile(rf"{_LOCAL}@{_DOMAIN}")
_NAME_ADDR = re.compile(r"\s*(?P<name>.*?)\s*<(?P<addr>[^<>]*)>\s*", re.DOTALL)
_MSG_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")  # printable ASCII without <, >, space
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,75}")
# Headers we own: a caller-supplied extra header may not shadow or duplicate them.
_OWNED = {
    "message-id",
    "date",
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "in-reply-to",
    "references",
    "sender",
    "reply-to",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
}
_STRUCTURAL = {"mime-version", "content-type", "content-transfer-encoding"}


def safe_text(value: str, *, what: str) -> str:
    """``value`` unchanged if it is a single header-safe line, raw and RFC 2047-decoded."""
    if _CONTROL.search(value):
        raise UnsafeHeaderError(f"{what} contains a line break or control character")
    if "=?" in value:
        try:
            decoded = "".join(
                part.decode(charset or "ascii", "replace") if isinstance(part, bytes) else part
                for part, charset in decode_header(value)
            )
        except (LookupError, ValueError) as exc:  # unknown charset or malformed word
            raise UnsafeHeaderError(f"{what} has a malformed encoded word") from exc
        if _CONTROL.search(decoded):
            raise UnsafeHeaderError(f"{what} hides a line break in an encoded word")
    return value


def parse_address(value: str) -> Address:
    """``"Name <a@b.example>"`` or ``"a@b.example"`` → a validated :class:`Address`."""
    safe_text(value, what="address")
    match = _NAME_ADDR.fullmatch(value)
    name, addr = (match["name"], match["addr"].strip()) if match else ("", value.strip())
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not _ADDR_SPEC.fullmatch(addr):
        raise UnsafeHeaderError(f"not an email address: {addr[:80]!r}")
    safe_text(name, what="display name")
    local, domain = addr.rsplit("@", 1)
    try:
        return Address(display_name=name, username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise UnsafeHeaderError(f"not an email address: {addr[:80]!r}") from exc


def _message_id(value: str, *, what: str) -> str:
    if not _MSG_ID.fullmatch(value):
        raise UnsafeHeaderError(f"{what} is not an RFC 5322 msg-id: {value[:80]!r}")
    return value


def build_mime(email: OutboundEmail, *, date: datetime) -> EmailMessage:
    """The message as it goes on the wire.

    text/plain alone; or multipart/alternative (plain, HTML, ``text/calendar; method=…``) with
    the ICS also attached as ``invite.ics`` for clients that only look at attachments. A reply
    gets "Re:" and a References chain ending in its parent (see :mod:`connectors.mail.outbound`).
    """
    msg = EmailMessage(policy=SMTP)
    expected: list[str] = []

    def put(name: str, value: str | Address | Sequence[Address]) -> None:
        msg[name] = value  # the header API takes Address objects
        expected.append(name.lower())

    put("Message-ID", _message_id(email.message_id, what="Message-ID"))
    put("Date", format_datetime(date))
    sender = parse_address(email.sender)
    to = [parse_address(a) for a in email.to]
    cc = [parse_address(a) for a in email.cc]
    if not to:
        raise UnsafeHeaderError("an email needs at least one recipient")
    put("From", sender)
    put("To", to)
    if cc:
        put("Cc", cc)
    subject = thread_subject(email.subject, replying=bool(email.in_reply_to))
    put("Subject", safe_text(subject, what="subject"))
    if email.in_reply_to:
        put("In-Reply-To", _message_id(email.in_reply_to, what="In-Reply-To"))
    references = thread_references(email.in_reply_to, list(email.references))
    if references:
        put("References", " ".join(_message_id(r, what="References") for r in references))
    for name, value in email.headers.items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _OWNED:
            raise UnsafeHeaderError(f"header {name[:40]!r} may not be set by the caller")
        put(name, safe_text(value, what=name))

    msg.set_content(email.body)
    if email.html is not None:
        msg.add_alternative(email.html, subtype="html")
    if email.ics is not None:
        method = email.ics_method.upper()
        if method not in {"REQUEST", "CANCEL", "PUBLISH", "REPLY", "COUNTER"}:
            raise UnsafeHeaderError(f"unsupported calendar method {method[:20]!r}")
        if f"METHOD:{method}".encode() not in email.ics:
            # Outlook shows "not supported calendar message" when the two disagree.
            raise PermanentError(f"ICS METHOD does not match {method}")
        msg.add_alternative(
            email.ics,
            maintype="text",
            subtype="calendar",
            params={"method": method, "charset": "utf-8"},
        )
        msg.make_mixed()
        msg.add_attachment(email.ics, maintype="application", subtype="ics", filename="invite.ics")
    _verify(msg, expected, [sender, *to, *cc])
    return msg


def _verify(msg: EmailMessage, expected: Iterable[str], addresses: list[Address]) -> None:
    """Parse the serialised message back: the header set and addresses must be exactly ours."""
    parsed = BytesParser(policy=default).parsebytes(msg.as_bytes())
    got = Counter(k.lower() for k in parsed if k.lower() not in _STRUCTURAL)
    if got != Counter(expected) or parsed.defects:
        raise UnsafeHeaderError("the message would not carry exactly the intended headers")
    parsed_addrs = [
        a.addr_spec.lower()
        for name in ("From", "To", "Cc")
        for header in [parsed.get(name)]
        if header is not None
        for a in header.addresses
    ]
    if parsed_addrs != [a.addr_spec.lower() for a in addresses]:
        raise UnsafeHeaderError("an address would not survive serialisation unchanged")


def message_bytes(email: OutboundEmail, *, date: datetime) -> bytes:
    """The wire bytes (CRLF line endings) providers that take raw MIME expect."""
    return build_mime(email, date=date).as_bytes()
