"""Image formats: signatures, sniffing and header-only dimensions (SVG text: svg.py)."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import IO

FORMAT_EXT: dict[str, str] = {
    "png": "png",
    "jpeg": "jpg",
    "webp": "webp",
    "gif": "gif",
    "svg": "svg",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".svg")

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_IHDR = b"\x00\x00\x00\x0dIHDR"
_PNG_HEAD = 33  # signature + IHDR: text chunks go right after it
_EXT_FORMAT = {
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "webp": "webp",
    "gif": "gif",
    "svg": "svg",
}


def sniff_format(head: bytes) -> str | None:
    """The image format named by the first bytes' signature, or None."""
    head = bytes(head[:12])
    if head.startswith(_PNG_SIG):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def _png_size(head: bytes) -> tuple[int, int] | None:
    if len(head) < 24 or not head.startswith(_PNG_SIG) or head[8:16] != _IHDR:
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def image_dimensions(path_or_bytes: Path | bytes) -> tuple[int, int] | None:
    """(width, height) read from the header only; None when it cannot be read."""
    fp: IO[bytes] | Path
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        head = bytes(path_or_bytes[:_PNG_HEAD])
        fp = io.BytesIO(path_or_bytes)
    else:
        fp = Path(path_or_bytes)
        try:
            with open(fp, "rb") as f:
                head = f.read(_PNG_HEAD)
        except OSError:
            return None
    if sniff_format(head) == "png":
        return _png_size(head)
    from PIL import Image  # lazily: PIL costs start-up time that --help must not pay

    try:
        with Image.open(fp) as im:
            return im.size
    except Exception:
        # Pillow raises many types for odd headers; a missing size is only cosmetic here.
        return None
