"""GmailMailbox with the real google-api-python-client against a local Gmail stand-in."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from google.oauth2.credentials import Credentials

from connectors.clock import ManualClock
from connectors.errors import PermanentError, RateLimited, ReconnectRequired, TransientError
from connectors.mail.gmail import GmailMailbox, GmailNotFound
from connectors.mail.invitations import Invite, Invitee, build_ics
from connectors.mail.mime import UnsafeHeaderError
from connectors.ports import OutboundEmail
from tests.fakes import gmail as g
from tests.fakes.gmail import FakeGmail
from tests.fakes.http import Response
from tests.fakes.mail import calendar_of, parse, prospect_message, text_part

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    server = FakeGmail()
    yield server
    server.close()


def mailbox(fake: FakeGmail, *, timeout: float = 5.0) -> GmailMailbox:
    # Expired on purpose: the first call refreshes against the fake's /token like production.
    creds = Credentials(
        token="ya29.stale",
        refresh_token="1//refresh",
        client_id="cid",
        client_secret="secret",
        token_uri=fake.url + "/token",
        expiry=datetime(2000, 1, 1),  # noqa: DTZ001 - google-auth compares naive UTC
    )
    return GmailMailbox(creds, clock=ManualClock(T0), api_endpoint=fake.url + "/", timeout=timeout)


def email(**overrides: object) -> OutboundEmail:
    fields: dict[str, object] = {
        "message_id": "<job1.email_initial@convene.example>",
        "sender": "Sam Carter <sam@convene.example>",
        "to": ("Jordan Reyes <jordan@acme.example>",),
        "cc": ("ops@acme.example",),
        "subject": "Quick demo?",
        "body": "Hi Jordan,\n\nWould Tuesday at 2pm ET work?\n",
    }
    fields.update(overrides)
    return OutboundEmail(**fields)  # type: ignore[arg-type]


# --- sending ------------------------------------------------------------------------------------


def test_send_puts_our_message_in_sent_with_our_headers(fake: FakeGmail) -> None:
    sent = mailbox(fake).send(email(html="<p>Hi Jordan,</p><p>Would Tuesday work?</p>"))

    [stored] = fake.sent()
    msg = stored.parsed
    assert (sent.message_id, sent.provider_id, sent.thread_id) == (
        "<job1.email_initial@convene.example>",
        stored.id,
        stored.thread_id,
    )
    assert msg["Message-ID"] == "<job1.email_initial@convene.example>"
    assert msg["From"] == "Sam Carter <sam@convene.example>"
    assert [a.addr_spec for a in msg["To"].addresses] == ["jordan@acme.example"]
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["ops@acme.example"]
    assert msg["Subject"] == "Quick demo?"
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert text_part(msg) == "Hi Jordan,\n\nWould Tuesday at 2pm ET work?\n"
    assert text_part(msg, "html") == "<p>Hi Jordan,</p><p>Would Tuesday work?</p>\n"
    [request] = fake.http.requests("POST", f"{g.BASE}/messages/send")
    assert "threadId" not in request.body
    # The expired token was refreshed against our token endpoint and then used.
    assert request.headers["authorization"] == "Bearer ya29.fresh-1"
    assert fake.http.requests("POST", "/token")[0].body["refresh_token"] == "1//refresh"


def test_reply_goes_into_the_prospects_thread(fake: FakeGmail) -> None:
    ours = mailbox(fake).send(email())
    inbound = fake.deliver(
        prospect_message(in_reply_to="<job1.email_initial@convene.example>"),
    )
    assert inbound.thread_id == ours.thread_id  # the fake threads like Gmail does

    reply = mailbox(fake).send(
        email(
            message_id="<job1.email_response@convene.example>",
            subject="Quick demo?",
            in_reply_to="<CAF=prospect.1@mail.acme.example>",
            references=("<job1.email_initial@convene.example>",),
            thread_id=inbound.thread_id,
        )
    )

    assert reply.thread_id == ours.thread_id
    request = fake.http.requests("POST", f"{g.BASE}/messages/send")[-1]
    assert request.body["threadId"] == ours.thread_id
    msg = fake.messages[reply.provider_id].parsed
    assert msg["Subject"] == "Re: Quick demo?"
    assert msg["In-Reply-To"] == "<CAF=prospect.1@mail.acme.example>"
    # Folding may start the value on a continuation line; the ids and their order matter.
    assert msg["References"].split() == [
        "<job1.email_initial@convene.example>",
        "<CAF=prospect.1@mail.acme.example>",
    ]
    assert msg["Message-ID"] == "<job1.email_response@convene.example>"


def test_invite_travels_as_a_calendar_alternative(fake: FakeGmail) -> None:
    start = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)
    ics = build_ics(
        Invite(
            uid="req-42@convene.example",
            sequence=0,
            start=start,
            end=start + timedelta(minutes=30),
            summary="Convene demo",
            organizer_email="sam@convene.example",
            organizer_name="Sam Carter",
            attendees=(Invitee("jordan@acme.example", "Jordan Reyes"),),
        ),
        method="REQUEST",
        stamp=T0,
    )
    mailbox(fake).send(email(ics=ics, ics_method="REQUEST"))

    method, calendar = calendar_of(fake.sent()[0].parsed)
    assert method == "REQUEST"
    assert calendar["METHOD"] == "REQUEST"
    event = calendar.events[0]
    assert (str(event["UID"]), int(event["SEQUENCE"])) == ("req-42@convene.example", 0)
    assert str(event["ATTENDEE"]) == "mailto:jordan@acme.example"


def test_unknown_thread_is_a_permanent_error(fake: FakeGmail) -> None:
    with pytest.raises(GmailNotFound, match="HTTP 404 notFound"):
        mailbox(fake).send(email(thread_id="t-does-not-exist"))
    assert fake.sent() == []


def test_injected_header_never_reaches_gmail(fake: FakeGmail) -> None:
    with pytest.raises(UnsafeHeaderError):
        mailbox(fake).send(email(subject="=?utf-8?q?Hi=0D=0ABcc:_all@acme.example?="))
    assert fake.http.calls == []


# --- exactly once -------------------------------------------------------------------------------


def test_send_that_times_out_after_gmail_stored_it_is_reconciled(fake: FakeGmail) -> None:
    fake.send_delay = 1.5
    box = mailbox(fake, timeout=0.5)
    outbound = email()

    with pytest.raises(TransientError, match="timed out"):
        box.send(outbound)

    # What the outbox does on the retry: ask first, send only if the first attempt was lost.
    # (A later attempt, with the usual timeout: 0.5 s was only to make the first one time out.)
    fake.send_delay = 0.0
    retry = mailbox(fake)
    found = retry.find_sent(sender=outbound.sender, message_id=outbound.message_id)
    sent = found or retry.send(outbound)

    assert found is not None
    [stored] = fake.sent()
    assert (sent.provider_id, sent.thread_id) == (stored.id, stored.thread_id)
    assert len(fake.http.requests("POST", f"{g.BASE}/messages/send")) == 1
    [lookup] = [r for r in fake.http.calls if r.path == f"{g.BASE}/messages"]
    assert lookup.query["q"] == ["rfc822msgid:job1.email_initial@convene.example"]
    assert lookup.query["labelIds"] == ["SENT"]


def test_find_sent_is_none_when_nothing_was_sent(fake: FakeGmail) -> None:
    box = mailbox(fake)
    box.send(email(message_id="<other@convene.example>"))

    assert box.find_sent(sender="sam@convene.example", message_id="<job1@convene.example>") is None


# --- reading ------------------------------------------------------------------------------------


def test_fetch_new_reads_every_inbound_message_since_the_cursor(fake: FakeGmail) -> None:
    box = mailbox(fake)
    old = fake.deliver(prospect_message(message_id="<before@acme.example>"))
    start = box.fetch_new(None)
    assert start.messages == [] and start.cursor == str(old.history_id)

    box.send(email())  # our own send is not inbound
    bodies = [f"Reply number {n}" for n in range(3)]
    delivered = [
        fake.deliver(prospect_message(message_id=f"<r{n}@acme.example>", body=b))
        for n, b in enumerate(bodies)
    ]
    batch = box.fetch_new(start.cursor)

    assert [m.provider_id for m in batch.messages] == [d.id for d in delivered]
    assert [parse(m.raw)["Message-ID"] for m in batch.messages] == [
        "<r0@acme.example>",
        "<r1@acme.example>",
        "<r2@acme.example>",
    ]
    assert [m.raw for m in batch.messages] == [d.raw for d in delivered]
    assert batch.cursor == str(fake.history_id)
    assert len(fake.http.requests("GET", f"{g.BASE}/history")) == 2  # two pages of two
    assert box.fetch_new(batch.cursor).messages == []


def test_expired_cursor_rereads_the_recent_inbox(fake: FakeGmail) -> None:
    box = mailbox(fake)
    delivered = fake.deliver(prospect_message())
    fake.oldest_history = fake.history_id + 1  # Gmail forgot everything before now

    batch = box.fetch_new("900")

    assert [m.provider_id for m in batch.messages] == [delivered.id]
    assert batch.cursor == str(fake.history_id)
    [listing] = [r for r in fake.http.calls if r.path == f"{g.BASE}/messages"]
    assert listing.query["q"] == ["in:inbox newer_than:8d"]


def test_message_deleted_before_it_was_read_is_skipped(fake: FakeGmail) -> None:
    box = mailbox(fake)
    cursor = box.fetch_new(None).cursor
    gone = fake.deliver(prospect_message(message_id="<gone@acme.example>"))
    kept = fake.deliver(prospect_message(message_id="<kept@acme.example>"))
    del fake.messages[gone.id]
    fake.messages[kept.id] = kept  # the history still lists the deleted one

    # The history page still names the deleted id; reading it 404s and is skipped.
    fake.http.route(
        "GET",
        f"{g.BASE}/history",
        lambda req: Response(
            200,
            {
                "historyId": str(fake.history_id),
                "history": [
                    {"id": "1", "messagesAdded": [{"message": {"id": gone.id, "threadId": "x"}}]},
                    {"id": "2", "messagesAdded": [{"message": {"id": kept.id, "threadId": "y"}}]},
                ],
            },
        ),
    )
    batch = box.fetch_new(cursor)

    assert [m.provider_id for m in batch.messages] == [kept.id]


# --- errors -------------------------------------------------------------------------------------


def test_revoked_grant_asks_the_rep_to_reconnect(fake: FakeGmail) -> None:
    fake.token_error = Response(
        400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    )
    with pytest.raises(ReconnectRequired, match="no longer valid"):
        mailbox(fake).send(email())
    assert fake.sent() == []


def test_401_from_the_api_after_refresh_asks_to_reconnect(fake: FakeGmail) -> None:
    fake.fail_next(
        "POST", "/messages/send", g.UNAUTHENTICATED, g.UNAUTHENTICATED, g.UNAUTHENTICATED
    )
    with pytest.raises(ReconnectRequired, match="HTTP 401 authError"):
        mailbox(fake).send(email())


def test_missing_scope_asks_to_reconnect(fake: FakeGmail) -> None:
    fake.fail_next("POST", "/messages/send", g.FORBIDDEN)
    with pytest.raises(ReconnectRequired, match="insufficientPermissions"):
        mailbox(fake).send(email())


def test_429_is_rate_limited_with_retry_after(fake: FakeGmail) -> None:
    fake.fail_next("POST", "/messages/send", g.rate_limited(7))
    with pytest.raises(RateLimited) as caught:
        mailbox(fake).send(email())
    assert caught.value.retry_after == 7.0
    assert fake.sent() == []


def test_quota_403_is_transient_not_a_reconnect(fake: FakeGmail) -> None:
    fake.fail_next(
        "GET",
        "/messages",
        g.google_error(
            403, "User-rate limit exceeded.", "userRateLimitExceeded", "PERMISSION_DENIED"
        ),
    )
    with pytest.raises(RateLimited) as caught:
        mailbox(fake).find_sent(sender="sam@convene.example", message_id="<x@y.example>")
    assert caught.value.retry_after is None


def test_5xx_is_transient(fake: FakeGmail) -> None:
    fake.fail_next("GET", "/history", g.UNAVAILABLE)
    with pytest.raises(TransientError, match="HTTP 503") as caught:
        mailbox(fake).fetch_new("1000")
    assert not isinstance(caught.value, RateLimited)


def test_bad_request_is_permanent(fake: FakeGmail) -> None:
    fake.fail_next(
        "POST",
        "/messages/send",
        g.google_error(400, "Invalid To header", "invalidArgument", "INVALID_ARGUMENT"),
    )
    with pytest.raises(
        PermanentError, match="HTTP 400 invalidArgument: Invalid To header"
    ) as caught:
        mailbox(fake).send(email())
    assert not isinstance(caught.value, ReconnectRequired)


def test_unreachable_server_is_transient_and_construction_is_offline() -> None:
    server = FakeGmail()
    url = server.url
    server.close()
    creds = Credentials(token="t", expiry=datetime(2100, 1, 1))  # noqa: DTZ001
    box = GmailMailbox(creds, clock=ManualClock(T0), api_endpoint=url + "/", timeout=2)

    with pytest.raises(TransientError):
        box.find_sent(sender="sam@convene.example", message_id="<x@y.example>")


def test_raw_is_urlsafe_base64_of_crlf_mime(fake: FakeGmail) -> None:
    mailbox(fake).send(email(subject="Ünïcode — demo?"))
    raw_b64 = fake.http.requests("POST", f"{g.BASE}/messages/send")[0].body["raw"]
    raw = base64.urlsafe_b64decode(raw_b64 + "=" * (-len(raw_b64) % 4))

    assert b"\r\nSubject: =?utf-8?" in raw
    assert parse(raw)["Subject"] == "Ünïcode — demo?"
