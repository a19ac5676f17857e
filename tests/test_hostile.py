"""Servers that misbehave on purpose: trickles, endless bodies, bombs, cut-offs and refusals.

Each test runs the real CLI (or client) against a raw-socket server on 127.0.0.1 that does
one bad thing. Nothing here measures time: a deadline test passes by finishing at all, since
its server would keep going far longer than the test's `--timeout` (each server also gives up
by itself after SAFETY seconds, so a broken client fails instead of hanging the suite).
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from easyimg.api.client import Client, RateGate
from easyimg.errors import APIError, ExitCode

from .conftest import images_answer, make_image

SAFETY = 4.0  # seconds after which every misbehaving server gives up on its own
MB = 1 << 20


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Peer:
    """One accepted connection, as a handler sees it."""

    def __init__(self, conn: socket.socket, stop: threading.Event) -> None:
        self.conn = conn
        self.stop = stop

    def send(self, data: bytes) -> bool:
        """False once the client has gone away."""
        try:
            self.conn.sendall(data)
            return True
        except OSError:
            return False

    def head(self, status: str = "200 OK", **headers: str | int) -> bool:
        lines = [f"HTTP/1.1 {status}", "Connection: close"]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def json(self, doc: object, status: str = "200 OK", **headers: str | int) -> None:
        body = json.dumps(doc).encode()
        if self.head(status, Content_Type="application/json", Content_Length=len(body), **headers):
            self.send(body)

    def trickle(self, data: bytes, every: float = 0.05) -> None:
        """One byte at a time until the client leaves, the test ends or SAFETY runs out."""
        for i in range(min(len(data), int(SAFETY / every))):
            if not self.send(data[i : i + 1]) or self.stop.wait(every):
                return

    def flood(self, chunks: Iterator[bytes], limit: int) -> None:
        """Send as fast as the client reads, until it leaves or `limit` bytes went out."""
        sent = 0
        for chunk in chunks:
            if sent >= limit or self.stop.is_set() or not self.send(chunk):
                return
            sent += len(chunk)


Handler = Callable[[Peer, Request], None]


@dataclass
class RawServer:
    """HTTP on a raw socket: one request per connection, answered by `handler`."""

    handler: Handler
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._loop, daemon=True)
        self._accept.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(SAFETY)
            request = _read_request(conn)
            if request is not None:
                self.requests.append(request)
                self.handler(Peer(conn, self.stop), request)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self._accept.join()
        self.sock.close()
        for thread in self.threads:
            thread.join(SAFETY)


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    first, *lines = head.decode("latin-1").split("\r\n")
    method, path, _ = first.split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    while len(body) < int(headers.get("content-length") or 0):
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body)


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler) -> RawServer:
        servers.append(RawServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def config(user_dir: Path) -> Callable[..., None]:
    def write(**keys: object) -> None:
        lines = [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
        (user_dir / "config.toml").write_text("\n".join(lines) + "\n")

    return write


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def png_answer() -> bytes:
    return json.dumps(images_answer(make_image())).encode()


def b64_forever(prefix: bytes) -> Iterator[bytes]:
    yield prefix
    block = b"QUFB" * (MB // 4)
    while True:
        yield block


# --- the deadline -----------------------------------------------------------------------------


def trickled_body(peer: Peer, req: Request) -> None:
    body = png_answer()
    if peer.head(Content_Type="application/json", Content_Length=len(body)):
        peer.trickle(body)


def trickled_head(peer: Peer, req: Request) -> None:
    peer.trickle(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 500)


@pytest.mark.parametrize("handler", [trickled_body, trickled_head], ids=["body", "head"])
def test_a_trickled_answer_ends_at_the_deadline(cli, serve, tmp_path, handler):
    server = serve(handler)
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", server.url, "--timeout", "0.5")
    assert r.code == ExitCode.NETWORK
    line = one_error_line(r.err)
    assert "within 0.5 s" in line and "--timeout" in line
    assert list(tmp_path.iterdir()) == []


def keep_alives_forever(peer: Peer, req: Request) -> None:
    if peer.head(Content_Type="text/event-stream"):
        for _ in range(int(SAFETY / 0.01)):
            if not peer.send(b": keep-alive\n\n") or peer.stop.wait(0.01):
                return


def test_an_endless_event_stream_ends_at_the_deadline(cli, serve, tmp_path):
    server = serve(keep_alives_forever)
    r = cli(
        "gen", "a cat", "--stream", "-o", str(tmp_path), "--base-url", server.url,
        "--timeout", "0.5",
    )  # fmt: skip
    assert r.code == ExitCode.NETWORK
    assert "within 0.5 s" in one_error_line(r.err)


def url_answer_then(image: Handler) -> Handler:
    def handle(peer: Peer, req: Request) -> None:
        if req.path.endswith("/images/generations"):
            port = peer.conn.getsockname()[1]
            peer.json({"created": 1, "data": [{"url": f"http://127.0.0.1:{port}/img.png"}]})
        else:
            image(peer, req)

    return handle


def trickled_image(peer: Peer, req: Request) -> None:
    png = make_image()
    if peer.head(Content_Type="image/png", Content_Length=len(png)):
        peer.trickle(png)


def test_a_trickled_image_download_ends_at_the_deadline(cli, serve, tmp_path):
    server = serve(url_answer_then(trickled_image))
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", server.url, "--timeout", "0.5")
    assert r.code == ExitCode.NETWORK
    assert "within 0.5 s" in one_error_line(r.err)
    assert [req.path for req in server.requests] == ["/v1/images/generations", "/img.png"]
    assert list(tmp_path.iterdir()) == []


def test_a_stuck_batch_worker_gives_its_item_up_at_the_deadline(cli, serve, tmp_path):
    server = serve(trickled_body)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a cat\na dog\n")
    out = tmp_path / "out"
    r = cli(
        "batch", str(prompts), "-o", str(out), "-j", "1", "--base-url", server.url,
        "--timeout", "0.5",
    )  # fmt: skip
    assert r.code == ExitCode.NETWORK, r.err
    lines = [json.loads(x) for x in (out / "easyimg-manifest.jsonl").read_text().splitlines()]
    assert [(x["line"], x["status"]) for x in lines] == [(1, "error"), (2, "error")]
    assert all("within 0.5 s" in x["error"] for x in lines)
    assert len(server.requests) == 2


# --- one image's data is capped ---------------------------------------------------------------


def endless_b64(limit: int = 24 * MB) -> Handler:
    def handle(peer: Peer, req: Request) -> None:
        if peer.head(Content_Type="application/json"):
            peer.flood(b64_forever(b'{"created": 1, "data": [{"b64_json": "'), limit)

    return handle


def endless_event(peer: Peer, req: Request) -> None:
    if peer.head(Content_Type="text/event-stream"):
        prefix = b'event: image_generation.completed\ndata: {"b64_json": "'
        peer.flood(b64_forever(prefix), 24 * MB)


def endless_image(peer: Peer, req: Request) -> None:
    if peer.head(Content_Type="image/png"):
        png = make_image()
        peer.flood(iter([png[:-12], *([b"\0" * MB] * 24)]), 24 * MB)


@pytest.mark.parametrize(
    ("handler", "flags"),
    [
        (endless_b64(), []),
        (endless_event, ["--stream"]),
        (url_answer_then(endless_image), []),
    ],
    ids=["b64_json", "event", "url"],
)
def test_endless_image_data_is_cut_at_the_cap(cli, serve, config, tmp_path, handler, flags):
    config(max_image_mb=2)
    server = serve(handler)
    r = cli("gen", "a cat", *flags, "-o", str(tmp_path), "--base-url", server.url)
    assert r.code == ExitCode.NETWORK
    line = one_error_line(r.err)
    assert "2 MB" in line and "max_image_mb" in line
    assert list(tmp_path.iterdir()) == []


def gzip_bomb(inner: bytes, size: int, tail: bytes = b'"}]}') -> bytes:
    """One gzip member holding `inner`, `size` bytes of 'A' (base64 of zeros), then `tail`.

    Compressed once: after a full flush, each further MB of 'A' deflates to the same bytes,
    so they are repeated rather than compressed again; the trailer is computed to match.
    """
    block = b"A" * MB
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = packer.compress(inner + block) + packer.flush(zlib.Z_FULL_FLUSH)
    step = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    assert packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH) == step
    end = packer.compress(tail) + packer.flush()
    crc = zlib.crc32(inner)
    for _ in range(size // MB):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    length = len(inner) + size // MB * MB + len(tail)
    trailer = crc.to_bytes(4, "little") + (length & 0xFFFFFFFF).to_bytes(4, "little")
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + head + step * (size // MB - 1) + end + trailer


@pytest.fixture(scope="module")
def bomb() -> bytes:
    body = gzip_bomb(b'{"created": 1, "data": [{"b64_json": "', 50 * MB)
    assert len(body) < MB // 4
    return body


# A child's peak RSS counts what its process held before exec: a forked pytest, hundreds of
# MB late in the suite. So a small Python process starts the CLI and reports its peak.
MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def peak_rss_mb(args: list[str], tmp_path: Path) -> tuple[int, str, float]:
    """Exit code, stderr and peak RSS (MB) of `easyimg ARGS` run in `tmp_path/cwd`."""
    err, report, cwd = tmp_path / "child.err", tmp_path / "child.rss", tmp_path / "cwd"
    cwd.mkdir()
    with err.open("wb") as fe:
        cmd = [sys.executable, "-c", MEASURE, str(report), sys.executable, "-m", "easyimg"]
        subprocess.run([*cmd, *args], stdout=subprocess.DEVNULL, stderr=fe, cwd=cwd, check=True)
    code, peak_kb = report.read_text().split()
    return int(code), err.read_text(), int(peak_kb) / 1024


def test_a_gzip_bomb_ends_in_exit_5_and_stays_small(serve, config, bomb, tmp_path):
    config(max_image_mb=2)

    def handle(peer: Peer, req: Request) -> None:
        if peer.head(
            Content_Type="application/json", Content_Encoding="gzip", Content_Length=len(bomb)
        ):
            peer.send(bomb)

    server = serve(handle)
    code, err, peak = peak_rss_mb(["gen", "a cat", "--base-url", server.url], tmp_path)
    assert code == ExitCode.NETWORK, err
    assert "max_image_mb" in one_error_line(err)
    assert list((tmp_path / "cwd").iterdir()) == []
    # 50 MB of base64 held whole (as text, in the parser and decoded) is far above this.
    assert peak < 120, f"peak RSS {peak:.0f} MB"


def test_an_endless_base64_string_stays_small(serve, config, tmp_path):
    config(max_image_mb=2)
    server = serve(endless_b64(120 * MB))
    code, err, peak = peak_rss_mb(["gen", "a cat", "--base-url", server.url], tmp_path)
    assert code == ExitCode.NETWORK, err
    assert "max_image_mb" in one_error_line(err)
    assert list((tmp_path / "cwd").iterdir()) == []
    assert peak < 120, f"peak RSS {peak:.0f} MB"


@pytest.mark.parametrize("command", [["models"], ["batches", "list"]])
def test_a_gzip_bombed_listing_ends_in_exit_5(cli, serve, command):
    bomb = gzip_bomb(b'{"object": "list", "data": [{"id": "', 64 * MB)

    def handle(peer: Peer, req: Request) -> None:
        if peer.head(
            Content_Type="application/json", Content_Encoding="gzip", Content_Length=len(bomb)
        ):
            peer.send(bomb)

    server = serve(handle)
    r = cli(*command, "--base-url", server.url)
    assert r.code == ExitCode.NETWORK
    assert "MB" in one_error_line(r.err)


# --- an answer that breaks off ----------------------------------------------------------------


def cut_off(content_type: str = "application/json") -> Handler:
    def handle(peer: Peer, req: Request) -> None:
        body = png_answer()
        if peer.head(Content_Type=content_type, Content_Length=len(body)):
            peer.send(body[: len(body) // 2])

    return handle


def cut_off_chunked(peer: Peer, req: Request) -> None:
    body = png_answer()
    if peer.head(Content_Type="application/json", Transfer_Encoding="chunked"):
        peer.send(b"%x\r\n%s\r\n" % (len(body) // 2, body[: len(body) // 2]))
        peer.send(b"%x\r\n" % len(body))


@pytest.mark.parametrize("handler", [cut_off(), cut_off_chunked], ids=["length", "chunked"])
@pytest.mark.parametrize(
    "command", [["gen", "a cat"], ["models"], ["batches", "list"], ["batches", "show", "b1"]]
)
def test_an_answer_that_breaks_off_is_exit_5(cli, serve, tmp_path, handler, command):
    server = serve(handler)
    r = cli(*command, "--base-url", server.url, cwd=tmp_path)
    assert r.code == ExitCode.NETWORK
    assert "the answer broke off" in one_error_line(r.err)
    assert list(tmp_path.iterdir()) == []


def test_a_stream_or_download_that_breaks_off_is_exit_5(cli, serve, tmp_path):
    server = serve(cut_off("text/event-stream"))
    r = cli("gen", "a cat", "--stream", "--base-url", server.url, cwd=tmp_path)
    assert r.code == ExitCode.NETWORK
    assert "broke off" in one_error_line(r.err)

    server = serve(url_answer_then(cut_off("image/png")))
    r = cli("gen", "a cat", "--base-url", server.url, cwd=tmp_path)
    assert r.code == ExitCode.NETWORK
    assert "broke off" in one_error_line(r.err)
    assert list(tmp_path.iterdir()) == []


# --- a host that does not resolve -------------------------------------------------------------


@pytest.fixture
def no_invalid_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names under .invalid never resolve (RFC 6761): fail them here, without asking DNS."""
    real = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kw: object) -> object:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("command", [["gen", "a cat"], ["models"], ["batches", "list"]])
def test_an_unresolvable_host_is_one_clean_line(cli, no_invalid_hosts, tmp_path, command):
    r = cli(
        *command, "--base-url", "https://easyimg-test.invalid/v1", "--api-key", "sk-test-123456",
        "--retries", "0", cwd=tmp_path,
    )  # fmt: skip
    assert r.code == ExitCode.NETWORK
    assert r.err == "error: cannot resolve host easyimg-test.invalid\n"


# --- Retry-After and quota --------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def busy_then_ok(*headers: tuple[str, str]) -> Handler:
    def handle(peer: Peer, req: Request) -> None:
        if len(calls) == 0:
            calls.append(req)
            error = {"error": {"message": "slow down", "code": "rate_limit_exceeded"}}
            peer.json(error, "429 Too Many Requests", **dict(headers))
        else:
            peer.json({"object": "list", "data": []})

    calls: list[Request] = []
    return handle


def test_a_retry_after_under_the_cap_is_waited_in_full(serve):
    clock = FakeClock()
    seen = []
    server = serve(busy_then_ok(("Retry_After", "2")))
    client = Client(
        server.url,
        sleep=clock.sleep,
        gate=RateGate(clock=clock.time, sleep=clock.sleep),
        on_retry=seen.append,
    )
    assert client.request("POST", "x", json_body={}).status_code == 200
    assert clock.slept == [2.0]
    assert [(r.delay, r.reason) for r in seen] == [(2.0, "429 Too Many Requests, Retry-After")]


def test_the_server_wait_is_shown_in_the_progress(cli, serve, tmp_path):
    server = serve(busy_then_ok(("retry_after_ms", "100")))
    r = cli("models", "--base-url", server.url)
    assert "waiting 0.1s (429 Too Many Requests, Retry-After; try 2 of 4)" in r.err
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", ["429 Too Many Requests", "503 Service Unavailable"])
def test_a_retry_after_over_the_cap_ends_at_once(cli, serve, tmp_path, status):
    def handle(peer: Peer, req: Request) -> None:
        peer.json({"error": {"message": "come back later"}}, status, Retry_After="120")

    server = serve(handle)
    r = cli("gen", "a cat", "--base-url", server.url, "--retries", "1", cwd=tmp_path)
    assert r.code == ExitCode.NETWORK
    line = one_error_line(r.err)
    assert "come back later" in line and "120 s" in line and "max_retry_wait" in line
    assert len(server.requests) == 1


def test_the_retry_wait_cap_is_a_config_key(cli, serve, config, tmp_path):
    config(max_retry_wait=1)
    server = serve(busy_then_ok(("Retry_After", "2")))
    r = cli("models", "--base-url", server.url)
    assert r.code == ExitCode.NETWORK
    assert "2 s" in one_error_line(r.err)
    assert len(server.requests) == 1


def quota(status: str, code: str) -> Handler:
    def handle(peer: Peer, req: Request) -> None:
        error = {"message": "You exceeded your current quota", "type": code, "code": code}
        peer.json({"error": error}, status, Retry_After="1")

    return handle


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("429 Too Many Requests", "insufficient_quota"),
        ("429 Too Many Requests", "billing_hard_limit_reached"),
        ("400 Bad Request", "billing_hard_limit_reached"),
    ],
)
def test_an_exhausted_quota_is_exit_3_and_never_retried(cli, serve, tmp_path, status, code):
    server = serve(quota(status, code))
    r = cli("gen", "a cat", "--base-url", server.url, "--retries", "1", cwd=tmp_path)
    assert r.code == ExitCode.AUTH
    assert f"code: {code}" in one_error_line(r.err)
    assert len(server.requests) == 1


def test_a_quota_429_does_not_close_the_shared_gate(serve):
    clock = FakeClock()
    gate = RateGate(clock=clock.time, sleep=clock.sleep)
    server = serve(quota("429 Too Many Requests", "insufficient_quota"))
    client = Client(server.url, gate=gate, sleep=clock.sleep)
    with pytest.raises(APIError) as info:
        client.request("POST", "x", json_body={})
    assert info.value.exit_code == ExitCode.AUTH
    assert gate.wait() == 0 and clock.slept == []


def test_a_batch_spends_one_request_per_item_on_a_spent_quota(cli, serve, tmp_path):
    server = serve(quota("429 Too Many Requests", "insufficient_quota"))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a cat\na dog\n")
    r = cli("batch", str(prompts), "-o", str(tmp_path / "out"), "--base-url", server.url)
    assert r.code == ExitCode.AUTH
    assert len(server.requests) == 2


def test_an_answer_nested_too_deep_is_exit_5(cli, serve, tmp_path):
    def handle(peer: Peer, req: Request) -> None:
        peer.json(json.loads('{"created": 1, "x": ' + "[" * 100 + "]" * 100 + "}"))

    server = serve(handle)
    r = cli("gen", "a cat", "--sidecar", "--base-url", server.url, cwd=tmp_path)
    assert r.code == ExitCode.NETWORK
    assert "nests more than 64 levels" in one_error_line(r.err)


def test_gzip_helpers_round_trip():
    body = gzip_bomb(b'{"a": "', 3 * MB, b'"}')
    assert gzip.decompress(body) == b'{"a": "' + b"A" * (3 * MB) + b'"}'
    assert base64.b64decode(b"QUFB") == b"AAA"


def test_a_body_that_does_not_inflate_is_exit_5(cli, serve, tmp_path):
    def handle(peer: Peer, req: Request) -> None:
        body = gzip.compress(png_answer())[:40] + b"not deflate at all" * 10
        if peer.head(Content_Type="application/json", Content_Encoding="gzip"):
            peer.send(body)

    server = serve(handle)
    for command in (["gen", "a cat"], ["models"]):
        r = cli(*command, "--base-url", server.url, cwd=tmp_path)
        assert r.code == ExitCode.NETWORK
        assert "compressed wrongly" in one_error_line(r.err)
