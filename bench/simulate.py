"""Play a population of simulated prospects through the whole product, and count what went wrong.

Usage::

    python bench/simulate.py [--prospects N] [--seed S] [--days D] [--eval-dir DIR] [--errors]

Each prospect gets a rep's `/schedule` on its own embedded stack (SQLite, an in-process queue,
the embedded calendar and mailbox, the local Slack stand-in, a manual clock that jumps from one
due moment to the next). The prospect has a zone, a working day and a calendar of their own,
and a behaviour drawn by label from the labelled real-email corpus
(``intents_email_dev.jsonl``: accept, counter, decline, delegate, out of office) or from the
ways people go quiet (silence, a late reply after the follow-ups, two quick replies where the
second corrects the first). Replies that carry no time are the corpus's own words; replies that
name a time name one the prospect is free at, in their own zone, with the corpus's words around.

A scripted careful rep answers every card within the hour during their working day: emails are
approved; a booking only when it is at the time the prospect actually chose (anything else is
rejected); decision cards get the choice that fits what the prospect meant (booking the
prospect's own time when the card offers it, and taking over a request whose first email found
no time at all).

Printed: booking rate (all prospects, and those who chose a time), median days from
`/schedule` to the booking, rep clicks per booked meeting, escalations (decision cards) per
request, issue 15's invariants, and the wrong outcomes:

- a booking at a time the prospect did not choose (or any booking when they chose none);
- a lost reply: the prospect wrote and nothing moved (no card, draft or DM for the rep, and
  the request's state and next due time unchanged);
- a stuck request: at the end it is neither booked nor stopped, and nothing will wake it;
- a give-up on answered mail: Convene stopped chasing because "N emails have gone unanswered"
  while fewer than N of our emails came after the prospect's last one.

Wrong outcomes must be 0; the script exits non-zero otherwise and names each with its prospect
number, so ``--seed S --only K`` replays it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import fakeredis  # noqa: E402
from sqlmodel import col  # noqa: E402

from connectors.clock import ManualClock  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import (  # noqa: E402
    BOOKED_STATUSES,
    STOPPED_STATUSES,
    ActionStatus,
    EmailMessage,
    LocalCalendarEvent,
    PendingAction,
)
from orchestrator.logs import configure as configure_logs  # noqa: E402
from tests.support import invariants  # noqa: E402
from tests.support.conversation.moves import spoken  # noqa: E402
from tests.support.conversation.outside import calendar_busy  # noqa: E402
from tests.support.conversation.prospect_mail import (  # noqa: E402
    prospect_replies,
    replies_arrive_together,
)
from tests.support.conversation.rep_slack import rep_schedules  # noqa: E402
from tests.support.conversation.world import OTTO, PROSPECT, RITA, Person, World  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

DEFAULT_EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval"
EMAIL_FILE = "intents_email_dev.jsonl"
# A Monday morning in New York; each prospect's request starts within the following week.
START = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
)
# How the population behaves. The corpus decides the shares of its own labels; these are the
# shares of people who write nothing, write late, or write twice in a row.
SILENT, LATE, TWICE = 0.12, 0.10, 0.08
CORPUS_BEHAVIOURS = {
    "accept": "accept",
    "counter_propose": "counter",
    "decline": "decline",
    "delegate": "delegate",
    "out_of_office": "out_of_office",
}
CHOOSE_A_TIME = ("accept", "counter", "late", "twice")
TARGETS = {"wrong_outcomes": 0}
REP_HOURS = (clock_time(8), clock_time(18))


# --- the population ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prospect:
    number: int
    zone: str
    behaviour: str  # accept | counter | decline | delegate | out_of_office | silence | late | twice
    words: str  # the corpus reply it borrows its wording from ("" when it writes nothing)
    busy_hours: frozenset[tuple[date, int]]  # their own calendar: (local day, hour) taken
    reply_after: timedelta
    rep: Person


def load_corpus(path: Path) -> dict[str, list[dict[str, Any]]]:
    by_label: dict[str, list[dict[str, Any]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            by_label.setdefault(row["label"], []).append(row)
    return by_label


def population(count: int, seed: int, corpus: dict[str, list[dict[str, Any]]]) -> list[Prospect]:
    rng = random.Random(seed)
    rows = [r for label in CORPUS_BEHAVIOURS for r in corpus.get(label, [])]
    people = []
    for number in range(count):
        zone = rng.choice(ZONES)
        roll = rng.random()
        row = rng.choice(rows)
        behaviour = CORPUS_BEHAVIOURS[row["label"]]
        if roll < SILENT:
            behaviour = "silence"
        elif roll < SILENT + LATE:
            behaviour = "late"
        elif roll < SILENT + LATE + TWICE:
            behaviour = "twice"
        if behaviour in CHOOSE_A_TIME:
            # Words that agree without naming a time of their own ("Thanks, count me in").
            quiet = [r for r in corpus["accept"] if not r["time_expressions"]]
            row = rng.choice(quiet)
        first = (START + timedelta(days=7)).astimezone(ZoneInfo(zone)).date()
        busy = frozenset(
            (first + timedelta(days=d), h)
            for d in range(14)
            for h in range(8, 18)
            if rng.random() < 0.35
        )
        late = behaviour == "late"
        reply_after = timedelta(
            hours=rng.uniform(100, 160) if late else rng.choice((0.3, 2, 5, 20, 30))
        )
        people.append(
            Prospect(
                number=number,
                zone=zone,
                behaviour=behaviour,
                words=" ".join(str(row["text"]).split()),
                busy_hours=busy,
                reply_after=reply_after,
                rep=RITA if number % 3 else OTTO,
            )
        )
    return people


def free_for(prospect: Prospect, moment: datetime) -> bool:
    local = moment.astimezone(ZoneInfo(prospect.zone))
    return (
        local.weekday() < 5
        and 9 <= local.hour < 17
        and (local.date(), local.hour) not in prospect.busy_hours
    )


def pick(prospect: Prospect, offered: Sequence[datetime], now: datetime) -> datetime | None:
    """The first offered time they are free at (None: none suits them)."""
    return next((t for t in offered if t > now and free_for(prospect, t)), None)


def counter_time(prospect: Prospect, after: datetime) -> datetime:
    """A time they are free at, on the hour, a few days on."""
    local = after.astimezone(ZoneInfo(prospect.zone)).replace(minute=0, second=0, microsecond=0)
    moment = local + timedelta(days=2)
    while not free_for(prospect, moment):
        moment += timedelta(hours=1)
    return moment.astimezone(UTC)


# --- one prospect's conversation ----------------------------------------------------------------


@dataclass
class Outcome:
    number: int
    behaviour: str
    chosen: datetime | None = None
    booked: datetime | None = None
    days_to_book: float | None = None
    clicks: int = 0
    escalations: int = 0
    wrong: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # issue 15's invariants
    errors: list[str] = field(default_factory=list)  # the run failed to play it


class Conversation:
    """One prospect and one careful rep, on one stack, until it ends or the days run out."""

    def __init__(self, stack: Stack, prospect: Prospect, *, days: int) -> None:
        self.stack, self.prospect = stack, prospect
        self.world = World(stack, prospect.rep)
        self.world.zones[PROSPECT] = prospect.zone
        self.outcome = Outcome(prospect.number, prospect.behaviour)
        self.sent_times = invariants.SentTimes()
        self.answered = 0  # emails of ours the prospect has answered
        self.started = stack.clock.now()
        self.until = self.started + timedelta(days=days)
        self.decided_cards: set[str] = set()

    # --- the clock ---

    def run(self) -> Outcome:
        rng = random.Random(self.prospect.number)
        for day in range(rng.randint(0, 4)):  # the rep's own week fills up a little
            start = (self.started + timedelta(days=7 + day, hours=rng.randint(0, 6))).replace(
                minute=0
            )
            calendar_busy(self.world.rep.email, start, start + timedelta(hours=1)).run(self.world)
        rep_schedules(f"demo with {PROSPECT} next week 30m").run(self.world)
        reply_at: datetime | None = None
        while self.stack.clock.now() < self.until:
            self.rep_looks()
            self.check()
            request = self.world.request()
            if request.status in STOPPED_STATUSES or (
                request.status in BOOKED_STATUSES and not self.open_cards()
            ):
                break
            if reply_at is None and self.wants_to_answer(request.status):
                first = self.answered == 0
                after = self.prospect.reply_after if first else timedelta(hours=3)
                reply_at = self.stack.clock.now() + after
            moments = [self.until]
            if reply_at is not None:
                moments.append(reply_at)
            if request.next_action_at is not None:
                moments.append(request.next_action_at)
            if request.stall_check_at is not None:
                moments.append(request.stall_check_at)
            if self.open_cards() or request.event_next_action == "waiting_for_decision":
                moments.append(self.rep_next_look())
            step = max(min(moments), self.stack.clock.now() + timedelta(minutes=1))
            self.stack.clock.advance(step - self.stack.clock.now())
            self.world.clock_runs()
            if reply_at is not None and self.stack.clock.now() >= reply_at:
                reply_at = None
                self.prospect_replies()
        self.judge_the_end()
        return self.outcome

    def rep_next_look(self) -> datetime:
        """Within the hour, in the rep's working day."""
        zone = ZoneInfo(self.world.rep.tz)
        moment = (self.stack.clock.now() + timedelta(minutes=45)).astimezone(zone)
        while moment.weekday() >= 5 or not REP_HOURS[0] <= moment.time() < REP_HOURS[1]:
            moment = (moment + timedelta(hours=1)).replace(minute=0)
        return moment.astimezone(UTC)

    # --- the prospect ---

    def wants_to_answer(self, status: str) -> bool:
        """A new email of ours is waiting: they answer it unless they never write, already
        said no, or it confirmed the meeting (at most a few rounds)."""
        received = len(self.world.mail_to(PROSPECT))
        if self.prospect.behaviour == "silence" or received <= self.answered:
            return False
        if self.answered and self.prospect.behaviour not in CHOOSE_A_TIME:
            return False
        return status not in BOOKED_STATUSES and self.answered < 4

    def prospect_replies(self) -> None:
        p, w = self.prospect, self.world
        received = len(w.mail_to(PROSPECT))
        if not received:
            return
        offered = w.offers[-1] if w.offers else ()
        now = self.stack.clock.now()
        before = self.rep_was_told()
        again = self.answered > 0
        self.answered = received
        chosen = self.outcome.chosen
        if p.behaviour in ("decline", "delegate", "out_of_office"):
            prospect_replies(p.words).run(w)
        elif again and chosen is not None and chosen in offered:
            prospect_replies(f"{spoken(chosen, p.zone)} please.").run(w)
        elif again:
            self.outcome.chosen = pick(p, offered, now) or counter_time(p, now)
            prospect_replies(f"{spoken(self.outcome.chosen, p.zone)} works for me.").run(w)
        elif p.behaviour == "twice":
            first = pick(p, offered, now) or counter_time(p, now)
            second = counter_time(p, first)
            self.outcome.chosen = second
            replies_arrive_together(
                f"{spoken(first, p.zone)} works for me. {p.words}",
                f"Sorry, scratch that: {spoken(second, p.zone)} is better for me.",
            ).run(w)
        else:
            chosen = pick(p, offered, now)
            if chosen is not None and p.behaviour != "counter":
                text = f"{spoken(chosen, p.zone)} works for me. {p.words}"
            else:
                chosen = counter_time(p, offered[-1] if offered else now)
                text = f"None of those work for me, sorry. Could we do {spoken(chosen, p.zone)}?"
            self.outcome.chosen = chosen
            prospect_replies(text).run(w)
        if self.rep_was_told() == before:
            self.outcome.wrong.append(f"lost reply: {w.replies[-1].get_content()[:80]!r}")

    def rep_was_told(self) -> tuple[object, ...]:
        """What a reply must move: a card or DM to the rep, a decision waiting, or the
        request itself (its state, or when it next acts, as an out-of-office reply moves the
        follow-up)."""
        request = self.world.request()
        return (
            len(self.world.actions()),
            len([m for m in self.stack.slack.messages if m.channel.startswith("D")]),
            request.event_next_action,
            request.status,
            request.next_action_at,
        )

    # --- the careful rep ---

    def open_cards(self) -> list[PendingAction]:
        return [a for a in self.world.actions() if a.status == ActionStatus.pending and a.slack_ts]

    def rep_looks(self) -> None:
        if self.stack.clock.now() < self.rep_next_look() - timedelta(minutes=45):
            return  # outside the rep's day: the cards wait
        for _ in range(6):
            acted = self.decide_a_card() or self.answer_a_draft()
            if not acted:
                return

    def answer_a_draft(self) -> bool:
        cards = self.open_cards()
        if not cards:
            return False
        draft = cards[0]
        card = self.stack.slack.message(draft.slack_channel or "", draft.slack_ts or "")
        data = draft.effective_data()
        chosen = self.outcome.chosen
        if "approve_action" not in json.dumps(card.blocks):
            good = False  # it can't go out as drafted (its times passed): only Reject is left
        elif draft.action_type.startswith("calendar_"):
            start = datetime.fromisoformat(str(data.get("start"))) if data.get("start") else None
            good = chosen is not None and start == chosen
        else:
            good = True
        self.outcome.clicks += 1
        if good:
            self.stack.click("approve_action", card, user=self.world.rep.slack_id)
            self.world.wait_out_the_undo_window()
            done = self.world.action(draft.id)
            slots = done.effective_data().get("slots")
            if done.status == ActionStatus.executed and slots:
                self.world.offers.append(tuple(datetime.fromisoformat(s) for s in slots))
            if done.status == ActionStatus.executed and draft.action_type == "calendar_book":
                self.outcome.days_to_book = (self.stack.clock.now() - self.started) / timedelta(
                    days=1
                )
        else:
            from tests.support.conversation.rep_slack import _fill_in

            _fill_in(
                self.world,
                lambda: self.stack.click("reject_action", card, user=self.world.rep.slack_id),
                "the reject modal",
                {"reason": {"reason": {"value": "Not the time they chose."}}},
            )
            self.world.clock_runs()
        return True

    def decide_a_card(self) -> bool:
        if self.world.request().event_next_action != "waiting_for_decision":
            return False
        cards = [c for c in self.world.decision_cards() if c.ts not in self.decided_cards]
        if not cards:
            return False
        card = cards[-1]
        self.decided_cards.add(card.ts)
        self.outcome.escalations += 1
        buttons = [
            str(e["action_id"])[len("decision_") :]
            for b in card.blocks
            for e in b.get("elements", [])
            if str(e.get("action_id", "")).startswith("decision_")
        ]
        wanted = {
            "decline": ("cancel_request", "handle_myself"),
            "delegate": ("handle_myself",),
            "out_of_office": ("keep_open", "handle_myself"),
            "silence": ("cancel_request", "handle_myself"),
        }.get(self.prospect.behaviour, ("offer_times", "clarify", "handle_myself"))
        if "never got its first email" in str(card.blocks):
            # Our hours and their day never overlap: a careful rep takes it over.
            wanted = ("handle_myself",)
        self.outcome.clicks += 1
        booking = self.their_time_on(card) if "book_slot" in buttons else None
        if booking is not None:
            # The card offers the very time they chose (outside our hours, say): book it.
            self.stack.click(
                "decision_book_slot", card, user=self.world.rep.slack_id, state=booking
            )
            self.stack.drain()
            return True
        choice = next((c for c in wanted if c in buttons), buttons[0] if buttons else None)
        if choice is None:
            self.outcome.clicks -= 1
            return False
        self.stack.click(f"decision_{choice}", card, user=self.world.rep.slack_id)
        self.stack.drain()
        return True

    def their_time_on(self, card: Any) -> dict[str, Any] | None:
        """The slot picker's state with the prospect's chosen time selected, when it is there."""
        chosen = self.outcome.chosen
        for block in card.blocks:
            for element in block.get("elements", []):
                if element.get("type") != "radio_buttons" or chosen is None:
                    continue
                for option in element["options"]:
                    if datetime.fromisoformat(option["value"]) == chosen:
                        picked = {"type": "radio_buttons", "selected_option": option}
                        return {block["block_id"]: {element["action_id"]: picked}}
        return None

    # --- judging ---

    def check(self) -> None:
        deps = self.stack.deps
        for broken in (
            invariants.at_most_one_live_event(deps),
            self.sent_times.check(deps),
            invariants.nothing_sent_without_approval(deps),
        ):
            self.outcome.broken += [b for b in broken if b not in self.outcome.broken]

    def judge_the_end(self) -> None:
        w, o = self.world, self.outcome
        ours = {f"convene-{a.id.hex}" for a in w.actions("calendar_book")}
        live = [
            e
            for e in self.stack.rows(
                LocalCalendarEvent, col(LocalCalendarEvent.calendar) == w.rep.email
            )
            if e.event_id in ours and e.status != "cancelled"
        ]
        if live:
            o.booked = live[0].start
            if o.chosen is None or live[0].start != o.chosen:
                chose = "nothing" if o.chosen is None else f"{o.chosen:%a %b %d %H:%M %Z}"
                o.wrong.append(f"booked {live[0].start:%a %b %d %H:%M %Z}; they chose {chose}")
        request = w.request()
        if self.gave_up_on_answered_mail():
            o.wrong.append("gave up: counted answered emails as unanswered")
        for unwatched in invariants.every_open_request_is_watched(self.stack.deps):
            o.wrong.append(f"stuck: {unwatched}"[:300])
        if request.status in BOOKED_STATUSES and not live:
            o.wrong.append(f"{request.status} with nothing on the calendar")

    def gave_up_on_answered_mail(self) -> bool:
        """Convene stopped chasing because "N emails have gone unanswered" while fewer than N
        of our emails came after the prospect's last one: that is not silence."""
        stops = [a for a in self.world.audit() if a.action_type == "follow_ups_stopped"]
        words = (stops[-1].reasoning or "").split() if stops else []
        if "unanswered" not in words or not words[0].isdigit():
            return False
        stopped, claimed = stops[-1].created_at, int(words[0])
        mail = self.stack.rows(EmailMessage)
        theirs = [
            m.created_at for m in mail if m.direction == "inbound" and m.created_at <= stopped
        ]
        last = max(theirs, default=None)
        ours = [
            m
            for m in mail
            if m.direction == "outbound"
            and m.sent_at is not None
            and (last is None or m.sent_at > last)
            and m.sent_at <= stopped
        ]
        return len(ours) < claimed


def start_of(prospect: Prospect) -> datetime:
    """Requests start through the week, at different hours of the rep's morning."""
    return START + timedelta(days=prospect.number % 5, hours=prospect.number % 7)


# --- the run ------------------------------------------------------------------------------------


def simulate(people: Sequence[Prospect], *, days: int, on_each: Any = None) -> list[Outcome]:
    outcomes: list[Outcome] = []
    # Memory-backed when the system has it: SQLite's commits would otherwise wait on the disk.
    scratch = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        template = Path(folder) / "template.db"
        upgrade(f"sqlite:///{template}")
        for prospect in people:
            outcome = _play_one(Path(folder), template, prospect, days=days)
            outcomes.append(outcome)
            if on_each is not None:
                on_each(outcome)
    return outcomes


def _play_one(folder: Path, template: Path, prospect: Prospect, *, days: int) -> Outcome:
    """One prospect on a fresh stack. A step that fails (on a crowded machine, a wait on the
    local servers may time out) is played once more from the start; a second failure is kept
    as an error of the run, never counted as an outcome."""
    failures = []
    for _ in range(2):
        db = folder / "prospect.db"
        shutil.copyfile(template, db)
        try:
            with Stack.start(
                database_url=f"sqlite:///{db}",
                redis=fakeredis.FakeRedis(),
                clock=ManualClock(start_of(prospect)),
            ) as stack:
                return Conversation(stack, prospect, days=days).run()
        except Exception as exc:  # noqa: BLE001 - reported with the prospect's number
            failures.append(f"{type(exc).__name__}: {exc}"[:300])
        finally:
            db.unlink(missing_ok=True)
    return Outcome(prospect.number, prospect.behaviour, errors=failures)


def figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    played = [o for o in outcomes if not o.errors]
    booked = [o for o in played if o.booked is not None]
    choosers = [o for o in played if o.behaviour in CHOOSE_A_TIME]
    days = [o.days_to_book for o in booked if o.days_to_book is not None]
    wrong = Counter(w.split(":")[0].split(" ")[0] for o in outcomes for w in o.wrong)
    return {
        "prospects": len(outcomes),
        "behaviours": dict(Counter(o.behaviour for o in outcomes)),
        "booking_rate": round(len(booked) / max(1, len(played)), 3),
        "booking_rate_of_those_who_chose_a_time": round(
            len([o for o in choosers if o.booked]) / max(1, len(choosers)), 3
        ),
        "median_days_to_book": round(statistics.median(days), 2) if days else None,
        "rep_clicks_per_booked_meeting": round(
            sum(o.clicks for o in played) / max(1, len(booked)), 2
        ),
        "escalations_per_request": round(
            sum(o.escalations for o in played) / max(1, len(played)), 3
        ),
        "invariant_breaks": sum(len(o.broken) for o in outcomes),
        "wrong_outcomes": sum(len(o.wrong) for o in outcomes),
        "wrong_by_kind": dict(wrong),
        "not_played": len([o for o in outcomes if o.errors]),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--prospects", type=int, default=300)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--days", type=int, default=21, help="how long each request may run")
    parser.add_argument("--only", type=int, action="append", help="replay these prospects")
    parser.add_argument("--errors", action="store_true", help="print every wrong outcome")
    args = parser.parse_args(argv)
    path = args.eval_dir / EMAIL_FILE
    if not path.is_file():
        parser.error(f"no corpus at {path}")
    configure_logs(level="ERROR")
    people = population(args.prospects, args.seed, load_corpus(path))
    if args.only:
        people = [p for p in people if p.number in set(args.only)]
    began = time.perf_counter()

    def progress(o: Outcome) -> None:
        done = o.number + 1
        if done % 25 == 0:
            print(f"{done} prospects, {time.perf_counter() - began:.0f} s", file=sys.stderr)
        if args.errors and (o.wrong or o.broken or o.errors):
            for line in [*o.wrong, *o.broken]:
                print(f"prospect {o.number} ({o.behaviour}): {line}", flush=True)
            for line in o.errors:
                print(f"prospect {o.number} ({o.behaviour}) not played: {line}", flush=True)

    outcomes = simulate(people, days=args.days, on_each=progress)
    result = figures(outcomes)
    result["seconds"] = round(time.perf_counter() - began, 1)
    result["seed"] = args.seed
    for o in outcomes:
        for line in o.wrong:
            print(f"WRONG prospect {o.number} ({o.behaviour}): {line}")
    print(json.dumps({"figures": result, "targets": TARGETS}, indent=2))
    if result["not_played"]:
        print(f"TARGET MISSED: {result['not_played']} prospects could not be played (--errors)")
    missed = result["wrong_outcomes"] > TARGETS["wrong_outcomes"] or result["not_played"] > 0
    if result["wrong_outcomes"] > TARGETS["wrong_outcomes"]:
        print(
            f"TARGET MISSED: {result['wrong_outcomes']} wrong outcomes (replay: --seed "
            f"{args.seed} --only N)"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
