"""`batch --remote`: the requests file, submitting it to a backend, and the state it leaves."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api.client import Client
from ..errors import EasyImgError, OutputError, ResponseError, UsageError
from ..models import plan_counts
from ..output import id_name, temp_path
from .backend import RUNNING, BatchBackend
from .manifest import Manifest, ManifestState, Pending, Task, now_iso
from .prompts import Item
from .state import StateItems

ENDPOINT = "/v1/images/generations"
EDITS_ENDPOINT = "/v1/images/edits"
# One batch's limits (OpenAI's; EasyRouter publishes none, so the same are assumed there).
MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1000 * 1000
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
    batch: dict[str, Any] | None  # the first batch; None when nothing was left to submit
    items: int
    requests: int
    skipped: int
    state_files: list[Path] = field(default_factory=list)
    manifest: ManifestState | None = None  # as read before submitting: its unreadable lines
    batches: list[dict[str, Any]] = field(default_factory=list)


def state_name(batch_id: str) -> str:
    """The state file's name in the output folder; the server chose the id, not the path."""
    return f"{STATE_PREFIX}{id_name(batch_id)}.json"


def _kept_state(state_dir: Path, batch_id: str) -> Path:
    return state_dir / f"{id_name(batch_id)}.json"


class _Part:
    """One batch's share of a run: the requests file written for its items, and the items'
    entries of its state file (spooled beside it, so a part holds no item)."""

    def __init__(self, path: Path, first: int, state: StateItems) -> None:
        self.path = path
        self.first = first  # the position of its first item in the run
        self.state = state
        self.requests = 0
        self.size = 0

    @property
    def items(self) -> range:
        """The positions of its items in the run (`len()` is how many it has)."""
        return range(self.first, self.first + self.state.count)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        self.state.discard()


def _parts(
    todo: Iterable[Item | Task],
    directory: Path,
    endpoint: str,
    max_requests: int,
    max_bytes: int,
) -> Iterator[_Part]:
    """Requests files of at most `max_requests` lines and `max_bytes` each, written as it goes.

    An item's requests stay in one file: its parts are matched up when the batch is fetched.
    A task of a partial item asks only for the rest, and its state entry lists what it has.
    The caller discards each part it is handed.
    """
    part: _Part | None = None
    fh: Any = None
    done = 0
    try:
        for task in todo:
            item, have = (task.request(), task.have) if isinstance(task, Task) else (task, [])
            lines = [line.encode("utf-8") + b"\n" for _, line in request_lines([item], endpoint)]
            size = sum(len(line) for line in lines)
            if (
                part is not None
                and part.state.count
                and (part.requests + len(lines) > max_requests or part.size + size > max_bytes)
            ):
                fh.close()
                fh, handed, part = None, part, None
                done += len(handed.items)
                yield handed
            if part is None:
                part = _Part(temp_path(directory, ".jsonl.part"), done, StateItems(directory))
                fh = open(part.path, "wb")  # noqa: SIM115 - closed when the part is handed over
            fh.writelines(lines)
            part.state.add(custom_id(item), _entry(item, have))
            part.requests += len(lines)
            part.size += size
        if part is not None:
            fh.close()
            fh, handed, part = None, part, None
            yield handed
    except OSError as exc:
        raise OutputError(
            f"cannot write a requests file in {directory}: {exc.strerror or exc}"
        ) from None
    finally:
        if fh is not None:
            fh.close()
        if part is not None:
            part.discard()


def _entry(item: Item, have: list[str]) -> dict[str, Any]:
    return {
        "line": item.line,
        "key": item.key,
        "name": item.name,
        "body": item.body,
        # A partial item asks only for the rest; fetch names and lists after these.
        **({"have": have} if have else {}),
    }


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
    max_requests: int = MAX_REQUESTS,
    max_bytes: int = MAX_BYTES,
) -> Submission:
    """Upload the requests not done yet as one batch or, past one batch's limits, several;
    record each beside the images (a state file, and a `submitted` line in the manifest).

    The items are a stream, read once: each part's requests file and state entries are
    written as it goes, uploaded from disk, and its state file is written once."""
    backend = backend or default_backend()
    endpoint = endpoint or endpoint_of(items)
    manifest = Manifest(directory)
    pending = Pending(manifest, items, resume=resume)
    sub = Submission(None, 0, 0, 0, manifest=pending.state)
    try:
        for part in _parts(pending, directory, endpoint, max(1, max_requests), max_bytes):
            try:
                batch = backend.start(
                    client,
                    part.path,
                    endpoint=endpoint,
                    metadata={
                        "easyimg_source": source[-512:],
                        "easyimg_items": str(len(part.items)),
                    },
                )
                with contextlib.suppress(OSError):
                    part.path.unlink()  # before the state is written: no two copies on disk
                sub.state_files += _record(
                    batch, part, manifest, backend, endpoint, source, template, state_dir
                )
            finally:
                part.discard()
            sub.batches.append(batch)
            sub.items += len(part.items)
            sub.requests += part.requests
    except EasyImgError as exc:
        if sub.batches:
            ids = ", ".join(str(b["id"]) for b in sub.batches)
            exc.message += (
                f" (after submitting {ids}: `easyimg batches fetch {directory}` fetches "
                "what they hold; submitting again would send their items twice)"
            )
        raise
    sub.skipped = pending.skipped
    sub.batch = sub.batches[0] if sub.batches else None
    return sub


def _record(
    batch: dict[str, Any],
    part: _Part,
    manifest: Manifest,
    backend: BatchBackend,
    endpoint: str,
    source: str,
    template: str,
    state_dir: Path | None,
) -> list[Path]:
    batch_id = batch.get("id")
    if not isinstance(batch_id, str) or not batch_id:
        raise ResponseError("the batch API answered with no batch id")
    directory = manifest.directory
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
        files.append(_kept_state(state_dir, batch_id))
    part.state.write(head, files)
    manifest.append(
        {
            "status": "submitted",
            "batch": batch_id,
            "items": len(part.items),
            "requests": part.requests,
            "source": source,
            "state": state_name(batch_id),
            "backend": backend.name,
            "time": now_iso(),
        }
    )
    return files


def load_state(batch_id: str, directory: Path, state_dir: Path | None) -> dict[str, Any] | None:
    """What `batch --remote` recorded: the output directory first, then the user data dir."""
    for path in (
        directory / state_name(batch_id),
        *((_kept_state(state_dir, batch_id),) if state_dir else ()),
    ):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("batch_id") == batch_id:
            return doc
    return None
