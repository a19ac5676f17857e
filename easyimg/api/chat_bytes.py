"""Chat answers as bytes: image payloads decoded where they arrived, SSE events, a read gate."""

from __future__ import annotations

import binascii
import re
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import requests

from ..errors import ResponseError
from ..heap import steady
from .limits import READ_ERRORS, bounds_of

# A data URL's payload starts here: after `(` in markdown, after `"` as a JSON string value.
_MARKER = re.compile(rb'(?P<open>[("])\s*data:image/[\w.+-]+;base64,')
HELD_MIN = 64 << 10  # smaller payloads are parsed as ordinary JSON
BIG = 1 << 20  # an answer or event this large waits at the gate before it is read on
SLICE = 4 << 20  # a multiple of 4 characters: each slice decodes on its own
READ = 1 << 16
# At most this many big answers are read at once, whatever -n asks: each holds its image's
# base64 (~10 MB at 4K) while it is decoded, and -n 10 must not hold ten of them.
_GATE = threading.BoundedSemaphore(2)

Held = dict[str, tuple[int, int]]


class Gate:
    """A hold on the read gate, taken once an answer turns out big; released when done."""

    def __init__(self) -> None:
        self.held = False

    def take(self) -> None:
        if not self.held:
            # Big answers' buffers get memory of their own, handed back when they are freed:
            # without it, -n 10 held ten 10 MB buffers long after (see heap.py).
            steady()
            _GATE.acquire()
            self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            _GATE.release()


def hold(raw: bytearray) -> tuple[bytes | bytearray, Held]:
    """The JSON text with each large, whole image payload swapped for a token, and where each
    payload lies in `raw`: the image is decoded from there, never copied into a string.

    A payload with an escape in it, or one that continues in a later event, stays in the
    text and is read the ordinary way.
    """
    if len(raw) < HELD_MIN:
        return raw, {}
    regions: Held = {}
    parts: list[bytes] = []
    last = pos = 0
    while (match := _MARKER.search(raw, pos)) is not None:
        start = pos = match.end()
        closer = b")" if match.group("open") == b"(" else b'"'
        end = raw.find(closer, start)
        if end < 0 or end - start < HELD_MIN:
            continue
        if raw.find(b"\\", start, end) >= 0 or (closer == b")" and raw.find(b'"', start, end) >= 0):
            continue
        token = f"easyimg-held-image-{len(regions)}"
        parts += [bytes(raw[last:start]), token.encode()]
        regions[token] = (start, end)
        last = pos = end
    if not regions:
        return raw, {}
    parts.append(bytes(raw[last:]))
    return b"".join(parts), regions


def decoded(raw: bytearray, start: int, end: int) -> Iterator[bytes]:
    """The image held at raw[start:end], decoded a slice at a time."""
    with memoryview(raw) as view:
        for at in range(start, end, SLICE):
            piece: Any = view[at : min(end, at + SLICE)]
            if at + SLICE >= end and len(piece) % 4:
                piece = bytes(piece) + b"=" * (-len(piece) % 4)  # unpadded, as some send it
            try:
                yield binascii.a2b_base64(piece, strict_mode=True)
            except binascii.Error:
                raise ResponseError("an image in the answer is not valid base64") from None


def decoded_pieces(pieces: deque[str]) -> Iterator[bytes]:
    """An image that arrived in pieces (streamed deltas), decoded piece by piece as it goes."""
    carry = ""
    try:
        while pieces:
            text = carry + pieces.popleft() if carry else pieces.popleft()
            if "\n" in text or " " in text:
                text = "".join(text.split())
            cut = len(text) - len(text) % 4
            carry = text[cut:]
            if cut:
                yield binascii.a2b_base64(text[:cut], strict_mode=True)
        if carry:
            yield binascii.a2b_base64(carry + "=" * (-len(carry) % 4), strict_mode=True)
    except binascii.Error:
        raise ResponseError("an image in the answer is not valid base64") from None


def read_all(resp: requests.Response, gate: Gate) -> bytearray:
    """The whole body, once, no larger than one image's data may be; big ones pass the gate
    first. The client's deadline shuts the socket under a late answer."""
    bounds = bounds_of(resp)
    resp.raw.decode_content = True
    raw = bytearray()
    try:
        while chunk := resp.raw.read(READ):
            raw += chunk
            if len(raw) > BIG:
                gate.take()
            if len(raw) > bounds.max_value:
                raise bounds.too_big("the answer")
    except (*READ_ERRORS, ValueError) as exc:
        raise bounds.failure(exc, len(raw)) from None
    if bounds.expired:
        raise bounds.late()
    return raw


class Events:
    """The `data` of each server-sent event, as bytes, straight from the socket.

    A big line becomes its event without a copy; an event is handed over and not kept here
    (a generator's frame would hold it while its image is saved).
    """

    def __init__(self, resp: requests.Response, gate: Gate) -> None:
        resp.raw.decode_content = True
        self._raw = resp.raw
        self._bounds = bounds_of(resp)
        self._got = 0
        self._gate = gate
        self._buf = bytearray()
        self._searched = 0
        self._eof = False

    def next(self) -> bytearray | None:
        data: bytearray | None = None
        while True:
            nl = self._buf.find(b"\n", self._searched)
            if nl < 0:
                if self._eof:
                    line, self._buf = self._buf, bytearray()
                    data, _ = self._take(line, len(line), data)
                    return data or None
                self._searched = len(self._buf)
                self._fill()
                continue
            if nl > BIG:
                # Take the buffer itself: only what follows the line is copied.
                line, self._buf = self._buf, self._buf[nl + 1 :]
            else:
                line = self._buf[:nl]
                del self._buf[: nl + 1]
            self._searched = 0
            data, blank = self._take(line, nl, data)
            if blank and data:
                return data

    @staticmethod
    def _take(line: bytearray, end: int, data: bytearray | None) -> tuple[bytearray | None, bool]:
        """Add a `data:` line to the event; True as second value for a blank line."""
        if end and line[end - 1] == 13:  # CR LF
            end -= 1
        if end == 0:
            return data, True
        if not line.startswith(b"data:"):
            return data, False  # comments, event:, id:, retry:
        start = 6 if line.startswith(b"data: ") else 5
        del line[end:]
        del line[:start]
        if data is None:
            return line, False
        data += b"\n"
        data += line
        return data, False

    def _fill(self) -> None:
        if len(self._buf) > BIG:
            self._gate.take()
        if len(self._buf) > self._bounds.max_value:
            raise self._bounds.too_big("an event in the stream")
        try:
            chunk = self._raw.read(READ)
        except (*READ_ERRORS, ValueError) as exc:
            raise self._bounds.failure(exc, self._got, "event stream") from None
        self._got += len(chunk)
        if chunk:
            self._buf += chunk
        elif self._bounds.expired:
            raise self._bounds.late("event stream")  # shut at the deadline, not ended
        else:
            self._eof = True
