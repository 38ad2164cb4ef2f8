"""Which steps each event type runs, in order. A sequence is data."""

from __future__ import annotations

from orchestrator.events import Step
from orchestrator.steps import scheduling

SEQUENCES: dict[str, list[Step]] = {
    "scheduling_requested": [
        Step("find_slots", scheduling.find_slots),
        Step("draft_initial_email", scheduling.draft_initial_email, approval=True),
        Step("record_sent", scheduling.record_sent),
    ],
}
