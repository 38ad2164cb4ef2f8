"""One tick of the clock process: the same work whether `convene clock`, the embedded loop in
`convene web`, or a test runs it."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.deps import Deps
from orchestrator.health import report_if_due
from orchestrator.inbox.mail_polls import queue_mail_polls
from orchestrator.inbox.mail_watches import queue_watch_renewals
from orchestrator.notices.post import deliver_held
from orchestrator.outbox.approval_cards import post_waiting_cards
from orchestrator.timers.due import DueReport, dispatch_due
from orchestrator.timers.pre_meeting import send_pre_meeting_briefs
from orchestrator.timers.probe import probe
from orchestrator.timers.reconciler import ReconcileReport, reconcile
from orchestrator.timers.retention import prune_if_due
from orchestrator.timers.stalled import escalate_if_due
from orchestrator.webhooks.deliver import queue_due as queue_webhooks

# Queued every tick whether or not there is mail: counted, but not a sign of work done.
ROUTINE = frozenset({"mail_polls_queued"})


@dataclass(frozen=True)
class TickReport:
    reconciled: ReconcileReport
    due: DueReport
    mail: dict[str, int]
    notices: int = 0
    cards: int = 0
    pruned: dict[str, int] = field(default_factory=dict)
    ops_findings: int = 0
    stalled: int = 0
    webhooks: int = 0
    watches: int = 0
    pre_meeting_briefs: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "rewoken_jobs": self.reconciled.jobs,
            "rewoken_actions": self.reconciled.actions,
            **self.due.counts(),
            **{f"mail_{k}": v for k, v in self.mail.items()},
            "held_notices_posted": self.notices,
            "waiting_cards_posted": self.cards,
            **{f"pruned_{k}": v for k, v in self.pruned.items()},
            **({"ops_findings_posted": self.ops_findings} if self.ops_findings else {}),
            **({"stalled_asked": self.stalled} if self.stalled else {}),
            **({"webhooks_queued": self.webhooks} if self.webhooks else {}),
            **({"mail_watches_queued": self.watches} if self.watches else {}),
            **({"pre_meeting_briefs": self.pre_meeting_briefs} if self.pre_meeting_briefs else {}),
        }

    @property
    def idle(self) -> bool:
        """Nothing was found to do (and nothing failed): not worth an INFO line."""
        work = {k: v for k, v in self.counts().items() if k not in ROUTINE}
        return not any(work.values()) and not self.due.errors

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.counts().items())


def tick(deps: Deps) -> TickReport:
    """Re-wake lost work first (it is the oldest), then what is due, then queue the reads of
    new mail (workers read each mailbox), then post the notices and cards quiet hours (or a
    failed post) held back; last, prune what has outlived its retention (hourly), report new
    health findings and ask about stalled requests (every few minutes); then wake the webhook
    deliveries that are due (first attempts and retries), and the mailbox push watches due
    to be made or renewed (workers call the providers), and the pre-meeting briefs."""
    return run_parts(deps, mail=True)


def run_parts(deps: Deps, *, mail: bool) -> TickReport:
    """The tick, after one read of what is due (`timers.probe`): each part runs only when it
    has work, so an idle tick costs that read and the heartbeat row. `mail=False` leaves out
    the mailbox reads (a bench measures them apart)."""
    due = probe(deps)
    return TickReport(
        reconciled=reconcile(deps) if due.repairs else ReconcileReport(jobs=0, actions=0),
        due=dispatch_due(deps, parts=due.dispatch),
        mail={"polls_queued": queue_mail_polls(deps)} if mail else {},
        notices=deliver_held(deps.notices) if due.held_notices else 0,
        cards=post_waiting_cards(deps) if due.waiting_cards else 0,
        pruned=prune_if_due(deps) if due.retention else {},
        ops_findings=report_if_due(deps) if due.health else 0,
        stalled=escalate_if_due(deps) if due.stalled else 0,
        webhooks=queue_webhooks(deps) if due.webhooks else 0,
        pre_meeting_briefs=send_pre_meeting_briefs(deps) if due.pre_meeting else 0,
        # No query at all unless push is configured; then one, on its own partial index.
        watches=queue_watch_renewals(deps),
    )
