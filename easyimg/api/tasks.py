"""Relays that answer a generation with a task (ROUTERS.md §6): recognised, polled, then read."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from ..errors import APIError, NetworkError, ResponseError

if TYPE_CHECKING:
    import requests

    from .client import Client
    from .dialect import Dialect as Inner
    from .dialect import OnImage

DEFAULT_POLL = "/v1/tasks/{id}"
# Where the common relays are polled, by host (APIMart's is also the default).
KNOWN_POLLS = {
    "api.apimart.ai": "/v1/tasks/{id}",
    "api.therouter.ai": "/v1/jobs/{id}",
    "therouter.ai": "/v1/jobs/{id}",
}
PENDING = frozenset(
    {
        "submitted",
        "pending",
        "queued",
        "in_queue",
        "not_start",
        "processing",
        "in_progress",
        "running",
        "started",
        "generating",
    }
)
DONE = frozenset({"completed", "succeeded", "success", "done", "ready", "finished"})
FAILED = frozenset({"failed", "failure", "error", "cancelled", "canceled", "expired"})
FIRST_POLL = 0.2
MAX_POLL = 5.0


@dataclass
class Task:
    id: str
    status: str
    polling_url: str | None = None


def task_in(obj: Any) -> Task | None:
    """The task an answer (or one `data` item) stands for, or None when it is not one.

    A task has an id (`task_id`, or `id`), a status that says it is not done yet, and no
    image: APIMart's `data[]` items and TheRouter's answer both look so.
    """
    if not isinstance(obj, Mapping):
        return None
    if isinstance(obj.get("data"), Mapping):
        return task_in(obj["data"])
    if obj.get("b64_json") or obj.get("url"):
        return None
    task_id = obj.get("task_id") or obj.get("id")
    status = str(obj.get("status") or "").lower()
    if not isinstance(task_id, str) or not task_id or status not in PENDING:
        return None
    polling = obj.get("polling_url") or obj.get("status_url")
    return Task(task_id, status, polling if isinstance(polling, str) and polling else None)


@dataclass
class State:
    """One poll's answer, read tolerantly."""

    status: str
    progress: int | None = None
    images: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    code: str | None = None


def read_state(doc: Mapping[str, Any]) -> State:
    data = doc.get("data") if isinstance(doc.get("data"), Mapping) else doc
    assert isinstance(data, Mapping)
    status = str(data.get("status") or data.get("state") or "").lower()
    progress = data.get("progress")
    state = State(status, int(progress) if isinstance(progress, int | float) else None)
    if status in DONE:
        state.images = list(_results(data))
    elif status in FAILED or data.get("error"):
        err = data.get("error") or data.get("fail_reason") or data.get("failReason")
        if isinstance(err, Mapping):
            state.error = str(err.get("message") or err.get("msg") or err)
            code = err.get("code")
            state.code = None if code is None else str(code)
        else:
            state.error = str(err or data.get("message") or f"the task ended {status}")
        state.status = status if status in FAILED else "failed"
    return state


def _results(data: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    result = data.get("result")
    if isinstance(result, Mapping):
        for entry in result.get("images") or result.get("data") or ():
            yield from _items(entry)
        if isinstance(result.get("sample"), str):  # BFL
            yield {"url": result["sample"]}
    elif isinstance(result, list):
        for entry in result:
            yield from _items(entry)
    for key in ("imageUrl", "image_url", "url"):
        if isinstance(data.get(key), str) and data[key]:
            yield {"url": data[key]}


def _items(entry: Any) -> Iterator[dict[str, Any]]:
    if isinstance(entry, str):
        yield {"url": entry}
    elif isinstance(entry, Mapping):
        if isinstance(entry.get("b64_json"), str) and entry["b64_json"]:
            yield {"b64_json": entry["b64_json"]}
            return
        urls = entry.get("url")
        for url in urls if isinstance(urls, list) else [urls]:
            if isinstance(url, str) and url:
                yield {"url": url}


def poll_path(base_url: str, chosen: str | None, task: Task) -> str:
    """The URL to poll: the profile's `task_poll`, the answer's own, the host's, the default."""
    template = chosen or task.polling_url
    if template is None:
        host = (urlsplit(base_url).hostname or "").lower()
        template = KNOWN_POLLS.get(host, DEFAULT_POLL)
    path = template.replace("{id}", quote(task.id, safe=""))
    if path.startswith(("http://", "https://")):
        return path
    if path.startswith("/"):
        parts = urlsplit(base_url)
        return f"{parts.scheme}://{parts.netloc}{path}"
    return f"{base_url.rstrip('/')}/{path}"


def pause(seconds: float) -> None:
    time.sleep(seconds)


@dataclass
class Dialect:
    """Wraps a dialect: an answer that is a task is polled until its images can be read.

    `pending` holds the ids being polled, so an interrupted command can name them;
    `on_status` shows each poll's status. The whole wait is bounded by the client's timeout.
    """

    inner: Inner
    poll: str | None = None
    on_status: Callable[[str], None] | None = None
    clock: Callable[[], float] = time.monotonic
    name: ClassVar[str] = "images"
    endpoint: str = field(init=False)
    pending: set[str] = field(default_factory=set)
    _client: Client | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.endpoint = self.inner.endpoint

    def send(self, client: Client, body: Mapping[str, Any], count: int) -> requests.Response:
        self._client = client
        return self.inner.send(client, body, count)

    def read(self, resp: requests.Response, on_image: OnImage) -> dict[str, Any]:
        started = self.clock()
        tasks: list[Task] = []

        def item(found: dict[str, Any], meta: dict[str, Any]) -> None:
            task = task_in(found)
            if task is None:
                on_image(found, meta)
            else:
                tasks.append(task)

        meta = self.inner.read(resp, item)
        top = task_in(meta)
        if top is not None:
            tasks.append(top)
        for task in tasks:
            self._follow(task, on_image, meta, started)
        return meta

    def _follow(self, task: Task, on_image: OnImage, meta: dict[str, Any], started: float) -> None:
        client = self._client
        if client is None:
            raise ResponseError(f"task {task.id}: nothing to poll it with")
        url = poll_path(client.base_url, self.poll, task)
        with self._lock:
            self.pending.add(task.id)
        try:
            self._wait(task, client, url, on_image, meta, started + client.timeout)
        except KeyboardInterrupt:
            raise  # the id stays in `pending`: the command names it as it stops
        except BaseException:
            self._done(task)
            raise
        self._done(task)

    def _done(self, task: Task) -> None:
        with self._lock:
            self.pending.discard(task.id)

    def _wait(
        self,
        task: Task,
        client: Client,
        url: str,
        on_image: OnImage,
        meta: dict[str, Any],
        deadline: float,
    ) -> None:
        delay = FIRST_POLL
        while True:
            state = read_state(_get_json(client, url))
            shown = f"task {task.id}: {state.status or 'unknown'}"
            if state.progress is not None and state.status not in DONE:
                shown += f" {state.progress}%"
            if self.on_status is not None:
                self.on_status(shown)
            if state.status in DONE:
                if not state.images:
                    raise ResponseError(f"task {task.id} completed with no image in its result")
                for found in state.images:
                    on_image(found, meta)
                return
            if state.error is not None:
                raise APIError(
                    None, f"task {task.id} {state.status}: {state.error}", code=state.code
                )
            if state.status not in PENDING:
                raise ResponseError(
                    f"task {task.id}: the relay answered status {state.status!r}, "
                    "which easyimg does not know"
                )
            if self.clock() + delay > deadline:
                raise NetworkError(
                    f"task {task.id} was still {state.status} after {client.timeout:g} s",
                    hint="raise --timeout to wait longer",
                )
            pause(delay)
            delay = min(MAX_POLL, delay * 1.5)


def _get_json(client: Client, url: str) -> dict[str, Any]:
    from .limits import read_body

    resp = client.request("GET", url)
    try:
        doc = json.loads(read_body(resp))
    except ValueError:
        raise ResponseError(f"GET {url}: the task answer is not JSON") from None
    if not isinstance(doc, dict):
        raise ResponseError(f"GET {url}: the task answer is not a JSON object")
    return doc
