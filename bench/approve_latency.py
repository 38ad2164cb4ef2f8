"""From the rep's Approve click to the mail provider's send call, as deployed.

    python bench/approve_latency.py [--drafts 40] [--gap 0.5]

The stack is the attack suite's rig without the attacks: `convene web`, two `convene worker`s
and `convene clock` as separate processes on a PostgreSQL database and a redis-server of the
run's own, the local Slack stand-in, and a local SMTP server that notes when each message
arrives. The undo window is 0 (the default 30 s would be all of the figure) and drafting uses
the rules, so no model call is timed.

It starts `--drafts` requests, waits for their first-email cards, then presses Approve on one
card every `--gap` seconds (open loop: a slow send does not delay the next click). A latency
runs from just before the click's HTTP request to the SMTP server holding the whole message.
It prints the median, p90 and worst, and exits 1 when the median is over the goal (0.3 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.chaos.driver import Draft, Driver  # noqa: E402
from bench.chaos.rig import Rig, monitor  # noqa: E402

GOAL_P50_SECONDS = 0.3
USER = "U0SAM"
SETTINGS = {
    "UNDO_SECONDS": "0",
    "LLM_MODEL": "rules",
    "LLM_API_BASE": "",
    "LOG_LEVEL": "WARNING",
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def measure(rig: Rig, drafts: list[Draft], gap: float) -> tuple[list[float], list[str]]:
    """Approve each draft `gap` seconds apart; each latency, and the drafts never sent."""
    assert rig.smtp is not None
    driver = Driver(rig)
    clicked: dict[str, float] = {}
    threads = []
    for draft in drafts:
        clicked[draft.prospect] = time.time()
        thread = threading.Thread(target=driver.click, args=("approve_action", draft), daemon=True)
        thread.start()
        threads.append(thread)
        time.sleep(gap)
    for thread in threads:
        thread.join(timeout=30)
    deadline = time.monotonic() + 30
    sent: dict[str, float] = {}
    while time.monotonic() < deadline and len(sent) < len(clicked):
        for call in rig.smtp.sink.snapshot():
            for to in call.rcpt_tos:
                if to in clicked and to not in sent:
                    sent[to] = call.at
        time.sleep(0.05)
    latencies = [sent[p] - clicked[p] for p in clicked if p in sent]
    return latencies, sorted(set(clicked) - set(sent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drafts", type=int, default=40)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between clicks")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="convene-approve-", ignore_cleanup_errors=True) as tmp:
        rig = Rig(Path(tmp), env=SETTINGS)
        stop = threading.Event()
        try:
            rig.open()
            monitor(rig, stop)
            driver = Driver(rig)
            prospects = [f"lead{i}@prospect{i}.example" for i in range(args.drafts)]
            driver.start_many(prospects, USER)
            found = driver.drafts(prospects, timeout=120)
            print(f"stack up and {len(found)} cards posted in {time.monotonic() - started:.0f} s")
            if not found:
                print("no card was posted: nothing to approve", file=sys.stderr)
                return 1
            latencies, unsent = measure(rig, list(found.values()), args.gap)
        finally:
            stop.set()
            rig.close()
    print(
        f"approve → SMTP send, separate web + 2 workers + clock, PostgreSQL, undo 0, "
        f"one click every {args.gap:g} s: {len(latencies)} sent, {len(unsent)} not sent in 30 s"
    )
    if not latencies:
        return 1
    p50 = statistics.median(latencies)
    print(
        f"  p50 {p50:.3f} s   p90 {percentile(latencies, 0.9):.3f} s   max {max(latencies):.3f} s"
    )
    met = p50 <= GOAL_P50_SECONDS and not unsent
    verdict = "met" if met else "NOT met"
    print(f"goal p50 <= {GOAL_P50_SECONDS} s, every approved draft sent: {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
