"""`easyimg serve`: a local OpenAI-format image API that answers with placeholder images."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Callable
from functools import partial
from http.server import ThreadingHTTPServer
from typing import Any

from . import dialects as serve_dialects
from . import routes
from .batches import Batches
from .handler import Handler
from .images import (
    MAX_EDGE,
    MAX_PIXELS,
    ImageStore,
    Plan,
    answer,
    events,
    make_plan,
    render,
    usage,
)
from .request import Part, Refusal, parse_multipart
from .store import Files

# The pieces live in handler, routes, images, batches and request; their names stay
# importable from here, where callers and tests have always found them.
__all__ = [
    "IDLE_TIMEOUT",
    "MAX_BODY",
    "MAX_EDGE",
    "MAX_PIXELS",
    "REQUEST_TIMEOUT",
    "Batches",
    "Files",
    "ImageServer",
    "ImageStore",
    "LogFn",
    "Part",
    "Plan",
    "Refusal",
    "answer",
    "events",
    "make_plan",
    "make_server",
    "parse_multipart",
    "render",
    "start_background",
    "usage",
]

LogFn = Callable[[str], None]
# One request's body at most (a JSON or multipart request, a batch file upload): past it, 413.
MAX_BODY = 100 * 1000 * 1000
# A connection waiting this long for a client's next bytes is closed.
IDLE_TIMEOUT = 30.0
# A request (line, headers and body) must have arrived this long after the server began
# waiting for it, however it trickles in.
REQUEST_TIMEOUT = 120.0


class ImageServer(ThreadingHTTPServer):
    """The placeholder image API; see `make_server` and `start_background`."""

    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections when a batch runs at -j 8+

    def __init__(
        self,
        address: tuple[str, int],
        *,
        latency: float = 0.0,
        api_key: str | None = None,
        log: LogFn | None = None,
        max_body: int = MAX_BODY,
        idle_timeout: float = IDLE_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
        chat_style: str = "new-api",
        tasks: bool = False,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.latency = max(0.0, latency)
        self.api_key = api_key
        self.max_body = max_body
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.requests_served = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.images = ImageStore()
        self.files = Files()
        run = partial(routes.run_item, self)
        self.batches = Batches(self.files, run, self.latency)
        self.dialects = serve_dialects.Dialects(
            self.images,
            self.files,
            run,
            latency=self.latency,
            chat_style=chat_style,
            tasks_mode=tasks,
        )
        self._log = log
        self._lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._connections: set[Any] = set()
        self._serving = False
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        return f"http://[{host}]:{port}/v1" if ":" in host else f"http://{host}:{port}/v1"

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name, which can stall offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = self.server_address[1]

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._serving = True
        super().serve_forever(poll_interval)

    def close(self) -> None:
        """Stop serving, drop open connections, close the socket and stop running batches."""
        if self._serving:
            self.shutdown()
        self.batches.stop_all()
        self.dialects.close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.server_close()

    def __exit__(self, *args: object) -> None:
        self.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; the server never prints by itself.
        self.log(f"{client_address[0]} connection error")

    def enter(self) -> None:
        # Counted on arrival, so a caller can read requests_served without waiting for replies.
        with self._lock:
            self.requests_served += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def log(self, line: str) -> None:
        if self._log is not None:
            with self._log_lock:
                self._log(line)


def make_server(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    latency: float = 0.0,
    api_key: str | None = None,
    log: LogFn | None = None,
    chat_style: str = "new-api",
    tasks: bool = False,
    **limits: Any,
) -> ImageServer:
    """Bind the server (OSError when the address is taken); call serve_forever() to run it.

    `chat_style` is how chat completions carry images (new-api or openrouter); `tasks`
    answers image generations with a task to poll (APIMart's shape). `limits`: max_body,
    idle_timeout and request_timeout, as ImageServer takes them.
    """
    return ImageServer(
        (host, port),
        latency=latency,
        api_key=api_key,
        log=log,
        chat_style=chat_style,
        tasks=tasks,
        **limits,
    )


def start_background(host: str = "127.0.0.1", port: int = 0, **kw: Any) -> ImageServer:
    """Bind and serve from a daemon thread; `server.close()` stops it."""
    server = make_server(host, port, **kw)
    # Marked before the thread runs, so close() right away still waits for the loop to end.
    server._serving = True
    # A short poll so close() returns within 50 ms instead of the default 0.5 s.
    threading.Thread(
        target=server.serve_forever,
        args=(0.05,),
        daemon=True,
        name=f"easyimg-serve:{server.server_port}",
    ).start()
    return server
