"""`batches fetch`: a finished remote batch's results, written as a local run writes them."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..api.answers import add_usage, normalize_usage
from ..api.client import Client, error_from_payload
from ..errors import APIError, EasyImgError, ExitCode, NoImagesError, ResponseError
from ..generate import SOFTWARE, GenImage, png_text
from ..models import plan_counts, rules_for
from ..output import OutputPlan, id_name, save_image, sidecar_path, temp_path, write_json_atomic
from .backend import RUNNING, BatchBackend, BatchNotReady
from .manifest import Manifest, entry, relative
from .remote import ENDPOINT, base_id, default_backend
from .run import Events, Outcome, Summary


@dataclass
class _Pending:
    """One item while its parts are read from the result files."""

    cid: str
    line: int | None
    key: str
    body: dict[str, Any]
    plan: OutputPlan
    parts: int
    seen: int = 0
    images: list[GenImage] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    error: EasyImgError | None = None
    request_id: str | None = None
    have: list[str] = field(default_factory=list)  # files an earlier run wrote (relative)


class Fetch:
    """Write a finished batch's images and manifest lines exactly as a local run would."""

    def __init__(
        self,
        client: Client,
        batch: Mapping[str, Any],
        directory: Path,
        *,
        state: Mapping[str, Any] | None,
        overwrite: bool = False,
        metadata: bool = True,
        sidecar: bool = False,
        events: Events | None = None,
        on_record: Callable[[Outcome], None] | None = None,
        backend: BatchBackend | None = None,
    ) -> None:
        self.client = client
        self.backend = backend or default_backend()
        self.batch = dict(batch)
        self.batch_id = str(batch.get("id"))
        self.manifest = Manifest(directory)
        self.state = state or {}
        self.items: Mapping[str, Any] = self.state.get("items") or {}
        self.template = str(self.state.get("template") or "{date}-{time}-{slug}-{index}.{ext}")
        self.endpoint = str(batch.get("endpoint") or self.state.get("endpoint") or ENDPOINT)
        self.overwrite = overwrite
        self.metadata = metadata
        self.sidecar = sidecar
        self.events = events
        self.on_record = on_record
        counts = batch.get("request_counts") or {}
        self.summary = Summary(
            total=len(self.items) or int(counts.get("total") or 0), manifest=self.manifest.path
        )
        self._pending: dict[str, _Pending] = {}
        self._skip: set[str] = set()

    def run(self) -> Summary:
        from ..heap import steady

        steady()  # a million results must not grow the heap (see heap.py)
        status = self.batch.get("status")
        if status in RUNNING:
            counts = self.batch.get("request_counts") or {}
            raise BatchNotReady(
                f"batch {self.batch_id} is {status} ({counts.get('completed', 0)} of "
                f"{counts.get('total', '?')} done)",
                hint="fetch it when it has completed, or add --wait",
            )
        out_id, err_id = self.batch.get("output_file_id"), self.batch.get("error_file_id")
        if status == "failed" and not out_id and not err_id:
            raise _batch_failed(self.batch)
        start = time.monotonic()
        known = self.manifest.read()
        self.summary.unreadable = known.unreadable
        self.summary.unreadable_count = known.unreadable_count
        for cid, item in self.items.items():
            if (self.batch_id, cid) in known.fetched or item.get("key") in known.ok:
                self._skip.add(cid)
        self.summary.skipped = len(self._skip)
        if self.events is not None:
            self.events.started(self.summary, self.summary.total - self.summary.skipped)
        for file_id in (out_id, err_id):
            if isinstance(file_id, str) and file_id:
                self._read_file(file_id, known.fetched)
        for pending in list(self._pending.values()):
            # A cancelled or expired batch may hold only some parts of an item.
            pending.error = pending.error or EasyImgError(
                f"only {pending.seen} of {pending.parts} requests are in the batch's results"
            )
            self._finish(pending)
        self.summary.elapsed = time.monotonic() - start
        return self.summary

    def _read_file(self, file_id: str, fetched: set[tuple[str, str]]) -> None:
        tmp = temp_path(self.manifest.directory, ".jsonl.part")
        try:
            self.backend.download(self.client, file_id, tmp)
            with open(tmp, "rb") as fh:
                for raw in fh:
                    if raw.strip():
                        self._line(raw, fetched)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _line(self, raw: bytes, fetched: set[tuple[str, str]]) -> None:
        try:
            obj = json.loads(raw)
        except ValueError:
            raise ResponseError(
                f"a result line of batch {self.batch_id} is not JSON: {raw[:60]!r}"
            ) from None
        cid = str(obj.get("custom_id") or "")
        base = base_id(cid, self.items)
        if base in self._skip or (self.batch_id, base) in fetched:
            return
        pending = self._pending.get(base) or self._start(base)
        pending.seen += 1
        response = obj.get("response") or {}
        body = response.get("body")
        rid = response.get("request_id")
        pending.request_id = pending.request_id or rid
        try:
            err = obj.get("error")
            if isinstance(err, dict) and err:
                raise APIError(
                    None,
                    str(err.get("message") or "request failed"),
                    code=_opt(err.get("code")),
                    request_id=rid,
                )
            status = response.get("status_code")
            if status != 200:
                found = error_from_payload(body, status if isinstance(status, int) else None, rid)
                raise found or APIError(
                    status if isinstance(status, int) else None,
                    f"request failed with status {status}",
                    request_id=rid,
                )
            self._save(pending, body if isinstance(body, dict) else {}, rid)
        except EasyImgError as exc:
            pending.error = pending.error or exc
        if pending.seen >= pending.parts:
            self._finish(pending)

    def _start(self, base: str) -> _Pending:
        item = self.items.get(base)
        if item is None:
            # Not made by `easyimg batch --remote` (or its record is gone): name files by id.
            body: dict[str, Any] = {}
            pending = _Pending(
                base,
                None,
                _foreign_key(self.batch_id, base),
                body,
                OutputPlan(
                    self.manifest.directory,
                    self.template,
                    stem=id_name(base),
                    count=1,
                    overwrite=self.overwrite,
                ),
                parts=1,
            )
        else:
            body = dict(item.get("body") or {})
            count = int(body.get("n") or 1)
            parts = len(plan_counts(count, rules_for(str(body.get("model", ""))).max_n)) or 1
            pending = _Pending(
                base,
                item.get("line"),
                str(item.get("key")),
                body,
                OutputPlan(
                    self.manifest.directory,
                    item.get("name") or self.template,
                    stem=None,
                    count=count,
                    overwrite=self.overwrite,
                ),
                parts=parts,
                have=[f for f in item.get("have") or [] if isinstance(f, str)],
            )
        self._pending[base] = pending
        return pending

    def _save(self, pending: _Pending, body: dict[str, Any], rid: str | None) -> None:
        data = body.get("data")
        error = error_from_payload(body, None, rid)
        if error is not None:
            raise error
        if not isinstance(data, list) or not data:
            raise NoImagesError()
        pending.usage = add_usage(pending.usage, normalize_usage(body.get("usage")))
        created = body.get("created")
        now = datetime.fromtimestamp(created) if isinstance(created, int) else datetime.now()
        model = str(pending.body.get("model") or body.get("model") or "")
        if not pending.body:
            pending.plan.count = len(data)  # `ID.png` for one image, `ID-1.png`... for more
        for item in data:
            if not isinstance(item, dict):
                raise ResponseError("an image in the batch result is not an object")
            revised = item.get("revised_prompt") or None
            if not self.metadata:
                text = None
            elif pending.body:
                text = png_text(pending.body, revised, created)
            else:
                text = {
                    "custom_id": pending.cid,
                    "created": str(created or int(time.time())),
                    "software": SOFTWARE,
                }
            saved = save_image(
                self._bytes(item),
                pending.plan,
                index=len(pending.have) + len(pending.images) + 1,
                prompt=str(pending.body.get("prompt", "")),
                model=model,
                now=now,
                png_text=text,
            )
            gid = item.get("generation_id")
            pending.images.append(
                GenImage(saved, revised, rid, gid if isinstance(gid, str) else None)
            )
            # SVG text and C2PA-signed images cannot hold our metadata: it goes beside them.
            beside = saved.format == "svg" or saved.c2pa
            if self.sidecar or (self.metadata and beside):
                rest = {k: v for k, v in body.items() if k != "data"}
                write_json_atomic(
                    sidecar_path(saved.path),
                    {
                        "request": {
                            "method": "POST",
                            "url": self.client.url(self.endpoint),
                            "body": pending.body,
                        },
                        "response": {
                            **rest,
                            "data": [{k: v for k, v in item.items() if k != "b64_json"}],
                        },
                        "request_id": rid,
                        "file": saved.path.name,
                        "batch": self.batch_id,
                        "custom_id": pending.cid,
                    },
                )

    def _bytes(self, item: Mapping[str, Any]) -> Iterator[bytes]:
        b64 = item.get("b64_json")
        if isinstance(b64, str) and b64:
            try:
                yield base64.b64decode(b64)
            except (binascii.Error, ValueError):
                raise ResponseError("b64_json in the batch result is not valid base64") from None
            return
        url = item.get("url")
        if isinstance(url, str) and url:
            yield from self.client.download(url)
            return
        raise ResponseError("an image in the batch result has neither b64_json nor url")

    def _finish(self, pending: _Pending) -> None:
        self._pending.pop(pending.cid, None)
        paths = [i.saved.path for i in pending.images]
        files = pending.have + [relative(p, self.manifest.directory) for p in paths]
        status = "ok" if pending.error is None else "error"
        self.manifest.append(
            entry(
                line=pending.line,
                key=pending.key,
                # Some images written: a re-run (local or remote) asks only for the rest.
                status="partial" if status == "error" and files else status,
                files=files,
                usage=pending.usage,
                error=pending.error,
                prompt=pending.body.get("prompt"),
                batch=self.batch_id,
                custom_id=pending.cid,
            )
        )
        outcome = Outcome(
            pending.line,
            pending.key,
            status,
            paths,
            pending.usage,
            pending.error,
            body=pending.body,
            request_id=pending.request_id,
            images=pending.images,
            kept=pending.have,
        )
        self.summary.count(outcome)
        if self.on_record is not None:
            with contextlib.suppress(Exception):  # history never costs the user their images
                self.on_record(outcome)
        if self.events is not None:
            self.events.finished(outcome, self.summary)


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _foreign_key(batch_id: str, cid: str) -> str:
    import hashlib

    return hashlib.sha256(f"batch:{batch_id}:{cid}".encode()).hexdigest()


def _batch_failed(batch: Mapping[str, Any]) -> EasyImgError:
    errors = (batch.get("errors") or {}).get("data") or []
    details = "; ".join(
        f"line {e.get('line')}: {e.get('message')}" if e.get("line") else str(e.get("message"))
        for e in errors[:5]
        if isinstance(e, dict)
    )
    err = EasyImgError(f"batch {batch.get('id')} failed" + (f": {details}" if details else ""))
    err.exit_code = ExitCode.REFUSED
    return err
