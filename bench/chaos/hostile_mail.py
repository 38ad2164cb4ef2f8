"""Inbound mail built to break a mailbox reader (issue #12, point 1), addressed to one rep.

The project's corpus (`tests/support/hostile_mail.py`, with what intake must make of each
message) is used when it exists; otherwise these, whose only expectation is that the mailbox
keeps moving.
"""

from __future__ import annotations

import base64
import importlib
import uuid

BIDI_AND_INVISIBLE = "\u202e\u2066\u200b\u200d\ufeff"


def _mid(tag: str) -> str:
    return f"<{tag}.{uuid.uuid4().hex[:12]}@hostile.example>"


def _message(
    *,
    to: str,
    subject: str = "Hello",
    body: bytes = b"Hello there.",
    sender: str = "someone@hostile.example",
    message_id: str | None = "",
    headers: str = "",
    content_type: str = 'text/plain; charset="utf-8"',
) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    if message_id is not None:
        lines.append(f"Message-ID: {message_id or _mid('h')}")
    lines += ["Date: Mon, 7 Dec 2026 09:00:00 +0000", "MIME-Version: 1.0"]
    lines.append(f"Content-Type: {content_type}")
    if headers:
        lines.append(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _nested(depth: int) -> bytes:
    """`depth` multiparts, each the only part of the one above."""
    head = b"".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
        for i in range(depth)
    )
    tail = b"".join(f"\r\n--b{i}--\r\n".encode() for i in reversed(range(depth)))
    return head + b"Content-Type: text/plain\r\n\r\ndeep\r\n" + tail


def _many_parts(count: int) -> bytes:
    part = b"--p\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return part * count + b"--p--\r\n"


def _attachment(size: int) -> bytes:
    data = base64.encodebytes(b"\0" * size)
    return (
        b"--a\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--a\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="big.bin"\r\n\r\n' + data + b"--a--\r\n"
    )


def own_corpus(
    to: str, *, ours: str, prospect: str, thread_subject: str, full: bool
) -> list[tuple[str, bytes, str | None]]:
    """(name, raw) pairs; `ours` is a Message-ID we sent to `prospect` in `thread_subject`."""
    reply = f"In-Reply-To: {ours}\r\nReferences: {ours}"
    nul_subject = base64.b64encode(b"Re: hi\0there").decode()
    reused = _mid("reused")
    corpus = [
        ("nul in body", _message(to=to, body=b"Hi\0 there\0")),
        ("nul in RFC 2047 subject", _message(to=to, subject=f"=?utf-8?b?{nul_subject}?=")),
        (
            "nul from a stranger guessing our domain",
            _message(
                to=to,
                sender="guess@stranger.example",
                message_id=f"<{uuid.uuid4().hex}.email_initial@convene.local>",
                headers=f"In-Reply-To: <{uuid.uuid4().hex}.email_initial@convene.local>",
                body=b"\0\0\0",
            ),
        ),
        ("control bytes", _message(to=to, body=b"a\x01b\x02c\x07d\x08e\x1b[31mred\x7f")),
        (
            "unknown charset",
            _message(to=to, content_type="text/plain; charset=x-no-such", body=b"\xff\xfe"),
        ),
        ("invalid utf-8", _message(to=to, body=b"caf\xc3\x28 \xff\xfe\xfd")),
        (
            "3,000-deep MIME",
            _message(
                to=to,
                content_type='multipart/mixed; boundary="top"',
                body=b"--top\r\n" + _nested(3000) + b"\r\n--top--\r\n",
            ),
        ),
        (
            f"{20000 if full else 2000:,} parts",
            _message(
                to=to,
                content_type='multipart/mixed; boundary="p"',
                body=_many_parts(20000 if full else 2000),
            ),
        ),
        (
            f"{20 if full else 2} MB attachment",
            _message(
                to=to,
                content_type='multipart/mixed; boundary="a"',
                body=_attachment((20 if full else 2) * 1024 * 1024),
            ),
        ),
        ("200 KB subject", _message(to=to, subject="S" * 200_000)),
        ("no Message-ID", _message(to=to, message_id=None)),
        ("duplicate Message-ID (1)", _message(to=to, message_id=reused, body=b"first")),
        ("duplicate Message-ID (2)", _message(to=to, message_id=reused, body=b"first")),
        ("reused Message-ID, new content", _message(to=to, message_id=reused, body=b"different")),
        ("Message-ID equal to ours", _message(to=to, message_id=ours, body=b"echo")),
        (
            "CRLF in an encoded subject",
            _message(to=to, subject="=?utf-8?q?Hi=0D=0ABcc:_x@evil-corpus.example?="),
        ),
        (
            "bidi and zero-width in a real reply",
            _message(
                to=to,
                sender=prospect,
                subject=f"Re: {thread_subject} {BIDI_AND_INVISIBLE}",
                headers=reply,
                body=f"Could we {BIDI_AND_INVISIBLE}meet later? \u202egnp.exe\u202c".encode(),
            ),
        ),
    ]
    return [(name, raw, None) for name, raw in corpus]


def project_corpus(
    to: str, *, sender: str, ours: str, domain: str
) -> list[tuple[str, bytes, str | None]] | None:
    """The project's corpus with what intake must make of each message ("read", "unreadable",
    "duplicate"); None when the project has none."""
    try:
        module = importlib.import_module("tests.support.hostile_mail")
        build = module.hostile_corpus
    except (ImportError, AttributeError):
        return None
    return [
        (m.name, m.raw, m.expect) for m in build(sender=sender, to=to, ours=ours, domain=domain)
    ]
