"""One tick of the clock process: the same work whether `convene clock`, the embedded loop in
`convene web`, or a test runs it."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.bootstrap import Deps
from orchestrator.due import DueReport, dispatch_due
from orchestrator.mail_intake import poll_inboxes
from orchestrator.reconciler import ReconcileReport, reconcile


@dataclass(frozen=True)
class TickReport:
    reconciled: ReconcileReport
    due: DueReport
    mail: dict[str, int]

    def line(self) -> str:
        counts = {
            "rewoken_jobs": self.reconciled.jobs,
            "rewoken_actions": self.reconciled.actions,
            **self.due.counts(),
            **{f"mail_{k}": v for k, v in self.mail.items()},
        }
        return " ".join(f"{k}={v}" for k, v in counts.items())


def tick(deps: Deps) -> TickReport:
    """Re-wake lost work first (it is the oldest), then what is due, then read new mail."""
    return TickReport(reconcile(deps), dispatch_due(deps), poll_inboxes(deps))
