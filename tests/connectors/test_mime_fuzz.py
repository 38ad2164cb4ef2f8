"""Header injection: untrusted names, subjects and addresses can never add a header.

10,000 generated cases, biased towards CR/LF, Unicode line separators and RFC 2047 encoded
words hiding line breaks (the email library decodes those on assignment). Each case must either
be refused cleanly (UnsafeHeaderError, a ValueError and PermanentError) or produce a message
whose parsed header set is exactly the expected one, with the intended recipients.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import PermanentError
from connectors.mail.mime import UnsafeHeaderError, build_mime
from connectors.ports import OutboundEmail
from tests.fakes.mail import parse

DATE = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
EXPECTED = ["cc", "date", "from", "message-id", "subject", "to"]

_NASTY = [
    "\r\nBcc: victim@evil.example",
    "\nX-Injected: 1",
    "\r",
    "\u2028Bcc: x@evil.example",
    "\x85",
    "\x00",
    "=?utf-8?q?=0D=0ABcc:_x@evil.example?=",
    "=?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?=",
    "=?iso-8859-1?q?a=0Ab?=",
    '"',
    "<",
    ">",
    ",",
    ";",
    ":",
    "\\",
    "@",
    " ",
    "\t",
    "Bcc: y@evil.example",
    "=?",
    "?=",
]
nasty_text = st.lists(st.one_of(st.sampled_from(_NASTY), st.text(max_size=12)), max_size=6).map(
    "".join
)
local = st.from_regex(r"[a-z0-9._+-]{1,12}", fullmatch=True)
address = st.one_of(
    st.builds(lambda name, user: f"{name} <{user}@acme.example>", nasty_text, local),
    st.builds(lambda user, junk: f"{user}{junk}@acme.example", local, nasty_text),
    nasty_text,
)


@pytest.mark.fuzz
@settings(
    max_examples=10_000,
    deadline=None,
    derandomize=True,  # the same 10,000 cases every run: a CI failure reproduces locally
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(sender=address, to=address, cc=address, subject=nasty_text)
def test_no_generated_input_adds_a_header(sender: str, to: str, cc: str, subject: str) -> None:
    email = OutboundEmail(
        message_id="<fuzz@convene.example>",
        sender=sender,
        to=(to,),
        cc=(cc,),
        subject=subject,
        body="Hello",
    )
    try:
        msg = build_mime(email, date=DATE)
    except UnsafeHeaderError as exc:
        assert isinstance(exc, ValueError) and isinstance(exc, PermanentError)
        return
    parsed = parse(msg.as_bytes())
    names = sorted(k.lower() for k in parsed if not k.lower().startswith(("content-", "mime-")))
    assert names == EXPECTED
    assert len(parsed["To"].addresses) == 1 and len(parsed["Cc"].addresses) == 1
    assert parsed["To"].addresses[0].domain == "acme.example"
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])


def test_the_fuzzer_reaches_both_outcomes() -> None:
    """Guards the fuzz test against a generator that only ever produces one outcome."""
    ok = OutboundEmail(
        message_id="<a@convene.example>",
        sender="Sam <sam@convene.example>",
        to=('"Reyes, Jordan" <jordan@acme.example>',),
        subject="Re: =?? demo",
        body="x",
    )
    assert build_mime(ok, date=DATE)["To"].addresses[0].display_name == "Reyes, Jordan"
    bad = OutboundEmail(
        message_id="<a@convene.example>",
        sender="sam@convene.example",
        to=("jordan@acme.example",),
        subject="=?utf-8?q?=0D=0ABcc:_x@evil.example?=",
        body="x",
    )
    try:
        build_mime(bad, date=DATE)
    except UnsafeHeaderError:
        return
    raise AssertionError("an encoded CRLF in the subject was accepted")
