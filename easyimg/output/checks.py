"""What was written, checked against what was asked: routers drop parameters silently."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .files import SavedImage

_PNG_ALPHA_TYPES = (4, 6)  # grey + alpha, RGBA


def _png_may_be_transparent(path: Path) -> bool:
    """From the header alone: an alpha channel, or a tRNS chunk before the pixels."""
    try:
        with open(path, "rb") as f:
            head = f.read(33)
            if len(head) < 26:
                return True
            if head[25] in _PNG_ALPHA_TYPES:
                return True
            pos = 33
            while True:
                f.seek(pos)
                chunk = f.read(8)
                if len(chunk) < 8:
                    return False
                length, kind = struct.unpack(">I4s", chunk)
                if kind == b"tRNS":
                    return True
                if kind in (b"IDAT", b"IEND"):
                    return False
                pos += 12 + length
    except OSError:
        return True  # not knowing is not a reason to warn


def has_transparency(path: Path, fmt: str) -> bool:
    """True when some pixel is not fully opaque (or when that cannot be told)."""
    if fmt == "png" and not _png_may_be_transparent(path):
        return False
    from PIL import Image  # lazily: only when a transparent background was asked for

    try:
        with Image.open(path) as im:
            if "A" not in im.getbands() and "transparency" not in im.info:
                return False
            alpha = im.convert("RGBA").getchannel("A")
            low = alpha.getextrema()[0]
            return bool(isinstance(low, int | float) and low < 255)
    except Exception:  # Pillow raises many types for odd files; no warning then
        return True


def answer_warnings(body: Mapping[str, Any], images: Sequence[SavedImage]) -> list[str]:
    """One line per way the images differ from the request (format, transparency)."""
    out: list[str] = []
    total = len(images)
    asked = body.get("output_format")
    if isinstance(asked, str):
        wrong = [i for i in images if i.format != asked]
        if wrong:
            got = ", ".join(sorted({i.format for i in wrong}))
            out.append(
                f"asked for {asked}, got {got} ({_of(len(wrong), total)}); "
                "the server may have ignored output_format"
            )
    if body.get("background") == "transparent":
        opaque = [
            i
            for i in images
            if i.format in ("png", "webp") and not has_transparency(i.path, i.format)
        ]
        if opaque:
            out.append(
                f"asked for a transparent background, got no transparent pixel "
                f"({_of(len(opaque), total)}); the server may have ignored background"
            )
    return out


def _of(count: int, total: int) -> str:
    if total == 1:
        return "1 image"
    return f"{count} of {total} images"
