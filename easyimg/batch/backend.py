"""The remote Batch API seam: what a backend does, answering in OpenAI's Batch object shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..api.client import Client
from ..api.limits import read_body
from ..errors import EasyImgError, ExitCode, OutputError, ResponseError

RUNNING = ("validating", "in_progress", "finalizing", "cancelling")
FINISHED = ("completed", "failed", "expired", "cancelled")


class BatchNotReady(EasyImgError):
    """The batch is still running: its output cannot be fetched yet."""

    exit_code = ExitCode.NETWORK


class BatchBackend(Protocol):
    """One provider's Batch API, returning OpenAI Batch objects whatever the provider's names.

    A batch is a dict with `id`, `status` (RUNNING or FINISHED), `request_counts`,
    `output_file_id`, `error_file_id`, `created_at` and `metadata`, so `batch --remote` and
    `batches` never look at which backend they talk to.
    """

    name: ClassVar[str]

    def start(
        self, client: Client, path: Path, *, endpoint: str, metadata: Mapping[str, str]
    ) -> dict[str, Any]:
        """Upload the JSONL of requests at `path` and start a batch over it."""
        ...

    def get(self, client: Client, batch_id: str) -> dict[str, Any]: ...

    def list(self, client: Client, *, limit: int = 20, after: str | None = None) -> dict[str, Any]:
        """A page of batches: `{"data": [batch, ...], "has_more": bool}`."""
        ...

    def cancel(self, client: Client, batch_id: str) -> dict[str, Any]: ...

    def download(self, client: Client, file_id: str, dest: Path) -> None:
        """Stream a result file's content to `dest`."""
        ...


def upload(
    client: Client, path: str, requests_file: Path, fields: list[tuple[str, str]]
) -> dict[str, Any]:
    """POST a JSONL of requests as multipart form data, read from disk as it is sent (requests'
    own `files=` builds the whole body in memory): memory does not grow with its lines."""
    from ..inputs import InputImage, MultipartBody

    @dataclass(frozen=True)
    class RequestsFile(InputImage):
        filename = "easyimg-batch.jsonl"  # type: ignore[assignment]  # not the temp file's name
        content_type = "application/jsonl"  # type: ignore[assignment]

    try:
        size = requests_file.stat().st_size
    except OSError as exc:
        raise OutputError(f"cannot read {requests_file}: {exc.strerror or exc}") from None
    body = MultipartBody(
        fields, [("file", RequestsFile(requests_file, str(requests_file), None, size))]
    )
    return json_call(client, "POST", path, data=body, headers={"Content-Type": body.content_type})


def json_call(
    client: Client, method: str, path: str, body: Any = None, **kw: Any
) -> dict[str, Any]:
    # Streamed: the client reads an error answer's body itself, which stream=False consumes.
    resp = client.request(method, path, json_body=body, **kw)
    try:
        doc = json.loads(read_body(resp))
    except ValueError:
        raise ResponseError(f"{method} {path}: the answer is not JSON") from None
    if not isinstance(doc, dict):
        raise ResponseError(f"{method} {path}: the answer is not a JSON object")
    return doc
