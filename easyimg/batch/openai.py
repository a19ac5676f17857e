"""OpenAI's Batch API: a JSONL uploaded to /files, then a batch created at /batches."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from ..api.client import Client
from ..api.limits import iter_body
from ..errors import OutputError, ResponseError
from .backend import json_call, upload


def get_batch(client: Client, batch_id: str) -> dict[str, Any]:
    return json_call(client, "GET", f"batches/{quote(batch_id, safe='')}")


def cancel_batch(client: Client, batch_id: str) -> dict[str, Any]:
    return json_call(client, "POST", f"batches/{quote(batch_id, safe='')}/cancel")


def list_batches(client: Client, *, limit: int = 20, after: str | None = None) -> dict[str, Any]:
    query = {"limit": str(limit), **({"after": after} if after else {})}
    return json_call(client, "GET", f"batches?{urlencode(query)}")


def download(client: Client, file_id: str, dest: Path) -> None:
    """Stream a file's content to `dest` (a result file can hold many large images)."""
    resp = client.request(
        "GET", f"files/{quote(file_id, safe='')}/content", accept="application/octet-stream"
    )
    try:
        with open(dest, "wb") as fh:
            for chunk in iter_body(resp, f"download of file {file_id}"):
                fh.write(chunk)
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        resp.close()


def start(
    client: Client, path: Path, *, endpoint: str, metadata: Mapping[str, str]
) -> dict[str, Any]:
    """Upload the requests file (purpose `batch`), then create a 24 h batch over it."""
    uploaded = upload(client, "files", path, [("purpose", "batch")])
    if not isinstance(uploaded.get("id"), str):
        raise ResponseError("POST files: the answer has no file id")
    return json_call(
        client,
        "POST",
        "batches",
        {
            "input_file_id": uploaded["id"],
            "endpoint": endpoint,
            "completion_window": "24h",
            "metadata": dict(metadata),
        },
    )


class Backend:
    """The BatchBackend for OpenAI, and for servers that copy its Batch API (`serve` does)."""

    name: ClassVar[str] = "openai"
    start = staticmethod(start)
    get = staticmethod(get_batch)
    list = staticmethod(list_batches)
    cancel = staticmethod(cancel_batch)
    download = staticmethod(download)
