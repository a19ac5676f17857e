"""The provider's Batch API: upload requests, create/list/show/cancel batches, fetch results."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from ..api.answers import add_usage, normalize_usage
from ..api.client import Client, error_from_payload
from ..errors import APIError, EasyImgError, ExitCode, NoImagesError, OutputError, ResponseError
from ..generate import SOFTWARE, GenImage, png_text
from ..models import plan_counts, rules_for
from ..output import OutputPlan, save_image, sidecar_path, write_json_atomic
from .prompts import Item
from .run import Events, Manifest, Outcome, Summary, entry, now_iso, relative

ENDPOINT = "/v1/images/generations"
STATE_PREFIX = "easyimg-batch-"
RUNNING = ("validating", "in_progress", "finalizing", "cancelling")
FINISHED = ("completed", "failed", "expired", "cancelled")
MAX_POLL = 30.0


class BatchNotReady(EasyImgError):
    """The batch is still running: its output cannot be fetched yet."""

    exit_code = ExitCode.NETWORK


def _json(client: Client, method: str, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
    # Streamed: the client reads an error answer's body itself, which stream=False consumes.
    resp = client.request(method, path, json_body=body, **kw)
    try:
        doc = resp.json()
    except ValueError:
        raise ResponseError(f"{method} {path}: the answer is not JSON") from None
    finally:
        resp.close()
    if not isinstance(doc, dict):
        raise ResponseError(f"{method} {path}: the answer is not a JSON object")
    return doc


def get_batch(client: Client, batch_id: str) -> dict[str, Any]:
    return _json(client, "GET", f"batches/{quote(batch_id, safe='')}")


def cancel_batch(client: Client, batch_id: str) -> dict[str, Any]:
    return _json(client, "POST", f"batches/{quote(batch_id, safe='')}/cancel")


def list_batches(client: Client, *, limit: int = 20, after: str | None = None) -> dict[str, Any]:
    query = {"limit": str(limit), **({"after": after} if after else {})}
    return _json(client, "GET", f"batches?{urlencode(query)}")


def wait(
    client: Client,
    batch_id: str,
    *,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    first: float = 0.1,
) -> dict[str, Any]:
    """Poll until the batch has finished (completed, failed, expired or cancelled)."""
    delay = first
    while True:
        batch = get_batch(client, batch_id)
        if on_status is not None:
            on_status(batch)
        if batch.get("status") not in RUNNING:
            return batch
        sleep(delay)
        delay = min(MAX_POLL, delay * 1.5)


def download(client: Client, file_id: str, dest: Path) -> None:
    """Stream a file's content to `dest` (a result file can hold many large images)."""
    resp = client.request(
        "GET", f"files/{quote(file_id, safe='')}/content", accept="application/octet-stream"
    )
    try:
        with open(dest, "wb") as fh:
            for chunk in resp.iter_content(1 << 16):
                fh.write(chunk)
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        resp.close()


# --- submitting -------------------------------------------------------------------------------


def custom_id(item: Item) -> str:
    return f"line-{item.line}-{item.key[:8]}"


def base_id(cid: str, items: Mapping[str, Any]) -> str:
    """The item a request belongs to: an item split into parts sends `ID-2`, `ID-3`, ..."""
    if cid in items:
        return cid
    head, _, tail = cid.rpartition("-")
    return head if tail.isdigit() and head in items else cid


def request_lines(items: Iterable[Item], endpoint: str = ENDPOINT) -> Iterator[tuple[str, str]]:
    """(custom_id, JSONL line) for each request; an item above its model's n splits in parts."""
    for item in items:
        cid = custom_id(item)
        counts = plan_counts(item.count, item.max_n)
        for part, count in enumerate(counts, 1):
            rid = cid if part == 1 else f"{cid}-{part}"
            line = {
                "custom_id": rid,
                "method": "POST",
                "url": endpoint,
                "body": {**item.body, "n": count},
            }
            yield rid, json.dumps(line, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Submission:
    batch: dict[str, Any] | None
    items: int
    requests: int
    skipped: int
    state_files: list[Path] = field(default_factory=list)


def state_name(batch_id: str) -> str:
    return f"{STATE_PREFIX}{batch_id}.json"


def submit(
    client: Client,
    items: list[Item],
    *,
    source: str,
    directory: Path,
    template: str,
    state_dir: Path | None = None,
    resume: bool = True,
    endpoint: str = ENDPOINT,
) -> Submission:
    """Upload the requests not done yet, create the batch, record it beside the images."""
    manifest = Manifest(directory)
    done = manifest.read().ok if resume else set()
    todo = [i for i in items if i.key not in done]
    skipped = len(items) - len(todo)
    if not todo:
        return Submission(None, 0, 0, skipped)
    tmp = directory / f".easyimg-{os.urandom(8).hex()}.jsonl.part"
    count = 0
    try:
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                for _, line in request_lines(todo, endpoint):
                    fh.write(line + "\n")
                    count += 1
        except OSError as exc:
            raise OutputError(f"cannot write {tmp}: {exc.strerror or exc}") from None
        with open(tmp, "rb") as fh:
            uploaded = _json(
                client,
                "POST",
                "files",
                data={"purpose": "batch"},
                files={"file": ("easyimg-batch.jsonl", fh, "application/jsonl")},
            )
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    if not isinstance(uploaded.get("id"), str):
        raise ResponseError("POST files: the answer has no file id")
    batch = _json(
        client,
        "POST",
        "batches",
        {
            "input_file_id": uploaded["id"],
            "endpoint": endpoint,
            "completion_window": "24h",
            "metadata": {"easyimg_source": source[-512:], "easyimg_items": str(len(todo))},
        },
    )
    batch_id = batch.get("id")
    if not isinstance(batch_id, str) or not batch_id:
        raise ResponseError("POST batches: the answer has no batch id")
    state = {
        "batch_id": batch_id,
        "input_file_id": uploaded["id"],
        "endpoint": endpoint,
        "source": source,
        "directory": str(directory.resolve()),
        "template": template,
        "created_at": batch.get("created_at"),
        "items": {
            custom_id(i): {"line": i.line, "key": i.key, "name": i.name, "body": i.body}
            for i in todo
        },
    }
    files = [directory / state_name(batch_id)]
    if state_dir is not None:
        files.append(state_dir / f"{batch_id}.json")
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, state)
    manifest.append(
        {
            "status": "submitted",
            "batch": batch_id,
            "items": len(todo),
            "requests": count,
            "source": source,
            "state": state_name(batch_id),
            "time": now_iso(),
        }
    )
    return Submission(batch, len(todo), count, skipped, files)


def load_state(batch_id: str, directory: Path, state_dir: Path | None) -> dict[str, Any] | None:
    """What `batch --remote` recorded: the output directory first, then the user data dir."""
    for path in (
        directory / state_name(batch_id),
        *((state_dir / f"{batch_id}.json",) if state_dir else ()),
    ):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("batch_id") == batch_id:
            return doc
    return None


# --- fetching ---------------------------------------------------------------------------------


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
    ) -> None:
        self.client = client
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
        tmp = self.manifest.directory / f".easyimg-{os.urandom(8).hex()}.jsonl.part"
        try:
            download(self.client, file_id, tmp)
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
                    stem=_stem(base),
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
                index=len(pending.images) + 1,
                prompt=str(pending.body.get("prompt", "")),
                model=model,
                now=now,
                png_text=text,
            )
            pending.images.append(GenImage(saved, revised, rid))
            if self.sidecar:
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
        status = "ok" if pending.error is None else "error"
        self.manifest.append(
            entry(
                line=pending.line,
                key=pending.key,
                status=status,
                files=[relative(p, self.manifest.directory) for p in paths],
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
        )
        self.summary.count(outcome)
        if self.on_record is not None:
            with contextlib.suppress(Exception):  # history never costs the user their images
                self.on_record(outcome)
        if self.events is not None:
            self.events.finished(outcome, self.summary)


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _stem(cid: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in cid)[:120] or "item"


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
