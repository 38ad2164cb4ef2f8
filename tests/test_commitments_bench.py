"""bench/commitments.py: its figures per split and its targets, on tiny corpora written for the
test (so each figure is known), and the shipped corpus's shape."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "commitments.py"
CORPUS = BENCH.parent / "corpora" / "transcripts_dev.jsonl"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("commitments_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def meeting(n: int, text: str, marked: list[dict[str, Any]], split: str = "dev") -> dict[str, Any]:
    return {
        "id": f"t{n}",
        "split": split,
        "format": "txt",
        "meeting_start": "2026-12-07T15:00:00-05:00",
        "tz": "America/New_York",
        "our_side": ["Sam Patel"],
        "their_side": ["Rita Moreno"],
        "transcript": text,
        "commitments": marked,
        "source": "written for this test",
        "licence": "CC0-1.0",
    }


def mark(owner: str, kind: str, evidence: str, due_date: str | None = None) -> dict[str, Any]:
    return {"owner": owner, "kind": kind, "evidence": evidence, "due": None, "due_date": due_date}


def write(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_figures_per_split(bench: ModuleType, tmp_path: Path, capsys: Any) -> None:
    corpus = write(
        tmp_path,
        [
            meeting(
                1,
                "Sam Patel: I'll send the proposal by Friday.\n"
                "Rita Moreno: I'll review it on Monday.\n",
                # The Monday is marked wrong on purpose: one due day of two is right.
                [
                    mark("us", "deliverable", "I'll send the proposal by Friday", "2026-12-11"),
                    mark("them", "deliverable", "I'll review it on Monday", "2026-12-15"),
                ],
            ),
            meeting(
                2,
                "Rita Moreno: Can you send the questionnaire?\nSam Patel: I sent it already.\n",
                [mark("them", "request", "Can you send the questionnaire?")],  # owner wrong
                split="held",
            ),
        ],
    )
    assert bench.main(["--corpus", str(corpus)]) == 1
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert lines["dev"][1:6] == ["1", "2", "2", "100.0%", "100.0%"]
    assert lines["dev"][-1] == "50.0%"
    assert lines["held"][1:6] == ["1", "1", "1", "0.0%", "0.0%"]
    assert lines["all"][4:6] == ["66.7%", "66.7%"]


def test_passes_when_both_targets_are_met(bench: ModuleType, tmp_path: Path) -> None:
    corpus = write(
        tmp_path,
        [meeting(1, "Sam Patel: I'll send it tomorrow.\n", [mark("us", "deliverable", "send it")])],
    )
    assert bench.main(["--corpus", str(corpus)]) == 0


def test_the_shipped_corpus(bench: ModuleType) -> None:
    records = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    assert len(records) >= 24
    assert {r["split"] for r in records} == {"dev", "held"}
    assert {r["format"] for r in records} == {"txt", "vtt", "srt"}
    for r in records:
        assert r["source"] and r["licence"]
        for m in r["commitments"]:
            assert m["owner"] in ("us", "them", "unknown")
            assert m["kind"] in ("deliverable", "meeting", "request")
            # The marked sentence is words of the transcript, not a paraphrase.
            assert " ".join(m["evidence"].split()) in " ".join(r["transcript"].split())
    assert bench.main([]) == 0
