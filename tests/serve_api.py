"""A client for the dialect routes of `easyimg serve`, and fixtures that start the server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from easyimg.serve import dialects
from easyimg.serve.http import ImageServer, start_background
from easyimg.serve.images import make_plan
from easyimg.serve.request import Refusal

_ROUTES = [(m, re.compile(p), n) for m, p, n in dialects.ROUTES]


class Answer:
    """The parts of a requests.Response the tests read."""

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status
        self.headers = CaseInsensitiveDict(headers)
        self.content = content

    def json(self) -> Any:
        return json.loads(self.content)


class Api:
    """Requests to one server: dialect routes answered by their handlers, the rest over HTTP."""

    def __init__(self, server: ImageServer, state: dialects.Dialects) -> None:
        self.server = server
        self.state = state
        self.url = server.url

    def request(self, method: str, path: str, **kw: Any) -> Any:
        prepared = requests.Request(method, self.url.removesuffix("/v1") + path, **kw).prepare()
        route = urlsplit(prepared.url or "")
        local = route.path.removeprefix("/v1") if route.path.startswith("/v1/") else route.path
        for verb, pattern, name in _ROUTES:
            match = pattern.fullmatch(local)
            if match and verb == method:
                body = prepared.body or b""
                req = dialects.Request(
                    match.groupdict(),
                    parse_qs(route.query),
                    body if isinstance(body, bytes) else body.encode(),
                    CaseInsensitiveDict(prepared.headers),
                    self.url,
                )
                return self._answer(name, req)
        if local == "/images/generations" and self.state.tasks_mode:
            fields = json.loads(prepared.body or b"{}")
            reply = self.state.submit(lambda: make_plan("generations", fields, [], None), self.url)
            assert reply is not None
            return Answer(reply.status, {}, json.dumps(reply.body).encode())
        with requests.Session() as session:
            return session.send(prepared, timeout=10)

    def _answer(self, name: str, req: dialects.Request) -> Answer:
        try:
            reply = dialects.handle(name, self.state, req)
        except Refusal as refusal:
            return Answer(
                refusal.status,
                {"Content-Type": "application/json"},
                json.dumps(refusal.body()).encode(),
            )
        if reply.chunks is not None:
            content = b"".join(reply.chunks)
        elif reply.raw is not None:
            content = reply.raw
        else:
            content = json.dumps(reply.body).encode()
        return Answer(reply.status, {"Content-Type": reply.content_type, **reply.headers}, content)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)


@pytest.fixture
def api_factory() -> Iterator[Callable[..., Api]]:
    servers: list[tuple[ImageServer, dialects.Dialects]] = []

    def make(**options: Any) -> Api:
        server = start_background(port=0, latency=options.pop("latency", 0.0))
        state = dialects.Dialects(
            server.images, server.files, server.run, latency=server.latency, **options
        )
        servers.append((server, state))
        return Api(server, state)

    yield make
    for server, state in servers:
        state.close()
        server.close()


@pytest.fixture
def api(api_factory: Callable[..., Api]) -> Api:
    return api_factory()


def sse_chunks(content: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The JSON chunks of a chat completion stream, and whether it ended with [DONE]."""
    chunks: list[dict[str, Any]] = []
    done = False
    for block in content.decode().split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block[:80]
        data = block.removeprefix("data: ")
        if data == "[DONE]":
            done = True
        else:
            assert not done, "a chunk after [DONE]"
            chunks.append(json.loads(data))
    return chunks, done


def wait_for(fn: Callable[[], Any], deadline: float = 5.0) -> Any:
    """Poll `fn` until it returns something truthy (bounded by a deadline, not a fixed sleep)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not reached before the deadline")
