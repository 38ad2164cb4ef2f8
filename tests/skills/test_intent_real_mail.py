"""detect_intent on what real people write: attendance, absences, other formats, hand-overs,
organiser notices, several intents at once, and common answers in six other languages.

The examples are written for these tests, one pattern per group with varied wording; the last
test runs the real-email corpus through the bench's own scoring and asserts issue #14's targets.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import pytest

from skills.detect_intent import IntentAnalysis, detect_intent
from tests.support.services import IN_CI

# Monday 2 March 2026, 10:00 in New York.
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TZ = "America/New_York"
# Tue 3 Mar 14:00 and Wed 4 Mar 10:00 (New York, UTC-5).
PROPOSED = (datetime(2026, 3, 3, 19, 0, tzinfo=UTC), datetime(2026, 3, 4, 15, 0, tzinfo=UTC))
# "Some time next week": every weekday of the week of 9 March, 09:00.
WINDOW = tuple(datetime(2026, 3, day, 14, 0, tzinfo=UTC) for day in range(9, 14))


def detect(body: str, proposed: tuple[datetime, ...] = PROPOSED) -> IntentAnalysis:
    return detect_intent(body, proposed=proposed, now=NOW, tz=TZ)


def agreed(analysis: IntentAnalysis) -> bool:
    """Accept or counter-propose: both agree to meet and name a time (the bench's merged class)."""
    return analysis.intent in ("accept", "counter_propose")


@pytest.mark.parametrize(
    "body",
    [
        "We intend to attend, thanks for organising.",
        "Thanks - I'm planning to come along.",
        "See you Wednesday then.",
        "Looking forward to seeing you all on the 4th.",
        "Count us in!",
        "We'll be there, with two colleagues.",
        "Happy to come, I'll bring the contract drafts.",
        "I'm in.",
    ],
)
def test_saying_you_will_be_there_accepts(body: str) -> None:
    result = detect(body)
    assert result.intent == "accept", result.reasoning
    assert not result.escalate


@pytest.mark.parametrize(
    "body",
    [
        "I'm in Chicago next week.",
        "We will be in Lisbon on Thursday and Friday.",
        "I am off on Wednesday.",
        "I'll be out of town tomorrow and the day after.",
        "I'm travelling the whole week of the 9th.",
    ],
)
def test_a_time_the_writer_is_away_is_never_a_counter_proposal(body: str) -> None:
    result = detect(body)
    assert result.intent != "counter_propose", result.reasoning
    assert result.intent in ("out_of_office", "decline") or result.escalate


def test_away_on_the_day_asked_about_declines() -> None:
    assert detect("Sorry, I'll be out of the office that day.").intent == "decline"


def test_away_then_a_wish_to_meet_afterwards_counters() -> None:
    result = detect("I'm in Madrid until Friday. Perhaps we can get together after that?")
    assert result.intent == "counter_propose"
    assert "out_of_office" in result.extras


@pytest.mark.parametrize(
    "body",
    [
        "Ring me this afternoon and we can go through it.",
        "Rather than meet, give me a call Tuesday morning.",
        "I can't do lunch, but we could grab coffee afterwards.",
        "Travel is hard right now - maybe we could do it by phone, or over video?",
    ],
)
def test_another_format_is_agreement_not_a_refusal(body: str) -> None:
    result = detect(body)
    assert agreed(result), result.reasoning


@pytest.mark.parametrize(
    "body",
    [
        "Neither of us can make it; one of you should present instead.",
        "I've asked Ravi to meet you in my place.",
        "Please check with my assistant, she keeps my diary.",
        "Martina, please set up a meeting with them next week.",
        "Would you please check my calendar and accept if I'm free?",
    ],
)
def test_handing_the_meeting_to_someone_else_delegates(body: str) -> None:
    result = detect(body)
    assert result.intent == "delegate", result.reasoning


@pytest.mark.parametrize(
    "body",
    [
        "Note: the review has been moved to Friday at 11.",
        "We have rescheduled the kickoff for next Monday, same room.",
        "The workshop is now scheduled for 3 March at 2pm.",
        "Heads up - tomorrow's call was pushed back to 4pm.",
    ],
)
def test_organiser_notices_are_reschedules(body: str) -> None:
    assert detect(body).intent == "reschedule"


@pytest.mark.parametrize("body", ["Wednesday suits me.", "Let's say Tuesday - see you then."])
def test_picking_a_day_inside_an_offered_window_accepts(body: str) -> None:
    assert agreed(detect(body, proposed=WINDOW))


def test_picking_a_day_inside_the_window_is_accepted_outright() -> None:
    result = detect("Thursday works for me.", proposed=WINDOW)
    assert result.intent == "accept"
    assert result.confidence == "high"


def test_acceptance_with_a_question_returns_both() -> None:
    result = detect("Tuesday at 2 is fine. Who else is joining from your side?")
    assert result.intent == "accept"
    assert result.extras == ("question",)
    assert result.question == "Who else is joining from your side?"


def test_acceptance_with_a_colleague_copied_returns_both() -> None:
    result = detect("Wednesday works. I'm cc'ing Lena Park, who will join us.")
    assert {result.intent, *result.extras} >= {"accept", "delegate"}


def test_absence_with_an_answer_returns_both() -> None:
    result = detect("I'm on vacation this week, but Wednesday at 10 works once I'm back.")
    assert result.intent == "accept"
    assert "out_of_office" in result.extras


def test_a_plain_answer_has_no_extras() -> None:
    assert detect("Tuesday at 2pm works for me.").extras == ()


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        # Spanish
        ("De acuerdo, el martes me viene bien.", "accept"),
        ("Gracias, pero no podremos asistir.", "decline"),
        # German
        ("Dienstag passt mir gut, ich bin dabei.", "accept"),
        ("Vielen Dank, aber wir müssen leider absagen.", "decline"),
        # French
        ("Ça me convient, j'y serai.", "accept"),
        ("Merci, mais je ne pourrai pas participer.", "decline"),
        # Portuguese
        ("Combinado, terça está ótimo para mim.", "accept"),
        ("Infelizmente não poderei comparecer.", "decline"),
        # Italian
        ("Martedì va benissimo, ci sarò.", "accept"),
        ("Mi dispiace, non potrò partecipare.", "decline"),
        # Dutch
        ("Dinsdag is prima, dat past me goed.", "accept"),
        ("Helaas moeten we afzeggen.", "decline"),
    ],
)
def test_common_answers_in_other_languages(body: str, intent: str) -> None:
    result = detect(body)
    assert result.intent == intent, result.reasoning
    assert not result.escalate


@pytest.mark.parametrize(
    "body",
    [
        "No me parece bien ese horario.",
        "Das geht leider nicht.",
        "Het past me helaas niet.",
        "Non mi va bene quell'orario.",
        "Não pode ser na terça.",
    ],
)
def test_a_negated_foreign_yes_is_not_an_acceptance(body: str) -> None:
    assert detect(body).intent != "accept"


@pytest.mark.parametrize(
    ("body", "back"),
    [
        ("Respuesta automática: estoy de vacaciones, regreso el 16/03.", date(2026, 3, 16)),
        ("Ich bin im Urlaub und ab dem 23. März wieder erreichbar.", date(2026, 3, 23)),
        ("Je suis en congés, de retour le 9 mars.", date(2026, 3, 9)),
        ("Estou fora do escritório até 20/03/2026.", date(2026, 3, 20)),
        ("Sono fuori ufficio, rientro il 2 aprile.", date(2026, 4, 2)),
        ("Ik ben met vakantie, weer terug op 12 maart.", date(2026, 3, 12)),
    ],
)
def test_foreign_out_of_office_with_its_return_date(body: str, back: date) -> None:
    result = detect(body)
    assert result.intent == "out_of_office"
    assert result.ooo_return == back


@pytest.mark.parametrize(
    ("body", "back"),
    [
        # NOW is Monday 2 March: each names a day the writer is still away, or the day back.
        ("I am off on Wednesday.", date(2026, 3, 5)),
        # Away through a Friday: back on the Monday, not on their Saturday.
        ("Out of the office through Friday the 6th; replies will be slow.", date(2026, 3, 9)),
        ("I'm travelling thru Thursday.", date(2026, 3, 6)),
        ("I'm out of the office until Friday.", date(2026, 3, 6)),
        ("Away this week, back on Monday.", date(2026, 3, 9)),
    ],
)
def test_a_day_away_is_not_the_day_back(body: str, back: date) -> None:
    result = detect(body)
    assert result.intent == "out_of_office"
    assert result.ooo_return == back


@pytest.mark.parametrize(
    "body",
    [
        # Bad news around a yes: not a confident acceptance.
        "Unfortunately my board meets that week. See you at the conference, anyway.",
        # Other people's schedule, reported: not an offer of a time.
        "Marco is at the plant visit on the 17th and 18th.",
    ],
)
def test_mixed_or_reported_replies_go_to_the_rep(body: str) -> None:
    assert detect(body).escalate


# --- the real-email corpus, scored by the bench ------------------------------------------------

EVAL_DIR = Path(__file__).resolve().parents[3] / "shared" / "eval"
BENCH = Path(__file__).resolve().parents[2] / "bench" / "intent_accuracy.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("intent_accuracy", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_real_email_corpus_meets_the_targets() -> None:
    if not (EVAL_DIR / "intents_email_dev.jsonl").is_file():
        # CI always has the corpora beside the clone; there a missing corpus is a failure.
        absent = "the shared evaluation corpora (../shared/eval beside the repository) are absent"
        if IN_CI:
            pytest.fail(f"CI=true and {absent}", pytrace=False)
        pytest.skip(absent)
    bench = _bench()
    results = bench.run_email(bench.load(EVAL_DIR / bench.EMAIL_FILE))
    scores = bench.score(results)
    assert bench.email_misses(scores) == []
    dialogue = bench.score(bench.run(bench.load(EVAL_DIR / bench.DIALOGUE_FILE)))
    assert bench.dialogue_misses(dialogue) == []
