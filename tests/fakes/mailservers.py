"""Real SMTP (aiosmtpd) and IMAP (pymap) peers on 127.0.0.1 for the SMTP/IMAP connector."""

from __future__ import annotations

import imaplib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    # aiosmtpd's Controller cannot start on port 0, so pick a free port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Delivery:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class SmtpSink:
    """aiosmtpd handler keeping every accepted DATA; can answer with an error or hang."""

    deliveries: list[Delivery] = field(default_factory=list)
    reply: str = "250 OK"
    rcpt_reply: str | None = None
    delay_after_store: float = 0.0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply.startswith("250"):
            self.deliveries.append(
                Delivery(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        if self.delay_after_store:
            import asyncio

            await asyncio.sleep(self.delay_after_store)
        return self.reply


def _authenticator(user: str, password: str) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    return check


@contextmanager
def smtp_server(user: str = "sam", password: str = "pw") -> Iterator[tuple[SmtpSink, int]]:
    """AUTH PLAIN/LOGIN without TLS (loopback only) so the client's login path runs."""
    sink = SmtpSink()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_authenticator(user, password),
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield sink, controller.port
    finally:
        controller.stop()


@contextmanager
def imap_server(user: str = "sam", password: str = "pw") -> Iterator[int]:
    """pymap's in-memory backend as a subprocess (demo folders INBOX, Sent, Trash)."""
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "pymap")
    proc = subprocess.Popen(
        [
            exe,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-tls",
            "dict",
            "--demo-data",
            "--demo-user",
            user,
            "--demo-password",
            password,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                imaplib.IMAP4("127.0.0.1", port, timeout=2).logout()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("pymap did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
