"""Server-sent events read as bytes, each event's data JSON with its images diverted as it
arrives: an event holding a 4K image never sits in memory as text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from ..errors import NetworkError
from .divert import READ, Diverter
from .limits import bounds_of, iter_body

_EOL = re.compile(rb"[\r\n]")
_NAME_MAX = 64  # field names are short (`data`, `event`, `id`, `retry`)
_EVENT_MAX = 256


class Event:
    """One event: its name, its data with image strings as tokens, and what holds them."""

    def __init__(self, name: str, text: bytes, images: Diverter) -> None:
        self.name = name
        self.text = text
        self.images = images


class EventBytes:
    """Iterates the events of a text/event-stream answer as they complete.

    A `data` line is handed to the event's `Diverter` piece by piece however long it is;
    other lines are read to their end and bounded by the size one value may have.
    """

    def __init__(self, resp: requests.Response, spill_dir: Path | None = None) -> None:
        self._bounds = bounds_of(resp)
        self._chunks = iter_body(resp, "event stream", READ)
        self._spill_dir = spill_dir
        self._buf = b""
        self._pos = 0
        self._cr = False  # the last line ended with CR: an LF right after it is part of it
        self._eof = False

    def _fill(self) -> bool:
        """More bytes in the buffer; False at the end of the stream."""
        if self._eof:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self._eof = True
            return False
        self._buf = self._buf[self._pos :] + chunk if self._pos < len(self._buf) else chunk
        self._pos = 0
        return True

    def _at(self) -> int | None:
        """The next byte (not consumed); None at the end of the stream."""
        while True:
            if self._pos < len(self._buf):
                if self._cr:
                    self._cr = False
                    if self._buf[self._pos] == 0x0A:
                        self._pos += 1
                        continue
                return self._buf[self._pos]
            if not self._fill():
                return None

    def _rest_of_line(self, sink: Any = None, limit: int | None = None) -> bytes:
        """Consume to the end of the line, handing each piece to `sink` (or keeping up to
        `limit` bytes, returned); the line ending is consumed too."""
        kept = b""
        size = 0
        while self._at() is not None:
            found = _EOL.search(self._buf, self._pos)
            end = len(self._buf) if found is None else found.start()
            piece = self._buf[self._pos : end]
            if sink is not None:
                sink(piece)
            elif limit is not None and len(kept) < limit:
                kept += piece[: limit - len(kept)]
            size += len(piece)
            if sink is None and size > self._bounds.max_value:
                raise self._bounds.too_big("a line of the event stream")
            self._pos = end
            if found is not None:
                self._cr = self._buf[end] == 0x0D
                self._pos = end + 1
                return kept
        return kept

    def _field(self) -> bytes | None:
        """The field name of the next line, through its colon and one space; b"" for a blank
        line (consumed); None at the end of the stream."""
        name = b""
        while (c := self._at()) is not None:
            if c in (0x0A, 0x0D):
                if name:
                    return name  # a field with no value: the line end is read by the caller
                self._cr = c == 0x0D
                self._pos += 1
                return b""
            self._pos += 1
            if c == 0x3A:  # ":"
                if self._at() == 0x20:
                    self._pos += 1
                return name or b":"  # b":" is a comment
            name += bytes([c])
            if len(name) > _NAME_MAX:
                return b":"  # no field of ours: skipped as a comment is
        return None

    def __iter__(self) -> Iterator[Event]:
        name = ""
        images: Diverter | None = None
        parts: list[bytes] = []
        while (field := self._field()) is not None:
            if field == b"":
                if images is not None:
                    yield Event(name or "message", b"".join(parts), images)
                name, images, parts = "", None, []
                continue
            if field == b"data":
                if images is None:
                    images = Diverter(None, self._bounds, self._spill_dir)
                else:
                    parts.append(images.feed(b"\n"))
                self._rest_of_line(lambda piece, d=images, p=parts: p.append(d.feed(piece)))
            elif field == b"event":
                name = self._rest_of_line(limit=_EVENT_MAX).decode("utf-8", "replace")
            else:
                self._rest_of_line()
        if images is not None:
            images.close()
            # A stream must end with a blank line; a trailing half event means it was cut off.
            raise NetworkError("the event stream was cut off in the middle of an event")
