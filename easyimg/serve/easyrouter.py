"""EasyRouter's own image batches for `easyimg serve`: privacy, image-files, image-batches."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from .. import models
from . import placeholder
from .request import Part, Refusal, loads
from .store import BatchStore, Files, RunItem

PURPOSES = ("image_batch", "vision")
ENDPOINTS = ("/v1/images/generations", "/v1/images/edits")
# Serve's documented choice among the status names ROUTERS.md §2a leaves open: Vertex AI's job
# states in lower case (the batch runs on a BatchPredictionJob there).
RUNNING = ("pending", "running", "cancelling")
PRIVACY_HINT = 'PUT /api/image-batch-privacy with {"accepted": true}'


class ImageBatches(BatchStore):
    """Batches created by uploading a JSONL file, run one item after another in a thread each."""

    what = "image batch"
    cancellable = ("pending", "running")

    def __init__(self, files: Files, run: RunItem, latency: float = 0.0) -> None:
        super().__init__(files, run, latency)
        self._accepted: set[str] = set()

    # privacy

    def accept(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("accepted", True) is not True:
            raise Refusal(
                400,
                "accepted must be true: image batches need the privacy terms accepted.",
                param="accepted",
                code="invalid_value",
            )
        with self._lock:
            self._accepted.add(token)
        return {"success": True}

    def accepted(self, token: str) -> bool:
        with self._lock:
            return token in self._accepted

    # uploads

    def upload(self, parts: list[Part], token: str, base_url: str) -> dict[str, Any]:
        upload = next((p for p in parts if p.name == "file"), None)
        purpose = next(
            (p.data.decode("utf-8", "replace").strip() for p in parts if p.name == "purpose"), None
        )
        if upload is None:
            raise Refusal(
                400,
                "Missing required parameter: 'file'.",
                param="file",
                code="missing_required_parameter",
            )
        if purpose not in PURPOSES:
            raise Refusal(
                400,
                f"purpose {purpose!r} is not one of {', '.join(PURPOSES)}.",
                param="purpose",
                code="invalid_value",
            )
        if purpose == "vision":
            try:
                placeholder.open_image(upload.data)
            except ValueError:
                raise Refusal(
                    400,
                    "A vision file must be a PNG, JPEG, WebP or GIF image.",
                    param="file",
                    code="invalid_image_file",
                ) from None
            return self._files.add(upload.data, upload.filename or "image", "vision")
        if not self.accepted(token):
            raise Refusal(
                403,
                f"Accept the image batch privacy terms first: {PRIVACY_HINT}.",
                code="image_batch_privacy_not_accepted",
                type="permission_error",
            )
        meta = self._files.add(upload.data, upload.filename or "batch.jsonl", "image_batch")
        batch = self._create(meta["id"], upload.data, base_url)
        return {**meta, "batch_id": batch["id"]}

    def _create(self, file_id: str, data: bytes, base_url: str) -> dict[str, Any]:
        batch: dict[str, Any] = {
            "id": f"imgbatch_{secrets.token_hex(12)}",
            "object": "image_batch",
            "status": "pending",
            "input_file_id": file_id,
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(time.time()),
            "started_at": None,
            "completed_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "model": None,
            "errors": None,
        }
        return self._start(batch, data, base_url)

    # batches

    def listing(self) -> dict[str, Any]:
        return {"object": "list", "data": self.public_list(), "has_more": False}

    def _run(self, batch_id: str, data: bytes, base_url: str) -> None:
        cancel = self._cancel[batch_id]
        items, problems = parse_lines(data)
        now = int(time.time())
        with self._lock:
            batch = self._items[batch_id]
            if problems:
                batch.update(status="failed", completed_at=now, errors=problems)
                return
            if batch["status"] == "pending":
                batch.update(status="running", started_at=now)
            batch["request_counts"]["total"] = len(items)
            batch["model"] = str(items[0][2].get("model") or models.DEFAULT_MODEL)
        done: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for custom_id, endpoint, body in items:
            if cancel.is_set() or (self._latency and cancel.wait(self._latency)):
                break
            status, answer = self._run_item(endpoint, body, base_url)
            (done if status == 200 else failed).append(
                {
                    "id": f"imgbatch_req_{secrets.token_hex(12)}",
                    "custom_id": custom_id,
                    "response": {
                        "status_code": status,
                        "request_id": f"req_{secrets.token_hex(16)}",
                        "body": answer,
                    },
                    "error": None,
                }
            )
            with self._lock:
                counts = self._items[batch_id]["request_counts"]
                counts["completed" if status == 200 else "failed"] += 1
        changes: dict[str, Any] = {}
        for key, lines, kind in (
            ("output_file_id", done, "output"),
            ("error_file_id", failed, "error"),
        ):
            if lines:
                blob = "".join(json.dumps(line) + "\n" for line in lines).encode()
                changes[key] = self._files.add(blob, f"{batch_id}_{kind}.jsonl", "batch_output")[
                    "id"
                ]
        with self._lock:
            batch = self._items[batch_id]
            stopped = batch["status"] == "cancelling"
            batch.update(changes, completed_at=int(time.time()))
            batch["status"] = "cancelled" if stopped else "succeeded"
            if stopped:
                batch["cancelled_at"] = batch["completed_at"]


def parse_lines(data: bytes) -> tuple[list[tuple[str, str, dict[str, Any]]], list[dict[str, Any]]]:
    """(custom_id, endpoint, body) per line, or the problems that fail the whole batch.

    A line is an OpenAI batch line or a bare request body; `image_file_id` (an id, or a list
    of them, of `purpose=vision` uploads) makes it an edit of those images.
    """
    items: list[tuple[str, str, dict[str, Any]]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()

    def problem(line: int, code: str, message: str) -> None:
        problems.append({"line": line, "code": code, "message": message})

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
        if isinstance(obj.get("body"), dict):
            custom_id = obj.get("custom_id")
            url = obj.get("url") or ENDPOINTS[0]
            body = dict(obj["body"])
        else:
            custom_id, url, body = obj.pop("custom_id", None), ENDPOINTS[0], obj
        custom_id = custom_id if isinstance(custom_id, str) and custom_id else f"request-{number}"
        if custom_id in seen:
            problem(number, "duplicate_custom_id", f"custom_id {custom_id!r} is used twice.")
        seen.add(custom_id)
        if "/v1" + str(url).removeprefix("/v1") not in ENDPOINTS:
            problem(number, "invalid_url", f"url must be one of {', '.join(ENDPOINTS)}.")
            continue
        refs = body.pop("image_file_id", None)
        if refs is not None:
            ids = refs if isinstance(refs, list) else [refs]
            if not ids or not all(isinstance(i, str) and i for i in ids):
                problem(
                    number, "invalid_value", "image_file_id must be a file id or a list of them."
                )
                continue
            body["images"] = [{"file_id": i} for i in ids]
            url = ENDPOINTS[1]
        items.append((custom_id, "/v1" + str(url).removeprefix("/v1"), body))
    if not items and not problems:
        problem(1, "empty_file", "The input file holds no requests.")
    return items, problems[:100]
