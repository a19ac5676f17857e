"""Server-sent events: (event, data) pairs read from a streamed answer as they arrive."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import requests

from ..errors import NetworkError
from .limits import Bounds, bounds_of, iter_body


def iter_sse(resp: requests.Response) -> Iterator[tuple[str, str]]:
    """Yield (event, data) pairs from a text/event-stream answer, as they arrive.

    No line, and no event, may be longer than one image's data (the bounds' `max_value`).
    """
    bounds = bounds_of(resp)
    event = ""
    data: list[str] = []
    size = 0
    for raw in _lines(iter_body(resp, "event stream"), bounds):
        line = raw.decode("utf-8", "replace")
        if not line:
            if data:
                yield event or "message", "\n".join(data)
            event, data, size = "", [], 0
            continue
        if line.startswith(":"):
            continue
        name, _, val = line.partition(":")
        val = val[1:] if val.startswith(" ") else val
        if name == "event":
            event = val
        elif name == "data":
            data.append(val)
            size += len(val)
            if size > bounds.max_value:
                raise bounds.too_big("an event in the stream")
    if data:
        # A stream must end with a blank line; a trailing half event means it was cut off.
        raise NetworkError("the event stream was cut off in the middle of an event")


def _lines(chunks: Iterable[bytes], bounds: Bounds) -> Iterator[bytes]:
    """Lines ended by CRLF, LF or CR, without their ending; none longer than `max_value`."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        if b"\n" not in chunk and b"\r" not in chunk:
            # Most of a long line: kept as parts, so it is joined once, not once per chunk.
            parts.append(chunk)
            size += len(chunk)
            if size > bounds.max_value:
                raise bounds.too_big("a line of the event stream")
            continue
        lines = b"".join([*parts, chunk]).splitlines(keepends=True)
        last = lines.pop()
        if last.endswith(b"\n"):
            lines.append(last)
            last = b""
        for line in lines:
            yield line.rstrip(b"\r\n")
        # A line not yet ended, or a CR whose LF may come in the next chunk.
        parts, size = ([last], len(last)) if last else ([], 0)
    if parts:
        yield b"".join(parts).rstrip(b"\r\n")
