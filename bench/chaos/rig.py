"""The stack under attack: real `convene web`, two `convene worker`s and `convene clock` as
separate processes, on a PostgreSQL database and a redis-server of the run's own, with the local
Slack stand-in, the counting SMTP/IMAP peers and the compromised model — all on 127.0.0.1.

Every process is started in its own session so a kill reaches exactly it (and a worker's work
horse with it), and `close` ends each one the rig started, by its own id, also after Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from redis import Redis
from sqlalchemy import Engine
from sqlmodel import create_engine

from bench.chaos.fakes import IMAP_PASSWORD, IMAP_USER, CompromisedModel, Imap, Smtp, free_port
from bot.local_slack import LocalSlack
from db.migrate import upgrade
from orchestrator.settings import Settings

PG_ADMIN_URL = os.environ.get("CHAOS_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "chaos-signing-secret"
REDIS_DB = 7  # on the rig's own redis-server; FLUSHALL never reaches anybody else's data
STEP_LEASE_SECONDS = 10
UNDO_SECONDS = 3
CLOCK_INTERVAL_SECONDS = 1.0

SCHEDULER_PID = re.compile(r"Scheduler for \S+ started with PID (\d+)")
REPS = {
    "U0SAM": ("sam", "America/New_York", "sam@northwind.example", "Sam Rivera"),
    "U0ANA": ("ana", "Europe/Berlin", "ana@northwind.example", "Ana Weber"),
    "U0KEN": ("ken", "Asia/Tokyo", "ken@northwind.example", "Ken Sato"),
}


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@dataclass
class Proc:
    """One `convene` process, restarted by the rig after it is killed (as a supervisor would)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    stopped: bool = False  # SIGSTOPped by the rig
    expected_exit: bool = False  # killed by the rig: not a crash
    crashes: list[str] = field(default_factory=list)
    scanned: int = 0  # how far the log was read for scheduler pids
    schedulers: set[int] = field(default_factory=set)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.expected_exit = False
        self.stopped = False

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def horse(self) -> int | None:
        """The RQ work horse a worker forked for the job it is running, if any (its other
        child, the scheduler, says its pid in the log)."""
        kids = _children(self.pid) if self.alive() else []
        if not kids:
            return None
        horses = [kid for kid in kids if kid not in self._schedulers()]
        return horses[-1] if horses else None

    def runner(self) -> int | None:
        """The process running the worker's job: the work horse it forked for it, or the
        worker itself when it runs its jobs in its own process."""
        horse = self.horse()
        return horse if horse is not None or not self.alive() else self.pid

    def _schedulers(self) -> set[int]:
        """Pids the worker logged for its schedulers, read on from where the last look ended."""
        try:
            with self.log.open("rb") as out:
                out.seek(self.scanned)
                new = out.read()
        except OSError:
            return self.schedulers
        complete = new.rfind(b"\n") + 1
        self.scanned += complete
        text = new[:complete].decode(errors="replace")
        self.schedulers |= {int(pid) for pid in SCHEDULER_PID.findall(text)}
        return self.schedulers

    def tail_text(self, size: int = 200_000) -> str:
        try:
            with self.log.open("rb") as out:
                out.seek(max(0, self.log.stat().st_size - size))
                return out.read().decode(errors="replace")
        except OSError:
            return ""

    def signal_all(self, sig: int) -> None:
        """The process and everything it forked (its session), like a container's kill."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def kill(self) -> None:
        self.expected_exit = True
        self.signal_all(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=10)

    def tail(self, lines: int = 6) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text[-lines:])


class Rig:
    def __init__(self, workdir: Path, *, env: dict[str, str] | None = None) -> None:
        """`env`: settings to run the processes with instead of the attack defaults."""
        self.workdir = workdir
        self.env_overrides = dict(env or {})
        self.db_name = f"convene_chaos_{uuid.uuid4().hex[:10]}"
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        self.database_url = f"{base}/{self.db_name}"
        self.redis_port = free_port()
        self.redis_proc: subprocess.Popen[bytes] | None = None
        self.procs: dict[str, Proc] = {}
        self.slack: LocalSlack | None = None
        self.imap: Imap | None = None
        self.smtp: Smtp | None = None
        self.model: CompromisedModel | None = None
        self.engine: Engine | None = None
        self.web_url = ""
        self._db_created = False
        self._lock = threading.RLock()
        self.scenario = "setup"  # where an unexpected exit is charged

    # --- lifecycle ----------------------------------------------------------------------------

    def open(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self._db_created = True
        upgrade(self.database_url)
        self.engine = create_engine(self.database_url, pool_pre_ping=True)
        self.start_redis()
        self.slack = LocalSlack.start(
            users={
                uid: {"name": n, "tz": tz, "profile": {"email": e, "real_name": r}}
                for uid, (n, tz, e, r) in REPS.items()
            }
        )
        exe = Path(sys.executable).parent
        self.imap = Imap(self.workdir, exe / "pymap")
        self.smtp = Smtp(self.imap)
        self.model = CompromisedModel()
        web_port = free_port()
        env = self._env(web_port)
        convene = str(exe / "convene")
        for name, argv in (
            ("web", [convene, "web"]),
            ("worker-1", [convene, "worker"]),
            ("worker-2", [convene, "worker"]),
            ("clock", [convene, "clock"]),
        ):
            proc = Proc(name, argv, dict(env), self.workdir / f"{name}.log")
            proc.start()
            self.procs[name] = proc
        self.web_url = f"http://127.0.0.1:{web_port}/slack/events"
        from bench.chaos.fakes import wait_port

        wait_port(web_port, timeout=60, alive=self.procs["web"].alive)

    def _env(self, web_port: int) -> dict[str, str]:
        assert self.slack and self.smtp and self.imap and self.model
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "IMAP_", "LLM_"))}
        env |= {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/{REDIS_DB}",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": self.slack.token,
            "SLACK_API_URL": self.slack.api_url,
            "HOST": "127.0.0.1",
            "PORT": str(web_port),
            "UNDO_SECONDS": str(UNDO_SECONDS),
            "CLOCK_INTERVAL_SECONDS": str(CLOCK_INTERVAL_SECONDS),
            "STEP_LEASE_SECONDS": str(STEP_LEASE_SECONDS),
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp.port),
            "SMTP_SECURITY": "none",
            "SMTP_SAVE_SENT": "false",  # the counting server files Sent itself
            "SMTP_USERNAME": "",
            "IMAP_HOST": "127.0.0.1",
            "IMAP_PORT": str(self.imap.port),
            "IMAP_SSL": "false",
            "IMAP_USERNAME": IMAP_USER,
            "IMAP_PASSWORD": IMAP_PASSWORD,
            "MAIL_TIMEOUT_SECONDS": "20",
            "LLM_MODEL": "openai/gpt-4o-mini",
            "LLM_API_BASE": self.model.api_base,
            "LLM_API_KEY": "sk-chaos",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # loopback only: no price list from GitHub
            "DAILY_SEND_LIMIT": "5000",
            "DM_PER_HOUR_CAP": "1000",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        # A shorter execution lease, when the product has a knob for it, keeps stalls short.
        for name in Settings.model_fields:
            if "lease" in name and name != "step_lease_seconds":
                env[name.upper()] = str(STEP_LEASE_SECONDS)
        return env | self.env_overrides

    def execution_lease_seconds(self) -> float:
        """How long a stalled sender must stay stopped before another may take its send."""
        knobs = [n for n in Settings.model_fields if "lease" in n and n != "step_lease_seconds"]
        if knobs:
            return float(STEP_LEASE_SECONDS)
        from orchestrator.outbox.claims import EXECUTION_LEASE

        return EXECUTION_LEASE.total_seconds()

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.alive():
                proc.signal_all(signal.SIGCONT)
                proc.kill()
        for closer in (
            self.model and self.model.close,
            self.smtp and self.smtp.stop,
            self.imap and self.imap.stop,
            self.slack and self.slack.stop,
            self.stop_redis,
            self.engine and self.engine.dispose,
        ):
            if closer:
                try:
                    closer()
                except Exception as exc:  # noqa: BLE001 - clean up the rest regardless
                    print(f"cleanup: {exc!r}", file=sys.stderr)
        if self._db_created:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    # --- Redis: the rig's own server ------------------------------------------------------------

    def start_redis(self) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.redis_proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                self.redis().ping()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop_redis(self) -> None:
        if self.redis_proc is not None and self.redis_proc.poll() is None:
            self.redis_proc.kill()
            self.redis_proc.wait(timeout=10)

    def redis(self) -> Redis:
        return Redis(host="127.0.0.1", port=self.redis_port, db=REDIS_DB, socket_timeout=5)

    def flush_redis(self) -> None:
        self.redis().flushall()  # the rig's own server only

    # --- supervision ----------------------------------------------------------------------------

    def supervise(self) -> None:
        """Restart what died; an exit the rig did not cause is recorded as a crash."""
        with self._lock:
            for proc in self.procs.values():
                if proc.alive() or proc.popen is None:
                    continue
                # An armed crash point exits as kill -9 would: that is the test, not a crash.
                armed = "CONVENE_CRASH_AT" in proc.env and proc.popen.returncode in (137, -9)
                if not proc.expected_exit and not armed:
                    proc.crashes.append(
                        f"{self.scenario}: {proc.name} exited {proc.popen.returncode}: "
                        + proc.tail()
                    )
                proc.start()

    def arm(self, names: list[str], extra: dict[str, str]) -> None:
        """Restart these processes with `extra` in their environment (or without, when empty)."""
        with self._lock:
            for name in names:
                proc = self.procs[name]
                proc.env = {k: v for k, v in proc.env.items() if k != "CONVENE_CRASH_AT"} | extra
                if proc.alive():
                    proc.kill()
                proc.start()

    def add_worker(self, name: str, extra: dict[str, str]) -> Proc:
        """Start (or restart) one more `convene worker` with `extra` in its environment."""
        with self._lock:
            if name in self.procs:
                self.procs[name].kill()
            base = self.procs["worker-1"]
            proc = Proc(name, list(base.argv), dict(base.env) | extra, self.workdir / f"{name}.log")
            proc.start()
            self.procs[name] = proc
            return proc

    def remove_worker(self, name: str) -> None:
        with self._lock:
            proc = self.procs.pop(name, None)
            if proc is not None:
                proc.signal_all(signal.SIGCONT)
                proc.kill()

    def crashes(self) -> list[str]:
        return [c for p in self.procs.values() for c in p.crashes]

    def workers(self) -> list[Proc]:
        return [p for n, p in self.procs.items() if n.startswith("worker")]


def monitor(rig: Rig, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(0.3):
            rig.supervise()

    thread = threading.Thread(target=loop, name="chaos-supervisor", daemon=True)
    thread.start()
    return thread
