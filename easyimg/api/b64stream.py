"""Base64 decoded as it arrives, in C, a slice at a time, with a cap on the decoded size."""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Any

from ..errors import ResponseError

# Characters a wrapped or spaced base64 may carry between its quartets.
_SPACE = b" \t\r\n"


def _stdlib(data: Any) -> bytes:
    return binascii.a2b_base64(data, strict_mode=True)


def _pick() -> Callable[[Any], bytes]:
    try:
        import pybase64  # the `fast` extra: SIMD decoding
    except ImportError:
        return _stdlib

    def fast(data: Any) -> bytes:
        return pybase64.b64decode(data, validate=True)

    return fast


# Decodes a run of whole quartets, raising binascii.Error (or ValueError) when one is bad.
decode_quartets: Callable[[Any], bytes] = _pick()


def invalid(what: str = "an image in the answer") -> ResponseError:
    return ResponseError(f"{what} is not valid base64")


class Base64Stream:
    """Takes base64 in pieces of any length and keeps the decoded bytes, in slices.

    Each piece is decoded straight from the buffer it arrived in: only the (at most three)
    characters that do not fill a quartet are copied. `limit` caps the decoded size: a piece
    that would pass it raises `too_big()` before it is decoded.
    """

    def __init__(self, limit: int, too_big: Callable[[], Exception]) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self._limit = limit
        self._too_big = too_big
        self._tail = b""
        self._ended = False  # a quartet with padding came: nothing may follow it

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        at = 0
        if self._tail:
            need = 4 - len(self._tail)
            quartet = self._tail + bytes(data[:need])
            at = min(need, len(data))
            if len(quartet) < 4:
                self._tail = quartet
                return
            self._tail = b""
            try:
                self._emit(quartet)
            except (binascii.Error, ValueError):
                self._tail = self._spaceless(quartet)
                self.feed(data[at:])
                return
        cut = at + (len(data) - at) // 4 * 4
        if cut > at:
            try:
                self._emit(data[at:cut])
            except (binascii.Error, ValueError):
                # Spaces or line breaks between quartets: drop them and align again.
                self.feed(self._spaceless(data[at:]))
                return
        if cut < len(data):
            self._tail = bytes(data[cut:])

    def close(self) -> list[bytes]:
        """The decoded slices; base64 that stops short of its padding is accepted."""
        if self._tail:
            if len(self._tail) == 1:
                raise invalid()
            tail, self._tail = self._tail, b""
            try:
                self._emit(tail + b"=" * (-len(tail) % 4))
            except (binascii.Error, ValueError):
                raise invalid() from None
        return self.chunks

    def _spaceless(self, data: bytes | bytearray | memoryview) -> bytes:
        cleaned = bytes(data).translate(None, _SPACE)
        if len(cleaned) == len(data):
            raise invalid()  # not spaces: a character base64 does not have
        return cleaned

    def _emit(self, piece: bytes | bytearray | memoryview) -> None:
        if self._ended:
            raise invalid()
        if self.size + len(piece) // 4 * 3 - 2 > self._limit:
            raise self._too_big()
        out = decode_quartets(piece)
        self.size += len(out)
        if self.size > self._limit:
            raise self._too_big()
        self._ended = piece[-1:] == b"="
        self.chunks.append(out)
