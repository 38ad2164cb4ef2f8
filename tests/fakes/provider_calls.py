"""Providers that count the calls they receive.

The embedded mailbox stores one copy per Message-ID, so a second send of the same email leaves
no second row; Gmail, Graph and SMTP would deliver it twice. Exactly-once is judged by the calls
that reached the provider, which these count before anything is de-duplicated.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from connectors.mail.local import LocalMailbox
from connectors.ports import CalendarEvent, CalendarPort, CreatedEvent, OutboundEmail, SentEmail


class CountingMailbox(LocalMailbox):
    """The embedded mailbox, counting `send()` calls per Message-ID."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sends: Counter[str] = Counter()
        self._lock = threading.Lock()

    def send(self, email: OutboundEmail) -> SentEmail:
        with self._lock:
            self.sends[email.message_id] += 1
        return super().send(email)

    @property
    def calls(self) -> int:
        return sum(self.sends.values())


class CountingCalendar:
    """Wraps a calendar, counting the calls that change it (create, update, cancel)."""

    def __init__(self, inner: CalendarPort) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def create_event(self, event: CalendarEvent) -> CreatedEvent:
        self.calls["create"] += 1
        return self.inner.create_event(event)

    def update_event(self, event: CalendarEvent) -> None:
        self.calls["update"] += 1
        self.inner.update_event(event)

    def cancel_event(self, *, organizer: str, event_id: str) -> None:
        self.calls["cancel"] += 1
        self.inner.cancel_event(organizer=organizer, event_id=event_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
