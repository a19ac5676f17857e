"""`easyimg serve`: a local OpenAI-format image API that answers with placeholder images."""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import secrets
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from .. import __version__, models
from . import batches as serve_batches
from . import chat as serve_chat
from . import dialects as serve_dialects
from . import placeholder
from .batches import Batches, Files
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
from .request import Part, Refusal, data_url, image_form, json_object, parse_multipart

# The image and batch pieces live in serve_images, serve_batches and serve_request; their
# names stay importable from here, where callers and tests have always found them.
__all__ = [
    "MAX_BODY",
    "MAX_EDGE",
    "MAX_PIXELS",
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
MAX_BODY = 1 << 30  # 16 edit images of 50 MB each fit
_HOST = re.compile(r"^[A-Za-z0-9.\-_:\[\]]+$")
_OTHER_MODELS = ("gpt-4o-mini", "text-embedding-3-small", "whisper-1")

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), name)
    for method, pattern, name in (
        ("POST", r"/images/generations", "generations"),
        ("POST", r"/images/edits", "edits"),
        ("POST", r"/images/variations", "variations"),
        ("GET", r"/images/files/(?P<name>[^/]+)", "image_file"),
        ("GET", r"/models", "models"),
        ("GET", r"/models/(?P<id>.+)", "model"),
        *serve_batches.ROUTES,
        *serve_dialects.ROUTES,
    )
]


def _route(method: str, path: str) -> tuple[str | None, dict[str, str], list[str]]:
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


def _model_object(model_id: str, index: int) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": 1_700_000_000 + index * 86_400,
        "owned_by": "google" if model_id in serve_chat.MODELS else "openai",
        # As new-api lists them: which endpoints reach the model.
        "supported_endpoint_types": serve_chat.endpoint_types(model_id),
    }


def _sleep_until(deadline: float) -> None:
    left = deadline - time.perf_counter()
    if left > 0:
        time.sleep(left)


def _mask_key(key: str) -> str:
    return f"{key[:3]}...{key[-4:]}" if len(key) > 10 else "***"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait 40 ms each.
    disable_nagle_algorithm = True
    server_version = f"easyimg-serve/{__version__}"
    sys_version = ""
    rid = ""
    status = 0
    note = ""
    started = 0.0
    headers_sent = False

    def version_string(self) -> str:
        return self.server_version

    @property
    def app(self) -> ImageServer:
        return cast(ImageServer, self.server)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: each request is reported once, through the server's `log` callback."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_GET

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
            self._json(refusal.status, refusal.body(), headers)
        except OSError:
            self.close_connection = True

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        name, args, allowed = _route(self.command, url.path)
        body = self._read_body()
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
        if name in serve_batches.NAMES:
            self._batch_api(name, args, parse_qs(url.query), body)
            return
        if name in serve_dialects.NAMES:
            self._dialect(name, args, parse_qs(url.query), body)
            return
        getattr(self, f"route_{name}")(args, parse_qs(url.query), body)

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
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            raise Refusal(
                413 if length > MAX_BODY else 400, f"Invalid or too large Content-Length: {raw}."
            )
        return self.rfile.read(length)

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
            if total > MAX_BODY:
                self.close_connection = True
                raise Refusal(413, "Request body too large.")
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

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self._common_headers(headers)
        self.wfile.write(payload)

    def _common_headers(self, headers: dict[str, str] | None = None) -> None:
        self.send_header("x-request-id", self.rid)
        elapsed = round((time.perf_counter() - self.started) * 1000)
        self.send_header("openai-processing-ms", str(elapsed))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.headers_sent = True

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", headers)

    def _base_url(self) -> str:
        host = self.headers.get("Host", "")
        return f"http://{host}/v1" if _HOST.match(host) else self.app.url

    # images

    def route_generations(self, args: dict[str, str], query: Any, body: bytes) -> None:
        fields = json_object(body)
        if not fields.get("stream"):
            task = self.app.dialects.submit(
                lambda: make_plan("generations", fields, [], None), self._base_url()
            )
            if task is not None:
                self._reply(task)
                return
        self._images(make_plan("generations", fields, [], None))

    def route_edits(self, args: dict[str, str], query: Any, body: bytes) -> None:
        content_type = self.headers.get("Content-Type", "")
        if content_type.lower().startswith("multipart/"):
            fields, images, mask = image_form(parse_multipart(body, content_type))
        else:
            fields, images, mask = self.app.json_edit(json_object(body))
        self._images(make_plan("edits", fields, images, mask))

    def route_variations(self, args: dict[str, str], query: Any, body: bytes) -> None:
        fields, images, _ = image_form(parse_multipart(body, self.headers.get("Content-Type", "")))
        self._images(make_plan("variations", fields, images[:1], None))

    def _images(self, plan: Plan) -> None:
        self.note = plan.note
        latency = self.app.latency
        if plan.stream:
            self._stream(plan, latency)
            return
        payload = json.dumps(answer(plan, self.app.images, self._base_url())).encode()
        # Drawing counts towards the latency: a request takes max(latency, drawing time).
        _sleep_until(self.started + latency)
        self._send(200, payload, "application/json")

    def _stream(self, plan: Plan, latency: float) -> None:
        self.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._common_headers()
        count = plan.n * (plan.partials + 1)
        for i, (name, event) in enumerate(events(plan)):
            chunk = f"event: {name}\ndata: {json.dumps(event)}\n\n".encode()
            _sleep_until(self.started + latency * (i + 1) / count)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def route_image_file(self, args: dict[str, str], query: Any, body: bytes) -> None:
        blob = self.app.images.get(args["name"])
        if blob is None:
            raise Refusal(
                404,
                f"No image {args['name']!r} here (images are kept in memory, the newest only).",
                code="not_found",
            )
        fmt = args["name"].rsplit(".", 1)[-1]
        self._send(200, blob, placeholder.MIME_TYPES.get(fmt, "application/octet-stream"))

    # models

    def route_models(self, args: dict[str, str], query: Any, body: bytes) -> None:
        ids = [*models.MODELS, *serve_chat.MODELS, *_OTHER_MODELS]
        self._json(
            200, {"object": "list", "data": [_model_object(m, i) for i, m in enumerate(ids)]}
        )

    def route_model(self, args: dict[str, str], query: Any, body: bytes) -> None:
        ids = [*models.MODELS, *serve_chat.MODELS, *_OTHER_MODELS]
        if args["id"] not in ids:
            raise Refusal(
                404,
                f"The model '{args['id']}' does not exist.",
                param="model",
                code="model_not_found",
            )
        self._json(200, _model_object(args["id"], ids.index(args["id"])))

    # files and batches

    def _batch_api(
        self, name: str, args: dict[str, str], query: dict[str, list[str]], body: bytes
    ) -> None:
        request = serve_batches.Request(
            args, query, body, self.headers.get("Content-Type", ""), self._base_url()
        )
        out = serve_batches.handle(name, self.app.files, self.app.batches, request)
        if isinstance(out, bytes):
            self._send(200, out, "application/octet-stream")
        else:
            self._json(200, out)

    # chat images, tasks, EasyRouter's batches

    def _dialect(
        self, name: str, args: dict[str, str], query: dict[str, list[str]], body: bytes
    ) -> None:
        request = serve_dialects.Request(
            args,
            query,
            body,
            {k.lower(): v for k, v in self.headers.items()},
            self._base_url(),
            self.started + self.app.latency,
        )
        self._reply(serve_dialects.handle(name, self.app.dialects, request))

    def _reply(self, reply: serve_dialects.Reply) -> None:
        if reply.chunks is None:
            payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
            self._send(reply.status, payload, reply.content_type, reply.headers)
            return
        self.status = reply.status
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self._common_headers(reply.headers)
        for chunk in reply.chunks:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


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
        chat_style: str = "new-api",
        tasks: bool = False,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.latency = max(0.0, latency)
        self.api_key = api_key
        self.requests_served = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.images = ImageStore()
        self.files = Files()
        self.batches = Batches(self.files, self.run, self.latency)
        self.dialects = serve_dialects.Dialects(
            self.images,
            self.files,
            self.run,
            latency=self.latency,
            chat_style=chat_style,
            tasks_mode=tasks,
        )
        self._log = log
        self._lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._connections: set[Any] = set()
        self._serving = False
        super().__init__(address, _Handler)

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

    def json_edit(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[bytes], bytes | None]:
        """A JSON edit request: images given as data: URLs or ids of uploaded files."""
        refs = body.get("images")
        if not isinstance(refs, list) or not refs:
            raise Refusal(
                400,
                "Missing required parameter: 'images'.",
                param="images",
                code="missing_required_parameter",
            )
        images = [self._image_ref(ref, f"images[{i}]") for i, ref in enumerate(refs)]
        mask = self._image_ref(body["mask"], "mask") if body.get("mask") is not None else None
        fields = {k: v for k, v in body.items() if k not in ("images", "mask")}
        return fields, images, mask

    def _image_ref(self, ref: Any, param: str) -> bytes:
        if not isinstance(ref, dict) or ("file_id" in ref) == ("image_url" in ref):
            raise Refusal(
                400,
                f"{param}: give exactly one of image_url or file_id.",
                param=param,
                code="invalid_image_reference",
            )
        if isinstance(ref.get("file_id"), str):
            return self.files.get(ref["file_id"], param)[1]
        url = ref.get("image_url")
        if isinstance(url, str) and url.startswith("data:"):
            return data_url(url, param)
        raise Refusal(
            400,
            f"{param}: easyimg serve takes images as data: URLs or the ids of files uploaded "
            "to it; it fetches nothing from the network.",
            param=param,
            code="invalid_image_url",
        )

    def run(self, endpoint: str, body: dict[str, Any], base_url: str) -> tuple[int, dict[str, Any]]:
        """Answer one batch item: (status, ImagesResponse or error body)."""
        try:
            if body.get("stream"):
                raise Refusal(
                    400, "stream is not available in a batch.", param="stream", code="invalid_value"
                )
            if endpoint.endswith("/edits"):
                fields, images, mask = self.json_edit(body)
                plan = make_plan("edits", fields, images, mask)
            else:
                plan = make_plan("generations", body, [], None)
            return 200, answer(plan, self.images, base_url)
        except Refusal as refusal:
            return refusal.status, refusal.body()


def make_server(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    latency: float = 0.0,
    api_key: str | None = None,
    log: LogFn | None = None,
    chat_style: str = "new-api",
    tasks: bool = False,
) -> ImageServer:
    """Bind the server (OSError when the address is taken); call serve_forever() to run it.

    `chat_style` is how chat completions carry images (new-api or openrouter); `tasks`
    answers image generations with a task to poll (APIMart's shape).
    """
    return ImageServer(
        (host, port),
        latency=latency,
        api_key=api_key,
        log=log,
        chat_style=chat_style,
        tasks=tasks,
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
