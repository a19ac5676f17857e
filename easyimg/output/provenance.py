"""C2PA content credentials: does a written image carry a manifest that must stay intact?"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import BinaryIO

_PNG_SIG = 8
_MAX_SEGMENTS = 1 << 16  # a bound on walking a hostile file; real ones have a few dozen


def has_c2pa(path: Path, fmt: str, start: int = 0) -> bool:
    """True when the file at `path` embeds a C2PA manifest store (JUMBF): a `caBX` chunk in
    PNG, an APP11 JUMBF segment in JPEG, a `C2PA` (or JUMBF) chunk in WebP. Only chunk and
    segment headers are read; `start` is where a PNG chunk begins (to skip a known prefix)."""
    walk = {"png": _png, "jpeg": _jpeg, "webp": _webp}.get(fmt)
    if walk is None:
        return False
    try:
        with open(path, "rb") as f:
            return walk(f, start)
    except (OSError, struct.error):
        return False


def has_c2pa_in(data: bytes, fmt: str, start: int = 0) -> bool:
    """`has_c2pa` for an image held whole in memory."""
    walk = {"png": _png, "jpeg": _jpeg, "webp": _webp}.get(fmt)
    if walk is None:
        return False
    try:
        return walk(io.BytesIO(data), start)
    except struct.error:
        return False


def png_prefix(data: bytes | bytearray) -> tuple[int | None, bool]:
    """For PNG bytes read so far: (offset of the first IDAT, None if not reached yet) and
    whether a `caBX` chunk came before it."""
    pos = _PNG_SIG
    for _ in range(_MAX_SEGMENTS):
        if pos + 8 > len(data):
            return None, False
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"caBX":
            return pos, True
        if kind in (b"IDAT", b"IEND"):
            return pos, False
        pos += 12 + length
    return pos, False


def _png(f: BinaryIO, start: int) -> bool:
    pos = max(start, _PNG_SIG)
    for _ in range(_MAX_SEGMENTS * 16):
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            return False
        length, kind = struct.unpack(">I4s", header)
        if kind == b"caBX":
            return True
        if kind == b"IEND":
            return False
        pos += 12 + length
    return False


def _jpeg(f: BinaryIO, start: int) -> bool:
    pos = 2
    for _ in range(_MAX_SEGMENTS):
        f.seek(pos)
        header = f.read(4)
        if len(header) < 4 or header[0] != 0xFF:
            return False
        marker = header[1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no more metadata
            return False
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        (length,) = struct.unpack(">H", header[2:4])
        if marker == 0xEB:  # APP11: JPEG XT boxes, "JP" + instance + sequence + a JUMBF box
            body = f.read(min(length - 2, 32))
            if body[:2] == b"JP" and b"jumb" in body:
                return True
        pos += 2 + length
    return False


def _webp(f: BinaryIO, start: int) -> bool:
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return False
    pos = 12
    for _ in range(_MAX_SEGMENTS):
        f.seek(pos)
        header = f.read(16)
        if len(header) < 8:
            return False
        kind, length = header[:4], struct.unpack("<I", header[4:8])[0]
        if kind == b"C2PA" or header[12:16] == b"jumb":
            return True
        pos += 8 + length + (length & 1)
    return False
