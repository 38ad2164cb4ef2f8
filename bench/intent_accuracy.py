"""Measure :func:`skills.detect_intent.detect_intent` on a labelled corpus of replies, offline.

Usage::

    python bench/intent_accuracy.py [--eval-dir DIR] [--file intents_dev.jsonl] [--errors]

Reads ``<eval-dir>/intents_dev.jsonl`` (by default the ``shared/eval`` folder that sits beside the
repository) and prints accuracy, precision/recall per intent, the escalation rate overall and on
clear messages (labelled accept / decline / counter_propose / question) and model calls per
reply — always 0 here, because no model is given.

Each record has ``text`` (the reply), ``label`` and optionally ``context`` (the turn being
answered). The API takes no context; the only use made of it is the ``proposed`` hint: when the
context offers or asks to confirm a time, that time becomes a proposed slot, as our own outbound
email would provide in production.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skills.detect_intent import INTENTS, IntentAnalysis, detect_intent  # noqa: E402

DEFAULT_EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval"
CLEAR_LABELS = ("accept", "decline", "counter_propose", "question")
# A fixed reference so that runs are reproducible. The dialogues talk about March 2019, so
# their weekdays ("Saturday this week") line up with that calendar.
NOW = datetime(2019, 3, 1, 17, 0, tzinfo=UTC)
TZ = "America/Los_Angeles"

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_CLOCK = re.compile(r"\b(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*([ap])\.?m\b", re.IGNORECASE)
_DATE = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})", re.IGNORECASE
)
# The context asks the reader to agree to something (a question or a request to confirm),
# rather than just stating a fact such as "you are free from 9 am".
_ASKS_AGREEMENT = re.compile(
    r"\?|\bconfirm(?!ed|ation)|\b(?:correct|right|would you|do you|shall|should i|how about|"
    r"what about|instead|is that|okay with|works? for you)\b",
    re.IGNORECASE,
)


def proposed_from_context(context: str, now: datetime) -> list[datetime]:
    """Times a context offers for agreement, read with two small regexes (bench only)."""
    if not context or not _ASKS_AGREEMENT.search(context):
        return []
    day = now.date() + timedelta(days=1)
    date_match = _DATE.search(context)
    if date_match:
        month = _MONTHS.index(date_match.group(1).lower()) + 1
        with contextlib.suppress(ValueError):  # "February 30" keeps the default day
            day = day.replace(month=month, day=int(date_match.group(2)))
    slots = []
    for match in _CLOCK.finditer(context):
        hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "p" else 0)
        slots.append(
            datetime(day.year, day.month, day.day, hour, int(match.group(2) or 0), tzinfo=UTC)
        )
    if not slots and date_match:
        slots.append(datetime(day.year, day.month, day.day, 17, tzinfo=UTC))
    return slots


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def run(records: Iterable[dict[str, str]]) -> list[tuple[dict[str, str], IntentAnalysis]]:
    results = []
    for record in records:
        proposed = proposed_from_context(record.get("context", ""), NOW)
        analysis = detect_intent(record["text"], proposed=proposed, now=NOW, tz=TZ, llm=None)
        results.append((record, analysis))
    return results


def report(results: Sequence[tuple[dict[str, str], IntentAnalysis]], *, errors: bool) -> str:
    total = len(results)
    if not total:
        return "no records"
    correct = sum(a.intent == r["label"] for r, a in results)
    clear = [(r, a) for r, a in results if r["label"] in CLEAR_LABELS]
    lines = [
        f"records: {total}",
        f"accuracy: {correct}/{total} = {correct / total:.1%}",
        f"escalation rate (all): {_rate(sum(a.escalate for _, a in results), total)}",
        f"escalation rate (clear: {'/'.join(CLEAR_LABELS)}): "
        f"{_rate(sum(a.escalate for _, a in clear), len(clear))}",
        f"LLM calls per reply: {sum(a.llm_calls for _, a in results) / total:.2f}",
        "",
        f"{'intent':<16}{'support':>8}{'predicted':>10}{'precision':>11}{'recall':>8}",
    ]
    gold = Counter(r["label"] for r, _ in results)
    predicted = Counter(a.intent for _, a in results)
    hits = Counter(a.intent for r, a in results if a.intent == r["label"])
    for intent in INTENTS:
        if not gold[intent] and not predicted[intent]:
            continue
        precision = f"{hits[intent] / predicted[intent]:.1%}" if predicted[intent] else "-"
        recall = f"{hits[intent] / gold[intent]:.1%}" if gold[intent] else "-"
        lines.append(
            f"{intent:<16}{gold[intent]:>8}{predicted[intent]:>10}{precision:>11}{recall:>8}"
        )
    if errors:
        lines.append("")
        for record, analysis in results:
            if analysis.intent != record["label"]:
                lines.append(
                    f"{record.get('id', '?')}: {record['label']} -> {analysis.intent} "
                    f"[{analysis.confidence}] {record['text']!r} ({analysis.reasoning})"
                )
    return "\n".join(lines)


def _rate(count: int, total: int) -> str:
    return f"{count}/{total} = {count / total:.1%}" if total else "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--file", default="intents_dev.jsonl")
    parser.add_argument("--errors", action="store_true", help="list every misclassified reply")
    args = parser.parse_args(argv)
    path = args.eval_dir / args.file
    if not path.is_file():
        parser.error(f"no corpus at {path}")
    print(report(run(load(path)), errors=args.errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
