"""A client for one `easyimg serve` started per test, and helpers for its dialect routes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer

from easyimg.serve.http import ImageServer, start_background


class Api:
    """Requests to one running server; paths are given from the root (`/v1/...`, `/api/...`)."""

    def __init__(self, server: ImageServer) -> None:
        self.server = server
        self.state = server.dialects
        self.url = server.url
        self._session = requests.Session()

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self._session.request(method, self.url.removesuffix("/v1") + path, timeout=10, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def close(self) -> None:
        self._session.close()
        self.server.close()


@pytest.fixture
def api_factory() -> Iterator[Callable[..., Api]]:
    started: list[Api] = []

    def make(*, clock: Callable[[], float] | None = None, **options: Any) -> Api:
        api = Api(start_background(port=0, **options))
        if clock is not None:
            api.state.tasks.clock = clock
        started.append(api)
        return api

    yield make
    for api in started:
        api.close()


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


class QuickServer(HTTPServer):
    """pytest-httpserver's server, stopped in a few milliseconds rather than up to half a second."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)


@pytest.fixture(scope="module")
def other_host() -> Iterator[Any]:
    """A second loopback server under another name (127.0.0.1, not localhost): another host."""
    server = QuickServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def elsewhere(other_host: Any) -> Iterator[Any]:
    yield other_host
    other_host.clear()
