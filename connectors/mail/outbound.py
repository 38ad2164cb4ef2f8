"""Outbound rules that every provider shares: signature, HTML alternative, thread subject and
References. Pure functions over :class:`OutboundEmail`, so the Gmail, Graph, SMTP and local
adapters cannot drift apart on what a reply looks like.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import replace

from connectors.ports import OutboundEmail
from skills.email_text import reply_subject

# RFC 3676 signature separator: clients recognise "-- " and can fold or strip the signature.
SIGNATURE_SEPARATOR = "-- "


def thread_subject(subject: str, *, replying: bool) -> str:
    """The subject as sent: replies carry "Re: " once, so every client files them in the thread."""
    return reply_subject(subject) if replying else subject.strip()


def thread_references(
    in_reply_to: str | None, references: tuple[str, ...] | list[str]
) -> list[str]:
    """References per RFC 5322 §3.6.4: the parent's chain, ending with the parent itself."""
    chain = [ref for ref in references if ref]
    if in_reply_to and (not chain or chain[-1] != in_reply_to):
        chain = [ref for ref in chain if ref != in_reply_to] + [in_reply_to]
    return chain


def text_to_html(text: str) -> str:
    """A minimal, safe HTML rendering of plain text (escaped; paragraphs and line breaks kept)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if p]
    rendered = (
        "<p>" + "<br>\n".join(html_lib.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    return '<div dir="ltr">\n' + "\n".join(rendered) + "\n</div>"


def prepare(email: OutboundEmail, *, signature: str = "") -> OutboundEmail:
    """The email as it leaves: rep signature appended to both parts and an HTML alternative.

    Call once, before the email is recorded, so the stored body equals the sent one. The
    signature is the rep's plain text; it is escaped into the HTML part, never trusted as HTML.
    """
    signature = signature.strip("\n")
    body = email.body.rstrip()
    if signature and signature not in body:
        body = f"{body}\n\n{SIGNATURE_SEPARATOR}\n{signature}"
    if email.html is None:
        html = text_to_html(body)
    elif signature and html_lib.escape(signature.split("\n")[0]) not in email.html:
        html = email.html + "\n" + text_to_html(f"{SIGNATURE_SEPARATOR}\n{signature}")
    else:
        html = email.html
    return replace(
        email,
        body=body + "\n",
        html=html,
        subject=thread_subject(email.subject, replying=bool(email.in_reply_to)),
        references=tuple(thread_references(email.in_reply_to, list(email.references))),
    )
