"""Inbound email reading on realistic messages: Gmail, Outlook and Apple Mail quoting,
auto-replies, bounces (DSN and text) and calendar replies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from skills.email_text import clean_body
from skills.read_email import classify, html_to_text, parse_email


def raw(headers: dict[str, str], body: str, ctype: str = 'text/plain; charset="utf-8"') -> bytes:
    base = {
        "From": "Jordan Reyes <jordan@acme.example>",
        "To": "Sam Carter <sam@convene.example>",
        "Subject": "Re: Quick demo?",
        "Message-ID": "<reply-1@mail.acme.example>",
        "Date": "Mon, 30 Nov 2026 15:02:11 -0500",
        "MIME-Version": "1.0",
        "Content-Type": ctype,
    }
    base.update(headers)
    head = "".join(f"{k}: {v}\r\n" for k, v in base.items() if v)
    crlf = body.replace("\r\n", "\n").replace("\n", "\r\n")
    return (head + "\r\n" + crlf).encode("utf-8")


# --- parsing ------------------------------------------------------------------------------------


def test_parses_threading_headers_addresses_and_date() -> None:
    mail = parse_email(
        raw(
            {
                "In-Reply-To": "<job1.email_initial@convene.example>",
                "References": "<job0@convene.example>\r\n <job1.email_initial@convene.example>",
                "Cc": "Alex <ALEX@acme.example>, ops@acme.example",
            },
            "Works for me.",
        )
    )
    assert mail.message_id == "<reply-1@mail.acme.example>"
    assert mail.in_reply_to == "<job1.email_initial@convene.example>"
    assert mail.references == ("<job0@convene.example>", "<job1.email_initial@convene.example>")
    assert (mail.sender, mail.sender_name) == ("jordan@acme.example", "Jordan Reyes")
    assert mail.to == ("sam@convene.example",)
    assert mail.cc == ("alex@acme.example", "ops@acme.example")
    assert mail.date == datetime(2026, 11, 30, 20, 2, 11, tzinfo=UTC)
    assert mail.text == "Works for me."


def test_decodes_latin1_quoted_printable() -> None:
    body = "Gr=FC=DFe, Dienstag passt f=FCr mich."
    mail = parse_email(
        raw(
            {
                "Content-Transfer-Encoding": "quoted-printable",
                "Subject": "=?iso-8859-1?q?Re:_M=FCnchen?=",
            },
            body,
            'text/plain; charset="iso-8859-1"',
        )
    )
    assert mail.text == "Grüße, Dienstag passt für mich."
    assert mail.subject == "Re: München"


def test_wrong_charset_label_falls_back_without_losing_text() -> None:
    mail = parse_email(
        raw(
            {"Content-Transfer-Encoding": "8bit"},
            "Caf\u00e9 at 3?",
            'text/plain; charset="x-unknown"',
        )
    )
    assert mail.text == "Café at 3?"


def test_html_only_mail_becomes_text_with_quotes_marked() -> None:
    html = (
        "<html><head><style>p{color:red}</style></head><body><div>Tuesday&nbsp;works &amp; "
        'so does Wed.</div><br><div class="gmail_quote">On Mon, Sam wrote:<blockquote>'
        "Would Tuesday work?</blockquote></div></body></html>"
    )
    mail = parse_email(raw({}, html, 'text/html; charset="utf-8"'))
    assert mail.text.splitlines()[0] == "Tuesday works & so does Wed."
    assert clean_body(mail.text) == "Tuesday works & so does Wed."


def test_plain_part_preferred_over_html() -> None:
    body = (
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain wins.\r\n"
        "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML loses.</p>\r\n--b1--\r\n"
    )
    mail = parse_email(raw({}, body, 'multipart/alternative; boundary="b1"'))
    assert mail.text.strip() == "Plain wins."


def test_huge_body_is_truncated_with_a_note_not_dropped() -> None:
    mail = parse_email(raw({}, "a" * 250), max_chars=100)
    assert mail.truncated is True
    assert mail.text == "a" * 100 + (
        "\n\n[Message truncated by Convene: 100 of 250 characters shown.]"
    )


def test_small_body_is_not_truncated() -> None:
    mail = parse_email(raw({}, "short"), max_chars=100)
    assert (mail.truncated, mail.text) == (False, "short")


def test_html_to_text_keeps_line_structure() -> None:
    assert html_to_text("<p>One</p><p>Two<br>Three</p><ul><li>Four</li></ul>") == (
        "One\n\nTwo\nThree\n\nFour"
    )


# --- cleaning (Gmail, Outlook, Apple Mail, others) ---------------------------------------

CLEANING = [
    pytest.param(
        "Tuesday at 2pm works.\n\nOn Mon, Nov 30, 2026 at 9:14 AM Sam Carter <sam@convene.example>"
        " wrote:\n> Would Tuesday work?\n> Sam",
        "Tuesday at 2pm works.",
        id="gmail-on-wrote",
    ),
    pytest.param(
        "Yes please.\n\nOn Mon, Nov 30, 2026 at 9:14 AM Sam Carter <\nsam@convene.example> wrote:\n"
        "> Would Tuesday work?",
        "Yes please.",
        id="gmail-wrapped-attribution",
    ),
    pytest.param(
        "Wednesday is better for me.\n\nBest,\nPriya\n\n________________________________\n"
        "From: Sam Carter <sam@convene.example>\nSent: Monday, November 30, 2026 9:14 AM\n"
        "To: Priya <priya@acme.example>\nSubject: Quick demo?\n\nWould Tuesday work?",
        "Wednesday is better for me.",
        id="outlook-desktop-rule-and-headers",
    ),
    pytest.param(
        "Can we do 3pm?\n\n-----Original Message-----\nFrom: Sam Carter\nSent: Monday\n"
        "Subject: Quick demo?\n\nWould Tuesday work?",
        "Can we do 3pm?",
        id="outlook-original-message",
    ),
    pytest.param(
        "Thursday 10am PT.\n\nGet Outlook for iOS\n\nFrom: Sam Carter <sam@convene.example>\n"
        "Date: Monday, November 30, 2026 at 9:14 AM\nTo: Priya\nSubject: Quick demo?\n\nHi",
        "Thursday 10am PT.",
        id="outlook-mobile",
    ),
    pytest.param(
        "Sounds good!\n\n*From:* Sam Carter <sam@convene.example>\n*Sent:* Monday\n*To:* Jo\n\nHi",
        "Sounds good!",
        id="outlook-web-bold-headers",
    ),
    pytest.param(
        "Friday works.\n\nSent from my iPhone\n\n> On Nov 30, 2026, at 9:14 AM, Sam Carter "
        "<sam@convene.example> wrote:\n> \n> Would Tuesday work?",
        "Friday works.",
        id="apple-mail-iphone",
    ),
    pytest.param(
        "See below, adding my colleague.\n\nBegin forwarded message:\n\nFrom: Sam Carter\n"
        "Subject: Quick demo?\nDate: November 30, 2026\n\nWould Tuesday work?",
        "See below, adding my colleague.",
        id="apple-mail-forward",
    ),
    pytest.param(
        "Ok for me.\n\nOn 30 Nov 2026, at 14:14, Sam Carter <sam@convene.example> wrote:\n\n"
        "Would Tuesday work?",
        "Ok for me.",
        id="apple-mail-macos",
    ),
    pytest.param(
        "Mardi me va.\n\nLe lun. 30 nov. 2026 à 09:14, Sam Carter <sam@convene.example> a écrit :\n"
        "> Would Tuesday work?",
        "Mardi me va.",
        id="gmail-french",
    ),
    pytest.param(
        "Dienstag passt.\n\nAm Mo., 30. Nov. 2026 um 09:14 Uhr schrieb Sam Carter "
        "<sam@convene.example>:\n> Would Tuesday work?",
        "Dienstag passt.",
        id="gmail-german",
    ),
    pytest.param(
        "Let's do Tuesday.\n\n--\nJordan Reyes\nVP Operations | Northwind\n+1 (415) 555-0134",
        "Let's do Tuesday.",
        id="dash-dash-signature",
    ),
    pytest.param(
        "Let's do Tuesday.\n\nKind regards,\nJordan",
        "Let's do Tuesday.",
        id="sign-off-signature",
    ),
    pytest.param(
        "Let's do Tuesday.\n\nJordan Reyes\nVP Operations | Northwind\n+1 (415) 555-0134\n"
        "https://northwind.example",
        "Let's do Tuesday.\n\nJordan Reyes",
        id="contact-block-without-sign-off",
    ),
    pytest.param("Thanks!", "Thanks!", id="lone-thanks-kept"),
    pytest.param(
        "Works.\r\n\r\nOn Mon, Sam wrote:\r\n> x",
        "Works.",
        id="crlf-line-endings",
    ),
]


@pytest.mark.parametrize(("body", "expected"), CLEANING)
def test_clean_body(body: str, expected: str) -> None:
    assert clean_body(body) == expected


# --- classification -----------------------------------------------------------------------------

AUTO_REPLIES = [
    pytest.param(
        {
            "Subject": "Automatic reply: Quick demo?",
            "Auto-Submitted": "auto-replied",
            "X-Auto-Response-Suppress": "All",
        },
        "I am out of the office until Monday, March 16 with limited access to email.",
        "Auto-Submitted: auto-replied",
        "Monday, March 16",
        id="outlook-automatic-reply",
    ),
    pytest.param(
        {"Subject": "Out of Office Re: Quick demo?", "Auto-Submitted": "auto-replied"},
        "Thanks for your email. I'm on vacation and will return on 12/14.",
        "Auto-Submitted: auto-replied",
        "12/14",
        id="gmail-vacation-responder",
    ),
    pytest.param(
        {"Subject": "Re: Quick demo?", "X-Autoreply": "yes"},
        "I'm away from my desk. I'll be back on Jan 5th, 2027.",
        "X-Autoreply",
        "Jan 5th, 2027",
        id="x-autoreply-header",
    ),
    pytest.param(
        {"Subject": "Re: Quick demo?", "Precedence": "auto_reply"},
        "This mailbox is not monitored.",
        "Precedence: auto_reply",
        None,
        id="precedence-auto-reply-no-date",
    ),
    pytest.param(
        {"Subject": "Abwesenheitsnotiz: Quick demo?"},
        "Ich bin bis 7. Dezember nicht im Büro. I am back on 7 December.",
        "out-of-office subject",
        "7 December",
        id="german-subject",
    ),
]


@pytest.mark.parametrize(("headers", "body", "reason", "when"), AUTO_REPLIES)
def test_auto_replies(headers: dict[str, str], body: str, reason: str, when: str | None) -> None:
    result = classify(parse_email(raw(headers, body)))
    assert (result.kind, result.reason, result.return_text) == ("auto_reply", reason, when)


def test_auto_submitted_no_is_a_person() -> None:
    result = classify(parse_email(raw({"Auto-Submitted": "no"}, "Tuesday works.")))
    assert result.kind == "normal"


@pytest.mark.parametrize(
    "body",
    [
        "Hi, I'm currently on parental leave, returning 2027-02-01. "
        "Please contact ops@acme.example.",
        "I just checked with Jeff and Ken.  They are both out of the office that day.\n"
        "Sorry it didn't work out.",
    ],
)
def test_an_away_note_without_an_auto_reply_mark_is_a_persons_reply(body: str) -> None:
    """Only headers or an auto-reply subject say a machine wrote it; words can be a person's
    (the second declines for two colleagues), so the reply is read and the rep sees it."""
    assert classify(parse_email(raw({"Subject": "Re: Quick demo?"}, body))).kind == "normal"


def test_normal_reply_mentioning_the_office_is_normal() -> None:
    body = (
        "Tuesday works. I'll be in the office all day, so 2pm is fine.\n\nOn Mon, Sam wrote:\n> x"
    )
    assert classify(parse_email(raw({}, body))).kind == "normal"


DSN = (
    "--dsn\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Delivery to the following recipient failed permanently:\r\n\r\n     nobody@acme.example\r\n"
    "--dsn\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx.convene.example\r\n\r\n"
    "Final-Recipient: rfc822; nobody@acme.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
    "Final-Recipient: rfc822; jordan@acme.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n"
    "--dsn\r\nContent-Type: message/rfc822\r\n\r\nFrom: sam@convene.example\r\n"
    "To: nobody@acme.example\r\nSubject: Quick demo?\r\n\r\nWould Tuesday work?\r\n--dsn--\r\n"
)


def test_dsn_bounce_names_only_the_failed_recipient() -> None:
    mail = parse_email(
        raw(
            {
                "From": "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
                "Subject": "Delivery Status Notification (Failure)",
            },
            DSN,
            'multipart/report; report-type=delivery-status; boundary="dsn"',
        )
    )
    result = classify(mail)
    assert (result.kind, result.failed_recipients, result.reason) == (
        "bounce",
        ("nobody@acme.example",),
        "delivery status report",
    )
    # The returned original is not part of the bounce's own text.
    assert "Would Tuesday work?" not in mail.text


def test_delay_report_is_not_a_bounce() -> None:
    body = DSN.replace("Action: failed", "Action: delayed").replace(
        "Action: delivered", "Action: delayed"
    )
    mail = parse_email(
        raw(
            {"From": "postmaster@convene.example", "Subject": "Delivery delayed"},
            body,
            'multipart/report; report-type=delivery-status; boundary="dsn"',
        )
    )
    assert classify(mail).kind == "normal"


def test_text_only_mailer_daemon_bounce() -> None:
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its recipients.\n\n"
        "  jordan.old@acme.example\n    host mx.acme.example said: 550 No such user"
    )
    mail = parse_email(
        raw(
            {
                "From": "Mail Delivery System <MAILER-DAEMON@mx.convene.example>",
                "Subject": "Mail delivery failed: returning message to sender",
            },
            body,
        )
    )
    result = classify(mail)
    assert (result.kind, result.failed_recipients) == ("bounce", ("jordan.old@acme.example",))


def test_exchange_ndr_with_x_failed_recipients() -> None:
    mail = parse_email(
        raw(
            {
                "From": "postmaster@acme.example",
                "Subject": "Undeliverable: Quick demo?",
                "X-Failed-Recipients": "gone@acme.example",
            },
            "Your message couldn't be delivered.",
        )
    )
    assert classify(mail).failed_recipients == ("gone@acme.example",)


def test_a_person_writing_about_delivery_is_not_a_bounce() -> None:
    mail = parse_email(raw({"Subject": "Re: Undeliverable invoice"}, "The delivery failed again"))
    assert classify(mail).kind == "normal"


def calendar_reply(partstat: str, attendee: str = "jordan@acme.example") -> bytes:
    ics = (
        "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\n"
        "METHOD:REPLY\r\nBEGIN:VEVENT\r\nDTSTART:20261208T190000Z\r\nDTEND:20261208T193000Z\r\n"
        "DTSTAMP:20261130T200000Z\r\nORGANIZER;CN=Sam Carter:mailto:sam@convene.example\r\n"
        "UID:req-42@convene.example\r\n"
        f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};CN=Jordan\r\n"
        f" Reyes;X-NUM-GUESTS=0:mailto:{attendee}\r\nSEQUENCE:0\r\nSTATUS:CONFIRMED\r\n"
        "SUMMARY:Convene demo\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    body = (
        "--c\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
        f"Jordan Reyes has {partstat.lower()} this invitation.\r\n"
        '--c\r\nContent-Type: text/calendar; charset="UTF-8"; method=REPLY\r\n\r\n'
        + ics
        + "--c--\r\n"
    )
    return raw(
        {"Subject": f"{partstat.title()}: Convene demo"},
        body,
        'multipart/alternative; boundary="c"',
    )


@pytest.mark.parametrize("partstat", ["ACCEPTED", "DECLINED", "TENTATIVE"])
def test_calendar_replies(partstat: str) -> None:
    result = classify(parse_email(calendar_reply(partstat)))
    assert (result.kind, result.attendee, result.partstat, result.event_uid) == (
        "calendar_reply",
        "jordan@acme.example",
        partstat,
        "req-42@convene.example",
    )


def test_outlook_calendar_reply_with_uppercase_mailto() -> None:
    mail = parse_email(calendar_reply("ACCEPTED").replace(b"mailto:jordan", b"MAILTO:Jordan"))
    assert classify(mail).attendee == "jordan@acme.example"


def calendar_mail(ics: str, method: str = "REPLY") -> bytes:
    body = (
        "--c\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nAnswered.\r\n"
        f'--c\r\nContent-Type: text/calendar; charset="UTF-8"; method={method}\r\n\r\n'
        + ics
        + "--c--\r\n"
    )
    return raw({"Subject": "Re: Convene demo"}, body, 'multipart/alternative; boundary="c"')


OUTLOOK_DECLINE_WITH_COMMENT = (
    "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\n"
    "VERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Eastern Standard Time\r\nBEGIN:STANDARD\r\n"
    "DTSTART:16010101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n"
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\nBEGIN:VEVENT\r\n"
    "ATTENDEE;PARTSTAT=DECLINED;CN=Jordan Reyes:MAILTO:Jordan@Acme.Example\r\n"
    "COMMENT;LANGUAGE=en-US:Sorry\\, I have a board meeting then. Could we do Th\r\n"
    " ursday instead?\r\n"
    "UID:040000008200E00074C5B7101A82E00800000000req-42\r\nSUMMARY;LANGUAGE=en-US:Declin\r\n"
    " ed: Convene demo\r\nDTSTART;TZID=Eastern Standard Time:20261208T140000\r\n"
    "DTEND;TZID=Eastern Standard Time:20261208T143000\r\nDTSTAMP:20261201T150000Z\r\n"
    "SEQUENCE:0\r\nX-MICROSOFT-CDO-REPLYTIME:20261201T150000Z\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)
APPLE_TENTATIVE_URN = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 15.1//EN\r\n"
    'METHOD:REPLY\r\nBEGIN:VEVENT\r\nATTENDEE;CN="Jordan Reyes";CUTYPE=INDIVIDUAL;'
    "EMAIL=jordan@acme.example;PARTSTAT=TENTATIVE:urn:uuid:5E1D3C7A-1B2C-4D5E-8F90-A1B2C3D4E5F6\r\n"
    "DTEND:20261208T193000Z\r\nDTSTAMP:20261201T150000Z\r\nDTSTART:20261208T190000Z\r\n"
    "ORGANIZER;CN=Sam Carter:mailto:sam@convene.example\r\nSEQUENCE:0\r\n"
    "SUMMARY:Convene demo\r\nUID:req-42@convene.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_outlook_decline_with_a_comment_and_a_windows_zone() -> None:
    result = classify(parse_email(calendar_mail(OUTLOOK_DECLINE_WITH_COMMENT)))
    assert (result.kind, result.attendee, result.partstat, result.event_uid) == (
        "calendar_reply",
        "jordan@acme.example",
        "DECLINED",
        "040000008200E00074C5B7101A82E00800000000req-42",
    )


def test_apple_tentative_names_the_attendee_by_email_parameter() -> None:
    result = classify(parse_email(calendar_mail(APPLE_TENTATIVE_URN)))
    assert (result.kind, result.attendee, result.partstat) == (
        "calendar_reply",
        "jordan@acme.example",
        "TENTATIVE",
    )


def test_a_reply_without_partstat_needs_action_and_garbage_is_ordinary_mail() -> None:
    no_partstat = calendar_reply("ACCEPTED").replace(b"PARTSTAT=ACCEPTED;", b"")
    assert classify(parse_email(no_partstat)).partstat == "NEEDS-ACTION"
    garbage = calendar_mail("METHOD:REPLY\r\nthis is not a calendar\r\n")
    assert classify(parse_email(garbage)).kind == "normal"


def test_a_forwarded_request_is_not_a_reply() -> None:
    mail = parse_email(calendar_reply("ACCEPTED").replace(b"METHOD:REPLY", b"METHOD:REQUEST"))
    assert classify(mail).kind == "normal"


def test_realistic_gmail_reply_end_to_end() -> None:
    body = (
        "Hi Sam,\n\nThanks for sending these over. Wednesday at 10am works well for me.\n\n"
        "Best,\nJordan Reyes\nVP Operations | Northwind Traders\n+1 (415) 555-0134\n\n"
        "On Mon, Mar 2, 2026 at 9:14 AM Sam Carter <sam@convene.example> wrote:\n"
        "> Hi Jordan, would any of these work?\n"
    )
    mail = parse_email(raw({}, body))
    assert classify(mail).kind == "normal"
    assert clean_body(mail.text) == (
        "Hi Sam,\n\nThanks for sending these over. Wednesday at 10am works well for me."
    )
