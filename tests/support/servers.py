"""Stopping the suite's local HTTP servers without waiting out their poll interval."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading


def stop_server(server: socketserver.TCPServer) -> None:
    """``shutdown()``, then close the socket.

    ``serve_forever`` only notices a shutdown request when its ``select`` returns, which an idle
    server does every poll interval (0.5 s by default): hundreds of stacks a run paid that on
    every teardown. A connection makes the ``select`` return at once; the loop checks the
    request before accepting anything, so the poke is never served (and never recorded).
    """
    stopper = threading.Thread(target=server.shutdown, daemon=True)
    stopper.start()
    host, port = server.server_address[:2]
    while stopper.is_alive():
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            pass
        stopper.join(0.02)
    server.server_close()
