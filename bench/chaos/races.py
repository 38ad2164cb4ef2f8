"""Racing clicks: approve/approve, approve/reject and approve/undo from two processes at once, and
several Starts for one company at the same moment."""

from __future__ import annotations

import time

from bench.chaos.clickers import Clickers
from bench.chaos.driver import Draft
from bench.chaos.rig import UNDO_SECONDS
from bench.chaos.run import SAM, Run, reject_submission, say, slug

# --- concurrent Starts --------------------------------------------------------------------------


def concurrent_starts(run: Run) -> None:
    """Several people at one company, each started at the same moment by one rep: every Start
    must make its request (judged by the "no request for" check)."""
    s = run.scenario("concurrent Starts")
    s.cases = run.sizes.concurrent
    prospects = [run.ledger.prospect(s, f"buyer{i}@{slug(s.name)}.example") for i in range(s.cases)]
    started = run.driver.start_many(prospects, SAM, threads=s.cases)
    say(f"concurrent Starts: {started}/{s.cases} answered")


def races(run: Run) -> None:
    s = run.scenario("decision races")
    s.cases = run.sizes.races
    drafts: list[Draft] = []
    batch = 60
    for start in range(0, run.sizes.races, batch):
        n = min(batch, run.sizes.races - start)
        drafts += run.prepare(s, SAM, f"d{start}-", n)
    clickers = Clickers(run.driver.url)
    kinds = ("aa", "ar", "au")
    try:
        for i, draft in enumerate(drafts):
            kind = kinds[i % 3]
            s.races[draft.action_id] = kind
            approve = run.driver.click_body(
                "approve_action", draft.action_id, user=SAM, channel=draft.channel, ts=draft.ts
            )
            delay = 0.0
            if kind == "aa":
                second = run.driver.click_body(
                    "approve_action", draft.action_id, user=SAM, channel=draft.channel, ts=draft.ts
                )
            elif kind == "ar":
                second = reject_submission(run, draft, user=SAM)
            else:
                second = run.driver.click_body(
                    "undo_action", draft.action_id, user=SAM, channel=draft.channel, ts=draft.ts
                )
                delay = run.rng.uniform(0.0, 0.2)
            for status in clickers.race(approve, second, second_delay=delay):
                if status >= 500 or status <= 0:
                    s.other.append(f"{kind} race click answered {status}")
    finally:
        clickers.close()
    time.sleep(UNDO_SECONDS + 2)
    say(f"races: {len(drafts)} rounds from two processes")
