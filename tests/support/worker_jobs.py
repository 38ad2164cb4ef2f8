"""Jobs for the tests that watch a real worker process: which process ran them, and one that
fails on purpose."""

from __future__ import annotations

import os


def pid() -> int:
    return os.getpid()


def fail() -> None:
    raise RuntimeError("this job fails on purpose")
