"""New mail that asks the rep to meet, and the mail that must never make a card."""

from __future__ import annotations

import time

import pytest

from skills.inbound_request import asker, read_inbound
from skills.read_email import InboundEmail, parse_email

OWN = ("northwind.example",)


def raw(body: str, *, subject: str = "Hello", **headers: str) -> bytes:
    base = {
        "From": "Dana Reyes <dana@brightpath.io>",
        "To": "Sam Patel <sam@northwind.example>",
        "Subject": subject,
        "Message-ID": "<m1@mail.brightpath.io>",
        "Date": "Mon, 07 Dec 2026 15:02:11 +0000",
        "MIME-Version": "1.0",
        "Content-Type": 'text/plain; charset="utf-8"',
    }
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    head = "".join(f"{k}: {v}\r\n" for k, v in base.items() if v)
    return (head + "\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def read(body: str, **kw: str) -> tuple[bool, str]:
    ask = read_inbound(parse_email(raw(body, **kw)), own_domains=OWN)
    return ask.asks, ask.reason


@pytest.mark.parametrize(
    ("body", "label"),
    [
        ("Hi Sam,\n\nCould we get a demo next week?\n\nThanks,\nDana", "demo"),
        ("Hi Sam, are you free for a call Thursday? A few questions on pricing.", "call"),
        ("Would love to set up some time to discuss pricing for a team of 60.", "meeting"),
        ("Do you have 20 minutes next week? I'd like to understand the approval flow.", "meeting"),
        ("I'd like to request a demo for our sales team.", "demo"),
    ],
)
def test_an_ask_to_meet_is_read_with_what_kind_of_meeting(body: str, label: str) -> None:
    ask = read_inbound(parse_email(raw(body)), own_domains=OWN)
    assert ask.asks, ask.reason
    assert ask.label == label
    assert ask.phrase


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"List_Unsubscribe": "<https://news.example/u>"}, "list-unsubscribe"),
        ({"List_Id": "<weekly.news.example>"}, "list-id"),
        ({"Precedence": "bulk"}, "precedence: bulk"),
        ({"Precedence": "list"}, "precedence: list"),
        ({"Auto_Submitted": "auto-generated"}, "auto-submitted: auto-generated"),
        ({"X_Auto_Response_Suppress": "All"}, "x-auto-response-suppress"),
        ({"X_Mailgun_Sid": "WyI1Il0="}, "x-mailgun-sid"),
        ({"X_SG_EID": "abc"}, "x-sg-eid"),
        ({"Feedback_ID": "a:b:c"}, "feedback-id"),
        ({"X_Mailer": "Mailchimp Mailer"}, "x-mailer: bulk or system mailer"),
        ({"From": "Acme <no-reply@acme.example>"}, "no-reply or notification sender"),
        ({"From": "GitHub <notifications@github.com>"}, "no-reply or notification sender"),
        ({"In_Reply_To": "<x@acme.example>"}, "a reply in an existing conversation"),
        ({"References": "<x@acme.example>"}, "a reply in an existing conversation"),
        ({"Subject": "Re: pricing"}, "a reply or forward by its subject"),
        ({"Subject": "Fwd: pricing"}, "a reply or forward by its subject"),
        ({"Subject": "Automatic reply: pricing"}, "an automatic or calendar subject"),
        ({"Subject": "Invitation: Demo @ Thu"}, "an automatic or calendar subject"),
        ({"From": "Maria <maria@northwind.example>"}, "from our own side"),
    ],
)
def test_machines_lists_replies_and_colleagues_never_ask(
    headers: dict[str, str], reason: str
) -> None:
    # The same words that make a card from a person make none from these.
    asks, why = read("Could we get a demo next week?", **headers)
    assert (asks, why) == (False, reason)


@pytest.mark.parametrize(
    "body",
    [
        "Thanks for the demo yesterday! Could we get a demo for the wider team too?",
        "Can we move our call on Thursday to Friday? Something came up.",
        "Join us for our webinar. Are you free Thursday at noon? Register now.",
        "We help sales teams book more meetings. Could we set up a quick call? "
        "https://calendly.com/kelly/15min",
        "No need for a call, I found the answer in your docs.",
        "Thanks for the interview. Could we schedule a call with the hiring manager?",
        "Attached are the meeting notes from Tuesday's call.",
        "Our board meeting moved to the 15th, so the decision comes after that.",
        "Could we set up a call? \n\nUnsubscribe | Manage preferences",
    ],
)
def test_mail_about_meetings_that_asks_for_none_is_not_an_ask(body: str) -> None:
    asks, why = read(body)
    assert not asks, why


def test_only_the_new_text_is_read_not_the_quoted_history() -> None:
    body = (
        "Thanks, the quote looks fine.\n\n"
        "On Mon, Dec 7, 2026 at 9:00 AM Sam Patel <sam@northwind.example> wrote:\n"
        "> Could we get a demo next week?\n"
    )
    assert read(body) == (False, "no ask to meet")


def a_mail(**fields: object) -> InboundEmail:
    base: dict[str, object] = {
        "message_id": "<m@x>",
        "in_reply_to": None,
        "references": (),
        "sender": "dana@brightpath.io",
        "sender_name": "Dana",
        "to": ("sam@northwind.example",),
        "cc": (),
        "subject": "Demo",
        "date": None,
        "text": "Could we get a demo next week?",
        "truncated": False,
    }
    base.update(fields)
    return InboundEmail(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw_bytes",
    [
        b"",
        b"\x00\x00\x00",
        b"\xff\xfe garbage \x80\x81",
        b"From: \r\nSubject: =?utf-8?B?!!!?=\r\n\r\nCould we get a demo?",
        b"From: a@b\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\n\xe9\xe8 demo?",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\n" * 5000,
        b"From: Dana <dana@brightpath.io>\r\n\r\n" + b"could we " * 200_000,
        b"From: =?utf-8?q?=E2=80=AE?= <x@y.io>\r\nSubject: \xf0\x9f\x92\xa9\r\n\r\n\xe2\x80\xae",
    ],
)
def test_hostile_or_garbled_mail_never_raises(raw_bytes: bytes) -> None:
    started = time.monotonic()
    ask = read_inbound(parse_email(raw_bytes), own_domains=OWN)
    assert isinstance(ask.asks, bool)
    assert time.monotonic() - started < 5


def test_mail_the_parser_could_only_partly_read_is_not_an_ask() -> None:
    assert not read_inbound(a_mail(problem="its body could not be decoded")).asks
    assert not read_inbound(a_mail(sender="")).asks
    assert not read_inbound(a_mail(sender="not-an-address")).asks


def test_a_long_run_of_near_asks_is_read_quickly() -> None:
    text = ("are you free for " * 20_000) + ("could we get " * 20_000)
    started = time.monotonic()
    read_inbound(a_mail(text=text))
    assert time.monotonic() - started < 1


def test_the_card_names_the_sender_and_their_company_from_the_from_header() -> None:
    assert asker(a_mail(sender_name="Dana Reyes", sender="dana@brightpath.io")) == (
        "Dana Reyes (Brightpath)"
    )
    assert asker(a_mail(sender_name="Aisha", sender="aisha@lumenfinance.co.uk")) == (
        "Aisha (Lumenfinance)"
    )
    assert asker(a_mail(sender_name="Lena", sender="lena@gmail.com")) == "Lena"
    assert asker(a_mail(sender_name="", sender="ops@sierra-solar.mx")) == (
        "ops@sierra-solar.mx (Sierra Solar)"
    )
