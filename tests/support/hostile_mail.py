"""A corpus of hostile inbound emails, built in code, and what intake must make of each.

Each message is from the prospect (so it concerns the rep and, read or not, must reach them),
starts a new conversation (no In-Reply-To), and has its own subject, so every notice about it
is distinct. The attack suite delivers the same corpus to real processes; the tests run it
through the real intake on SQLite and PostgreSQL.

``expect``: ``read`` — stored as received, the rep told about it as usual; ``unreadable`` —
stored with what could be read, the rep told once that Convene could not read it;
``duplicate`` — another copy of an earlier message in the corpus, so no row of its own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

Expect = Literal["read", "unreadable", "duplicate"]

# Characters that must never reach a stored field or a Slack message.
NUL = "\x00"
BIDI = "\u202e\u2066\u2069\u202a"
INVISIBLE = "\u200b\u200d\ufeff\u2060"
CONTROL = "\x01\x07\x1b\x7f\x85\x9b"
FORBIDDEN = NUL + BIDI + INVISIBLE + CONTROL


@dataclass(frozen=True)
class HostileMail:
    name: str
    raw: bytes
    expect: Expect
    provider_id: str  # what a provider would call it; a duplicate has its own


def _headers(
    *, sender: str, to: str, subject: bytes, message_id: str | None, extra: bytes = b""
) -> bytes:
    date = format_datetime(datetime(2026, 11, 30, 16, 5, tzinfo=UTC)).encode()
    lines = [b"From: " + sender.encode(), b"To: " + to.encode(), b"Subject: " + subject]
    lines.append(b"Date: " + date)
    if message_id is not None:
        lines.append(b"Message-ID: " + message_id.encode())
    return b"\r\n".join(lines) + b"\r\n" + extra


def _plain(headers: bytes, body: bytes, *, charset: str = "utf-8", cte: str = "8bit") -> bytes:
    return (
        headers
        + f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n".encode()
        + f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode()
        + body
    )


def _encoded_word(text: str) -> bytes:
    return b"=?utf-8?b?" + base64.b64encode(text.encode()) + b"?="


def _deep(headers: bytes, depth: int) -> bytes:
    inner = b"Content-Type: text/plain; charset=utf-8\r\n\r\nAt the very bottom.\r\n"
    for level in range(depth):
        inner = (
            f'Content-Type: multipart/mixed; boundary="d{level}"\r\n\r\n--d{level}\r\n'.encode()
            + inner
            + f"\r\n--d{level}--\r\n".encode()
        )
    return headers + b"MIME-Version: 1.0\r\n" + inner


def _many(headers: bytes, parts: int) -> bytes:
    body = b"".join(b"--M\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % n for n in range(parts))
    return (
        headers
        + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="M"\r\n\r\n'
        + body
        + b"--M--\r\n"
    )


def _with_attachment(headers: bytes, *, size: int, filename: str) -> bytes:
    payload = base64.encodebytes(bytes(range(256)) * (size // 256))
    return (
        headers
        + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="A"\r\n\r\n'
        + b"--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + b"The contract is attached; can we discuss it on the call?\r\n"
        + b"--A\r\nContent-Type: application/octet-stream\r\n"
        + b'Content-Disposition: attachment; filename="'
        + filename.encode()
        + b'"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + payload
        + b"\r\n--A--\r\n"
    )


def hostile_corpus(
    *, sender: str, to: str, ours: str, domain: str = "mail.acme.example"
) -> list[HostileMail]:
    """The corpus, in delivery order. ``sender``: the prospect's address; ``to``: the rep's;
    ``ours``: a Message-ID Convene sent, which one message reuses."""
    name = "John Doe"

    def h(subject: bytes | str, key: str, *, message_id: str | None = "", extra: bytes = b""):  # noqa: ANN202
        subject_bytes = subject.encode() if isinstance(subject, str) else subject
        mid = f"<{key}@{domain}>" if message_id == "" else message_id
        return _headers(
            sender=f"{name} <{sender}>", to=to, subject=subject_bytes, message_id=mid, extra=extra
        )

    reused = "<reused-1@" + domain + ">"
    corpus = [
        HostileMail(
            "nul in the body",
            _plain(h("Nul body", "nul-body"), b"Hello\x00 Rita, Tuesday\x00 works.\r\n"),
            "read",
            "p-nul-body",
        ),
        HostileMail(
            "nul in an RFC 2047 subject",
            _plain(h(_encoded_word("Nul\x00 subject"), "nul-subject"), b"See the subject.\r\n"),
            "read",
            "p-nul-subject",
        ),
        HostileMail(
            "nul in the sender",
            _plain(
                _headers(
                    sender=f'"Jo\x00hn" <{sender.replace("@", chr(0) + "@")}>',
                    to=to,
                    subject=b"Nul sender",
                    message_id=f"<nul-from@{domain}>",
                ),
                b"Who am I?\r\n",
            ),
            "read",
            "p-nul-from",
        ),
        HostileMail(
            "control, bidi and zero-width characters everywhere",
            _plain(
                _headers(
                    sender=f"Jo\u202ehn\u200b <{sender}>",
                    to=to,
                    subject=_encoded_word("Invoice\u202e fdp.exe\u2066\u200b\x07"),
                    message_id=f"<bidi@{domain}>",
                ),
                "Pay\u202e now\ufeff\u2060 \x1b[31mred\x1b[0m\x85 \x9b done\r\n".encode(),
            ),
            "read",
            "p-bidi",
        ),
        HostileMail(
            "an unknown charset with 8-bit bytes",
            _plain(
                h(b"=?x-unknown-charset?q?Unknown_charset?=", "charset"),
                b"Caf\xe9 at 10? \xff\xfe\r\n",
                charset="x-unknown-charset",
            ),
            "read",
            "p-charset",
        ),
        HostileMail(
            "invalid UTF-8 in headers and body",
            _plain(h(b"Bad utf-8 \xc3\x28 \xff", "bad-utf8"), b"Broken \xc3\x28 text\r\n"),
            "read",
            "p-bad-utf8",
        ),
        HostileMail(
            "a base64 body that is not base64",
            _plain(h("Bad base64", "bad-base64"), b"!!!not base64 at all===\r\n", cte="base64"),
            "read",
            "p-bad-base64",
        ),
        HostileMail(
            "3,000-deep MIME nesting",
            _deep(h("Deep MIME", "deep"), 3_000),
            "unreadable",
            "p-deep",
        ),
        HostileMail(
            "20,000 MIME parts",
            _many(h("Many parts", "many"), 20_000),
            "unreadable",
            "p-many",
        ),
        HostileMail(
            "a 20 MB attachment with a spoofed file name",
            _with_attachment(
                h("Big attachment", "big"), size=20_000_000, filename="contract\u202efdp.exe"
            ),
            "read",
            "p-big",
        ),
        HostileMail(
            "a 200 KB subject",
            _plain(h(b"Long subject " + b"spam " * 40_000, "long-subject"), b"Hi.\r\n"),
            "unreadable",
            "p-long-subject",
        ),
        HostileMail(
            "a 10 KB Message-ID",
            _plain(h("Long id", "", message_id="<" + "x" * 10_000 + "@evil.example>"), b"Hi\r\n"),
            "read",
            "p-long-id",
        ),
        HostileMail(
            "no Message-ID",
            _plain(h("No id", "", message_id=None), b"Anonymous note.\r\n"),
            "read",
            "p-no-id",
        ),
        HostileMail(
            "a Message-ID equal to one of ours",
            _plain(h("Copied id", "", message_id=ours), b"I copied your Message-ID.\r\n"),
            "read",
            "p-ours",
        ),
        HostileMail(
            "a Message-ID, first use",
            _plain(h("Reused id, first", "", message_id=reused), b"The first message.\r\n"),
            "read",
            "p-reused-1",
        ),
        HostileMail(
            "the same message again under another provider id",
            _plain(h("Reused id, first", "", message_id=reused), b"The first message.\r\n"),
            "duplicate",
            "p-reused-1-copy",
        ),
        HostileMail(
            "a different message reusing that Message-ID",
            _plain(h("Reused id, second", "", message_id=reused), b"A different one.\r\n"),
            "read",
            "p-reused-2",
        ),
    ]
    return corpus


def plain_message(*, sender: str, to: str, subject: str, body: str, message_id: str) -> bytes:
    """A well-formed message (what follows the hostile ones in a batch)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return bytes(msg)
