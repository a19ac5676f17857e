"""WebP thumbnails in DIR/.easyimg-thumbs/, made once and reused while the image is unchanged."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from pathlib import Path

from ..errors import OutputError
from ..output import write_bytes_atomic

THUMBS_DIR = ".easyimg-thumbs"
THUMB_SIZE = 256
_QUALITY = 80
_NAME = re.compile(r"^[0-9a-f]{24}\.webp$")


def thumb_name(name: str, st: os.stat_result, size: int = THUMB_SIZE) -> str:
    """The thumbnail's file name: a hash of the image's name, size and mtime, so an edited
    image gets a new thumbnail and an unchanged one keeps its own."""
    key = f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0{size}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(key).hexdigest()[:24] + ".webp"


def prepare(directory: Path) -> tuple[Path, set[str]]:
    """The thumbnail folder (created if missing) and the thumbnails already in it."""
    folder = directory / THUMBS_DIR
    if folder.is_symlink():
        # Thumbnails are written and pruned there: it must be the folder's own.
        raise OutputError(f"{folder} is a symbolic link; remove it and run again")
    try:
        folder.mkdir(exist_ok=True)
        return folder, {n for n in os.listdir(folder) if _NAME.match(n)}
    except OSError as exc:
        raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None


def make_thumb(source: Path, target: Path, size: int = THUMB_SIZE) -> bool:
    """Write a WebP thumbnail of `source` (longest side `size`); False if it cannot be read."""
    from PIL import Image, ImageOps

    try:
        with Image.open(source) as opened:
            # thumbnail() asks a JPEG decoder for a reduced scale first (draft mode) and
            # reduces PNGs in integer steps before resampling: big images stay cheap.
            opened.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
            im: Image.Image = ImageOps.exif_transpose(opened) or opened
            if im.mode not in ("RGB", "RGBA"):
                has_alpha = im.mode in ("LA", "PA") or "transparency" in im.info
                im = im.convert("RGBA" if has_alpha else "RGB")
            buf = io.BytesIO()
            im.save(buf, "WEBP", quality=_QUALITY, method=4)
    except OutputError:
        raise
    except Exception:
        # Pillow raises many types for damaged or unsupported files; the card shows none.
        return False
    write_bytes_atomic(target, buf.getvalue())
    return True


def remove_stale(folder: Path, existing: set[str], used: set[str]) -> int:
    """Delete thumbnails no image uses any more (edited or removed images); returns how many."""
    removed = 0
    for name in existing - used:
        with contextlib.suppress(OSError):
            (folder / name).unlink()
            removed += 1
    return removed
