"""A team's meeting types in `scheduling_templates`: read (built-ins overlaid by the team's own)
and saved from `/schedule templates`. The follow-up cadence, reminder rule and wording overrides
are read from the same rows by the steps (`orchestrator.cadence`, `steps.meeting_times`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from db.audit import record_action
from db.models import SchedulingTemplate
from orchestrator.deps import Deps
from orchestrator.meeting_kinds import MeetingKind, built_in_kinds, kind_problems


@dataclass(frozen=True)
class Saved:
    ok: bool
    message: str


def meeting_kinds(session: Session, *, org_id: str) -> dict[str, MeetingKind]:
    """Every type the team can pick, by name: the built-ins, overlaid by the team's own."""
    kinds = built_in_kinds()
    rows = session.exec(
        select(SchedulingTemplate)
        .where(col(SchedulingTemplate.org_id) == org_id)
        .order_by(col(SchedulingTemplate.meeting_type))
    ).all()
    for row in rows:
        kinds[row.meeting_type] = _kind(row)
    return kinds


def team_kinds(deps: Deps, *, org_id: str) -> dict[str, MeetingKind]:
    """`meeting_kinds` in a transaction of its own, for a listener about to open a form."""
    with deps.uow() as uow:
        return meeting_kinds(uow.session, org_id=org_id)


def _kind(row: SchedulingTemplate) -> MeetingKind:
    return MeetingKind(
        name=row.meeting_type,
        duration_minutes=row.duration_minutes,
        platform=row.platform,
        location=row.location,
        follow_up_hours=tuple(row.follow_up_hours),
        reminder_rule=row.reminder_rule,
        wording=tuple(sorted(row.email_templates.items())),
        saved=True,
    )


def save_kind(
    session: Session, *, org_id: str, kind: MeetingKind, replaces: str | None, now: datetime
) -> Saved:
    """Create or edit a type (in the caller's transaction). `replaces` is the name it was
    opened under, so a rename edits that row instead of leaving a copy behind."""
    if problems := kind_problems(kind):
        return Saved(False, " ".join(problems.values()))
    rows = {
        row.meeting_type: row
        for row in session.exec(
            select(SchedulingTemplate).where(
                col(SchedulingTemplate.org_id) == org_id,
                col(SchedulingTemplate.meeting_type).in_({kind.name, replaces or kind.name}),
            )
        ).all()
    }
    if replaces and replaces != kind.name and kind.name in rows:
        return Saved(False, f"There is already a meeting type called “{kind.name}”.")
    row = rows.get(replaces or kind.name) or rows.get(kind.name)
    created = row is None
    if row is None:
        row = SchedulingTemplate(org_id=org_id, meeting_type=kind.name)
    row.meeting_type = kind.name
    row.duration_minutes = kind.duration_minutes
    row.platform = kind.platform
    row.location = kind.location.strip()
    row.follow_up_hours = list(kind.follow_up_hours)
    # Emails in total: the first one and a follow-up after each wait.
    row.max_attempts = len(kind.follow_up_hours) + 1
    row.reminder_rule = kind.reminder_rule
    row.email_templates = dict(kind.wording)
    session.add(row)
    record_action(
        session,
        org_id=org_id,
        request_id=None,
        kind="meeting_type_saved",
        actor="user",
        now=now,
        reasoning=f"{'created' if created else 'edited'} meeting type {kind.name!r}",
        details={"meeting_type": kind.name, "replaces": replaces},
    )
    verb = "added" if created else "saved"
    return Saved(True, f"Meeting type “{kind.name}” {verb}.")
