"""One connection to `easyimg serve`: deadlines, capped bodies, the key check, routing, replies."""

from __future__ import annotations

import hmac
import io
import json
import re
import secrets
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from .. import __version__
from . import batches as serve_batches
from . import dialects as serve_dialects
from . import routes
from .request import Refusal

if TYPE_CHECKING:
    from .http import ImageServer

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), name)
    for method, pattern, name in (*routes.ROUTES, *serve_batches.ROUTES, *serve_dialects.ROUTES)
]


def route(method: str, path: str) -> tuple[str | None, dict[str, str], list[str]]:
    """The handler name and path arguments for a request, or the methods the path allows."""
    path = path.rstrip("/")
    if path == "/v1" or path.startswith("/v1/"):
        path = path[3:]
    allowed = []
    for verb, pattern, name in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            if verb == method:
                return name, match.groupdict(), []
            allowed.append(verb)
    return None, {}, allowed


def _mask_key(key: str) -> str:
    return f"{key[:3]}...{key[-4:]}" if len(key) > 10 else "***"


class _DeadlineReader(io.RawIOBase):
    """The socket as read by the handler: no single read waits longer than the idle timeout,
    and none at all past the request's deadline, so a client that trickles one byte at a
    time cannot hold its thread for longer than one request may take."""

    def __init__(self, sock: socket.socket, handler: Handler) -> None:
        self._sock = sock
        self._handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._handler.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took too long to arrive")
        self._sock.settimeout(min(left, self._handler.app.idle_timeout))
        return self._sock.recv_into(buffer)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait 40 ms each.
    disable_nagle_algorithm = True
    server_version = f"easyimg-serve/{__version__}"
    sys_version = ""
    rid = ""
    status = 0
    note = ""
    started = 0.0
    deadline = float("inf")
    headers_sent = False

    def version_string(self) -> str:
        return self.server_version

    @property
    def app(self) -> ImageServer:
        return cast("ImageServer", self.server)

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.app.idle_timeout)
        plain, self.rfile = self.rfile, io.BufferedReader(_DeadlineReader(self.connection, self))
        plain.close()  # a file left open would keep the socket from closing with the request

    def handle_one_request(self) -> None:
        # The clock for the next request starts now: waiting for it counts, as reading it does.
        self.deadline = time.monotonic() + self.app.request_timeout
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: each request is reported once, through the server's `log` callback."""

    def __getattr__(self, name: str) -> Any:
        # Every method reaches _handle, so an unknown one gets a JSON 405 (or 404), not
        # http.server's HTML 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self) -> None:
        self.started = time.perf_counter()
        self.rid = f"req_{secrets.token_hex(16)}"
        self.status, self.note, self.headers_sent = 0, "", False
        path = urlsplit(self.path).path
        self.app.enter()
        try:
            self._dispatch()
        except Refusal as refusal:
            self.note = f"{self.note} {refusal.code or ''}".strip()
            self._reply_error(refusal)
        except TimeoutError:
            self.close_connection = True
            self.note = f"{self.note} (client too slow)".strip()
            self._reply_error(Refusal(408, "The request took too long to arrive.", code="timeout"))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            self.note = f"{self.note} (client went away)".strip()
        except Exception as exc:  # one bad request must not stop the server
            self.note = f"{self.note} internal error: {exc!r}".strip()
            self._reply_error(
                Refusal(
                    500,
                    "The server had an error while processing your request.",
                    type="server_error",
                )
            )
        finally:
            note = f"{self.note} " if self.note else ""
            self.app.log(
                f"{self.client_address[0]} {self.command} {path} {self.status} {note}"
                f"{time.perf_counter() - self.started:.3f}s {self.rid}"
            )
            # Leave only after logging: whoever waits for in_flight == 0 sees every line.
            self.app.leave()

    def _reply_error(self, refusal: Refusal, headers: dict[str, str] | None = None) -> None:
        if self.headers_sent:
            self.close_connection = True
            return
        try:
            self.send_json(refusal.status, refusal.body(), headers)
        except OSError:
            self.close_connection = True

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        name, args, allowed = route(self.command, url.path)
        body = self._read_body()
        # Read: what is left is answering, which may take a while (latency, drawing).
        self.deadline = float("inf")
        self.connection.settimeout(self.app.idle_timeout)
        if name is None:
            if allowed:
                self._reply_error(
                    Refusal(405, f"Invalid method for URL ({self.command} {url.path})."),
                    {"Allow": ", ".join(allowed)},
                )
                return
            raise Refusal(404, f"Invalid URL ({self.command} {url.path}).")
        if name != "image_file":  # image URLs work without a key, like signed links
            self._check_key()
        query = parse_qs(url.query)
        if name in serve_batches.NAMES:
            routes.batch_api(self, name, args, query, body)
        elif name in serve_dialects.NAMES:
            routes.dialect(self, name, args, query, body)
        else:
            routes.HANDLERS[name](self, args, query, body)

    def _too_large(self) -> Refusal:
        self.close_connection = True
        limit = self.app.max_body
        return Refusal(413, f"Request body too large: the limit is {limit} bytes.")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if not raw:
            return b""
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if length > self.app.max_body:
            raise self._too_large()  # said up front: nothing of it is read
        if length < 0:
            self.close_connection = True
            raise Refusal(400, f"Invalid Content-Length: {raw}.")
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            raise Refusal(400, f"The body ended after {len(body)} of {length} bytes.")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise Refusal(400, "Malformed chunked request body.") from None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > self.app.max_body:
                raise self._too_large()  # before the chunk that would pass the limit is read
            chunks.append(self.rfile.read(size))
            self.rfile.readline(3)

    def _check_key(self) -> None:
        key = self.app.api_key
        if key is None:
            return
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Refusal(
                401,
                "You didn't provide an API key. Send it in the Authorization "
                "header as 'Bearer KEY'.",
                code="invalid_api_key",
            )
        if not hmac.compare_digest(token.encode(), key.encode()):
            raise Refusal(
                401, f"Incorrect API key provided: {_mask_key(token)}.", code="invalid_api_key"
            )

    # --- replies, for the routes ------------------------------------------------------------

    def send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.common_headers(headers)
        if self.command != "HEAD":
            self.wfile.write(payload)

    def common_headers(self, headers: dict[str, str] | None = None) -> None:
        self.send_header("x-request-id", self.rid)
        elapsed = round((time.perf_counter() - self.started) * 1000)
        self.send_header("openai-processing-ms", str(elapsed))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.headers_sent = True

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(obj).encode(), "application/json", headers)

    def base_url(self) -> str:
        """This server's URL as reached by this connection: the address it accepted on (the
        bound one, or on a wildcard bind the interface's), never the client's Host header."""
        host, port = self.connection.getsockname()[:2]
        host = str(host).removeprefix("::ffff:") if "." in str(host) else str(host)
        return f"http://[{host}]:{port}/v1" if ":" in host else f"http://{host}:{port}/v1"
