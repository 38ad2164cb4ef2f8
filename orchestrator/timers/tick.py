"""One tick of the clock process: the same work whether `convene clock`, the embedded loop in
`convene web`, or a test runs it."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.deps import Deps
from orchestrator.inbox.intake import poll_inboxes
from orchestrator.notices.post import deliver_held
from orchestrator.outbox.approval_cards import post_waiting_cards
from orchestrator.timers.due import DueReport, dispatch_due
from orchestrator.timers.reconciler import ReconcileReport, reconcile


@dataclass(frozen=True)
class TickReport:
    reconciled: ReconcileReport
    due: DueReport
    mail: dict[str, int]
    notices: int = 0
    cards: int = 0

    def line(self) -> str:
        counts = {
            "rewoken_jobs": self.reconciled.jobs,
            "rewoken_actions": self.reconciled.actions,
            **self.due.counts(),
            **{f"mail_{k}": v for k, v in self.mail.items()},
            "held_notices_posted": self.notices,
            "waiting_cards_posted": self.cards,
        }
        return " ".join(f"{k}={v}" for k, v in counts.items())


def tick(deps: Deps) -> TickReport:
    """Re-wake lost work first (it is the oldest), then what is due, then read new mail, then
    post the notices and cards quiet hours (or a failed post) held back."""
    return TickReport(
        reconcile(deps),
        dispatch_due(deps),
        poll_inboxes(deps),
        deliver_held(deps.notices),
        post_waiting_cards(deps),
    )
