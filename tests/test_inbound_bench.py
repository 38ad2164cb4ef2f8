"""bench/inbound.py: its figures per split and its precision target, on tiny corpora written for
the test (so each figure is known), and the shipped corpus's size and shape."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "inbound.py"
CORPUS = BENCH.parent / "corpora" / "inbound_dev.jsonl"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("inbound_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def record(n: int, label: str, body: str, split: str = "dev", **headers: str) -> dict[str, Any]:
    return {
        "id": f"t{n}",
        "split": split,
        "label": label,
        "category": "meeting_request" if label == "meeting_request" else "business",
        "headers": {
            "From": f"P{n} <p{n}@acme{n}.example>",
            "To": "sam@northwind.example",
            **headers,
        },
        "subject": "Hello",
        "body": body,
        "source": "written for this test",
        "licence": "CC0-1.0",
    }


def write(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_figures_per_split(bench: ModuleType, tmp_path: Path, capsys: Any) -> None:
    corpus = write(
        tmp_path,
        [
            record(1, "meeting_request", "Could we get a demo next week?"),
            record(2, "meeting_request", "Please get back to me.", split="held"),  # missed
            record(3, "other", "Here is the invoice."),
            record(4, "other", "Could we get a demo?", split="held", Precedence="bulk"),
        ],
    )
    assert bench.main(["--corpus", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "dev         2        1     1    100.0% 100.0%                     0.0%" in out
    assert "held        2        1     0    100.0%   0.0%                     0.0%" in out


def test_a_false_card_under_the_target_fails_the_run(
    bench: ModuleType, tmp_path: Path, capsys: Any
) -> None:
    corpus = write(
        tmp_path,
        [
            record(1, "meeting_request", "Could we get a demo next week?"),
            record(2, "other", "Are you free for a call Thursday?"),  # labelled other: a false card
        ],
    )
    assert bench.main(["--corpus", str(corpus), "--errors"]) == 1
    out = capsys.readouterr().out
    assert "precision" in out and "FAIL: precision under 95%" in out
    assert "- t2 [dev/business]" in out


def test_the_shipped_corpus_is_big_enough_and_labelled(bench: ModuleType) -> None:
    records = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    assert len(records) >= 150
    assert {r["label"] for r in records} == {"meeting_request", "other"}
    assert {r["split"] for r in records} == {"dev", "held"}
    assert sum(r["label"] == "other" for r in records) > len(records) / 2
    assert all(r["source"] and r["licence"] for r in records)
    assert bench.main([]) == 0
