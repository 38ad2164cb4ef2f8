"""What every attack shares: the run (rig, driver, ledger, random moments, sizes), the reps who
click, and the few requests more than one attack sends. Each attack is a bounded loop that records
in the ledger what it did and what it expects; the verdicts come later, from the database and the
counting fakes (`verdicts.judge`)."""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass

from bench.chaos.driver import Draft, Driver
from bench.chaos.rig import REPS, Rig
from bench.chaos.verdicts import Ledger, Scenario

SAM, ANA, KEN = "U0SAM", "U0ANA", "U0KEN"
SAM_EMAIL, ANA_EMAIL = REPS[SAM][2], REPS[ANA][2]


@dataclass(frozen=True)
class Sizes:
    kill: int
    kill_gap: tuple[float, float]  # seconds between two kills
    min_kills: int
    stall: int
    redis: int
    races: int
    forged: int
    stale: int
    oversized: int
    cross: int
    stranger: int
    model: int
    concurrent: int


REDUCED = Sizes(
    kill=12,
    kill_gap=(1.0, 3.0),
    min_kills=15,
    stall=1,
    redis=6,
    races=15,
    forged=10,
    stale=6,
    oversized=2,
    cross=2,
    stranger=2,
    model=4,
    concurrent=6,
)
FULL = Sizes(
    kill=60,
    kill_gap=(0.3, 2.0),
    min_kills=150,
    stall=3,
    redis=30,
    races=501,
    forged=40,
    stale=20,
    oversized=6,
    cross=6,
    stranger=6,
    model=12,
    concurrent=12,
)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@dataclass
class Run:
    rig: Rig
    driver: Driver
    ledger: Ledger
    rng: random.Random
    sizes: Sizes

    def scenario(self, name: str) -> Scenario:
        self.rig.scenario = self.driver.scenario = name
        return self.ledger.add(name)

    def address(self, s: Scenario, name: str) -> str:
        """A prospect at a company of its own: request refs are made from the domain, and
        this keeps scenarios apart from the concurrent-Start check."""
        return self.ledger.prospect(s, f"pat@{name}.{slug(s.name)}.example")

    def prepare(self, s: Scenario, user: str, prefix: str, n: int) -> list[Draft]:
        """n new requests whose first-email cards are waiting; the missing ones are noted."""
        return self.prepare_together([(s, user, prefix, n)])[0]

    def prepare_together(self, specs: list[tuple[Scenario, str, str, int]]) -> list[list[Draft]]:
        wanted = [[self.address(s, f"{prefix}{i}") for i in range(n)] for s, _, prefix, n in specs]
        started = [
            self.driver.start_many(prospects, user)
            for prospects, (_, user, _, _) in zip(wanted, specs, strict=True)
        ]
        everyone = [p for prospects in wanted for p in prospects]
        drafts = self.driver.drafts(everyone, timeout=90 + 2 * len(everyone))
        for prospects, count, (s, _, _, _) in zip(wanted, started, specs, strict=True):
            arrived = sum(p in drafts for p in prospects)
            if arrived < len(prospects):
                s.notes.append(
                    f"note: {count}/{len(prospects)} started, {arrived} cards arrived in time"
                )
        return [[drafts[p] for p in prospects if p in drafts] for prospects in wanted]


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") + ".prospect"


def reject_submission(run: Run, draft: Draft, *, user: str) -> bytes:
    from bot.draft_modals import REJECT_CALLBACK

    view = {
        "id": "VREJECT",
        "type": "modal",
        "callback_id": REJECT_CALLBACK,
        "private_metadata": draft.action_id,
    }
    values = {"reason": {"reason": {"type": "plain_text_input", "value": "wrong tone"}}}
    return run.driver.submit_body(view, values, user=user)
