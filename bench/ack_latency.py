"""Ack latency of the Slack web process under a steady mix of slash commands and button clicks.

    python bench/ack_latency.py [--seconds 30] [--rate 20]

The stack is `convene web` on embedded defaults: the Bolt app behind the project's WSGI server,
a SQLite file, the in-process queue, and the worker + clock running on a thread of the same
process (`run_in_background`), so acks are measured while the server does its real background
work: finding slots, drafting, posting and redrawing cards. (Approved drafts send after the
default 30 s undo window, so in a 30 s run the first sends land only at its very end.) Slack's
Web API and response URLs are the local stand-in on 127.0.0.1.

Load is open-loop: request i is due at start + i / rate whatever happened to earlier ones, and
its latency runs from that due time to the HTTP response. A closed loop (send, wait, send)
would slow down exactly when the server does and hide the stall (coordinated omission).

The mix, about half commands and half clicks: `/schedule help`, valid requests (each answered
with a confirm card), Start on those cards (each creates a request whose approval card arrives
later from the worker), malformed requests, `list` and `status` (the commands that read the
database before acking), Approve and Reject on cards the worker posted during the run, and
repeated clicks on cards already decided. A click is only sent on a card that exists; until one
does, a valid command goes out instead.

Valid and malformed commands and Start are answered after the ack, on their response_url; the
bench also counts those answers that never came (a listener that failed after acking), as
information.

Target: p99 <= 150 ms and every ack a 200 (Slack's own limit is 3 s); exit code 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.local_slack import LocalSlack  # noqa: E402
from bot.sandbox.world import embedded_settings  # noqa: E402
from bot.slack_requests import button_click, post_signed, slash_command  # noqa: E402
from bot.web import serve  # noqa: E402
from connectors.clock import SystemClock  # noqa: E402
from db.models import EmailMessage, SchedulingRequest  # noqa: E402
from orchestrator import jobs  # noqa: E402
from orchestrator.bootstrap import bootstrap  # noqa: E402
from orchestrator.deps import Deps  # noqa: E402
from orchestrator.engine.embedded import run_in_background  # noqa: E402
from orchestrator.logs import configure as configure_logs  # noqa: E402

SECRET = "bench-signing-secret"
TARGET_P99_MS = 150.0
WARMUP_SECONDS = 2.0
CLIENT_THREADS = 8
# Past Slack's 3 s the ack is lost anyway; waiting longer would only stretch the run.
REQUEST_TIMEOUT = 5.0
# A click on a decided card must come after the decision landed; Bolt applies it after the ack.
DECIDED_AFTER = 1.0
# Answers on response_url come from the listener after the ack; this long is plenty locally.
ANSWER_GRACE = 5.0
SEED = 6  # the same sequence of request kinds every run

REPS = {
    "U0SAM": ("sam", "America/New_York", "sam@northwind.example", "Sam Rivera"),
    "U0ANA": ("ana", "Europe/Berlin", "ana@northwind.example", "Ana Weber"),
    "U0KEN": ("ken", "Asia/Tokyo", "ken@northwind.example", "Ken Sato"),
}
MALFORMED = (
    "demo john@acme.example",  # no "with"
    "demo with not-an-email",
    "with mary@acme.example next week",  # no meeting type
    "demo with mary@acme.example 999h",
)
# Weights in percent; commands and clicks are half each.
MIX = {
    "help": 10,
    "valid": 20,
    "malformed": 8,
    "lookup": 7,  # `list` / `status <ref>`: answered in the ack, from the database
    "start": 15,
    "approve": 12,
    "reject": 8,
    "decided": 20,
}


@dataclass(frozen=True)
class Card:
    value: str  # the button's value: a pending action's id, or a confirm card's command
    channel: str
    ts: str

    @property
    def owner(self) -> str:
        return self.channel.removeprefix("D")  # the stand-in's DM channel is "D" + user id


@dataclass(frozen=True)
class Result:
    kind: str
    hook: str | None  # the response_url the command's answer should reach after the ack
    status: int  # 0: no HTTP response (timeout, refused)
    latency_ms: float  # due time → response
    start_lag_ms: float  # due time → the request actually left


class Cards:
    """Confirm cards the commands were answered with and approval cards the worker posted, as
    the rep's Slack client would show them.

    Only the scheduling thread uses this, so it needs no lock; it reads the stand-in's message
    and response lists, which the stand-in only ever appends to.
    """

    def __init__(self, slack: LocalSlack) -> None:
        self._slack = slack
        self._seen = self._answers_seen = 0
        self.confirms: deque[Card] = deque()
        self.issuers: dict[str, str] = {}  # a command's response_url hook → the rep who typed it
        self.fresh: deque[Card] = deque()
        self.decided: list[tuple[float, Card]] = []
        self._decided_turn = itertools.count()

    def _collect(self) -> None:
        new = self._slack.messages[self._seen :]
        self._seen += len(new)
        for message in new:
            for element in _buttons(message.blocks, "approve_action"):
                self.fresh.append(Card(element["value"], message.channel, message.ts))
        answers = self._slack.responses[self._answers_seen :]
        self._answers_seen += len(answers)
        for answer in answers:
            for element in _buttons(answer.get("blocks") or [], "start_request"):
                # Ephemeral: only the rep who typed the command sees it, so only they press it.
                owner = self.issuers[answer["hook"]]
                self.confirms.append(Card(element["value"], f"D{owner}", "ephemeral"))

    def take_confirm(self) -> Card | None:
        self._collect()
        return self.confirms.popleft() if self.confirms else None

    def take_fresh(self, now: float) -> Card | None:
        self._collect()
        if not self.fresh:
            return None
        card = self.fresh.popleft()
        self.decided.append((now, card))
        return card

    def take_decided(self, now: float) -> Card | None:
        ready = [card for at, card in self.decided if now - at >= DECIDED_AFTER]
        if not ready:
            return None
        return ready[next(self._decided_turn) % len(ready)]


def _buttons(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [
        element
        for block in blocks
        for element in block.get("elements") or []
        if element.get("action_id") == action_id
    ]


class Load:
    """Builds request i: what it is and its signed-to-be body, chosen on the scheduling thread."""

    def __init__(self, slack: LocalSlack, cards: Cards) -> None:
        self._slack = slack
        self._cards = cards
        self._rng = random.Random(SEED)
        self._n = itertools.count(1)

    def next(self, now: float) -> tuple[str, str | None, bytes]:
        kind = self._rng.choices(list(MIX), weights=list(MIX.values()))[0]
        n = next(self._n)
        if kind == "start":
            if card := self._cards.take_confirm():
                return kind, f"click-{n}", self._click("start_request", card, n)
            kind = "valid"
        if kind in {"approve", "reject"}:
            if card := self._cards.take_fresh(now):
                return kind, None, self._click(f"{kind}_action", card, n)
            kind = "decided"
        if kind == "decided":
            if card := self._cards.take_decided(now):
                action = "approve_action" if n % 2 else "reject_action"
                return kind, None, self._click(action, card, n)
            kind = "valid"  # nothing to click yet: ask for more cards instead
        rep = self._rng.choice(list(REPS))
        if kind == "help":
            text = "help"
        elif kind == "lookup":
            text = "list" if n % 2 else f"status ACME-{self._rng.randint(1, 20)}"
        elif kind == "valid":
            text = f"demo with prospect{n}@acme.example next week"
        else:
            text = MALFORMED[n % len(MALFORMED)]
        hook = f"cmd-{n}"
        self._cards.issuers[hook] = rep
        body = slash_command(
            text=text,
            user_id=rep,
            team_id=self._slack.team_id,
            response_url=self._slack.hook_url(hook),
            trigger_id=f"{n}.bench",  # distinct, or the app would treat it as Slack's retry
        )
        return kind, hook if kind in {"valid", "malformed"} else None, body

    def _click(self, action_id: str, card: Card, n: int) -> bytes:
        return button_click(
            action_id=action_id,
            value=card.value,
            user_id=card.owner,
            team_id=self._slack.team_id,
            response_url=self._slack.hook_url(f"click-{n}"),
            channel_id=card.channel,
            message_ts=card.ts,
        )


def send(url: str, kind: str, hook: str | None, body: bytes, due: float) -> Result:
    started = time.monotonic()
    try:
        status = post_signed(url, body, secret=SECRET, timeout=REQUEST_TIMEOUT).status
    except OSError:  # URLError and socket timeouts included: no HTTP answer at all
        status = 0
    done = time.monotonic()
    return Result(kind, hook, status, (done - due) * 1000, (started - due) * 1000)


def run_phase(
    pool: ThreadPoolExecutor, url: str, load: Load, *, seconds: float, rate: float
) -> list[Result]:
    """Fire `seconds * rate` requests on a fixed schedule; return once all have answered."""
    total = round(seconds * rate)
    start = time.monotonic()
    futures: list[Future[Result]] = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        kind, hook, body = load.next(time.monotonic())
        futures.append(pool.submit(send, url, kind, hook, body, due))
    # Every request has its own timeout, so this bound is only a guard against a stuck client.
    done, _ = wait(futures, timeout=REQUEST_TIMEOUT + 5)
    return [f.result() for f in futures if f in done]


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the samples at or below it."""
    return sorted_ms[max(0, math.ceil(p / 100 * len(sorted_ms)) - 1)]


def row(label: str, results: list[Result]) -> str:
    ms = sorted(r.latency_ms for r in results)
    errors = sum(r.status != 200 for r in results)
    figures = "".join(f"{percentile(ms, p):>8.1f}" for p in (50, 95, 99)) + f"{ms[-1]:>8.1f}"
    return f"  {label:<10}{len(results):>6}{errors:>7}{figures}"


def report(results: list[Result], *, expected: int, notes: list[str]) -> bool:
    print(f"  {'kind':<10}{'count':>6}{'errors':>7}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}  (ms)")
    for kind in MIX:
        if subset := [r for r in results if r.kind == kind]:
            print(row(kind, subset))
    print(row("all", results))
    missing = expected - len(results)
    errors = sum(r.status != 200 for r in results) + missing
    p99 = percentile(sorted(r.latency_ms for r in results), 99)
    worst_lag = max(r.start_lag_ms for r in results)
    print(f"  client: worst send delay behind schedule {worst_lag:.1f} ms; unanswered {missing}")
    for note in notes:
        print(note)
    met = p99 <= TARGET_P99_MS and errors == 0
    verdict = "met" if met else "NOT met"
    print(
        f"target p99 <= {TARGET_P99_MS:.0f} ms with no errors: {verdict} "
        f"(p99 {p99:.1f} ms, {errors} errors)"
    )
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured duration")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rate <= 0 or args.seconds * args.rate < 1:
        parser.error("--seconds and --rate must be positive and give at least one request")
    # The figures are the output; the app's logs only when something goes wrong.
    configure_logs(level="WARNING")
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as workdir:
        return bench(Path(workdir), seconds=args.seconds, rate=args.rate)


def bench(workdir: Path, *, seconds: float, rate: float) -> int:
    results, notes = measure(workdir, seconds=seconds, rate=rate)
    met = report(results, expected=round(seconds * rate), notes=notes)
    return 0 if met else 1


def measure(workdir: Path, *, seconds: float, rate: float) -> tuple[list[Result], list[str]]:
    """Start the stack, run the warm-up and the measured phase; the measured acks and notes
    on what the server did meanwhile."""
    slack = LocalSlack.start(
        users={
            user_id: {"name": name, "tz": tz, "profile": {"email": email, "real_name": real}}
            for user_id, (name, tz, email, real) in REPS.items()
        }
    )
    settings = embedded_settings(slack, workdir / "bench.db", secret=SECRET)
    # The real clock, as `convene web` has: approved drafts really send 30 s after the click.
    deps = bootstrap(settings, clock=SystemClock())
    jobs.install(deps)
    server = serve(build_app(deps), deps, host="127.0.0.1", port=0)
    events_url = f"http://127.0.0.1:{server.server_port}/slack/events"
    stop = threading.Event()
    worker = run_in_background(deps, stop=stop)
    pool = ThreadPoolExecutor(max_workers=CLIENT_THREADS, thread_name_prefix="bench-client")
    print(
        f"ack latency: convene web on embedded defaults (SQLite, in-process queue) with the "
        f"worker + clock on a thread of the same process, local Slack API; {rate:g} signed "
        f"req/s open-loop for {seconds:g} s after {WARMUP_SECONDS:g} s warm-up, "
        f"{CLIENT_THREADS} client threads in the same process too; "
        f"{os.cpu_count()} CPU cores shared by all of it"
    )
    try:
        load = Load(slack, Cards(slack))
        # Warm-up: imports, first connections and the first cards, none of it measured.
        run_phase(pool, events_url, load, seconds=WARMUP_SECONDS, rate=rate)
        before = _work_done(deps, slack)
        results = run_phase(pool, events_url, load, seconds=seconds, rate=rate)
        background = _background(before, _work_done(deps, slack))
        answers = _late_answers(slack, results)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        stop.set()
        worker.join(timeout=10)  # it checks `stop` between drains
        server.shutdown()
        server.server_close()
        slack.stop()
        deps.engine.dispose()
    return results, [background, answers]


def _work_done(deps: Deps, slack: LocalSlack) -> dict[str, int]:
    """Counters of the server's own work, to show what it was busy with while measured."""
    with deps.uow() as uow:
        requests = uow.session.exec(select(func.count()).select_from(SchedulingRequest)).one()
        sent = uow.session.exec(
            select(func.count()).select_from(EmailMessage).where(EmailMessage.status == "sent")
        ).one()
    return {
        "requests created": int(requests),
        "cards posted": len(slack.calls_to("chat.postMessage")),
        "cards updated": len(slack.calls_to("chat.update")),
        "response_url answers": len(slack.responses),
        "emails sent": int(sent),
    }


def _background(before: dict[str, int], after: dict[str, int]) -> str:
    done = ", ".join(f"{after[k] - before[k]} {k}" for k in after)
    return f"  background work while measuring: {done}"


def _late_answers(slack: LocalSlack, results: list[Result]) -> str:
    """How many acked commands never got their answer on the response_url."""
    expected = {r.hook for r in results if r.hook and r.status == 200}
    deadline = time.monotonic() + ANSWER_GRACE
    while True:
        missing = expected - {reply["hook"] for reply in list(slack.responses)}
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return (
        f"  answers after the ack (not part of the target): {len(expected) - len(missing)} of "
        f"{len(expected)} commands and Starts answered on their response_url, "
        f"{len(missing)} never within {ANSWER_GRACE:g} s"
    )


if __name__ == "__main__":
    sys.exit(main())
