"""Measure :func:`skills.commitments.extract_commitments` on hand-marked meeting transcripts.

Usage::

    python bench/commitments.py [--corpus FILE] [--errors]

Each record of ``bench/corpora/transcripts_dev.jsonl`` is one meeting: its transcript (plain
text, WebVTT or SubRip), the meeting's start, the rep's zone, the names on our side and on the
prospect's, and the commitments a reader marked (owner, kind, the sentence said, the due text
and the day it falls due). A found item matches a marked one when the owner is the same and the
sentences overlap (one holds the other, or they share most of their words); each marked item is
matched at most once. Per split (``dev``, the part the rules were tuned on; ``held``, set aside
before tuning; and both) it prints precision and recall over every item found (low confidence
included: it is shown to the rep), the precision of the items Convene may act on, the share of
matches whose kind agrees, and due-date accuracy (matches whose marked item has a day: the same
day found). It exits non-zero when precision is under :data:`MIN_PRECISION` or recall under
:data:`MIN_RECALL` on any split.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skills.commitments import Commitment, Sides, extract_commitments  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpora" / "transcripts_dev.jsonl"
MIN_PRECISION = 0.80
MIN_RECALL = 0.70
SPLITS = ("dev", "held", "all")
# Share of the shorter sentence's words the two must share to count as the same sentence.
MIN_WORD_OVERLAP = 0.6


@dataclass
class Scored:
    record: dict[str, Any]
    found: list[Commitment]
    # For each found item, the index of the marked item it matched, or None.
    matched: list[int | None]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower().replace("’", "'")))


def same_sentence(found: str, marked: str) -> bool:
    a, b = " ".join(found.lower().split()), " ".join(marked.lower().split())
    if a in b or b in a:
        return True
    wa, wb = _words(a), _words(b)
    shorter = min(len(wa), len(wb))
    return bool(shorter) and len(wa & wb) / shorter >= MIN_WORD_OVERLAP


def score_record(record: dict[str, Any]) -> Scored:
    found = extract_commitments(
        record["transcript"],
        sides=Sides(tuple(record["our_side"]), tuple(record["their_side"])),
        now=datetime.fromisoformat(record["meeting_start"]),
        tz=record["tz"],
        fmt=record["format"],
    )
    marked = record["commitments"]
    taken: set[int] = set()
    matched: list[int | None] = []
    for item in found:
        hit = next(
            (
                i
                for i, m in enumerate(marked)
                if i not in taken
                and m["owner"] == item.owner
                and same_sentence(item.evidence, m["evidence"])
            ),
            None,
        )
        if hit is not None:
            taken.add(hit)
        matched.append(hit)
    return Scored(record, found, matched)


def figures(scored: list[Scored]) -> dict[str, float | int]:
    marked = sum(len(s.record["commitments"]) for s in scored)
    found = sum(len(s.found) for s in scored)
    pairs = [(s, f, m) for s in scored for f, m in zip(s.found, s.matched, strict=True)]
    hits = [(s, f, s.record["commitments"][m]) for s, f, m in pairs if m is not None]
    acted = [(f, m) for _, f, m in pairs if f.actionable]
    dated = [(f, m) for _, f, m in hits if m.get("due_date")]
    return {
        "meetings": len(scored),
        "marked": marked,
        "found": found,
        "precision": len(hits) / found if found else 1.0,
        "recall": len(hits) / marked if marked else 1.0,
        "acted": len(acted),
        "acted_precision": sum(m is not None for _, m in acted) / len(acted) if acted else 1.0,
        "kind": sum(f.kind == m["kind"] for _, f, m in hits) / len(hits) if hits else 1.0,
        "dated": len(dated),
        "due_accuracy": (
            sum(f.due_on is not None and f.due_on.isoformat() == m["due_date"] for f, m in dated)
            / len(dated)
            if dated
            else 1.0
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--errors", action="store_true", help="print every miss and false find")
    args = parser.parse_args(argv)
    records = [json.loads(line) for line in args.corpus.read_text().splitlines() if line.strip()]
    scored = [score_record(r) for r in records]
    print(
        f"{'split':6} {'meetings':>8} {'marked':>6} {'found':>5} {'precision':>9} {'recall':>6} "
        f"{'acted':>5} {'acted prec':>10} {'kind':>5} {'dated':>5} {'due acc':>7}"
    )
    failed = False
    for split in SPLITS:
        part = [s for s in scored if split == "all" or s.record["split"] == split]
        f = figures(part)
        print(
            f"{split:6} {f['meetings']:>8} {f['marked']:>6} {f['found']:>5} "
            f"{f['precision']:>9.1%} {f['recall']:>6.1%} {f['acted']:>5} "
            f"{f['acted_precision']:>10.1%} {f['kind']:>5.0%} {f['dated']:>5} "
            f"{f['due_accuracy']:>7.1%}"
        )
        failed |= f["precision"] < MIN_PRECISION or f["recall"] < MIN_RECALL
    if args.errors:
        for s in scored:
            rid = f"{s.record['id']} [{s.record['split']}]"
            for item, m in zip(s.found, s.matched, strict=True):
                if m is None:
                    how = f"{item.owner}/{item.kind}/{item.confidence}"
                    print(f"- {rid} false: {how} {item.evidence!r}")
                else:
                    want = s.record["commitments"][m]
                    got = item.due_on.isoformat() if item.due_on else None
                    if want.get("due_date") and got != want["due_date"]:
                        print(f"- {rid} due: {got} for {want['due_date']} {item.evidence!r}")
            hit = set(s.matched)
            for i, want in enumerate(s.record["commitments"]):
                if i not in hit:
                    print(f"- {rid} missed: {want['owner']}/{want['kind']} {want['evidence']!r}")
    if failed:
        print(f"FAIL: precision under {MIN_PRECISION:.0%} or recall under {MIN_RECALL:.0%}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
