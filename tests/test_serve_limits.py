"""`easyimg serve` against clients that misbehave: huge, slow, deep, odd and lying requests."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from easyimg.serve.http import MAX_BODY, ImageServer, start_background


@pytest.fixture
def make() -> Iterator[Callable[..., ImageServer]]:
    started: list[ImageServer] = []

    def start(**kw: Any) -> ImageServer:
        s = start_background(port=0, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


@pytest.fixture
def srv(make) -> ImageServer:
    return make()


def connect(s: ImageServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", s.server_port), timeout=10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes; the 10 s socket timeout bounds a server that never
    does (a failure, never the expected path)."""
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def exchange(s: ImageServer, data: bytes) -> tuple[int, dict[str, str], bytes]:
    with connect(s) as sock:
        sock.sendall(data)
        return response(read_all(sock))


def wait_for(fn: Callable[[], Any], deadline: float = 5.0) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if value := fn():
            return value
        time.sleep(0.01)
    raise AssertionError("condition not reached before the deadline")


# --- bodies ----------------------------------------------------------------------------------


def test_a_body_past_the_cap_is_413_before_it_is_sent(srv):
    status, headers, body = exchange(
        srv,
        b"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\n" + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode(),
    )
    assert MAX_BODY == 100_000_000
    assert status == 413 and headers["connection"] == "close"
    error = json.loads(body)["error"]
    assert error["message"] == f"Request body too large: the limit is {MAX_BODY} bytes."


def test_a_chunked_body_is_cut_off_at_the_cap(make):
    s = make(max_body=1000)
    chunk = b"190\r\n" + b"x" * 400 + b"\r\n"
    # Two chunks (800 bytes) pass; the third's size line takes it past 1000: the server answers
    # without reading the chunk itself, which is therefore never sent.
    status, headers, body = exchange(
        s,
        b"POST /v1/files HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunk * 2
        + b"190\r\n",
    )
    assert status == 413 and headers["connection"] == "close"
    assert "limit is 1000 bytes" in json.loads(body)["error"]["message"]


def test_a_chunked_body_under_the_cap_is_read(make):
    s = make(max_body=1000)
    payload = json.dumps(
        {"prompt": "x", "model": "dall-e-2", "size": "256x256", "response_format": "b64_json"}
    ).encode()
    status, _, body = exchange(
        s,
        b"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload),
    )
    assert status == 200 and json.loads(body)["data"]


# --- slow and idle clients -------------------------------------------------------------------


def test_an_idle_connection_is_closed(make):
    s = make(idle_timeout=0.2)
    with connect(s) as sock:
        assert read_all(sock) == b""  # closed by the server, not by the 10 s client timeout
    wait_for(lambda: not s._connections)


def test_a_trickling_request_ends_at_its_deadline_not_after_each_byte(make):
    # Each read may wait 60 s, but the whole request only 0.3 s: a client that keeps sending
    # a byte now and then cannot hold the connection.
    s = make(idle_timeout=60, request_timeout=0.3)
    with connect(s) as sock:
        sock.sendall(b"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n")
        sock.sendall(b"\r\n{")
        status, headers, body = response(read_all(sock))
    assert status == 408 and headers["connection"] == "close"
    assert json.loads(body)["error"]["code"] == "timeout"
    wait_for(lambda: not s._connections and s.in_flight == 0)


def test_headers_that_never_end_are_dropped_at_the_deadline(make):
    s = make(idle_timeout=60, request_timeout=0.3)
    with connect(s) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert read_all(sock) == b""
    wait_for(lambda: not s._connections)


# --- odd requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps({"prompt": "x", "extra": json.loads("[" * 70 + "]" * 70)}).encode(),
    ],
)
def test_deep_json_is_400(srv, body):
    r = requests.post(f"{srv.url}/images/generations", data=body, timeout=10)
    assert r.status_code == 400
    assert r.json()["error"] == {
        "message": "The JSON body is nested more than 64 levels deep.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_json",
    }


def test_a_deep_batch_line_fails_the_batch_not_the_server(srv):
    lines = [
        {"custom_id": "a", "method": "POST", "url": "/v1/images/generations", "body": {}},
        "[" * 100_000 + "]" * 100_000,
    ]
    data = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode()
    file_id = requests.post(
        f"{srv.url}/files",
        data={"purpose": "batch"},
        files={"file": ("in.jsonl", data, "application/jsonl")},
        timeout=10,
    ).json()["id"]
    batch = requests.post(
        f"{srv.url}/batches",
        json={
            "input_file_id": file_id,
            "endpoint": "/v1/images/generations",
            "completion_window": "24h",
        },
        timeout=10,
    ).json()

    def failed() -> Any:
        b = requests.get(f"{srv.url}/batches/{batch['id']}", timeout=10).json()
        return b if b["status"] == "failed" else None

    assert wait_for(failed)["errors"]["data"][0]["line"] == 2


@pytest.mark.parametrize(
    ("prompt", "kind"),
    [(1, "an integer"), (None, "null"), ([], "an array"), ({}, "an object"), (True, "a boolean")],
)
def test_a_prompt_that_is_not_a_string_is_400(srv, prompt, kind):
    r = requests.post(f"{srv.url}/images/generations", json={"prompt": prompt}, timeout=10)
    assert r.status_code == 400
    assert r.json()["error"] == {
        "message": f"Invalid type for 'prompt': expected a string, but got {kind} instead.",
        "type": "invalid_request_error",
        "param": "prompt",
        "code": "invalid_type",
    }


@pytest.mark.parametrize("model", [[], {}, 0, False])
def test_a_model_that_is_not_a_string_is_400(srv, model):
    r = requests.post(
        f"{srv.url}/images/generations", json={"prompt": "x", "model": model}, timeout=10
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "TRACE", "PUT"])
def test_unknown_methods_get_a_json_405(srv, method):
    r = requests.request(method, f"{srv.url}/models", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["error"]["message"] == f"Invalid method for URL ({method} /v1/models)."
    r = requests.request(method, f"{srv.url}/nothing-here", timeout=10)
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"


def test_head_gets_headers_and_no_body(srv):
    with connect(srv) as sock:
        sock.sendall(
            b"HEAD /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        raw = read_all(sock)
    # The second answer follows the first's headers directly: HEAD sent no body.
    first, _, rest = raw.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 405 ") and rest.startswith(b"HTTP/1.1 200 ")


def test_url_answers_use_the_servers_own_address_not_the_host_header(srv):
    r = requests.post(
        f"{srv.url}/images/generations",
        json={"prompt": "x", "model": "dall-e-2", "size": "256x256"},
        headers={"Host": "evil.example:666"},
        timeout=10,
    )
    url = r.json()["data"][0]["url"]
    assert url.startswith(f"http://127.0.0.1:{srv.server_port}/v1/images/files/")
    assert requests.get(url, timeout=10).status_code == 200
