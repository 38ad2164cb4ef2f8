"""Measure :func:`skills.inbound_request.read_inbound` on labelled new mail, offline.

Usage::

    python bench/inbound.py [--corpus FILE] [--errors]

Each record of ``bench/corpora/inbound_dev.jsonl`` is turned back into the raw message a mailbox
would hand over (its headers, subject and body) and read through the same
:func:`skills.read_email.parse_email` the intake uses, so header handling is measured too. Per
split (``dev``, the part the rules were tuned on; ``held``, set aside before tuning; and both)
it prints precision and recall of ``meeting_request``, and the card rate on other mail: the
share of newsletters, receipts, notifications and ordinary mail that would have made a card.
It exits non-zero when precision is under :data:`MIN_PRECISION` on any split: a false card is
noise in the rep's DMs, so precision is the target; recall is reported.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skills.inbound_request import InboundAsk, read_inbound  # noqa: E402
from skills.read_email import parse_email  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpora" / "inbound_dev.jsonl"
MIN_PRECISION = 0.95
# The rep's own domain in the corpus: a colleague asking for a sync is not a prospect.
OWN_DOMAINS = ("northwind.example",)
SPLITS = ("dev", "held", "all")


@dataclass(frozen=True)
class Scored:
    record: dict[str, Any]
    ask: InboundAsk

    @property
    def expected(self) -> bool:
        return bool(self.record["label"] == "meeting_request")


def raw_message(record: dict[str, Any]) -> bytes:
    message = EmailMessage()
    for name, value in record["headers"].items():
        message[name] = value
    message["Subject"] = record["subject"]
    message.set_content(record["body"])
    return message.as_bytes(policy=SMTP)


def score(records: list[dict[str, Any]]) -> list[Scored]:
    return [
        Scored(r, read_inbound(parse_email(raw_message(r)), own_domains=OWN_DOMAINS))
        for r in records
    ]


def figures(scored: list[Scored]) -> dict[str, float | int]:
    tp = sum(s.ask.asks and s.expected for s in scored)
    fp = sum(s.ask.asks and not s.expected for s in scored)
    fn = sum(not s.ask.asks and s.expected for s in scored)
    others = sum(not s.expected for s in scored)
    return {
        "emails": len(scored),
        "requests": tp + fn,
        "cards": tp + fp,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "card_rate_other": fp / others if others else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--errors", action="store_true", help="print every wrong answer")
    args = parser.parse_args(argv)
    records = [json.loads(line) for line in args.corpus.read_text().splitlines() if line.strip()]
    scored = score(records)
    kinds = Counter(r["category"] for r in records)
    print(f"{len(records)} emails: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print(
        f"{'split':6} {'emails':>6} {'requests':>8} {'cards':>5} {'precision':>9} "
        f"{'recall':>6} {'card rate on other mail':>24}"
    )
    failed = False
    for split in SPLITS:
        part = [s for s in scored if split == "all" or s.record["split"] == split]
        f = figures(part)
        print(
            f"{split:6} {f['emails']:>6} {f['requests']:>8} {f['cards']:>5} "
            f"{f['precision']:>9.1%} {f['recall']:>6.1%} {f['card_rate_other']:>24.1%}"
        )
        failed |= f["precision"] < MIN_PRECISION
    cards = Counter(s.record["category"] for s in scored if s.ask.asks and not s.expected)
    if cards:
        print("false cards by kind: " + ", ".join(f"{k} {n}" for k, n in cards.items()))
    if args.errors:
        for s in scored:
            if s.ask.asks != s.expected:
                r = s.record
                print(
                    f"- {r['id']} [{r['split']}/{r['category']}] {r['subject']!r}: "
                    f"read {'ask' if s.ask.asks else 'no ask'} ({s.ask.reason}; {s.ask.phrase!r})"
                )
    if failed:
        print(f"FAIL: precision under {MIN_PRECISION:.0%}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
