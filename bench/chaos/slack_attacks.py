"""Attacks over Slack's front door: forged, stale, oversized, malformed and replayed requests, and
a non-owner's clicks on someone else's draft."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

from sqlmodel import Session, select

from bench.chaos.driver import Answer, Draft, button, post, sign
from bench.chaos.rig import UNDO_SECONDS
from bench.chaos.run import KEN, SAM, Run, reject_submission, say
from bench.chaos.verdicts import Scenario
from db.models import PendingAction, SchedulingAttendee, SchedulingRequest

# --- Slack attacks -------------------------------------------------------------------------------


class Attacks:
    def __init__(self, run: Run, s: Scenario) -> None:
        self.run, self.s = run, s
        self.accepted = 0

    def refused(self, what: str, answer: Answer, *, served: bool = False) -> None:
        """`answer` to something that must not be served; a 5xx is a crash, not a refusal."""
        self.s.cases += 1
        if answer.status >= 500:
            self.s.other.append(f"{what}: HTTP {answer.status}")
        elif 200 <= answer.status < 300 and not served:
            self.accepted += 1
            self.s.notes.append(f"accepted: {what} answered {answer.status}")

    def changed(self, what: str, bad: bool, detail: str) -> None:
        self.s.cases += 1
        if bad:
            self.accepted += 1
            self.s.notes.append(f"accepted: {what}: {detail}")


def _action(run: Run, action_id: str) -> PendingAction | None:
    with Session(run.rig.engine) as session:
        return session.get(PendingAction, uuid.UUID(action_id))


def slack_attacks(run: Run) -> None:
    s = run.scenario("Slack attacks")
    s.expect_accepted = 0
    a = Attacks(run, s)
    drafts = run.prepare(s, SAM, "a", 4)
    if len(drafts) < 4:
        s.other.append("could not prepare the cards to attack")
        return
    d0, d1, d2, d3 = drafts
    url = run.driver.url
    approve0 = run.driver.click_body(
        "approve_action", d0.action_id, user=SAM, channel=d0.channel, ts=d0.ts
    )
    for i in range(run.sizes.forged):
        body = approve0 if i % 2 else run.driver.command(f"cancel {i}", SAM)[0]
        a.refused("forged signature", post(url, body, sign(body, secret=f"wrong-{i}")))
    for i in range(run.sizes.stale):
        skew = 400 + 60 * i
        when = int(time.time()) + (skew if i % 2 else -skew)
        a.refused(f"timestamp {skew} s off", post(url, approve0, sign(approve0, timestamp=when)))
    help_command = run.driver.command("help", SAM)[0]
    for i in range(run.sizes.oversized):
        size = (2 + 4 * (i % 3)) * 1024 * 1024
        body = help_command + b"&pad=" + b"x" * size
        a.refused(f"{size >> 20} MB body", post(url, body, sign(body), timeout=60))
    for what, body in _malformed():
        a.refused(f"malformed: {what}", post(url, body, sign(body)))
    after = _action(run, d0.action_id)
    a.changed(
        "forged and stale approvals",
        after is None or after.status != "pending",
        f"the attacked draft is {after.status if after else 'gone'}",
    )
    _non_owner(run, a, d0)
    _replayed_edit(run, a, d1)
    _replayed_pause(run, a, d2)
    _replayed_start(run, a)
    _replayed_approve(run, a, d3)
    s.accepted = a.accepted
    say(f"Slack attacks: {s.cases} requests, {a.accepted} accepted")


def _malformed() -> list[tuple[str, bytes]]:
    payload = {"type": "block_actions", "user": {"id": SAM}, "team": {"id": "T0LOCAL"}}
    return [
        ("payload not JSON", b"payload=%7Bnot-json"),
        ("payload a list", b"payload=%5B%5D"),
        ("payload without actions", ("payload=" + quote(str(payload).replace("'", '"'))).encode()),
        ("JSON without type", b'{"event": {}}'),
        ("bytes not UTF-8", b"payload=\xff\xfe\x00\x01"),
        ("empty body", b""),
        ("command without fields", b"command=%2Fschedule"),
        ("bad percent escape", b"payload=%ZZ%"),
        ("JSON array", b"[1, 2, 3]"),
        ("deep JSON", b"{" + b'"a":{' * 5000 + b"}" * 5001),
    ]


def _non_owner(run: Run, a: Attacks, draft: Draft) -> None:
    rig = run.rig
    assert rig.slack is not None
    modals = len(rig.slack.modals)
    for name in (
        "approve_action",
        "undo_action",
        "retry_action",
        "edit_action",
        "reject_action",
        "show_full_email",
    ):
        run.driver.click(name, draft, user=KEN)
    run.driver.send("non-owner reject", reject_submission(run, draft, user=KEN))
    view = {
        "id": "VEDIT",
        "type": "modal",
        "callback_id": "edit_draft",
        "private_metadata": draft.action_id,
    }
    values = {
        "subject": {"subject": {"type": "plain_text_input", "value": "ken was here"}},
        "body": {"body": {"type": "plain_text_input", "value": "ken was here"}},
    }
    run.driver.send("non-owner edit", run.driver.submit_body(view, values, user=KEN))
    time.sleep(1.5)
    after = _action(run, draft.action_id)
    a.changed(
        "non-owner clicks and submits",
        after is None or after.decided_by == KEN or "ken was here" in str(after.edited_data or ""),
        f"draft {after.status if after else 'gone'} by {after.decided_by if after else '-'}",
    )
    opened = len(rig.slack.modals) - modals
    a.changed("non-owner modal buttons", opened > 0, f"{opened} modal(s) opened for a non-owner")


def _edit(run: Run, draft: Draft, text: str) -> tuple[bytes, int] | None:
    """Open Edit as the owner and save `text` as the body: the signed bytes and timestamp."""
    rig = run.rig
    assert rig.slack is not None
    before = len(rig.slack.modals)
    run.driver.click("edit_action", draft)
    deadline = time.monotonic() + 10
    while len(rig.slack.modals) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    if len(rig.slack.modals) <= before:
        return None
    view = rig.slack.modals[-1]
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        element = block.get("element") or {}
        if block.get("type") != "input" or "action_id" not in element:
            continue
        value = text if block.get("block_id") == "body" else element.get("initial_value", "x")
        values[block["block_id"]] = {
            element["action_id"]: {"type": element["type"], "value": value}
        }
    body = run.driver.submit_body(view, values, user=draft.rep_user)
    ts = int(time.time())
    run.driver.send("edit", body, timestamp=ts)
    return body, ts


def _replayed_edit(run: Run, a: Attacks, draft: Draft) -> None:
    first = _edit(run, draft, "Chaos edit ONE.")
    time.sleep(0.5)
    second = _edit(run, draft, "Chaos edit TWO.")
    if first is None or second is None:
        a.s.notes.append("note: the Edit modal did not open; replayed edit not tried")
        return
    time.sleep(0.5)
    a.refused(
        "replayed edit",
        post(run.driver.url, first[0], sign(first[0], timestamp=first[1])),
        served=True,
    )
    time.sleep(1)
    after = _action(run, draft.action_id)
    body = str((after.effective_data() if after else {}).get("body", ""))
    a.changed("replayed edit", "Chaos edit TWO." not in body, f"the draft reads {body[:40]!r}")


def _ref(run: Run, draft: Draft) -> str:
    with Session(run.rig.engine) as session:
        action = session.get_one(PendingAction, uuid.UUID(draft.action_id))
        return session.get_one(SchedulingRequest, action.request_id).ref


def _replayed_pause(run: Run, a: Attacks, draft: Draft) -> None:
    ref = _ref(run, draft)
    pause, _ = run.driver.command(f"pause {ref}", SAM)
    ts = int(time.time())
    run.driver.send("pause", pause, timestamp=ts)
    time.sleep(1)
    run.driver.send("resume", run.driver.command(f"resume {ref}", SAM)[0])
    time.sleep(1)
    a.refused("replayed pause", post(run.driver.url, pause, sign(pause, timestamp=ts)), served=True)
    time.sleep(1.5)
    with Session(run.rig.engine) as session:
        request = session.exec(select(SchedulingRequest).where(SchedulingRequest.ref == ref)).one()
    a.changed("replayed pause", request.status == "paused", f"{ref} is {request.status}")


def _replayed_start(run: Run, a: Attacks) -> None:
    prospect = run.address(a.s, "replay")
    body, hook = run.driver.command(f"demo with {prospect} next week", SAM)
    run.driver.send("command", body)
    value = button(run.driver.answer_on(hook), "start_request")
    if value is None:
        a.s.notes.append("note: no confirm card; replayed Start not tried")
        return
    click = run.driver.click_body("start_request", value, user=SAM, channel="DU0SAM", ts="e")
    ts = int(time.time())
    run.driver.send("start", click, timestamp=ts)
    time.sleep(0.5)
    a.refused("replayed Start", post(run.driver.url, click, sign(click, timestamp=ts)), served=True)
    time.sleep(3)
    with Session(run.rig.engine) as session:
        count = len(
            session.exec(
                select(SchedulingAttendee.request_id).where(SchedulingAttendee.email == prospect)
            ).all()
        )
    a.changed("replayed Start", count != 1, f"{count} requests")


def _replayed_approve(run: Run, a: Attacks, draft: Draft) -> None:
    approve = run.driver.click_body(
        "approve_action", draft.action_id, user=SAM, channel=draft.channel, ts=draft.ts
    )
    ts = int(time.time())
    run.driver.send("approve", approve, timestamp=ts)
    time.sleep(0.5)
    run.driver.click("undo_action", draft)
    time.sleep(0.5)
    a.refused(
        "replayed approve after undo",
        post(run.driver.url, approve, sign(approve, timestamp=ts)),
        served=True,
    )
    time.sleep(UNDO_SECONDS + 1)
    after = _action(run, draft.action_id)
    a.changed(
        "replayed approve after undo",
        after is None or after.status != "cancelled",
        f"the draft is {after.status if after else 'gone'}",
    )
