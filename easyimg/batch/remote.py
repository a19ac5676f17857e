"""`batch --remote`: the requests file, submitting it to a backend, and the state it leaves."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api.client import Client
from ..errors import OutputError, ResponseError, UsageError
from ..models import plan_counts
from ..output import temp_path
from .backend import RUNNING, BatchBackend
from .manifest import Manifest, ManifestState, Pending, now_iso
from .prompts import Item

ENDPOINT = "/v1/images/generations"
EDITS_ENDPOINT = "/v1/images/edits"
STATE_PREFIX = "easyimg-batch-"
MAX_POLL = 30.0


def default_backend() -> BatchBackend:
    from . import openai

    return openai.Backend()


def wait(
    client: Client,
    batch_id: str,
    *,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    first: float = 0.1,
    backend: BatchBackend | None = None,
) -> dict[str, Any]:
    """Poll until the batch has finished (completed, failed, expired or cancelled)."""
    backend = backend or default_backend()
    delay = first
    while True:
        batch = backend.get(client, batch_id)
        if on_status is not None:
            on_status(batch)
        if batch.get("status") not in RUNNING:
            return batch
        sleep(delay)
        delay = min(MAX_POLL, delay * 1.5)


# --- submitting -------------------------------------------------------------------------------


def custom_id(item: Item) -> str:
    return f"line-{item.line}-{item.key[:8]}"


def base_id(cid: str, items: Mapping[str, Any]) -> str:
    """The item a request belongs to: an item split into parts sends `ID-2`, `ID-3`, ..."""
    if cid in items:
        return cid
    head, _, tail = cid.rpartition("-")
    return head if tail.isdigit() and head in items else cid


def endpoint_of(items: Iterable[Item]) -> str:
    """The one endpoint a batch of these items goes to (a Batch API batch has one)."""
    kinds = {EDITS_ENDPOINT if i.is_edit else ENDPOINT for i in items}
    if len(kinds) > 1:
        raise UsageError(
            "the file mixes edits (lines with image) and generations; a Batch API batch "
            "takes one endpoint, so give them in two files"
        )
    return kinds.pop() if kinds else ENDPOINT


def request_lines(items: Iterable[Item], endpoint: str | None = None) -> Iterator[tuple[str, str]]:
    """(custom_id, JSONL line) for each request; an item above its model's n splits in parts.

    Edits are JSON bodies with their images inline (data: URLs), as URLs or as file ids.
    """
    for item in items:
        cid = custom_id(item)
        counts = plan_counts(item.count, item.max_n)
        body = item.request_body()
        url = endpoint or (EDITS_ENDPOINT if item.is_edit else ENDPOINT)
        for part, count in enumerate(counts, 1):
            rid = cid if part == 1 else f"{cid}-{part}"
            line = {
                "custom_id": rid,
                "method": "POST",
                "url": url,
                "body": {**body, "n": count},
            }
            yield rid, json.dumps(line, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Submission:
    batch: dict[str, Any] | None
    items: int
    requests: int
    skipped: int
    state_files: list[Path] = field(default_factory=list)
    manifest: ManifestState | None = None  # as read before submitting: its unreadable lines


def state_name(batch_id: str) -> str:
    return f"{STATE_PREFIX}{batch_id}.json"


def submit(
    client: Client,
    items: Iterable[Item],
    *,
    source: str,
    directory: Path,
    template: str,
    state_dir: Path | None = None,
    resume: bool = True,
    endpoint: str | None = None,
    backend: BatchBackend | None = None,
) -> Submission:
    """Upload the requests not done yet, create the batch, record it beside the images.

    Items are streamed: the requests file and the state's items are written to disk as the
    prompt file is read, so memory does not grow with the number of lines."""
    backend = backend or default_backend()
    endpoint = endpoint or endpoint_of(items)
    manifest = Manifest(directory)
    pending = Pending(manifest, items, resume=resume)
    tmp = temp_path(directory, ".jsonl.part")
    entries = temp_path(directory, ".items.part")
    count = todo = 0
    try:
        try:
            with open(tmp, "w", encoding="utf-8") as fh, open(entries, "w", encoding="utf-8") as eh:
                for task in pending:
                    item = task.request()
                    for _, line in request_lines([item], endpoint):
                        fh.write(line + "\n")
                        count += 1
                    eh.write(("," if todo else "") + _state_item(item, task.have))
                    todo += 1
        except OSError as exc:
            raise OutputError(f"cannot write {tmp}: {exc.strerror or exc}") from None
        if not todo:
            return Submission(None, 0, 0, pending.skipped, manifest=pending.state)
        batch = backend.start(
            client,
            tmp,
            endpoint=endpoint,
            metadata={"easyimg_source": source[-512:], "easyimg_items": str(todo)},
        )
        batch_id = batch.get("id")
        if not isinstance(batch_id, str) or not batch_id:
            raise ResponseError("the batch API answered with no batch id")
        head = {
            "batch_id": batch_id,
            "input_file_id": batch.get("input_file_id"),
            "backend": backend.name,
            "endpoint": endpoint,
            "source": source,
            "directory": str(directory.resolve()),
            "template": template,
            "created_at": batch.get("created_at"),
        }
        files = [directory / state_name(batch_id)]
        if state_dir is not None:
            files.append(state_dir / f"{batch_id}.json")
        _write_state(files, head, entries)
    finally:
        for path in (tmp, entries):
            with contextlib.suppress(OSError):
                path.unlink()
    manifest.append(
        {
            "status": "submitted",
            "batch": batch_id,
            "items": todo,
            "requests": count,
            "source": source,
            "state": state_name(batch_id),
            "time": now_iso(),
        }
    )
    return Submission(batch, todo, count, pending.skipped, files, pending.state)


def _state_item(item: Item, have: list[str]) -> str:
    entry = {
        "line": item.line,
        "key": item.key,
        "name": item.name,
        "body": item.body,
        # A partial item asks only for the rest; fetch names and lists after these.
        **({"have": have} if have else {}),
    }
    return f"\n{json.dumps(custom_id(item))}: {json.dumps(entry, ensure_ascii=False)}"


def _write_state(files: list[Path], head: Mapping[str, Any], entries: Path) -> None:
    """The state file, its items copied from `entries`: written once, then copied to the
    other places; each replaced only once it is complete."""
    first, *copies = files
    text = json.dumps(dict(head), indent=2, ensure_ascii=False)
    try:
        for path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
        part = temp_path(first.parent, ".json.part")
        try:
            with open(part, "w", encoding="utf-8") as out, open(entries, encoding="utf-8") as src:
                out.write(text[: text.rindex("}")].rstrip() + ',\n  "items": {')
                shutil.copyfileobj(src, out)
                out.write("\n  }\n}\n")
            for path in copies:
                other = temp_path(path.parent, ".json.part")
                try:
                    shutil.copyfile(part, other)
                    os.replace(other, path)
                finally:
                    with contextlib.suppress(OSError):
                        other.unlink()
            os.replace(part, first)
        finally:
            with contextlib.suppress(OSError):
                part.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write the batch state {first}: {exc.strerror or exc}") from None


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
