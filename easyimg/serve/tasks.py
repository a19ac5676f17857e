"""`easyimg serve --tasks`: image requests answered with a task to poll, as APIMart does."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import placeholder
from .images import ImageStore, Plan, render
from .request import Refusal

EXPIRES = 86_400  # result URLs are documented to expire; these live as long as the store keeps them


@dataclass
class _Task:
    id: str
    created: int
    started: float
    due: float
    done: threading.Event = field(default_factory=threading.Event)
    urls: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    completed: int | None = None


class Tasks:
    """Tasks in memory: drawn in a thread at once, reported done `latency` seconds after submit.

    Status goes pending (first half of the wait), processing, then completed or failed. A
    request the images API would refuse becomes a failed task with that message, as relays
    that accept first and check later do.
    """

    def __init__(
        self,
        images: ImageStore,
        latency: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._images = images
        self._latency = max(0.0, latency)
        self.clock = clock  # tests set their own
        self._lock = threading.Lock()
        self._items: dict[str, _Task] = {}

    def submit(self, make: Callable[[], Plan], base_url: str) -> dict[str, Any]:
        """Start a task; the answer APIMart gives to a generation request."""
        now = self.clock()
        task = _Task(
            id=f"task_{secrets.token_hex(13)}",
            created=int(time.time()),
            started=now,
            due=now + self._latency,
        )
        with self._lock:
            self._items[task.id] = task
        threading.Thread(
            target=self._draw, args=(task, make, base_url), daemon=True, name=task.id
        ).start()
        return {"code": 200, "data": [{"status": "submitted", "task_id": task.id}]}

    def _draw(self, task: _Task, make: Callable[[], Plan], base_url: str) -> None:
        try:
            plan = make()
            for i in range(plan.n):
                blob = placeholder.encode(render(plan, i), plan.fmt, plan.compression)
                task.urls.append(f"{base_url}/images/files/{self._images.put(blob, plan.fmt)}")
        except Refusal as refusal:
            task.error = {"code": refusal.code or "invalid_request", "message": refusal.message}
        except Exception as exc:  # a task that cannot be drawn fails; the server goes on
            task.error = {"code": "server_error", "message": f"drawing failed: {exc!r}"}
        finally:
            task.done.set()

    def wait(self, task_id: str, timeout: float | None = None) -> bool:
        """Block until the task is drawn (for tests and shutdown), True when it is."""
        with self._lock:
            task = self._items.get(task_id)
        return task is not None and task.done.wait(timeout)

    def get(self, task_id: str) -> dict[str, Any]:
        """The task's state, as `GET /v1/tasks/{id}` answers it."""
        with self._lock:
            task = self._items.get(task_id)
        if task is None:
            raise Refusal(
                404, f"Task {task_id!r} not found.", param="task_id", code="task_not_found"
            )
        now = self.clock()
        doc: dict[str, Any] = {
            "id": task.id,
            "created": task.created,
            "estimated_time": max(1, math.ceil(self._latency)),
        }
        if now < task.due or not task.done.is_set():
            elapsed = now - task.started
            half = self._latency / 2
            doc["status"] = "pending" if elapsed < half else "processing"
            progress = elapsed / self._latency * 100 if self._latency else 99
            doc["progress"] = max(0, min(99, int(progress)))
            return {"code": 200, "data": doc}
        if task.completed is None:
            task.completed = int(time.time())
        doc.update(progress=100, completed=task.completed)
        doc["actual_time"] = max(0, task.completed - task.created)
        if task.error is not None:
            doc.update(status="failed", error=task.error)
        else:
            doc["status"] = "completed"
            doc["result"] = {
                "images": [{"url": list(task.urls), "expires_at": task.created + EXPIRES}]
            }
        return {"code": 200, "data": doc}
