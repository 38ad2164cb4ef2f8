"""The fields every outbound email draft shares: who it is addressed to, and where in the
conversation it goes. Each drafting step adds its own subject, body and Message-ID.

Pure: it reads attendee and message rows through the few attributes it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypedDict

from skills.email_text import reply_subject


class Attendee(Protocol):
    @property
    def email(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def required(self) -> bool: ...


class Parent(Protocol):
    """The email a draft answers or follows."""

    @property
    def message_id(self) -> str: ...
    @property
    def references(self) -> Sequence[str]: ...
    @property
    def thread_id(self) -> str | None: ...


class Addressed(TypedDict):
    to: tuple[str, ...]
    cc: tuple[str, ...]


class Threaded(TypedDict):
    in_reply_to: str
    references: tuple[str, ...]
    thread_id: str | None


class Reply(Threaded):
    subject: str


def addressed(attendees: Iterable[Attendee]) -> Addressed:
    """To the people required on their side, copying the optional ones."""
    external = [a for a in attendees if a.side == "external"]
    return {
        "to": tuple(a.email for a in external if a.required),
        "cc": tuple(a.email for a in external if not a.required),
    }


def threaded_under(parent: Parent) -> Threaded:
    """In-Reply-To ``parent``, References its chain ending in it, in its provider thread."""
    return {
        "in_reply_to": parent.message_id,
        "references": tuple(dict.fromkeys([*parent.references, parent.message_id])),
        "thread_id": parent.thread_id,
    }


def reply_fields(parent: Parent, *, subject: str) -> Reply:
    """A reply under ``parent`` whose subject keeps the conversation's ("Re: " once)."""
    return {"subject": reply_subject(subject), **threaded_under(parent)}
