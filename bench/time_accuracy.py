#!/usr/bin/env python3
"""Accuracy and speed of skills.parse_times next to dateparser, on the shared time corpus.

Scores, in one run and on the same cases:
  * parse_time on the bare expressions,
  * extract_times on the whole source sentences (cases that have one),
  * dateparser.parse / dateparser.search.search_dates on the same inputs,
and prints accuracy by kind and grain for each, then single-threaded throughput.

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
TARGETS = {"bare": 0.95, "sentences": 0.90, "throughput": 2000.0}


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
    parse: Callable[..., Any], cases: list[dict[str, Any]], field: str, budget_s: float
) -> float:
    """Expressions per second, single-threaded, repeating the corpus for ``budget_s``."""
    from datetime import datetime

    items = [
        (c[field], datetime.fromisoformat(c["reference_time"]), c["tz"])
        for c in cases
        if c.get(field)
    ]
    done = 0
    started = time.perf_counter()
    while True:
        for text, ref, tz in items:
            # A crash is the scorer's business, not the speed figure's.
            with contextlib.suppress(Exception):
                parse(text, ref, tz)
        done += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= budget_s:
            return done / elapsed


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

    speed = throughput(score_parse, cases, "text", args.speed_seconds)
    print(f"throughput convene parse_time: {speed:,.0f} expressions/s (single thread)")
    if not args.no_dateparser:
        dp_speed = throughput(scorer.dateparser_parse, cases, "text", args.speed_seconds)
        print(f"throughput dateparser.parse:   {dp_speed:,.0f} expressions/s (single thread)")

    bare = results["convene parse_time (bare)"]["overall"]["accuracy"]
    sent = results["convene extract_times (sentences)"]["overall"]["accuracy"]
    checks = {
        "bare >= 95%": bare >= TARGETS["bare"],
        "sentences >= 90%": sent >= TARGETS["sentences"],
        "throughput >= 2000/s": speed >= TARGETS["throughput"],
    }
    print("targets: " + json.dumps(checks))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
