"""Server-sent events: (event, data) pairs read from a streamed answer as they arrive."""

from __future__ import annotations

from collections.abc import Iterator

import requests

from ..errors import NetworkError
from .client import _reason


def iter_sse(resp: requests.Response) -> Iterator[tuple[str, str]]:
    """Yield (event, data) pairs from a text/event-stream answer, as they arrive."""
    event = ""
    data: list[str] = []
    try:
        for raw in resp.iter_lines(chunk_size=1 << 16, decode_unicode=False):
            line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            if not line:
                if data:
                    yield event or "message", "\n".join(data)
                event, data = "", []
                continue
            if line.startswith(":"):
                continue
            name, _, val = line.partition(":")
            val = val[1:] if val.startswith(" ") else val
            if name == "event":
                event = val
            elif name == "data":
                data.append(val)
    except requests.RequestException as exc:
        raise NetworkError(f"the event stream broke off: {_reason(exc)}") from None
    if data:
        # A stream must end with a blank line; a trailing half event means it was cut off.
        raise NetworkError("the event stream was cut off in the middle of an event")
