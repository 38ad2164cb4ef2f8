"""Two separate OS processes that click at the same instant, as two reps' (or one rep's two
devices') Slack clients would: each round both wait on a barrier, then post their own click."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from typing import Any

from bench.chaos.driver import post, sign

BARRIER_TIMEOUT = 15.0


def _clicker(url: str, conn: Connection, barrier: Barrier) -> None:
    while True:
        job = conn.recv()
        if job is None:
            return
        body, delay = job
        try:
            barrier.wait(timeout=BARRIER_TIMEOUT)
        except Exception:  # noqa: BLE001 - the other side is gone; still answer the parent
            conn.send(-1)
            continue
        if delay:
            time.sleep(delay)
        conn.send(post(url, body, sign(body)).status)


class Clickers:
    def __init__(self, url: str) -> None:
        ctx = mp.get_context("spawn")
        self._barrier = ctx.Barrier(2)
        self._pipes: list[Connection] = []
        self._procs: list[Any] = []
        for _ in range(2):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_clicker, args=(url, child, self._barrier), daemon=True)
            proc.start()
            self._pipes.append(parent)
            self._procs.append(proc)

    def race(self, first: bytes, second: bytes, *, second_delay: float = 0.0) -> tuple[int, int]:
        """Both bodies at once (the second `second_delay` s later); their HTTP statuses."""
        self._pipes[0].send((first, 0.0))
        self._pipes[1].send((second, second_delay))
        answers = []
        for pipe in self._pipes:
            answers.append(pipe.recv() if pipe.poll(BARRIER_TIMEOUT + 20) else -1)
        return answers[0], answers[1]

    def close(self) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
