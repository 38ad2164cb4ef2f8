"""Where a prospect probably is, read from their reply: a hint for the rep, never a decision.

A reply says where its writer is in a few ways: in words ("I'm in Tokyo this month", "3pm
Pacific"), in a signature ("Acme GmbH · Berlin"), or only in the offset of its Date header,
which says where the mail client was. :func:`zone_hint` reads the reply's own part (the quoted
history is ours and names our zone, so it is cut first; the signature is kept, since that is
where a city usually is) and returns the zone with its evidence in words.

It is a hint because every one of these can mislead: a trip ("I'm in London next week"), a
head office in the signature, a laptop still on home time. The rep confirms it with one click
before any time is read or written in it.

Pure: text in, a hint out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from skills.email_text import with_signature
from skills.timeparse.zones import detect_timezone

MAX_HINT_CHARS = 4000  # a reply's own part; past this it is pasted material, not a signature


@dataclass(frozen=True)
class ZoneHint:
    zone: str  # an IANA name ZoneInfo knows; fixed offsets are "Etc/GMT+5"
    evidence: str  # why, in words for the rep
    weak: bool  # only the Date header's offset: it says nothing about daylight saving


def zone_hint(text: str, *, sent_at: datetime | None, known: str | None) -> ZoneHint | None:
    """The zone the reply suggests, when it suggests one other than `known`.

    `sent_at` is the Date header as the sender's client wrote it (its offset is the weakest
    evidence); `known` is the zone we already read their words in.
    """
    own = with_signature(text)[:MAX_HINT_CHARS]
    offset = _offset(sent_at)
    found, evidence = detect_timezone(own, header_offset=offset)
    if found is None or not _loadable(found):
        return None
    if known is not None and _same_offsets(found, known, sent_at):
        return None
    weak = "Date header" in evidence
    return ZoneHint(zone=found, evidence=_plain(evidence), weak=weak)


def _offset(sent_at: datetime | None) -> str | None:
    # +0000 is what servers, relays and many webmail clients write whoever sends: no evidence.
    if sent_at is None or not sent_at.utcoffset():
        return None
    return sent_at.strftime("%z") or None


def _loadable(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _same_offsets(found: str, known: str, at: datetime | None) -> bool:
    """Whether the hint would change nothing: the same zone, or (for a bare offset) the same
    offset as the known zone has at the time they wrote."""
    if found == known:
        return True
    if not found.startswith("Etc/") or at is None or not _loadable(known):
        return False
    return at.astimezone(ZoneInfo(found)).utcoffset() == at.astimezone(ZoneInfo(known)).utcoffset()


def _plain(evidence: str) -> str:
    """detect_timezone's evidence, as the rep reads it on the card."""
    if "Date header" in evidence:
        return "the clock of their email client"
    return evidence.replace("mentioned", "in their reply")
