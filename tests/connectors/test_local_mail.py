"""The embedded mailbox delivers like a provider would: one copy in the sender's Sent folder and
one in the inbox of every recipient, To and Cc alike."""

from __future__ import annotations

from connectors.clock import ManualClock
from connectors.mail.local import LocalMailbox
from connectors.ports import OutboundEmail
from db.engine import make_engine, make_session_factory

REP = "rita@northwind.example"


def test_send_delivers_to_every_to_and_cc_recipient_once(
    sqlite_url: str, clock: ManualClock
) -> None:
    engine = make_engine(sqlite_url)
    mailbox = LocalMailbox(make_session_factory(engine), clock=clock)
    mailbox.send(
        OutboundEmail(
            message_id="<demo-1@convene.local>",
            sender=REP,
            to=["john@acme.example"],
            # Listed twice, in different case: still one copy in that inbox.
            cc=["Jane@acme.example", "jane@acme.example", "cfo@acme.example"],
            subject="Demo",
            body="Hi John",
        )
    )

    for address in ("john@acme.example", "jane@acme.example", "cfo@acme.example"):
        (copy,) = mailbox.messages(mailbox=address)
        assert copy.message_id == "<demo-1@convene.local>"
        assert copy.thread_id == "<demo-1@convene.local>"
    (sent,) = mailbox.messages(mailbox=REP, folder="sent")
    assert sent.subject == "Demo"
    engine.dispose()
