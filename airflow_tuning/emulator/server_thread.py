"""One uvicorn server on a pre-bound socket, in a daemon thread: the API server and the storage front.

The socket is bound before the server starts, so its address is final as soon as :func:`bind` returns, and
uvicorn listens with a backlog of 4096: hundreds of clients connecting at once are queued, not refused.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

START_TIMEOUT = 30.0
BACKLOG = 4096


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class ServerThread:
    def __init__(self, app: Any, sock: socket.socket, name: str) -> None:
        import uvicorn

        self.sock = sock
        self.name = name
        config = uvicorn.Config(app, loop="auto", http="auto", lifespan="off", access_log=False,
                                log_level="warning", backlog=BACKLOG, timeout_keep_alive=60,
                                timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                host, port = self.sock.getsockname()[:2]
                raise RuntimeError(f"The emulator's {self.name} server did not start on {host}:{port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.sock.close()
