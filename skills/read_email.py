"""Read an inbound email: parse raw MIME, clean the new text, classify what kind of mail it is.

The one place that strips quoted history and signatures (``skills.detect_intent`` reuses
:func:`clean_body`). Pure: bytes in, values out — no I/O, no clock, no SDK.

- :func:`parse_email` — RFC 5322 bytes → :class:`InboundEmail` (charset-decoded text; HTML
  turned into text when there is no plain part; large bodies truncated with a note, never
  dropped).
- :func:`clean_body` — the new part of a reply: Gmail "On … wrote:", ``>`` lines, Outlook
  "From:/Sent:" blocks and "-----Original Message-----", Apple Mail "Begin forwarded message" /
  "On … at …, X wrote:", and the signature removed.
- :func:`classify` — normal, auto_reply (with the stated return text), bounce (with the failed
  recipients) or calendar_reply (attendee and PARTSTAT).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Literal

MAX_BODY_CHARS = 100_000
TRUNCATION_NOTE = "\n\n[Message truncated by Convene: {kept} of {total} characters shown.]"

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
    msg: Message = BytesParser(policy=policy.default).parsebytes(raw)
    text, calendar, status = _bodies(msg)
    truncated = len(text) > max_chars
    if truncated:
        text = text[:max_chars] + TRUNCATION_NOTE.format(kept=max_chars, total=len(text))
    sender_name, sender = _first_address(msg, "From")
    return InboundEmail(
        message_id=_ids(_header(msg, "Message-ID"))[0] if _ids(_header(msg, "Message-ID")) else "",
        in_reply_to=next(iter(_ids(_header(msg, "In-Reply-To"))), None),
        references=tuple(_ids(_header(msg, "References"))),
        sender=sender,
        sender_name=sender_name,
        to=tuple(a for _, a in _addresses(msg, "To")),
        cc=tuple(a for _, a in _addresses(msg, "Cc")),
        subject=_header(msg, "Subject"),
        date=_date(_header(msg, "Date")),
        text=text,
        truncated=truncated,
        headers={k.lower(): _header(msg, k) for k in dict.fromkeys(msg.keys())},
        calendar=calendar,
        delivery_status=status,
        content_type=msg.get_content_type(),
    )


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, AttributeError):  # a header the parser cannot model
        value = msg.get_all(name, [None])[0] if hasattr(msg, "get_all") else None
    return " ".join(str(value).split()) if value is not None else ""


def _ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value)


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    values = [str(v) for v in msg.get_all(name, [])]
    return [(n, a.lower()) for n, a in getaddresses(values) if "@" in a]


def _first_address(msg: Message, name: str) -> tuple[str, str]:
    found = _addresses(msg, name)
    return found[0] if found else ("", "")


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload())
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "cp1252"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")  # never fails: every byte maps


def _bodies(msg: Message) -> tuple[str, str | None, str | None]:
    plain: list[str] = []
    htmls: list[str] = []
    calendar = status = None
    for part in _parts(msg):
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
        if ctype == "text/calendar" and calendar is None:
            calendar = _decoded(part)
        elif ctype == "text/plain" and not attached:
            plain.append(_decoded(part))
        elif ctype == "text/html" and not attached:
            htmls.append(_decoded(part))
    text = "\n".join(plain) if plain else "\n".join(html_to_text(h) for h in htmls)
    return text.replace("\r\n", "\n").replace("\r", "\n"), calendar, status


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


# --- cleaning ----------------------------------------------------------------------------------

# Lines that end the new part of an email: quoted history and forwarded blocks.
QUOTE_HEADERS: tuple[re.Pattern[str], ...] = (
    # Gmail / Apple Mail: "On Mon, Mar 2, 2026 at 9:14 AM Sam <sam@x> wrote:" (may wrap).
    re.compile(r"^\s*On\b[^\n]{0,200}(?:\n[^\n]{0,200}){0,2}?\bwrote:\s*$", re.MULTILINE),
    re.compile(r"^\s*-{2,}\s*(?:Original|Forwarded) Message\s*-{2,}", re.MULTILINE | re.IGNORECASE),
    re.compile(r"^\s*Begin forwarded message:", re.MULTILINE | re.IGNORECASE),
    re.compile(r"^\s*_{5,}\s*$", re.MULTILINE),  # Outlook's horizontal rule before headers
    # Outlook: "From: …" followed within a few lines by "Sent:/Date:/To:/Subject:".
    re.compile(
        r"^\s*\*?From:\*?\s.*\n(?:.*\n){0,3}?\s*\*?(?:Sent|Date|To|Subject):\*?\s", re.MULTILINE
    ),
    re.compile(
        r"^\s*Le .{0,200} a écrit\s*:\s*$|^\s*Am .{0,200} schrieb .{0,200}:\s*$", re.MULTILINE
    ),
)

# Lines that start a signature.
SIGNATURE_START = re.compile(
    r"^\s*(?:--\s*|__+|sent from my \w+.*|get outlook for .*|sent via .*|"
    r"(?:best|best regards|kind regards|warm regards|warmest regards|regards|many thanks|thanks|"
    r"thank you|thanks again|thanks so much|cheers|sincerely|yours|yours truly|talk soon|speak "
    r"soon|all the best|best wishes|with thanks|br|rgds|thx|tia)\s*[,.!]?)\s*$",
    re.IGNORECASE,
)

_CONTACT_LINE = re.compile(
    r"(?:\+?\d[\d\s().-]{7,}\d|https?://|www\.|\|)|^\s*\S+@\S+\s*$", re.IGNORECASE
)


def clean_body(text: str) -> str:
    """The new part of an email reply: quoted history, forwarded blocks and signature removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    cut = len(text)
    for header in QUOTE_HEADERS:
        match = header.search(text)
        if match is not None:
            cut = min(cut, match.start())
    lines = [line for line in text[:cut].split("\n") if not line.lstrip().startswith(">")]
    return "\n".join(_drop_signature(lines)).strip()


def _drop_signature(lines: list[str]) -> list[str]:
    """Cut at a sign-off ("Best," / "--" / "Sent from my phone") that follows some content."""
    has_content = False
    for index, line in enumerate(lines):
        if has_content and SIGNATURE_START.match(line):
            return lines[:index]
        has_content = has_content or bool(line.strip())
    # No sign-off: still drop a trailing block of phone numbers, links and "Title | Company".
    end = len(lines)
    while end > 1 and (not lines[end - 1].strip() or _CONTACT_LINE.search(lines[end - 1])):
        end -= 1
    return lines[:end]


# --- classification ----------------------------------------------------------------------------

_OOO_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?reply|autoreply|out of (?:the )?office|"
    r"ooo\b|away from (?:the )?office|on vacation|on holiday|abwesenheitsnotiz|"
    r"r[ée]ponse automatique|absence)",
    re.IGNORECASE,
)
_OOO_BODY = re.compile(
    r"\b(?:out of (?:the )?office|on (?:annual |parental |maternity |paternity )?leave|"
    r"away from (?:the |my )?(?:office|desk)|on vacation|limited access to (?:my )?e-?mail)\b",
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
    if not email.calendar:
        return None
    unfolded = re.sub(r"\r?\n[ \t]", "", email.calendar)
    if not re.search(r"^METHOD:REPLY\s*$", unfolded, re.IGNORECASE | re.MULTILINE):
        return None
    attendee = re.search(r"^ATTENDEE([^:\n]*):(?:mailto:)?([^\s]+)\s*$", unfolded, re.I | re.M)
    if attendee is None:
        return None
    partstat = re.search(r";PARTSTAT=([A-Z-]+)", attendee.group(1), re.IGNORECASE)
    uid = re.search(r"^UID:(.+?)\s*$", unfolded, re.MULTILINE)
    status = partstat.group(1).upper() if partstat else "NEEDS-ACTION"
    return Classification(
        kind="calendar_reply",
        attendee=attendee.group(2).lower(),
        partstat=status,
        event_uid=uid.group(1) if uid else None,
        reason=f"calendar REPLY: {status}",
    )


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
    elif _OOO_BODY.search(clean_body(email.text)[:600]) and len(clean_body(email.text)) < 600:
        reason = "out-of-office text"
    if not reason:
        return None
    match = _RETURN.search(email.text[:3000])
    when = " ".join(match.group("when").split()).rstrip(",.") if match else None
    return Classification(kind="auto_reply", return_text=when, reason=reason)
