"""Reading streamed (SSE) image answers: partials as progress steps, the final image, usage."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import APIError, ExitCode, OutputError, ResponseError
from ..output import FORMAT_EXT, claim_name, os_reason, sniff_format, temp_path
from .answers import add_usage, normalize_usage, read_images, server_item, with_image
from .divert import spill_dir_of
from .server_errors import error_from_payload, request_id
from .sse_bytes import Event, EventBytes

if TYPE_CHECKING:
    import requests

    from ..generate import GenImage, Reporter

OnItem = Callable[[dict[str, Any], dict[str, Any]], None]
OnPartial = Callable[[dict[str, Any]], None]
# An error event carries no HTTP status; these kinds are the server's trouble (a 5xx or 429
# had it come as a status), so they exit 5 like one. Every other error event is a refusal: 4.
_SERVER_SIDE = (
    "server_error",
    "internal",
    "overloaded",
    "unavailable",
    "timeout",
    "rate_limit",
    "api_error",
)


def stream_error(payload: dict[str, Any], rid: str | None) -> APIError:
    """The APIError of an `error` event, `{"error": {...}}` or `{"type": "error", ...}` alike."""
    err = error_from_payload(payload, None, rid)
    if err is None:
        message = payload.get("message") or payload.get("detail") or "the stream reported an error"
        code = payload.get("code")
        err = APIError(
            None,
            str(message),
            code=None if code is None else str(code),
            request_id=rid,
            body=payload,
        )
    kind = f"{err.type or ''} {err.code or ''}".lower()
    if err.account_wide != "quota":
        err.exit_code = (
            ExitCode.NETWORK if any(k in kind for k in _SERVER_SIDE) else ExitCode.REFUSED
        )
    return err


def read_stream(
    resp: requests.Response, on_image: OnItem, on_partial: OnPartial | None = None
) -> dict[str, Any]:
    """Read an SSE images answer event by event; a router that answers JSON is read as JSON.

    Partial images go to `on_partial`, each completed image to `on_image` (as a `data` item)
    as soon as its event has fully arrived. Returns the top-level fields a JSON answer would
    have had: `created` and the summed `usage`.
    """
    if "text/event-stream" not in resp.headers.get("content-type", "").lower():
        return read_images(resp, on_image)
    rid = request_id(resp.headers)
    meta: dict[str, Any] = {}
    completed = 0
    for event in EventBytes(resp, spill_dir_of(resp)):
        try:
            if _event(event, rid, meta, on_image, on_partial):
                completed += 1
            elif event.text.strip() == b"[DONE]":
                break
        finally:
            event.images.close()  # what no item took: a partial's image, once written
    if not completed:
        raise ResponseError("the stream ended before an image was completed")
    return meta


def _event(
    event: Event,
    rid: str | None,
    meta: dict[str, Any],
    on_image: OnItem,
    on_partial: OnPartial | None,
) -> bool:
    """Read one event: True when it was a completed image."""
    data = event.text.decode("utf-8", "replace")
    if data.strip() == "[DONE]":
        return False
    try:
        payload = json.loads(data)
    except ValueError:
        if event.name == "error":
            raise stream_error({"message": data.strip()[:300]}, rid) from None
        raise ResponseError(f"a stream event is not JSON: {data[:80]!r}") from None
    if not isinstance(payload, dict):
        return False
    kind = str(payload.get("type") or event.name)
    if event.name == "error" or kind == "error" or kind.endswith(".failed") or payload.get("error"):
        raise stream_error(payload, rid)
    if kind.endswith("partial_image"):
        if on_partial is not None:
            on_partial(with_image(payload, event.images))
    elif kind.endswith(".completed"):
        if isinstance(payload.get("created_at"), int):
            meta.setdefault("created", payload["created_at"])
        if payload.get("usage"):
            meta["usage"] = add_usage(meta.get("usage"), normalize_usage(payload["usage"]))
        item = server_item({k: v for k, v in payload.items() if k not in ("type", "usage")})
        on_image(with_image(item, event.images), meta)
        return True
    # Anything else (keep-alives, events of newer API versions) is not ours to read.
    return False


@dataclass
class _Partial:
    number: int
    tmp: Path
    ext: str


class StreamReader:
    """Generation's `read` for `--stream`, and the reporter it talks to.

    Each partial image is a progress step ("partial 2/3"). With `keep`, partials are written
    to temporary files as they arrive and get their names, `NAME.partial-K.EXT` beside the
    final image NAME.EXT, only once that image is saved and its name known: a stream that
    breaks off leaves no file behind. The final name is learnt from `saved`, which the
    generation calls in the thread reading the stream.
    """

    def __init__(
        self,
        reporter: Reporter,
        *,
        partials: int = 0,
        images: int = 1,
        keep: Path | None = None,
        overwrite: bool = False,
    ) -> None:
        self.reporter = reporter
        self.partials = partials
        self.images = images
        self.keep = keep
        self.overwrite = overwrite
        self.kept: list[Path] = []
        self._done = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._temps: set[Path] = set()  # partials waiting for their image, in every thread
        self._closed = False

    # Generation's `read`
    def __call__(self, resp: requests.Response, on_image: OnItem) -> dict[str, Any]:
        self._local.pending = []
        self._local.count = 0
        try:
            return read_stream(resp, on_image, self._partial)
        finally:
            self._drop(self._local.pending)
            self._local.pending = []

    def close(self) -> None:
        """Remove partials still waiting for their image (an interrupted run); keep no more."""
        with self._lock:
            self._closed = True
            temps, self._temps = self._temps, set()
        for tmp in temps:
            _remove(tmp)

    def _drop(self, parts: list[_Partial]) -> None:
        with self._lock:
            self._temps.difference_update(p.tmp for p in parts)
        for part in parts:
            _remove(part.tmp)

    def _partial(self, event: dict[str, Any]) -> None:
        self._local.count += 1
        index = event.get("partial_image_index")
        number = index + 1 if isinstance(index, int) and index >= 0 else self._local.count
        step = (
            f"partial {number}/{self.partials}" if self.partials >= number else f"partial {number}"
        )
        if self.images > 1:
            with self._lock:
                step = f"image {min(self._done + 1, self.images)}/{self.images}: {step}"
        self.reporter.status(step)
        if self.keep is not None:
            part = self._write_temp(event, number)
            if part is not None:
                self._local.pending.append(part)

    def _write_temp(self, event: dict[str, Any], number: int) -> _Partial | None:
        chunks = event.get("chunks")
        b64 = event.get("b64_json")
        if chunks is not None:
            data = b"".join(chunks)  # a partial is a preview: small enough to hold
        elif isinstance(b64, str) and b64:
            try:
                data = base64.b64decode(b64)
            except (binascii.Error, ValueError):
                return None
        else:
            return None
        fmt = sniff_format(data[:16])
        if fmt is None or self.keep is None:
            return None  # a partial that is not an image is not worth failing the final one
        tmp = temp_path(self.keep, ".part")
        # Under the lock, so that close() never misses a file being written.
        with self._lock:
            if self._closed:
                return None
            try:
                with open(tmp, "xb") as f:
                    f.write(data)
            except OSError as e:
                _remove(tmp)
                raise OutputError(
                    f"cannot write a partial image in {self.keep}: {os_reason(e)}"
                ) from None
            self._temps.add(tmp)
        return _Partial(number, tmp, FORMAT_EXT[fmt])

    # Reporter, passed on
    def status(self, text: str) -> None:
        self.reporter.status(text)

    def download(self, done: int, total: int | None) -> None:
        self.reporter.download(done, total)

    def saved(self, image: GenImage) -> None:
        with self._lock:
            self._done += 1
        pending: list[_Partial] = getattr(self._local, "pending", [])
        self._local.pending = []
        self._local.count = 0
        final = image.saved.path
        try:
            while pending and not self._closed:
                part = pending[0]
                name = f"{final.stem}.partial-{part.number}.{part.ext}"
                path = claim_name(part.tmp, final.parent, name, self.overwrite)
                pending.pop(0)
                with self._lock:
                    self._temps.discard(part.tmp)
                    self.kept.append(path)
        finally:
            self._drop(pending)
        self.reporter.saved(image)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
