"""`easyimg serve`'s Batch API: /v1/files and /v1/batches, kept in memory, run in threads."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from .. import models
from .request import Refusal, json_object, loads, parse_multipart
from .store import BatchStore, Files

# --- batches ---------------------------------------------------------------------------------

_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
_BATCH_ENDPOINTS = ("/v1/images/generations", "/v1/images/edits")


class Batches(BatchStore):
    """OpenAI's Batch API over the images endpoints."""

    cancellable = ("validating", "in_progress")

    def _cancelling(self, batch: dict[str, Any]) -> None:
        batch.update(status="cancelling", cancelling_at=int(time.time()))

    def create(self, body: dict[str, Any], base_url: str) -> dict[str, Any]:
        file_id = body.get("input_file_id")
        if not isinstance(file_id, str) or not file_id:
            raise Refusal(
                400,
                "Missing required parameter: 'input_file_id'.",
                param="input_file_id",
                code="missing_required_parameter",
            )
        endpoint = body.get("endpoint")
        if endpoint not in _BATCH_ENDPOINTS:
            raise Refusal(
                400,
                f"endpoint {endpoint!r}: easyimg serve runs batches for "
                f"{' and '.join(_BATCH_ENDPOINTS)}.",
                param="endpoint",
                code="invalid_value",
            )
        if body.get("completion_window") != "24h":
            raise Refusal(
                400,
                "completion_window must be '24h'.",
                param="completion_window",
                code="invalid_value",
            )
        metadata = body.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and len(metadata) <= 16
            and all(isinstance(v, str) for v in metadata.values())
        ):
            raise Refusal(
                400,
                "metadata must be an object of at most 16 string values.",
                param="metadata",
                code="invalid_value",
            )
        meta, data = self._files.get(file_id, "input_file_id")
        if meta["purpose"] != "batch":
            raise Refusal(
                400,
                f"File {file_id} has purpose {meta['purpose']!r}, not 'batch'.",
                param="input_file_id",
                code="invalid_value",
            )
        now = int(time.time())
        batch: dict[str, Any] = {
            "id": f"batch_{secrets.token_hex(12)}",
            "object": "batch",
            "endpoint": endpoint,
            "errors": None,
            "input_file_id": file_id,
            "completion_window": "24h",
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": None,
            "expires_at": now + 86400,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": metadata,
            "model": None,
            "usage": {
                "input_tokens": 0,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 0,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 0,
            },
        }
        return self._start(batch, data, base_url)

    def listing(self) -> list[dict[str, Any]]:
        return self.public_list()

    def _run(self, batch_id: str, data: bytes, base_url: str) -> None:
        with self._lock:
            endpoint = self._items[batch_id]["endpoint"]
        cancel = self._cancel[batch_id]
        items, problems = _batch_lines(data, endpoint)
        if problems:
            self._update(
                batch_id,
                status="failed",
                failed_at=int(time.time()),
                errors={"object": "list", "data": problems},
            )
            return
        with self._lock:
            batch = self._items[batch_id]
            if batch["status"] == "validating":
                batch.update(status="in_progress", in_progress_at=int(time.time()))
            batch["request_counts"]["total"] = len(items)
            batch["model"] = str(items[0]["body"].get("model") or models.DEFAULT_MODEL)
        done: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for item in items:
            if cancel.is_set() or (self._latency and cancel.wait(self._latency)):
                break
            status, body = self._run_item(endpoint, item["body"], base_url)
            (done if status == 200 else failed).append(
                {
                    "id": f"batch_req_{secrets.token_hex(12)}",
                    "custom_id": item["custom_id"],
                    "response": {
                        "status_code": status,
                        "request_id": f"req_{secrets.token_hex(16)}",
                        "body": body,
                    },
                    "error": None,
                }
            )
            with self._lock:
                batch = self._items[batch_id]
                batch["request_counts"]["completed" if status == 200 else "failed"] += 1
                spent = body.get("usage") or {}
                for key in ("input_tokens", "output_tokens", "total_tokens"):
                    batch["usage"][key] += int(spent.get(key) or 0)
        with self._lock:
            batch = self._items[batch_id]
            if batch["status"] != "cancelling":
                batch.update(status="finalizing", finalizing_at=int(time.time()))
        changes: dict[str, Any] = {}
        for key, lines, kind in (
            ("output_file_id", done, "output"),
            ("error_file_id", failed, "error"),
        ):
            if lines:
                blob = "".join(json.dumps(line) + "\n" for line in lines).encode()
                name = f"{batch_id}_{kind}.jsonl"
                changes[key] = self._files.add(blob, name, "batch_output")["id"]
        now = int(time.time())
        with self._lock:
            batch = self._items[batch_id]
            if batch["status"] == "cancelling":
                batch.update(changes, status="cancelled", cancelled_at=now)
            else:
                batch.update(changes, status="completed", completed_at=now)


def _batch_lines(data: bytes, endpoint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The requests of a batch input file, or the problems that make the whole batch fail."""
    items: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()

    def problem(line: int, code: str, message: str, param: str | None = None) -> None:
        problems.append({"code": code, "message": message, "param": param, "line": line})

    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = loads(raw)
        except ValueError:
            problem(number, "invalid_json_line", f"Line {number} is not valid JSON.")
            continue
        if not isinstance(obj, dict):
            problem(number, "invalid_request", f"Line {number} is not a JSON object.")
            continue
        custom_id = obj.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            problem(number, "missing_required_parameter", "custom_id is missing.", "custom_id")
        elif custom_id in seen:
            problem(
                number,
                "duplicate_custom_id",
                f"custom_id {custom_id!r} is used twice.",
                "custom_id",
            )
        if obj.get("method") != "POST":
            problem(number, "invalid_method", "method must be POST.", "method")
        if obj.get("url") not in (endpoint, endpoint.removeprefix("/v1")):
            problem(number, "invalid_url", f"url must be {endpoint}, the batch's endpoint.", "url")
        if not isinstance(obj.get("body"), dict):
            problem(number, "invalid_request", "body must be a JSON object.", "body")
        if isinstance(custom_id, str):
            seen.add(custom_id)
        items.append(obj)
    if not items and not problems:
        problem(1, "empty_file", "The input file holds no requests.")
    return items, problems[:100]


# --- routes ---------------------------------------------------------------------------------

ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", r"/files", "upload"),
    ("GET", r"/files", "list_files"),
    ("GET", r"/files/(?P<id>[^/]+)", "file"),
    ("DELETE", r"/files/(?P<id>[^/]+)", "delete_file"),
    ("GET", r"/files/(?P<id>[^/]+)/content", "file_content"),
    ("POST", r"/batches", "create_batch"),
    ("GET", r"/batches", "list_batches"),
    ("GET", r"/batches/(?P<id>[^/]+)", "batch"),
    ("POST", r"/batches/(?P<id>[^/]+)/cancel", "cancel_batch"),
)
NAMES = frozenset(name for _, _, name in ROUTES)


@dataclass(frozen=True)
class Request:
    """What the files and batches routes read from one HTTP request."""

    args: dict[str, str]
    query: dict[str, list[str]]
    body: bytes
    content_type: str
    base_url: str


def handle(name: str, files: Files, batches: Batches, req: Request) -> dict[str, Any] | bytes:
    """Answer one of ROUTES: a JSON object, or the raw content of a file."""
    if name == "upload":
        return _upload(files, req.body, req.content_type)
    if name == "list_files":
        listing = files.listing(
            req.query.get("purpose", [None])[-1], req.query.get("order", ["desc"])[-1]
        )
        page = _page(listing, req.query.get("after", [None])[-1], _limit(req.query, 10000, 10000))
        page.setdefault("first_id", "")
        page.setdefault("last_id", "")
        return page
    if name == "file":
        return files.get(req.args["id"])[0]
    if name == "delete_file":
        return files.delete(req.args["id"])
    if name == "file_content":
        return files.get(req.args["id"])[1]
    if name == "create_batch":
        return batches.create(json_object(req.body), req.base_url)
    if name == "list_batches":
        return _page(
            batches.listing(), req.query.get("after", [None])[-1], _limit(req.query, 20, 100)
        )
    if name == "batch":
        return batches.get(req.args["id"])
    if name == "cancel_batch":
        return batches.cancel(req.args["id"])
    raise ValueError(f"no files or batches route {name!r}")


def _upload(files: Files, body: bytes, content_type: str) -> dict[str, Any]:
    parts = parse_multipart(body, content_type)
    upload = next((p for p in parts if p.name == "file"), None)
    purpose = next((p.data.decode("utf-8", "replace") for p in parts if p.name == "purpose"), None)
    if upload is None:
        raise Refusal(
            400,
            "Missing required parameter: 'file'.",
            param="file",
            code="missing_required_parameter",
        )
    if purpose not in _PURPOSES:
        raise Refusal(
            400,
            f"purpose {purpose!r} is not one of {', '.join(_PURPOSES)}.",
            param="purpose",
            code="invalid_value",
        )
    return files.add(upload.data, upload.filename or "file", purpose)


def _limit(query: dict[str, list[str]], default: int, maximum: int) -> int:
    raw = query.get("limit", [str(default)])[-1]
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise Refusal(
            400,
            f"limit must be a whole number from 1 to {maximum}.",
            param="limit",
            code="invalid_value",
        )
    return value


def _page(items: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    if after:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    page = items[:limit]
    out: dict[str, Any] = {"object": "list", "data": page, "has_more": len(items) > limit}
    if page:
        out.update(first_id=page[0]["id"], last_id=page[-1]["id"])
    return out
