"""Reading streamed (SSE) image answers: partial images, the completed image, usage."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

import requests

from .client import error_from_payload, iter_sse, read_images, request_id
from .errors import ResponseError

OnItem = Callable[[dict[str, Any], dict[str, Any]], None]


class PartialSink(Protocol):
    def partial(self, index: int, b64: str, event: dict[str, Any]) -> None: ...


def read_stream(resp: requests.Response, on_image: OnItem,
                on_partial: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Read an SSE images answer; a router that answers plain JSON is read as JSON."""
    ctype = resp.headers.get("content-type", "")
    if "text/event-stream" not in ctype:
        return read_images(resp, on_image)
    rid = request_id(resp.headers)
    meta: dict[str, Any] = {}
    completed = 0
    for event, data in iter_sse(resp):
        if data.strip() == "[DONE]":
            break
        try:
            payload = json.loads(data)
        except ValueError:
            raise ResponseError(f"a stream event is not JSON: {data[:80]!r}") from None
        if not isinstance(payload, dict):
            continue
        kind = str(payload.get("type") or event)
        err = error_from_payload(payload, None, rid)
        if err is not None or kind == "error" or kind.endswith(".failed"):
            raise err or ResponseError(f"stream error event: {data[:200]}")
        if kind.endswith("partial_image"):
            if on_partial:
                on_partial(payload)
            continue
        if kind.endswith(".completed"):
            completed += 1
            if isinstance(payload.get("created_at"), int):
                meta.setdefault("created", payload["created_at"])
            usage = payload.get("usage")
            if usage:
                from .generate import add_usage, normalize_usage

                meta["usage"] = add_usage(meta.get("usage"), normalize_usage(usage))
            item = {k: v for k, v in payload.items() if k not in ("type", "usage")}
            on_image(item, meta)
    if not completed:
        raise ResponseError("the stream ended before an image was completed")
    return meta


def stream_reader(reporter: Any, partial_plan: Any = None) -> Callable[..., dict[str, Any]]:
    """A `read` function for Generation that reports partials and optionally saves them."""
    counter = {"n": 0}

    def on_partial(event: dict[str, Any]) -> None:
        counter["n"] += 1
        index = event.get("partial_image_index", counter["n"] - 1)
        if hasattr(reporter, "status"):
            reporter.status(f"partial image {int(index) + 1} received")
        if partial_plan is not None and event.get("b64_json"):
            save_partial(partial_plan, event, int(index))

    def read(resp: requests.Response, on_image: OnItem) -> dict[str, Any]:
        return read_stream(resp, on_image, on_partial)

    return read


def save_partial(plan: Any, event: dict[str, Any], index: int) -> None:
    import base64
    import os
    from datetime import datetime

    from .output import FORMAT_EXT, sniff_format, write_bytes_atomic

    data = base64.b64decode(event["b64_json"])
    fmt = sniff_format(data[:16]) or "png"
    base = plan.filename(index=1, ext=FORMAT_EXT[fmt], prompt="partial", model="", now=datetime.now())
    stem, _ = os.path.splitext(base)
    write_bytes_atomic(plan.directory / f"{stem}.partial-{index + 1}.{FORMAT_EXT[fmt]}", data)
