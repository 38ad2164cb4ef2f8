"""What the run did, judged only from the database and the counting fakes once it settled.

- lost: an action the rep approved that was not executed (still approved/executing, or
  "executed" with no provider call), and a reply that was never read because the mailbox stalled.
- duplicated provider calls: SMTP DATA transactions per Message-ID beyond the first.
- stuck: sequence jobs still queued/running, or parked in waiting_approval with every action
  already decided; a mailbox whose cursor did not move past the mail it was given.
- misrouted: an inbound message matched to a request of a rep it was not addressed to.
- recipients from untrusted text: an address nobody typed in Slack (it came from an email or the
  model) on an attendee, on any pending action's recipient fields, or in an SMTP RCPT.
- other: sends of actions nobody approved, two winning decisions on one draft, a process that
  died on its own, a 5xx answer, and control, bidi or zero-width characters shown in Slack.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from bench.chaos.rig import Rig
from db.models import (
    EmailMessage,
    PendingAction,
    Rep,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)

TERMINAL = {"executed", "rejected", "expired", "cancelled", "failed"}
IN_FLIGHT = {"approved", "executing"}
RECIPIENT_KEYS = {"to", "cc", "bcc", "attendees", "recipients", "emails", "guests", "email"}
DECISIONS = {"action_approve": "approve", "action_reject": "reject", "action_undo": "undo"}
UNCLEAN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]"
)
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass
class Scenario:
    name: str
    cases: int = 0
    prospects: set[str] = field(default_factory=set)
    accepted: int | None = None  # counted by the scenario itself; None: executed sends
    expect_accepted: int | None = None  # when set, any other figure is a violation
    races: dict[str, str] = field(default_factory=dict)  # action id → "aa" | "ar" | "au"
    planted: dict[str, str] = field(default_factory=dict)  # Message-ID → the rep it was sent to
    canaries: list[str] = field(default_factory=list)  # Message-IDs that must be read
    must_store: dict[str, str] = field(default_factory=dict)  # provider id → what it is
    stuck: list[str] = field(default_factory=list)  # found by the scenario itself
    other: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Row:
    name: str
    cases: int
    accepted: int
    accepted_bad: bool
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    misrouted: int = 0
    untrusted: int = 0
    other: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def violations(self) -> int:
        return (
            self.lost + self.duplicated + self.stuck + self.misrouted + self.untrusted + self.other
        ) + int(self.accepted_bad)


@dataclass
class Ledger:
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    trusted: set[str] = field(default_factory=set)  # addresses typed in Slack, and the reps'

    def add(self, name: str) -> Scenario:
        return self.scenarios.setdefault(name, Scenario(name))

    def prospect(self, scenario: Scenario, address: str) -> str:
        scenario.prospects.add(address.lower())
        self.trusted.add(address.lower())
        return address

    def owner_of(self, address: str) -> str | None:
        for s in self.scenarios.values():
            if address.lower() in s.prospects:
                return s.name
        return None


def _addresses(data: Any, key: str = "") -> Iterable[str]:
    """Every address under a recipient-like key, however deep."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _addresses(v, str(k).lower())
    elif isinstance(data, list | tuple):
        for v in data:
            yield from _addresses(v, key)
    elif isinstance(data, str) and key in RECIPIENT_KEYS:
        for part in re.split(r"[,;\s]+", data):
            address = part.strip().strip("<>").lower()
            if ADDRESS.match(address):
                yield address


def _message_ids(action: PendingAction) -> list[str]:
    ids = []
    for data in (action.action_data, action.edited_data or {}, action.result or {}):
        for key in ("message_id", "invite_message_id"):
            if isinstance(data.get(key), str):
                ids.append(data[key])
    return list(dict.fromkeys(ids))


def judge(rig: Rig, ledger: Ledger, *, answers: list[tuple[str, str, int]]) -> list[Row]:
    assert rig.engine is not None and rig.smtp is not None and rig.slack is not None
    calls = rig.smtp.sink.snapshot()
    per_id = Counter(c.message_id for c in calls)
    rows = {
        name: Row(name, s.cases, 0, False, details=list(s.notes))
        for name, s in ledger.scenarios.items()
    }

    def charge(scenario: str | None, column: str, detail: str, amount: int = 1) -> None:
        row = rows.setdefault(
            scenario or "unattributed", Row(scenario or "unattributed", 0, 0, False)
        )
        setattr(row, column, getattr(row, column) + amount)
        row.details.append(f"{column}: {detail}")

    with Session(rig.engine) as session:
        reps = {r.id: r for r in session.exec(select(Rep)).all()}
        trusted = ledger.trusted | {r.email.lower() for r in reps.values()}
        requests = {r.id: r for r in session.exec(select(SchedulingRequest)).all()}
        attendees = session.exec(select(SchedulingAttendee)).all()
        scenario_of: dict[uuid.UUID, str] = {}
        for a in attendees:
            if (owner := ledger.owner_of(a.email)) is not None:
                scenario_of.setdefault(a.request_id, owner)
        for s in ledger.scenarios.values():
            for prospect in sorted(s.prospects - {a.email.lower() for a in attendees}):
                charge(s.name, "other", f"no request for {prospect} after its Start click")
        for a in attendees:
            if a.email.lower() not in trusted:
                ref = requests[a.request_id].ref if a.request_id in requests else "?"
                charge(scenario_of.get(a.request_id), "untrusted", f"attendee {a.email} on {ref}")
        actions = session.exec(select(PendingAction)).all()
        decisions: dict[str, Counter[str]] = defaultdict(Counter)
        for audit in session.exec(select(SchedulingAction)).all():
            if audit.action_type in DECISIONS and "pending_action_id" in (audit.details or {}):
                decisions[str(audit.details["pending_action_id"])][
                    DECISIONS[audit.action_type]
                ] += 1
        owner_of_id: dict[str, str | None] = {}
        executed = Counter[str]()
        for action in actions:
            scenario = scenario_of.get(action.request_id) if action.request_id else None
            ref = requests[action.request_id].ref if action.request_id in requests else "-"
            what = f"{action.action_type} {str(action.id)[:8]} ({ref}) {action.status}"
            ids = _message_ids(action)
            for mid in ids:
                owner_of_id[mid] = scenario
            sends = sum(per_id[m] for m in ids)
            for address in set(_addresses(action.action_data)) | set(
                _addresses(action.edited_data or {})
            ):
                if address not in trusted:
                    charge(scenario, "untrusted", f"{address} on {what}")
            if action.status == "executed":
                executed[scenario or "unattributed"] += 1
                if action.action_type.startswith("email_") and sends == 0:
                    charge(scenario, "lost", f"{what} but no provider call")
            elif action.status in IN_FLIGHT:
                charge(scenario, "lost", f"{what} since {action.updated_at:%H:%M:%S}")
            elif action.status == "failed":
                rows.setdefault(scenario or "unattributed", Row(scenario or "?", 0, 0, False))
                rows[scenario or "unattributed"].details.append(f"note: {what}: {action.error}")
                if sends:
                    charge(scenario, "other", f"{what} yet the provider got it {sends}x")
            elif sends:
                charge(scenario, "other", f"sent without approval: {what}, {sends} call(s)")
            for mid in ids:
                if per_id[mid] > 1:
                    charge(
                        scenario,
                        "duplicated",
                        f"{mid} sent {per_id[mid]}x ({what})",
                        per_id[mid] - 1,
                    )
            kind = ledger.scenarios[scenario].races.get(str(action.id)) if scenario else None
            if kind is not None:
                won = decisions.get(str(action.id), Counter())
                rows[scenario or ""].accepted += sum(won.values())
                if (
                    (kind == "aa" and won["approve"] != 1)
                    or (kind == "ar" and won["approve"] + won["reject"] != 1)
                    or (kind == "au" and (won["approve"] != 1 or won["undo"] > 1))
                ):
                    charge(scenario, "other", f"{kind} race on {what}: winners {dict(won)}")
        for call in calls:
            if call.message_id not in owner_of_id:
                charge(None, "other", f"send of an unknown message {call.message_id}")
            for rcpt in call.rcpt_tos:
                if rcpt not in trusted:
                    charge(owner_of_id.get(call.message_id), "untrusted", f"RCPT {rcpt}")
        by_job: dict[uuid.UUID, list[PendingAction]] = defaultdict(list)
        for action in actions:
            if action.job_id is not None:
                by_job[action.job_id].append(action)
        for job in session.exec(select(SequenceJob)).all():
            scenario = scenario_of.get(job.request_id) if job.request_id else None
            what = f"job {str(job.id)[:8]} {job.event_type} step {job.current_step}"
            if job.status in ("queued", "running"):
                charge(scenario, "stuck", f"{what} {job.status} ({job.last_error or ''})"[:200])
            elif job.status == "waiting_approval" and all(
                a.status in TERMINAL for a in by_job.get(job.id, [])
            ):
                states = ",".join(a.status for a in by_job.get(job.id, [])) or "no actions"
                charge(scenario, "stuck", f"{what} waiting_approval with {states}")
        inbound = session.exec(
            select(EmailMessage).where(EmailMessage.direction == "inbound")
        ).all()
        seen_ids = {m.message_id for m in inbound}
        for s in ledger.scenarios.values():
            for mid in s.canaries:
                if mid not in seen_ids:
                    charge(s.name, "lost", f"reply {mid} never read")
            stored = {m.provider_message_id for m in inbound}
            for provider_id, what in s.must_store.items():
                if provider_id not in stored:
                    charge(s.name, "lost", f"{what!r} (provider id {provider_id}) not stored")
        for message in inbound:
            request = requests.get(message.request_id) if message.request_id else None
            if request is None:
                continue
            rep = reps[request.rep_id]
            planted_for = next(
                (
                    s.planted[message.message_id]
                    for s in ledger.scenarios.values()
                    if message.message_id in s.planted
                ),
                None,
            )
            addressed = planted_for or (
                rep.email if not message.recipients else ",".join(message.recipients).lower()
            )
            if rep.email.lower() not in addressed.lower():
                charge(
                    scenario_of.get(request.id)
                    if planted_for is None
                    else _planter(ledger, message.message_id),
                    "misrouted",
                    f"{message.message_id} to {addressed} matched to {rep.email}'s {request.ref}",
                )
    for name, row in rows.items():
        if (own := ledger.scenarios.get(name)) is None:
            continue
        if own.accepted is not None:
            row.accepted = own.accepted
        elif not own.races:
            row.accepted = executed[name]
        if own.expect_accepted is not None and row.accepted != own.expect_accepted:
            row.accepted_bad = True
            row.details.append(f"accepted: {row.accepted}, expected {own.expect_accepted}")
        for item in own.other:
            row.other += 1
            row.details.append(f"other: {item}")
        for item in own.stuck:
            row.stuck += 1
            row.details.append(f"stuck: {item}")
    for name, texts in _slack_texts(rig):
        charge(name, "other", texts)
    for scenario, what, status in answers:
        if status >= 500 or status == 0:
            charge(scenario, "other", f"{what} answered {status or 'nothing'}")
    return list(rows.values())


def _planter(ledger: Ledger, message_id: str) -> str | None:
    return next((s.name for s in ledger.scenarios.values() if message_id in s.planted), None)


def _slack_texts(rig: Rig) -> list[tuple[str, str]]:
    """Everything Slack was asked to show, with the characters that must never reach it."""
    assert rig.slack is not None
    shown: list[tuple[str, Any]] = []
    for message in list(rig.slack.messages):
        shown.append((message.channel, [message.text, message.blocks, message.history]))
    for response in list(rig.slack.responses):
        shown.append((response.get("hook", ""), response))
    for call in list(rig.slack.calls):
        if call["method"] in ("views.open", "views.publish", "views.update"):
            shown.append((call["method"], call["args"]))
    found = []
    for where, payload in shown:
        text = json.dumps(payload, ensure_ascii=False)
        if hit := UNCLEAN.search(text):
            # json.dumps escapes C0 controls as \\u00XX; look for those too.
            found.append(("hostile mail", f"{where}: {hit.group()!r} shown in Slack"))
        elif m := re.search(r"\\u00(0[0-8bcef]|1[0-9a-f]|7f)", text):
            found.append(("hostile mail", f"{where}: \\u00{m.group(1)} shown in Slack"))
    return found
