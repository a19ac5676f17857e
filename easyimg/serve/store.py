"""What `easyimg serve`'s batch APIs share: uploaded files and batches kept in memory."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from .request import Refusal

RunItem = Callable[[str, dict[str, Any], str], tuple[int, dict[str, Any]]]


def public(obj: dict[str, Any]) -> dict[str, Any]:
    # Unset fields are left out: the schema types them as plain strings and integers.
    return json.loads(json.dumps({k: v for k, v in obj.items() if v is not None}))


class Files:
    """Uploaded files and batch results, in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[dict[str, Any], bytes]] = {}

    def add(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "id": f"file-{secrets.token_hex(12)}",
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        with self._lock:
            self._items[meta["id"]] = (meta, data)
        return dict(meta)

    def get(self, file_id: str, param: str = "file_id") -> tuple[dict[str, Any], bytes]:
        with self._lock:
            found = self._items.get(file_id)
        if found is None:
            raise Refusal(404, f"No such File object: {file_id}", param=param)
        return dict(found[0]), found[1]

    def delete(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            if self._items.pop(file_id, None) is None:
                raise Refusal(404, f"No such File object: {file_id}", param="file_id")
        return {"id": file_id, "object": "file", "deleted": True}

    def listing(self, purpose: str | None, order: str) -> list[dict[str, Any]]:
        with self._lock:
            metas = [dict(m) for m, _ in self._items.values()]
        metas = [m for m in metas if purpose in (None, m["purpose"])]
        return metas if order == "asc" else metas[::-1]


class BatchStore:
    """Batches held in memory, each run one item after another in a thread of its own: what
    OpenAI's Batch API and EasyRouter's image batches share. Subclasses name the object in
    their messages (`what`), say which statuses can be cancelled, and `_run` a batch.

    `run` answers one item as the images endpoint would: (status, response or error body).
    """

    what = "batch"
    cancellable: tuple[str, ...] = ()

    def __init__(self, files: Files, run: RunItem, latency: float = 0.0) -> None:
        self._files = files
        self._run_item = run
        self._latency = latency
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, Any]] = {}
        self._cancel: dict[str, threading.Event] = {}

    def _start(self, batch: dict[str, Any], data: bytes, base_url: str) -> dict[str, Any]:
        with self._lock:
            self._items[batch["id"]] = batch
            self._cancel[batch["id"]] = threading.Event()
            snapshot = public(batch)
        threading.Thread(
            target=self._run,
            args=(batch["id"], data, base_url),
            daemon=True,
            name=f"easyimg-{batch['id']}",
        ).start()
        return snapshot

    def _run(self, batch_id: str, data: bytes, base_url: str) -> None:
        raise NotImplementedError

    def _cancelling(self, batch: dict[str, Any]) -> None:
        batch["status"] = "cancelling"

    def get(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            if batch_id not in self._items:
                raise Refusal(404, f"No {self.what} found with id '{batch_id}'.", param="batch_id")
            return public(self._items[batch_id])

    def public_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [public(b) for b in reversed(self._items.values())]

    def cancel(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._items.get(batch_id)
            if batch is None:
                raise Refusal(404, f"No {self.what} found with id '{batch_id}'.", param="batch_id")
            if batch["status"] in self.cancellable:
                self._cancelling(batch)
                self._cancel[batch_id].set()
            elif batch["status"] not in ("cancelling", "cancelled"):
                article = "an" if self.what[0] in "aeiou" else "a"
                raise Refusal(
                    400,
                    f"Cannot cancel {article} {self.what} with status '{batch['status']}'.",
                    param="batch_id",
                    code="invalid_state",
                )
            return public(batch)

    def stop_all(self) -> None:
        with self._lock:
            for event in self._cancel.values():
                event.set()

    def _update(self, batch_id: str, **changes: Any) -> None:
        with self._lock:
            self._items[batch_id].update(changes)
