"""RFC 5322 messages built only through the email library's header API.

`email.policy.SMTP` refuses CR or LF inside a header value, so untrusted names and subjects can
never inject a header; we let that ValueError surface as a permanent failure.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from connectors.ports import OutboundEmail


def build_mime(email: OutboundEmail, *, date: datetime) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["Message-ID"] = email.message_id
    msg["Date"] = format_datetime(date)
    msg["From"] = email.sender
    msg["To"] = ", ".join(email.to)
    if email.cc:
        msg["Cc"] = ", ".join(email.cc)
    msg["Subject"] = email.subject
    if email.in_reply_to:
        msg["In-Reply-To"] = email.in_reply_to
    if email.references:
        msg["References"] = " ".join(email.references)
    for name, value in email.headers.items():
        msg[name] = value
    msg.set_content(email.body)
    return msg
