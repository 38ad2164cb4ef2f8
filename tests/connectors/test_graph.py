"""GraphMailbox with the real msgraph-sdk against a local Microsoft Graph stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from connectors.clock import ManualClock
from connectors.errors import PermanentError, RateLimited, ReconnectRequired, TransientError
from connectors.mail.graph import GraphMailbox, GraphNotFound
from connectors.mail.invitations import Invite, Invitee, build_ics
from connectors.mail.mime import UnsafeHeaderError
from connectors.ports import OutboundEmail
from tests.fakes import graph as gr
from tests.fakes.graph import FakeGraphMail
from tests.fakes.mail import calendar_of, parse, prospect_message, text_part

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


class FakeCredential:
    """azure.core TokenCredential without an Entra ID round-trip."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        if self.error is not None:
            raise self.error
        return AccessToken("fake-graph-token", int(time.time()) + 3600)


@pytest.fixture
def fake() -> Iterator[FakeGraphMail]:
    server = FakeGraphMail()
    yield server
    server.close()


@pytest.fixture
def box(fake: FakeGraphMail) -> Iterator[GraphMailbox]:
    mailbox = GraphMailbox(
        FakeCredential(), clock=ManualClock(T0), base_url=fake.url + "/v1.0", timeout=5
    )
    yield mailbox
    mailbox.close()


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


def test_new_email_is_a_draft_sent_with_our_message_id(
    fake: FakeGraphMail, box: GraphMailbox
) -> None:
    sent = box.send(email())

    [item] = fake.folder("sentitems")
    assert fake.folder("drafts") == []
    assert (sent.message_id, sent.provider_id, sent.thread_id) == (
        "<job1.email_initial@convene.example>",
        item["id"],  # ImmutableId kept the id through the move to Sent Items
        item["conversationId"],
    )
    msg = fake.mime(item)
    assert msg["Message-ID"] == "<job1.email_initial@convene.example>"
    assert [a.addr_spec for a in msg["To"].addresses] == ["jordan@acme.example"]
    assert [a.display_name for a in msg["To"].addresses] == ["Jordan Reyes"]
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["ops@acme.example"]
    assert msg["Subject"] == "Quick demo?"
    assert msg["In-Reply-To"] is None
    assert text_part(msg) == "Hi Jordan,\n\nWould Tuesday at 2pm ET work?\n"
    [create] = fake.http.requests("POST", "/v1.0/me/messages")[:1]
    assert create.path == "/v1.0/me/messages"
    assert create.headers["authorization"] == "Bearer fake-graph-token"
    assert create.headers["prefer"] == 'IdType="ImmutableId"'
    assert create.body["body"] == {
        "contentType": "text",
        "content": "Hi Jordan,\n\nWould Tuesday at 2pm ET work?\n",
    }


def test_reply_uses_create_reply_in_the_conversation(
    fake: FakeGraphMail, box: GraphMailbox
) -> None:
    first = box.send(email())
    inbound = fake.deliver(prospect_message(in_reply_to="<job1.email_initial@convene.example>"))
    assert inbound["conversationId"] == first.thread_id

    reply = box.send(
        email(
            message_id="<job1.email_response@convene.example>",
            in_reply_to="<CAF=prospect.1@mail.acme.example>",
            references=("<job1.email_initial@convene.example>",),
            html="<p>Great, see you Tuesday.</p>",
            body="Great, see you Tuesday.",
        )
    )

    assert reply.thread_id == first.thread_id
    assert [r.path for r in fake.http.calls if r.method == "POST"][-2:] == [
        f"/v1.0/me/messages/{inbound['id']}/createReply",
        f"/v1.0/me/messages/{reply.provider_id}/send",
    ]
    msg = fake.mime(fake.items[reply.provider_id])
    assert msg["Message-ID"] == "<job1.email_response@convene.example>"
    assert msg["In-Reply-To"] == "<CAF=prospect.1@mail.acme.example>"
    assert msg["References"].split() == [
        "<job1.email_initial@convene.example>",
        "<CAF=prospect.1@mail.acme.example>",
    ]
    assert msg["Subject"] == "Re: Quick demo?"
    # Our recipients replace createReply's default (the message's sender).
    assert [a.addr_spec for a in msg["To"].addresses] == ["jordan@acme.example"]
    assert text_part(msg, "html") == "<p>Great, see you Tuesday.</p>\n"


def test_invite_is_attached_as_text_calendar(fake: FakeGraphMail, box: GraphMailbox) -> None:
    start = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)
    invite = Invite(
        uid="req-42@convene.example",
        sequence=2,
        start=start,
        end=start + timedelta(minutes=30),
        summary="Convene demo",
        organizer_email="sam@convene.example",
        attendees=(Invitee("jordan@acme.example"),),
    )
    box.send(email(ics=build_ics(invite, method="CANCEL", stamp=T0), ics_method="CANCEL"))

    method, calendar = calendar_of(fake.mime(fake.folder("sentitems")[0]))
    assert method == "CANCEL"
    event = calendar.events[0]
    assert (calendar["METHOD"], str(event["UID"]), int(event["SEQUENCE"])) == (
        "CANCEL",
        "req-42@convene.example",
        2,
    )
    assert event["STATUS"] == "CANCELLED"


def test_timeout_after_graph_sent_it_is_reconciled(fake: FakeGraphMail) -> None:
    fake.send_delay = 1.5
    box = GraphMailbox(
        FakeCredential(), clock=ManualClock(T0), base_url=fake.url + "/v1.0", timeout=0.5
    )
    outbound = email()
    try:
        with pytest.raises(TransientError, match="timed out"):
            box.send(outbound)
        fake.send_delay = 0.0
    finally:
        box.close()
    # The retry is a later attempt with the usual timeout.
    retry = GraphMailbox(FakeCredential(), clock=ManualClock(T0), base_url=fake.url + "/v1.0")
    try:
        found = retry.find_sent(sender=outbound.sender, message_id=outbound.message_id)
        sent = found or retry.send(outbound)
    finally:
        retry.close()

    assert found is not None
    [item] = fake.folder("sentitems")
    assert (sent.provider_id, sent.thread_id) == (item["id"], item["conversationId"])
    assert len([r for r in fake.http.calls if r.path.endswith("/send")]) == 1
    lookup = [r for r in fake.http.calls if r.path == "/v1.0/me/mailFolders/sentitems/messages"][-1]
    assert lookup.query["$filter"] == [
        "internetMessageId eq '<job1.email_initial@convene.example>'"
    ]


def test_retry_reuses_the_draft_a_crashed_attempt_left(
    fake: FakeGraphMail, box: GraphMailbox
) -> None:
    fake.fail_next("POST", "/messages/", gr.UNAVAILABLE)  # the /send of the first attempt
    with pytest.raises(TransientError, match="HTTP 503"):
        box.send(email())
    assert len(fake.folder("drafts")) == 1

    assert box.find_sent(sender="sam@convene.example", message_id=email().message_id) is None
    sent = box.send(email())

    assert fake.folder("drafts") == []
    [item] = fake.folder("sentitems")
    assert sent.provider_id == item["id"]
    assert len(fake.http.requests("POST", "/v1.0/me/messages")) == 1 + 1 + 1  # create, 2 sends


def test_find_sent_none_when_absent(fake: FakeGraphMail, box: GraphMailbox) -> None:
    box.send(email(message_id="<other@convene.example>"))
    assert box.find_sent(sender="sam@convene.example", message_id="<it's@convene.example>") is None
    lookup = [r for r in fake.http.calls if r.path == "/v1.0/me/mailFolders/sentitems/messages"][-1]
    assert lookup.query["$filter"] == ["internetMessageId eq '<it''s@convene.example>'"]


def test_fetch_new_follows_the_delta(fake: FakeGraphMail, box: GraphMailbox) -> None:
    fake.deliver(prospect_message(message_id="<old@acme.example>"))
    start = box.fetch_new(None)
    assert start.messages == []

    delivered = [
        fake.deliver(prospect_message(message_id=f"<r{n}@acme.example>", body=f"Reply {n}"))
        for n in range(3)
    ]
    batch = box.fetch_new(start.cursor)

    assert [m.provider_id for m in batch.messages] == [d["id"] for d in delivered]
    assert [parse(m.raw)["Message-ID"] for m in batch.messages] == [
        "<r0@acme.example>",
        "<r1@acme.example>",
        "<r2@acme.example>",
    ]
    assert [m.thread_id for m in batch.messages] == [d["conversationId"] for d in delivered]
    assert batch.cursor.endswith("$deltatoken=4")
    assert box.fetch_new(batch.cursor).messages == []


def test_expired_delta_rereads_the_recent_inbox(fake: FakeGraphMail, box: GraphMailbox) -> None:
    fake.deliver(
        prospect_message(message_id="<ancient@acme.example>"), received=T0 - timedelta(days=30)
    )
    recent = fake.deliver(
        prospect_message(message_id="<recent@acme.example>"), received=T0 - timedelta(hours=2)
    )
    fake.oldest_token = 5

    batch = box.fetch_new(f"{fake.url}/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=1")

    assert [m.provider_id for m in batch.messages] == [recent["id"]]
    assert batch.cursor.endswith("$deltatoken=2")


def test_expired_token_is_reconnect(fake: FakeGraphMail, box: GraphMailbox) -> None:
    fake.fail_next("POST", "/messages", gr.EXPIRED_TOKEN)
    with pytest.raises(ReconnectRequired, match="HTTP 401 InvalidAuthenticationToken"):
        box.send(email())


def test_access_denied_is_reconnect(fake: FakeGraphMail, box: GraphMailbox) -> None:
    fake.fail_next("GET", "/mailFolders/", gr.ACCESS_DENIED)
    with pytest.raises(ReconnectRequired, match="ErrorAccessDenied"):
        box.find_sent(sender="sam@convene.example", message_id="<x@y.example>")


def test_credential_failure_is_reconnect(fake: FakeGraphMail) -> None:
    box = GraphMailbox(
        FakeCredential(ClientAuthenticationError("AADSTS70008: refresh token expired")),
        clock=ManualClock(T0),
        base_url=fake.url + "/v1.0",
        timeout=5,
    )
    try:
        with pytest.raises(ReconnectRequired, match="no longer valid"):
            box.send(email())
    finally:
        box.close()
    assert fake.http.calls == []


def test_throttling_is_rate_limited_with_retry_after(
    fake: FakeGraphMail, box: GraphMailbox
) -> None:
    fake.fail_next("POST", "/messages", gr.throttled(12))
    with pytest.raises(RateLimited) as caught:
        box.send(email())
    assert caught.value.retry_after == 12.0
    # The SDK's retry middleware is off: exactly one attempt, the orchestrator retries.
    assert len(fake.http.requests("POST", "/v1.0/me/messages")) == 1


def test_5xx_is_transient(fake: FakeGraphMail, box: GraphMailbox) -> None:
    fake.fail_next("GET", "/mailFolders/", gr.UNAVAILABLE)
    with pytest.raises(TransientError, match="HTTP 503 ServiceUnavailable") as caught:
        box.fetch_new(None)
    assert not isinstance(caught.value, RateLimited)


def test_missing_message_is_not_found(fake: FakeGraphMail, box: GraphMailbox) -> None:
    fake.fail_next("POST", "/messages", gr.NOT_FOUND)
    with pytest.raises(GraphNotFound, match="ErrorItemNotFound"):
        box.send(email())


def test_bad_request_is_permanent(fake: FakeGraphMail, box: GraphMailbox) -> None:
    fake.fail_next(
        "POST", "/messages", gr.graph_error(400, "ErrorInvalidRecipients", "Recipient not valid.")
    )
    with pytest.raises(PermanentError, match="ErrorInvalidRecipients") as caught:
        box.send(email())
    assert not isinstance(caught.value, (ReconnectRequired, GraphNotFound))


def test_unsafe_header_is_refused_before_any_request(
    fake: FakeGraphMail, box: GraphMailbox
) -> None:
    with pytest.raises(UnsafeHeaderError):
        box.send(email(to=("Jordan\r\nBcc: everyone@acme.example <jordan@acme.example>",)))
    assert fake.http.calls == []


def test_unreachable_graph_is_transient() -> None:
    server = FakeGraphMail()
    url = server.url
    server.close()
    box = GraphMailbox(FakeCredential(), clock=ManualClock(T0), base_url=url + "/v1.0", timeout=2)
    try:
        with pytest.raises(TransientError):
            box.find_sent(sender="sam@convene.example", message_id="<x@y.example>")
    finally:
        box.close()
