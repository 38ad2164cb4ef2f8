"""Read an inbound email: parse raw MIME and classify what kind of mail it is.

Pure: bytes in, values out — no I/O, no clock, no SDK. The new part of a reply (quoted history
and signature removed) is :func:`skills.email_text.clean_body`.

- :func:`parse_email` — RFC 5322 bytes → :class:`InboundEmail` (charset-decoded text; HTML
  turned into text when there is no plain part; large bodies truncated with a note, never
  dropped).
- :func:`classify` — normal, auto_reply (with the stated return text), bounce (with the failed
  recipients) or calendar_reply (attendee and PARTSTAT).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Literal

from icalendar import Calendar, vCalAddress

from skills.clean_text import clean_line, clean_text

MAX_BODY_CHARS = 100_000
TRUNCATION_NOTE = "\n\n[Message truncated by Convene: {kept} of {total} characters shown.]"
# Caps that keep one hostile message from costing more than a fraction of a second, or from
# overflowing the stack (the standard parser recurses once per MIME level). A message over
# them is read only as far as its headers, and says why in ``problem``.
MAX_RAW_BYTES = 40_000_000  # a 25 MB attachment, base64-encoded, still fits
MAX_HEADER_BYTES = 16_000  # one header field, folded lines included
MAX_HEADER_BLOCK_BYTES = 256_000
MAX_MULTIPARTS = 60  # multipart containers, an upper bound on nesting depth
MAX_PARTS = 1_000
MAX_SIDE_TEXT_CHARS = 20_000  # a calendar or delivery-status part
MAX_ADDRESSES = 100
MAX_REFERENCES = 50
MAX_ATTACHMENTS = 50
MAX_HEADER_NAMES = 100

Kind = Literal["normal", "auto_reply", "bounce", "calendar_reply"]


@dataclass(frozen=True)
class InboundEmail:
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: str  # bare address, lower-case
    sender_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str  # full decoded text (HTML converted), possibly truncated with a note
    truncated: bool
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, first value
    calendar: str | None = None  # a text/calendar part, decoded
    delivery_status: str | None = None  # a message/delivery-status part, as text
    content_type: str = "text/plain"
    attachments: tuple[str, ...] = ()  # file names, as cleaned text
    problem: str | None = None  # why the message could be read only in part


@dataclass(frozen=True)
class Classification:
    kind: Kind
    return_text: str | None = None  # auto_reply: "Monday, March 16" as written
    failed_recipients: tuple[str, ...] = ()  # bounce
    attendee: str | None = None  # calendar_reply
    partstat: str | None = None  # calendar_reply: ACCEPTED | DECLINED | TENTATIVE ...
    event_uid: str | None = None
    reason: str = ""


# --- parsing -----------------------------------------------------------------------------------


def parse_email(raw: bytes, *, max_chars: int = MAX_BODY_CHARS) -> InboundEmail:
    """Every text field comes out through :func:`skills.clean_text.clean_text`; a message over
    the caps, or one the parser chokes on, comes back with its headers and a ``problem``."""
    problems: list[str] = []
    if len(raw) > MAX_RAW_BYTES:
        problems.append(f"it is {len(raw):,} bytes, over the {MAX_RAW_BYTES:,} Convene reads")
        raw = raw[:MAX_RAW_BYTES]
    raw, header_notes = _capped_headers(raw)
    problems += header_notes
    msg, whole = _parse(raw, problems)
    text, calendar, status = "", None, None
    attachments: tuple[str, ...] = ()
    if whole:
        try:
            text, calendar, status, attachments = _bodies(msg)
        except Exception as exc:  # noqa: BLE001 - a body we cannot walk still has headers
            problems.append(f"its body could not be decoded ({type(exc).__name__})")
    text = clean_text(text)
    truncated = len(text) > max_chars
    if truncated:
        text = text[:max_chars] + TRUNCATION_NOTE.format(kept=max_chars, total=len(text))
    sender_name, sender = _first_address(msg, "From")
    message_ids = _ids(_header(msg, "Message-ID"))
    return InboundEmail(
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=next(iter(_ids(_header(msg, "In-Reply-To"))), None),
        references=tuple(_ids(_header(msg, "References"))[-MAX_REFERENCES:]),
        sender=sender,
        sender_name=sender_name,
        to=tuple(a for _, a in _addresses(msg, "To"))[:MAX_ADDRESSES],
        cc=tuple(a for _, a in _addresses(msg, "Cc"))[:MAX_ADDRESSES],
        subject=_header(msg, "Subject"),
        date=_date(_header(msg, "Date")),
        text=text,
        truncated=truncated,
        headers={k.lower(): _header(msg, k) for k in _header_names(msg)},
        calendar=_side_text(calendar),
        delivery_status=_side_text(status),
        content_type=_content_type(msg),
        attachments=attachments,
        problem="; ".join(problems) or None,
    )


def _parse(raw: bytes, problems: list[str]) -> tuple[Message, bool]:
    """The whole message when its structure is within the caps, else its headers only (and
    False)."""
    body = raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[-1]
    # Upper bounds read off the bytes, before the recursive parser ever sees them.
    containers = len(_MULTIPART.findall(raw))
    delimiters = len(_DELIMITER.findall(body))
    if containers > MAX_MULTIPARTS:
        problems.append(f"it nests {containers:,} MIME containers (Convene reads {MAX_MULTIPARTS})")
    elif delimiters > MAX_PARTS:
        problems.append(f"it has {delimiters:,} MIME parts (Convene reads {MAX_PARTS:,})")
    else:
        try:
            return BytesParser(policy=policy.default).parsebytes(raw), True
        except Exception as exc:  # noqa: BLE001 - RecursionError, and whatever else a parser hits
            problems.append(f"its MIME structure could not be parsed ({type(exc).__name__})")
    return BytesParser(policy=policy.default).parsebytes(raw, headersonly=True), False


_MULTIPART = re.compile(rb"^content-type:[ \t]*multipart/", re.IGNORECASE | re.MULTILINE)
_DELIMITER = re.compile(rb"^--\S", re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _capped_headers(raw: bytes) -> tuple[bytes, list[str]]:
    """The raw message with each header field, and the header block, cut to the caps (the
    header parser's cost grows faster than the header's length)."""
    end = _HEADER_END.search(raw)
    block, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    fields = _header_fields(block)
    if len(block) <= MAX_HEADER_BLOCK_BYTES and all(len(f) <= MAX_HEADER_BYTES for f in fields):
        return raw, []
    notes: list[str] = []
    if any(len(f) > MAX_HEADER_BYTES for f in fields):
        notes.append(f"a header is over {MAX_HEADER_BYTES:,} bytes and was cut")
    kept: list[bytes] = []
    size = 0
    for item in fields:
        item = item[:MAX_HEADER_BYTES].rstrip(b"\r\n")
        if size + len(item) > MAX_HEADER_BLOCK_BYTES:
            notes.append(f"its headers are over {MAX_HEADER_BLOCK_BYTES:,} bytes; the rest was cut")
            break
        kept.append(item)
        size += len(item) + 2
    return b"\r\n".join(kept) + rest, notes


def _header_fields(block: bytes) -> list[bytes]:
    """Header fields with their folded continuation lines."""
    fields: list[bytes] = []
    for line in block.split(b"\n"):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
    return fields


def _header(msg: Message, name: str) -> str:
    try:
        value: object = msg.get(name)
    except Exception:  # noqa: BLE001 - a header the parser cannot model: read it as raw text
        value = _raw_header(msg, name)
    return clean_line(str(value)) if value is not None else ""


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            try:
                return str(make_header(decode_header(str(value))))
            except Exception:  # noqa: BLE001 - an encoded word we cannot decode stays as sent
                return str(value)
    return None


def _header_names(msg: Message) -> list[str]:
    return list(dict.fromkeys(clean_line(k) for k in msg))[:MAX_HEADER_NAMES]


def _content_type(msg: Message) -> str:
    try:
        return msg.get_content_type()
    except Exception:  # noqa: BLE001 - an unparseable Content-Type reads as plain text
        return "text/plain"


def _side_text(value: str | None) -> str | None:
    return clean_text(value[:MAX_SIDE_TEXT_CHARS]) if value is not None else None


def _ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value)


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    try:
        values = [str(v) for v in msg.get_all(name, [])]
    except Exception:  # noqa: BLE001 - an address header the parser cannot model
        values = [str(_raw_header(msg, name) or "")]
    pairs = getaddresses(values)[: MAX_ADDRESSES * 2]
    found = [(clean_line(n), "".join(clean_line(a).split()).lower()) for n, a in pairs]
    return [(n, a) for n, a in found if "@" in a]


def _first_address(msg: Message, name: str) -> tuple[str, str]:
    found = _addresses(msg, name)
    return found[0] if found else ("", "")


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload())
    payload = payload[: MAX_BODY_CHARS * 4]  # enough bytes for the characters kept
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "cp1252"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return payload.decode("latin-1")  # never fails: every byte maps


def _bodies(msg: Message) -> tuple[str, str | None, str | None, tuple[str, ...]]:
    plain: list[str] = []
    htmls: list[str] = []
    names: list[str] = []
    calendar = status = None
    for part in _parts(msg)[:MAX_PARTS]:
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            # The parser models each per-recipient block as a small header-only message.
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else [payload]
            status = "\n\n".join(str(b).strip() for b in blocks)
            continue
        if part.is_multipart():
            continue
        attached = part.get_content_disposition() == "attachment"
        filename = part.get_filename()
        if filename and len(names) < MAX_ATTACHMENTS:
            names.append(clean_line(str(filename))[:255])
        if ctype == "text/calendar" and calendar is None:
            calendar = _decoded(part)
        elif ctype == "text/plain" and not attached:
            plain.append(_decoded(part))
        elif ctype == "text/html" and not attached:
            htmls.append(_decoded(part))
    text = "\n".join(plain) if plain else "\n".join(html_to_text(h) for h in htmls)
    return text.replace("\r\n", "\n").replace("\r", "\n"), calendar, status, tuple(names)


def _parts(msg: Message) -> list[Message]:
    """Leaf parts and report parts, without descending into attached messages or DSN blocks
    (their texts are not the sender's words)."""
    if msg.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
        return [msg]
    if msg.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
        return []
    if not msg.is_multipart():
        return [msg]
    payload = msg.get_payload()
    children = payload if isinstance(payload, list) else []
    return [leaf for child in children if isinstance(child, Message) for leaf in _parts(child)]


class _TextExtractor(HTMLParser):
    _BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "blockquote", "table", "hr"}
    _SKIP = {"style", "script", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag == "blockquote" or ("class", "gmail_quote") in attrs:
            self.quote_depth += 1
            self.out.append("\n")
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
            self.out.append("\n")
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        text = re.sub(r"[ \t\r\n]+", " ", data)
        if self.quote_depth and text.strip():
            # Quoted HTML history becomes "> " lines, which clean_body then removes.
            text = "> " + text.strip()
        self.out.append(text)


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = [line.strip().replace("\xa0", " ") for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    return html.unescape(re.sub(r"\n{3,}", "\n\n", text)).strip()


# --- classification ----------------------------------------------------------------------------

_OOO_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?reply|autoreply|out of (?:the )?office|"
    r"ooo\b|away from (?:the )?office|on vacation|on holiday|abwesenheitsnotiz|"
    r"r[ée]ponse automatique|absence)",
    re.IGNORECASE,
)
_RETURN = re.compile(
    r"\b(?:(?:back|return(?:ing)?|returns|in the office)\s+(?:to the office\s+)?"
    r"(?:on|from|after|by)?|until|till|through)\s*(?P<when>(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
    r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r"(?:,?\s+\d{4})?|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|"
    r"sept|oct|nov|dec)[a-z]*(?:\s+\d{4})?|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{4}-\d{2}-\d{2}|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|tomorrow|next week))",
    re.IGNORECASE,
)
_BOUNCE_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification \(failure\)|delivery has failed|"
    r"mail delivery (?:failed|subsystem)|returned mail|failure notice|could not be delivered",
    re.IGNORECASE,
)
_FINAL_RECIPIENT = re.compile(
    r"^(?:final|original)-recipient:\s*(?:rfc822;)?\s*<?([^\s<>;]+@[^\s<>;]+)>?",
    re.IGNORECASE | re.MULTILINE,
)
_ACTION_FAILED = re.compile(r"^action:\s*failed", re.IGNORECASE | re.MULTILINE)
_BODY_ADDRESS = re.compile(r"<?\b([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})\b>?")


def classify(email: InboundEmail) -> Classification:
    """What kind of mail this is, before the negotiator reads it."""
    calendar = _calendar_reply(email)
    if calendar is not None:
        return calendar
    bounce = _bounce(email)
    if bounce is not None:
        return bounce
    auto = _auto_reply(email)
    if auto is not None:
        return auto
    return Classification(kind="normal")


def _calendar_reply(email: InboundEmail) -> Classification | None:
    """An iTIP REPLY (RFC 5546): who answered the invitation, and how."""
    if not email.calendar:
        return None
    try:
        calendar = Calendar.from_ical(email.calendar)
    except ValueError:
        return None  # not iCalendar after all: read as ordinary mail
    if str(calendar.get("METHOD", "")).upper() != "REPLY":
        return None
    for event in calendar.walk("VEVENT"):
        found = event.get("ATTENDEE")
        for attendee in found if isinstance(found, list) else [found] if found else []:
            address = _attendee_address(attendee)
            if address is None:
                continue
            status = str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
            uid = event.get("UID")
            return Classification(
                kind="calendar_reply",
                attendee=address,
                partstat=status,
                event_uid=str(uid) if uid else None,
                reason=f"calendar REPLY: {status}",
            )
    return None


def _attendee_address(attendee: vCalAddress) -> str | None:
    """The answering address: the mailto: value, or Apple's EMAIL parameter beside a urn:uuid."""
    for candidate in (str(attendee), str(attendee.params.get("EMAIL", ""))):
        value = re.sub(r"^mailto:", "", candidate.strip(), flags=re.IGNORECASE).lower()
        if _BODY_ADDRESS.fullmatch(value):
            return value
    return None


def _bounce(email: InboundEmail) -> Classification | None:
    report = "multipart/report" in email.content_type and bool(email.delivery_status)
    daemon = bool(_BOUNCE_SENDER.match(email.sender)) or email.sender_name.lower().startswith(
        "mail delivery"
    )
    if not report and not (daemon and _BOUNCE_SUBJECT.search(email.subject)):
        return None
    failed: list[str] = []
    if email.delivery_status:
        for block in re.split(r"\n\s*\n", email.delivery_status):
            if _ACTION_FAILED.search(block) or "action:" not in block.lower():
                failed += [a.lower() for a in _FINAL_RECIPIENT.findall(block)]
    status = (email.delivery_status or "").lower()
    if report and not failed and "action:" in status:
        return None  # every recipient delivered, delayed or relayed: not a failure
    if not failed:
        mailbox = email.headers.get("x-failed-recipients", "")
        failed = [a.lower() for a in _BODY_ADDRESS.findall(mailbox)]
    if not failed:
        # Text-only bounces name the address in the first lines of the body.
        failed = [
            a.lower()
            for a in _BODY_ADDRESS.findall(email.text[:2000])
            if not _BOUNCE_SENDER.match(a) and a.lower() != email.sender
        ][:1]
    return Classification(
        kind="bounce",
        failed_recipients=tuple(dict.fromkeys(failed)),
        reason="delivery status report" if report else "mailer-daemon",
    )


def _auto_reply(email: InboundEmail) -> Classification | None:
    h = email.headers
    reason = ""
    auto_submitted = h.get("auto-submitted", "").lower()
    if auto_submitted and auto_submitted != "no":
        reason = f"Auto-Submitted: {auto_submitted}"
    elif (
        "x-autoreply" in h
        or "x-autorespond" in h
        or "x-auto-response-suppress" in h
        and (_OOO_SUBJECT.search(email.subject))
    ):
        reason = "X-Autoreply"
    elif h.get("precedence", "").lower() in {"auto_reply", "bulk", "junk"}:
        reason = f"Precedence: {h['precedence'].lower()}"
    elif _OOO_SUBJECT.search(email.subject):
        reason = "out-of-office subject"
    # Words alone never make an auto-reply: "They are both out of the office that day. Sorry it
    # didn't work out." is a person declining. An away note with no header or subject to mark
    # it is read as a reply (the intent reader knows away notes) and reaches the rep.
    if not reason:
        return None
    match = _RETURN.search(email.text[:3000])
    when = " ".join(match.group("when").split()).rstrip(",.") if match else None
    return Classification(kind="auto_reply", return_text=when, reason=reason)
