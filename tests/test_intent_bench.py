"""bench/intent_accuracy.py: its figures and targets, and the --llm path against a local fake.

The corpora here are tiny ones written for the test, so what each figure must be is known.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.fakes.openai import FakeOpenAI

BENCH = Path(__file__).resolve().parents[1] / "bench" / "intent_accuracy.py"

EMAIL = [
    {
        "id": "e1",
        "context": "Could we meet on Tuesday, March 6 at 2pm?",
        "date": "2001-03-02T10:00:00-06:00",
        "text": "I plan to attend. See you Tuesday.",
        "label": "accept",
    },
    {
        "id": "e2",
        "context": "Would you join our panel on the 12th?",
        "date": "2001-03-02T10:00:00",
        "text": "Thanks, but we are not interested.",
        "label": "decline",
    },
    {
        "id": "e3",
        "context": None,
        "text": "I am out of the office until March 20 with no access to email.",
        "label": "out_of_office",
    },
    {
        "id": "e4",
        "context": "Lunch on Friday?",
        "date": "2001-03-02T10:00:00-06:00",
        "text": "Hmm, I'll have to think about the venue first.",
        "label": "unclear",
    },
]
DIALOGUE = [
    {"context": "Shall I book 3 pm on March 5?", "text": "Yes, that works.", "label": "accept"},
    {"context": "Does 10 am suit you?", "text": "No, I'd rather not.", "label": "decline"},
    {"context": "Shall I book it?", "text": "What is the address?", "label": "question"},
    {"context": "Shall I book 4 pm?", "text": "Hmm.", "label": "unclear"},
]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("intent_accuracy_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench() -> ModuleType:
    return _bench()


@pytest.fixture
def eval_dir(tmp_path: Path) -> Path:
    for name, records in (("intents_email_dev.jsonl", EMAIL), ("intents_dev.jsonl", DIALOGUE)):
        lines = "\n".join(json.dumps(record) for record in records)
        (tmp_path / name).write_text(lines + "\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(prompt_tokens=200, completion_tokens=20)
    yield server
    server.close()


def _answer(intent: str) -> dict[str, Any]:
    return {"intent": intent, "confidence": "medium", "sentiment": "neutral", "reasoning": "r"}


def test_offline_run_reports_every_figure_and_meets_the_targets(
    bench: ModuleType, eval_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench.main(["--eval-dir", str(eval_dir)]) == 0
    out = capsys.readouterr().out
    for figure in (
        "accuracy (strict)",
        "accuracy (merged accept+counter_propose)",
        "escalation rate (all)",
        "confidently wrong (merged, not escalated)",
        "'high' confidence right",
        "LLM calls per reply: 0.00",
    ):
        assert out.count(figure) == 2, figure  # once per corpus


def test_email_proposed_times_come_from_the_context_on_the_reply_date(bench: ModuleType) -> None:
    now = bench.email_now(EMAIL[0])
    slots = bench.proposed_from_email(EMAIL[0]["context"], now)
    assert [(s.month, s.day, s.hour) for s in slots] == [(3, 6, 14)]
    # No offset in the header: the mailbox's own clock.
    assert str(bench.email_now(EMAIL[1]).tzinfo) == bench.EMAIL_TZ


def test_scores_count_confidently_wrong_and_merge_accept_with_counter(bench: ModuleType) -> None:
    records = bench.run_email(
        [
            {**EMAIL[0], "label": "counter_propose"},  # right once merged
            {**EMAIL[1], "label": "accept"},  # wrong and not escalated
            EMAIL[3],  # escalated
        ]
    )
    scores = bench.score(records)
    assert scores.strict == pytest.approx(1 / 3)  # only the unclear one is strictly right
    assert scores.merged == pytest.approx(2 / 3)
    assert scores.confidently_wrong == pytest.approx(1 / 3)
    assert bench.email_misses(scores)  # far from the targets


def test_a_missed_target_exits_non_zero(
    bench: ModuleType, eval_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = [{**record, "label": "reschedule"} for record in EMAIL]
    (eval_dir / "intents_email_dev.jsonl").write_text(
        "\n".join(json.dumps(record) for record in wrong), encoding="utf-8"
    )
    assert bench.main(["--eval-dir", str(eval_dir), "--corpus", "email"]) == 1
    assert "TARGET MISSED: merged accuracy" in capsys.readouterr().out


def test_llm_path_asks_the_model_only_when_the_rules_are_unsure(
    bench: ModuleType,
    eval_dir: Path,
    fake: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LLM_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("LLM_API_BASE", fake.api_base)
    monkeypatch.setenv("LLM_API_KEY", "sk-test")
    fake.answer(_answer("unclear"))  # e4, the only unsure e-mail reply
    fake.answer(_answer("unclear"))  # "Hmm.", the only unsure dialogue turn

    assert bench.main(["--eval-dir", str(eval_dir), "--llm"]) == 0

    out = capsys.readouterr().out
    assert len(fake.requests) == 2
    assert "<reply>" in fake.requests[0].body["messages"][1]["content"]
    assert out.count("LLM calls per reply: 0.25") == 2
    cost_lines = [line for line in out.splitlines() if line.startswith("LLM cost")]
    assert len(cost_lines) == 2
    assert all("$0.000000 in all" not in line for line in cost_lines)


def test_llm_path_flags_a_model_called_too_often(
    bench: ModuleType,
    eval_dir: Path,
    fake: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    unsure = [{**record, "text": "Hmm."} for record in DIALOGUE]
    (eval_dir / "intents_dev.jsonl").write_text(
        "\n".join(json.dumps(record) for record in unsure), encoding="utf-8"
    )
    monkeypatch.setenv("LLM_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("LLM_API_BASE", fake.api_base)
    for record in unsure:
        fake.answer(_answer(record["label"]))

    assert bench.main(["--eval-dir", str(eval_dir), "--corpus", "dialogue", "--llm"]) == 1
    assert "TARGET MISSED: model calls per reply 1.00" in capsys.readouterr().out


def test_llm_path_needs_a_model_name(
    bench: ModuleType, eval_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLM_MODEL", raising=False)
    with pytest.raises(SystemExit, match="LLM_MODEL"):
        bench.main(["--eval-dir", str(eval_dir), "--llm"])
