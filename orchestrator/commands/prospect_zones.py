"""The rep confirms the time zone a prospect's reply suggested (skills.zone_hint).

From then on that prospect's words are read, and our times written, in it: `prospect_zone`
prefers an attendee's own zone to the request's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from db.audit import record_action
from db.models import Rep, SchedulingAttendee, SchedulingRequest
from orchestrator.deps import Deps
from orchestrator.mrkdwn import escape_mrkdwn, owner_only
from orchestrator.views import zone_label


@dataclass(frozen=True)
class ZoneSet:
    ok: bool
    message: str  # for the clicker: the card's new last line, or why nothing changed


def use_prospect_zone(
    deps: Deps,
    *,
    org_id: str,
    request_id: uuid.UUID,
    attendee_id: uuid.UUID,
    zone: str,
    slack_user_id: str,
) -> ZoneSet:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneSet(False, "That time zone is unknown; nothing was changed.")
    with deps.uow() as uow:
        session = uow.session
        request = session.get(SchedulingRequest, request_id)
        attendee = session.get(SchedulingAttendee, attendee_id)
        if (
            request is None
            or request.org_id != org_id
            or attendee is None
            or attendee.request_id != request.id
            or attendee.side != "external"
        ):
            return ZoneSet(False, "That request or person no longer exists.")
        rep = session.get_one(Rep, request.rep_id)
        if not rep.allows(slack_user_id):
            return ZoneSet(False, owner_only(rep.slack_user_id))
        who = attendee.name or attendee.email
        label = zone_label(zone)
        note = f"Times from {escape_mrkdwn(who)} are read in *{label}* now (<@{slack_user_id}>)."
        if attendee.timezone == zone:
            return ZoneSet(True, note)
        before = attendee.timezone or request.timezone
        attendee.timezone = zone
        session.add(attendee)
        record_action(
            session,
            org_id=request.org_id,
            request_id=request.id,
            kind="prospect_zone_set",
            actor="user",
            now=deps.clock.now(),
            reasoning=f"{who}'s time zone set to {zone} (was read in {before})",
            details={"attendee_id": str(attendee.id), "zone": zone, "before": before},
        )
        uow.commit()
    return ZoneSet(True, note)
