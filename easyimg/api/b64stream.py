"""Base64 decoded as it arrives, in C, a slice at a time, with a cap on the decoded size."""

from __future__ import annotations

import binascii
import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import ResponseError

# Characters a wrapped or spaced base64 may carry between its quartets.
_SPACE = b" \t\r\n"
# An image decoded past this goes on in a file with no name (in the output folder when it is
# known): memory per answer in flight stays this whatever the image, and the file vanishes
# with its process, so no half-written file can be left.
SPILL = 16 << 20
_BLOCK = 1 << 20


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


def spill_file(directory: Path | None) -> IO[bytes] | None:
    """A nameless temporary file, in `directory` when it exists; None when none can be made."""
    for where in (directory, None) if directory is not None else (None,):
        with contextlib.suppress(OSError):
            return tempfile.TemporaryFile(dir=where)
    return None


class Decoded:
    """An image's decoded bytes, in memory or in its spill file: iterated once, in blocks."""

    def __init__(self, chunks: list[bytes], file: IO[bytes] | None, size: int) -> None:
        self._chunks = chunks
        self._file = file
        self.size = size

    def __bool__(self) -> bool:
        return self.size > 0

    def __iter__(self) -> Iterator[bytes]:
        try:
            if self._file is None:
                while self._chunks:
                    yield self._chunks.pop(0)  # let each slice go once it is written
                return
            self._file.seek(0)
            while block := self._file.read(_BLOCK):
                yield block
        finally:
            self.close()

    def close(self) -> None:
        self._chunks = []
        if self._file is not None:
            self._file.close()


class Base64Stream:
    """Takes base64 in pieces of any length and keeps the decoded bytes, in slices.

    Each piece is decoded straight from the buffer it arrived in: only the (at most three)
    characters that do not fill a quartet are copied. `limit` caps the decoded size: a piece
    that would pass it raises `too_big()` before it is decoded. Past `SPILL` bytes the
    decoded image goes to the file `spill()` gives, if it gives one.
    """

    def __init__(
        self,
        limit: int,
        too_big: Callable[[], Exception],
        spill: Callable[[], IO[bytes] | None] | None = None,
    ) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self._spill = spill
        self._file: IO[bytes] | None = None
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

    def close(self) -> Decoded:
        """The decoded image; base64 that stops short of its padding is accepted."""
        try:
            if self._tail:
                if len(self._tail) == 1:
                    raise invalid()
                tail, self._tail = self._tail, b""
                try:
                    self._emit(tail + b"=" * (-len(tail) % 4))
                except (binascii.Error, ValueError):
                    raise invalid() from None
        except BaseException:
            self.discard()
            raise
        decoded = Decoded(self.chunks, self._file, self.size)
        self.chunks, self._file = [], None
        return decoded

    def discard(self) -> None:
        """Let go of what was decoded (the answer failed)."""
        self.chunks = []
        if self._file is not None:
            self._file.close()
            self._file = None

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
        if self._file is None and self.size > SPILL and self._spill is not None:
            self._file = self._spill()
            if self._file is not None:
                for chunk in self.chunks:
                    self._file.write(chunk)
                self.chunks = []
        if self._file is not None:
            self._file.write(out)
        else:
            self.chunks.append(out)
