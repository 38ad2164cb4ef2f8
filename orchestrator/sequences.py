"""Which steps each event type runs, in order. A sequence is data."""

from __future__ import annotations

from orchestrator.events import Step
from orchestrator.steps import brief, follow_up, negotiate, replies, scheduling

SEQUENCES: dict[str, list[Step]] = {
    "scheduling_requested": [
        Step("find_slots", scheduling.find_slots),
        Step("draft_initial_email", scheduling.draft_initial_email, approval=True),
        Step("record_sent", scheduling.record_sent),
    ],
    "email_received": [
        Step("understand_reply", replies.understand_reply),
        Step("tell_rep", replies.tell_rep),
        Step("propose_booking", negotiate.propose_booking, approval=True),
        Step("propose_confirmation", negotiate.propose_confirmation, approval=True),
        Step("record_reply_outcome", negotiate.record_reply_outcome),
    ],
    "follow_up_due": [
        Step("check_follow_up", follow_up.check_follow_up),
        Step("draft_follow_up", follow_up.draft_follow_up, approval=True),
        Step("record_follow_up", follow_up.record_follow_up),
    ],
    "morning_brief_due": [Step("send_brief", brief.send_brief)],
}
