"""Metadata inside images: PNG text chunks added after IHDR without re-encoding."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

from ..redact import redact
from .sniff import _PNG_HEAD, _png_size


def _text_chunk(key: str, value: str) -> bytes:
    name = key.encode("latin-1", "replace")
    if not 1 <= len(key) <= 79 or "\0" in key or name.decode("latin-1") != key:
        raise ValueError(f"PNG text key must be 1-79 Latin-1 characters, no NUL: {key!r}")
    value = redact(value.replace("\0", ""))
    try:
        kind, body = b"tEXt", name + b"\0" + value.encode("latin-1")
    except UnicodeEncodeError:
        # iTXt: keyword, NUL, no compression (flag 0, method 0), empty language and
        # translated keyword (each NUL-terminated), then UTF-8 text.
        kind, body = b"iTXt", name + b"\0\0\0\0\0" + value.encode("utf-8", "replace")
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def text_chunks(text: Mapping[str, str]) -> bytes:
    """One PNG text chunk per key, ready to go right after IHDR."""
    return b"".join(_text_chunk(k, v) for k, v in text.items())


def png_with_text(data: bytes, text: Mapping[str, str]) -> bytes:
    """The PNG with one text chunk per key inserted after IHDR; pixels are not re-encoded."""
    if not text or len(data) < _PNG_HEAD or _png_size(data[:_PNG_HEAD]) is None:
        return data
    return bytes(data[:_PNG_HEAD]) + text_chunks(text) + bytes(data[_PNG_HEAD:])
