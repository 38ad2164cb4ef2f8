#!/usr/bin/env python3
"""Accuracy and speed of skills.parse_times next to dateparser, on the shared time corpus.

Scores, in one run and on the same cases:
  * parse_time on the bare expressions,
  * extract_times on the whole source sentences (cases that have one),
  * dateparser.parse / dateparser.search.search_dates on the same inputs,
and prints accuracy by kind and grain for each, then single-threaded throughput.
Then parse_time on the project's public corpus (``bench/corpora/time_public.jsonl``, sources
in ``bench/corpora/SOURCES.md``), and an extraction check on real e-mail: the share of the
hand-marked ``time_expressions`` of ``intents_email_dev.jsonl`` that ``extract_times`` finds
(span overlap), and the share of its extractions that overlap none of them (spurious).

Scoring is the shared scorer's (``score_time.py`` in the eval folder), imported by path.
The eval folder defaults to ``shared/eval`` beside the project root; override it with
``--eval-dir`` or the ``CONVENE_EVAL_DIR`` environment variable.

    python bench/time_accuracy.py [--eval-dir DIR] [--cases FILE] [--dump-dir DIR] [--no-dateparser]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from skills.parse_times import score_parse, score_search  # noqa: E402

DEFAULT_EVAL_DIR = ROOT.parent / "shared" / "eval"
PUBLIC_CASES = ROOT / "bench" / "corpora" / "time_public.jsonl"
TARGETS = {
    "bare": 0.97,
    "sentences": 0.90,
    "public": 0.93,
    "email_found": 0.95,
    "email_spurious": 0.05,
    "throughput": 2000.0,
}


def load_scorer(eval_dir: Path) -> ModuleType:
    path = eval_dir / "score_time.py"
    if not path.exists():
        raise SystemExit(f"scorer not found: {path} (use --eval-dir or CONVENE_EVAL_DIR)")
    spec = importlib.util.spec_from_file_location("score_time", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def throughput(
    parse: Callable[..., Any],
    cases: list[dict[str, Any]],
    field: str,
    budget_s: float,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Expressions per second, single-threaded, repeating the corpus for ``budget_s``.

    ``clock`` is wall time by default; ``time.process_time`` counts only this process's CPU
    time, which is the single-thread figure when other work shares the cores.
    """
    from datetime import datetime

    items = [
        (c[field], datetime.fromisoformat(c["reference_time"]), c["tz"])
        for c in cases
        if c.get(field)
    ]
    done = 0
    started = clock()
    while True:
        for text, ref, tz in items:
            # A crash is the scorer's business, not the speed figure's.
            with contextlib.suppress(Exception):
                parse(text, ref, tz)
        done += len(items)
        elapsed = clock() - started
        if elapsed >= budget_s:
            return done / elapsed


def email_extraction(eval_dir: Path) -> tuple[int, int, int, int]:
    """(expressions found, expressions marked, spurious extractions, extractions) on real mail.

    Each reply is read with its own date as ``now`` (noon UTC when it has none); a marked
    expression counts as found when an extraction overlaps its first occurrence in the text.
    """
    from datetime import UTC, datetime

    from skills.parse_times import extract_times

    found = marked = spurious = extracted = 0
    for line in (eval_dir / "intents_email_dev.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        text = rec["text"]
        spans = []
        for item in rec.get("time_expressions") or []:
            phrase = item["text"] if isinstance(item, dict) else item
            # Annotations write one space where the mail may wrap a line or double a space.
            words = [re.escape(w) for w in phrase.split()]
            if not words:
                continue
            pattern = re.compile(r"\s+".join(words), re.IGNORECASE)
            # A phrase marked twice ("3:30" in "2:00-3:30" and again later) is two places:
            # an occurrence inside one already claimed is that one, so the next one is meant.
            hit = next(
                (h for h in pattern.finditer(text) if not _overlaps_any(h.span(), spans)),
                None,
            )
            if hit:
                spans.append(hit.span())
        date = rec.get("date")
        now = datetime.fromisoformat(date) if date else datetime(2001, 6, 1, 12, tzinfo=UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        got = [p.span for p in extract_times(text, now=now, tz="UTC", include_excluded=True)]
        marked += len(spans)
        found += sum(any(a < e and s < b for a, b in got) for s, e in spans)
        extracted += len(got)
        spurious += sum(not any(a < e and s < b for s, e in spans) for a, b in got)
    return found, marked, spurious, extracted


def _overlaps_any(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


def print_summary(title: str, summary: dict[str, Any]) -> None:
    o = summary["overall"]
    print(
        f"{title}: {o['correct']}/{o['n']} = {o['accuracy']:.1%} correct at grain; "
        f"exact minute {o['exact_minute']}/{o['n']}; no output {o['no_output']}"
    )
    for section in ("by_kind", "by_grain", "by_source", "by_has_timezone"):
        cells = ", ".join(
            f"{k} {v['correct']}/{v['n']} {v['accuracy']:.1%}" for k, v in summary[section].items()
        )
        print(f"    {section[3:]:<16} {cells}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--eval-dir", type=Path, default=None)
    ap.add_argument("--cases", type=Path, default=None, help="default: <eval-dir>/time_dev.jsonl")
    ap.add_argument("--dump-dir", type=Path, default=None, help="write per-case results here")
    ap.add_argument("--no-dateparser", action="store_true", help="skip the dateparser baseline")
    ap.add_argument("--speed-seconds", type=float, default=2.0)
    args = ap.parse_args(argv)

    eval_dir = args.eval_dir or Path(os.environ.get("CONVENE_EVAL_DIR", DEFAULT_EVAL_DIR))
    scorer = load_scorer(eval_dir)
    cases = scorer.load_cases(str(args.cases or eval_dir / "time_dev.jsonl"))

    def dump(name: str) -> str | None:
        if args.dump_dir is None:
            return None
        args.dump_dir.mkdir(parents=True, exist_ok=True)
        return str(args.dump_dir / f"{name}.jsonl")

    runs: list[tuple[str, Callable[..., Any], bool]] = [
        ("convene parse_time (bare)", score_parse, False),
        ("convene extract_times (sentences)", score_search, True),
    ]
    if not args.no_dateparser:
        runs += [
            ("dateparser.parse (bare)", scorer.dateparser_parse, False),
            ("dateparser search_dates (sentences)", scorer.dateparser_search, True),
        ]
    results: dict[str, dict[str, Any]] = {}
    for title, fn, sentences in runs:
        summary, _ = scorer.score(
            fn,
            cases,
            sentences=sentences,
            dump=dump(title.split()[0] + ("_s" if sentences else "")),
        )
        results[title] = summary
        print_summary(title, summary)
        print()

    wall = throughput(score_parse, cases, "text", args.speed_seconds)
    speed = throughput(score_parse, cases, "text", args.speed_seconds, time.process_time)
    print(
        f"throughput convene parse_time: {speed:,.0f} expressions/s of CPU time "
        f"({wall:,.0f}/s wall clock; single thread)"
    )
    if not args.no_dateparser:
        dp_speed = throughput(scorer.dateparser_parse, cases, "text", args.speed_seconds)
        print(f"throughput dateparser.parse:   {dp_speed:,.0f} expressions/s (single thread)")

    public_summary, _ = scorer.score(
        score_parse, scorer.load_cases(str(PUBLIC_CASES)), dump=dump("convene_public")
    )
    print()
    print_summary("convene parse_time (public corpus, bare)", public_summary)
    found, marked, spurious, extracted = email_extraction(eval_dir)
    found_rate = found / marked if marked else 0.0
    spurious_rate = spurious / extracted if extracted else 0.0
    print(
        f"e-mail time expressions: extract_times finds {found}/{marked} = {found_rate:.1%}; "
        f"spurious {spurious}/{extracted} = {spurious_rate:.1%}"
    )

    bare = results["convene parse_time (bare)"]["overall"]["accuracy"]
    sent = results["convene extract_times (sentences)"]["overall"]["accuracy"]
    public = public_summary["overall"]["accuracy"]
    checks = {
        "bare >= 97%": bare >= TARGETS["bare"],
        "sentences >= 90%": sent >= TARGETS["sentences"],
        "public >= 93%": public >= TARGETS["public"],
        "e-mail found >= 95%": found_rate >= TARGETS["email_found"],
        "e-mail spurious < 5%": spurious_rate < TARGETS["email_spurious"],
        "throughput >= 2000/s (CPU time)": speed >= TARGETS["throughput"],
    }
    print("targets: " + json.dumps(checks))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
