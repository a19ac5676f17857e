"""EasyRouter's own Batch API (ROUTERS.md §2a), its answers read tolerantly as OpenAI's."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from ..api.client import Client
from ..api.limits import iter_body, read_body
from ..errors import OutputError, ResponseError
from .backend import json_call, upload

PRIVACY_PATH = "/api/image-batch-privacy"
DOCS = "https://docs.easyrouter.io/en/docs/api/ai-model/images/openai/async-batch"
# Status names seen or likely (OpenAI's, Vertex AI job states, new-api's), as OpenAI's.
STATUSES = {
    "validating": "validating",
    "pending": "validating",
    "queued": "validating",
    "submitted": "validating",
    "created": "validating",
    "in_progress": "in_progress",
    "processing": "in_progress",
    "running": "in_progress",
    "finalizing": "finalizing",
    "completed": "completed",
    "succeeded": "completed",
    "success": "completed",
    "partially_succeeded": "completed",
    "done": "completed",
    "failed": "failed",
    "error": "failed",
    "expired": "expired",
    "cancelling": "cancelling",
    "canceling": "cancelling",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}
_ID_KEYS = ("batch_id", "batchId", "id")
_OUTPUT_KEYS = ("output_file_id", "output_file", "result_file_id", "outputFileId")
_ERROR_KEYS = ("error_file_id", "error_file", "errors_file_id", "errorFileId")
_BEARER = re.compile(r"(?i)bearer\s+\S+")


def quoted(doc: Any) -> str:
    """An unexpected answer, short enough for one error line (and never a bearer token)."""
    text = json.dumps(doc, ensure_ascii=False) if not isinstance(doc, str) else doc
    text = _BEARER.sub("Bearer …", " ".join(text.split()))
    return text if len(text) <= 300 else text[:297] + "..."


def _inner(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """new-api style answers wrap the object: {"success": true, "data": {...}}."""
    for key in ("data", "batch"):
        value = doc.get(key)
        if isinstance(value, Mapping) and any(k in value for k in (*_ID_KEYS, "status")):
            return value
    return doc


def _first(doc: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = doc.get(key)
        if isinstance(value, Mapping):
            value = value.get("id")
        if value not in (None, ""):
            return value
    return None


def status_of(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    name = value.strip().lower()
    for prefix in ("job_state_", "batch_state_", "state_"):
        name = name.removeprefix(prefix)
    return STATUSES.get(name)


def _counts(doc: Mapping[str, Any]) -> dict[str, int]:
    raw = doc.get("request_counts") or doc.get("counts") or doc.get("requestCounts")
    source = raw if isinstance(raw, Mapping) else doc
    out: dict[str, int] = {}
    for name, keys in (
        ("total", ("total", "total_requests", "totalCount")),
        ("completed", ("completed", "succeeded", "success", "completed_requests")),
        ("failed", ("failed", "failed_requests", "failedCount")),
    ):
        value = _first(source, keys)
        out[name] = int(value) if isinstance(value, int | float) else 0
    return out


def normalize(doc: Any, *, what: str) -> dict[str, Any]:
    """An OpenAI Batch object from whatever EasyRouter answered; a clear error if nothing fits."""
    if not isinstance(doc, Mapping):
        raise ResponseError(f"{what}: the answer is not a batch: {quoted(doc)}")
    batch = _inner(doc)
    batch_id = _first(batch, _ID_KEYS)
    status = status_of(batch.get("status") or batch.get("state"))
    if not isinstance(batch_id, str) or status is None:
        missing = "no batch id" if not isinstance(batch_id, str) else "no status easyimg knows"
        raise ResponseError(f"{what}: the answer has {missing}: {quoted(doc)}")
    out = {k: v for k, v in batch.items() if k not in _ID_KEYS}
    out.update(
        id=batch_id,
        object="batch",
        status=status,
        provider_status=batch.get("status") or batch.get("state"),
        request_counts=_counts(batch),
        output_file_id=_first(batch, _OUTPUT_KEYS),
        error_file_id=_first(batch, _ERROR_KEYS),
    )
    created = batch.get("created_at") or batch.get("created")
    if isinstance(created, int | float):
        out["created_at"] = int(created)
    errors = batch.get("errors")
    if isinstance(errors, list):
        out["errors"] = {"object": "list", "data": errors}
    return out


def accept_privacy(client: Client) -> None:
    """Accept the batch privacy terms for this key: the user's own decision, made by a flag."""
    resp = client.request("PUT", client.origin_url(PRIVACY_PATH), json_body={"accepted": True})
    try:
        doc = json.loads(read_body(resp))
    except ValueError:
        doc = None
    if isinstance(doc, Mapping) and doc.get("success") is False:
        raise ResponseError(f"PUT {PRIVACY_PATH}: the acceptance was not taken: {quoted(doc)}")


def start(
    client: Client, path: Path, *, endpoint: str, metadata: Mapping[str, str]
) -> dict[str, Any]:
    """Upload the JSONL (purpose image_batch), which also creates the batch."""
    doc = upload(client, "image-files", path, [("purpose", "image_batch")])
    inner = _inner(doc)
    batch_id = _first(doc, ("batch_id", "batchId")) or _first(inner, ("batch_id", "batchId"))
    if batch_id is None and inner is not doc:
        batch_id = _first(inner, ("id",))
    if batch_id is None and doc.get("object") != "file":
        batch_id = _first(doc, ("id",))
    if not isinstance(batch_id, str) or not batch_id:
        raise ResponseError(f"POST image-files: the answer names no batch: {quoted(doc)}")
    file_id = _first(doc, ("file_id", "input_file_id")) or (
        doc.get("id") if doc.get("object") == "file" else None
    )
    status = status_of(inner.get("status")) if inner is not doc else None
    return {
        "id": batch_id,
        "object": "batch",
        "status": status or "validating",
        "endpoint": endpoint,
        "input_file_id": file_id,
        "created_at": int(doc.get("created_at") or time.time()),
        "request_counts": _counts(inner),
        # EasyRouter keeps no metadata: it is the local record's, shown as if it had.
        "metadata": dict(metadata),
    }


def get_batch(client: Client, batch_id: str) -> dict[str, Any]:
    doc = json_call(client, "GET", f"image-batches/{quote(batch_id, safe='')}")
    return normalize(doc, what=f"GET image-batches/{batch_id}")


def cancel_batch(client: Client, batch_id: str) -> dict[str, Any]:
    doc = json_call(client, "POST", f"image-batches/{quote(batch_id, safe='')}/cancel")
    return normalize(doc, what=f"POST image-batches/{batch_id}/cancel")


def list_batches(client: Client, *, limit: int = 20, after: str | None = None) -> dict[str, Any]:
    query = {"limit": str(limit), **({"after": after} if after else {})}
    doc = json_call(client, "GET", f"image-batches?{urlencode(query)}")
    data = doc.get("data")
    if isinstance(data, Mapping):  # {"data": {"items": [...], "total": N}}
        data = data.get("items") or data.get("data")
    if not isinstance(data, list):
        raise ResponseError(f"GET image-batches: the answer lists no batches: {quoted(doc)}")
    return {
        "object": "list",
        "data": [normalize(b, what="GET image-batches") for b in data],
        "has_more": bool(doc.get("has_more")),
    }


def result_line(obj: Any) -> Any:
    """An output line in OpenAI's shape `{"custom_id", "response": {"status_code", "body"}}`."""
    if not isinstance(obj, Mapping):
        return obj
    custom_id = obj.get("custom_id") or obj.get("customId") or obj.get("key")
    response = obj.get("response")
    if isinstance(response, Mapping) and "status_code" in response:
        return {**obj, "custom_id": custom_id}
    if isinstance(response, Mapping):
        body = response.get("body") if isinstance(response.get("body"), Mapping) else response
    elif "data" in obj or "b64_json" in obj:
        rest = ("custom_id", "customId", "key", "status", "status_code", "error")
        body = {k: v for k, v in obj.items() if k not in rest}
        if "b64_json" in body:
            body = {"data": [{"b64_json": body.pop("b64_json")}], **body}
    else:
        return {"custom_id": custom_id, "response": None, "error": obj.get("error") or obj}
    error = obj.get("error")
    status = obj.get("status_code") or (400 if error else 200)
    return {
        "custom_id": custom_id,
        "response": {"status_code": status, "body": body},
        "error": error,
    }


def _lines(resp: Any, what: str) -> Iterator[bytes]:
    buf = bytearray()
    start = 0
    for chunk in iter_body(resp, what):
        buf += chunk
        while (nl := buf.find(b"\n", start)) >= 0:
            yield bytes(buf[:nl])
            del buf[: nl + 1]
            start = 0
        start = len(buf)
    if buf.strip():
        yield bytes(buf)


def download(client: Client, file_id: str, dest: Path) -> None:
    """Stream a result file to `dest`, each line rewritten in OpenAI's output shape."""
    resp = client.request(
        "GET", f"files/{quote(file_id, safe='')}/content", accept="application/octet-stream"
    )
    try:
        with open(dest, "wb") as fh:
            for raw in _lines(resp, f"download of file {file_id}"):
                if not raw.strip():
                    continue
                try:
                    line = json.dumps(result_line(json.loads(raw)), ensure_ascii=False).encode()
                except ValueError:
                    line = raw  # left for the fetch to report with its line
                fh.write(line + b"\n")
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        resp.close()


class Backend:
    """The BatchBackend for EasyRouter (and `serve`, which speaks it too)."""

    name: ClassVar[str] = "easyrouter"
    start = staticmethod(start)
    get = staticmethod(get_batch)
    list = staticmethod(list_batches)
    cancel = staticmethod(cancel_batch)
    download = staticmethod(download)
    accept_privacy = staticmethod(accept_privacy)
