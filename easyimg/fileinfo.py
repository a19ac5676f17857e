"""What an image file carries: its PNG text chunks or its NAME.json sidecar, size and format."""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import UsageError

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
# Text from a file is untrusted: a chunk or sidecar past these is skipped, not read.
MAX_TEXT = 8 << 20
MAX_SIDECAR = 32 << 20
_SVG_HEAD = 64 << 10
_SVG_TAG = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE | re.DOTALL)
_ATTR = re.compile(rb"""\b(width|height|viewBox)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$")


@dataclass
class FileInfo:
    path: Path
    format: str | None
    width: int | None
    height: int | None
    bytes: int
    prompt: str | None = None
    model: str | None = None
    # The request body as sent (no key), when the file says what it was.
    parameters: dict[str, Any] | None = None
    revised_prompt: str | None = None
    created: int | str | None = None
    software: str | None = None
    # Every PNG text chunk, as written.
    text: dict[str, str] = field(default_factory=dict)
    sidecar: Path | None = None
    # Where the fields above came from: "png" (text chunks), "sidecar", or None.
    source: str | None = None
    c2pa: bool = False

    def request(self) -> dict[str, Any] | None:
        """The body to send again: the parameters, with prompt and model where they are known."""
        if self.parameters is None and self.prompt is None:
            return None
        body = dict(self.parameters or {})
        if self.prompt is not None:
            body.setdefault("prompt", self.prompt)
        if self.model is not None:
            body.setdefault("model", self.model)
        return body

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
            "prompt": self.prompt,
            "model": self.model,
            "parameters": self.parameters,
            "revised_prompt": self.revised_prompt,
            "created": self.created,
            "software": self.software,
            "source": self.source,
            "sidecar": str(self.sidecar) if self.sidecar else None,
            "c2pa": self.c2pa,
            "text": self.text,
        }


def read_info(path: Path) -> FileInfo:
    """What `path` carries; UsageError when it cannot be read or is not an image."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(_SVG_HEAD)
            size = path.stat().st_size
            fmt = sniff(head)
            if fmt is None:
                raise UsageError(f"{path} is not an image (PNG, JPEG, WebP, GIF or SVG)")
            info = FileInfo(path, fmt, None, None, size)
            if fmt == "png":
                fh.seek(0)
                _read_png(fh, info)
            elif fmt == "svg":
                info.width, info.height = svg_size(head)
    except OSError as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else exc.strerror or exc
        raise UsageError(f"cannot read {path}: {str(reason).lower()}") from None
    if fmt not in ("png", "svg"):
        from .output import image_dimensions

        info.width, info.height = image_dimensions(path) or (None, None)
    if info.text:
        _from_png_text(info)
    sidecar = path.with_suffix(".json")
    if sidecar != path and sidecar.is_file():
        doc = _load_sidecar(sidecar)
        if doc is not None:
            info.sidecar = sidecar
            if info.source is None:
                _from_sidecar(info, doc)
    return info


def sniff(head: bytes) -> str | None:
    """png, jpeg, webp, gif or svg from the first bytes; None for anything else."""
    from .output import sniff_format

    fmt = sniff_format(head)
    if fmt is not None:
        return fmt
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and _SVG_TAG.search(text)):
        return "svg"
    return None


def svg_size(head: bytes) -> tuple[int | None, int | None]:
    """Width and height from the root tag's width/height, else its viewBox; None if absent."""
    tag = _SVG_TAG.search(head)
    if tag is None:
        return None, None
    attrs = {k.decode().lower(): v.decode("utf-8", "replace") for k, v in _ATTR.findall(tag[0])}
    width, height = _length(attrs.get("width")), _length(attrs.get("height"))
    box = attrs.get("viewbox", "").replace(",", " ").split()
    if (width is None or height is None) and len(box) == 4:
        try:
            width = width if width is not None else round(float(box[2]))
            height = height if height is not None else round(float(box[3]))
        except ValueError:
            pass
    return width, height


def _length(value: str | None) -> int | None:
    match = _LENGTH.match(value or "")
    return round(float(match.group(1))) if match else None


def _chunks(fh: IO[bytes]) -> Iterator[tuple[bytes, int]]:
    """(type, length) of each chunk, with `fh` at its data; skipped data is never read."""
    if fh.read(8) != _PNG_SIG:
        return
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return
        length, kind = struct.unpack(">I4s", head)
        start = fh.tell()
        yield kind, length
        if kind == b"IEND":
            return
        fh.seek(start + length + 4)  # past the data and the CRC


def _read_png(fh: IO[bytes], info: FileInfo) -> None:
    for kind, length in _chunks(fh):
        if kind == b"IHDR" and length >= 8:
            info.width, info.height = struct.unpack(">II", fh.read(8))
        elif kind == b"caBX":
            info.c2pa = True
        elif kind in (b"tEXt", b"zTXt", b"iTXt") and length <= MAX_TEXT:
            parsed = _text(kind, fh.read(length))
            if parsed is not None:
                info.text.setdefault(*parsed)


def _inflate(data: bytes) -> bytes | None:
    z = zlib.decompressobj()
    try:
        out = z.decompress(data, MAX_TEXT)
    except zlib.error:
        return None
    return None if z.unconsumed_tail else out


def _text(kind: bytes, data: bytes) -> tuple[str, str] | None:
    key, sep, rest = data.partition(b"\0")
    if not sep or not key:
        return None
    name = key.decode("latin-1")
    if kind == b"tEXt":
        return name, rest.decode("latin-1")
    if kind == b"zTXt":
        raw = _inflate(rest[1:]) if rest[:1] == b"\0" else None
        return None if raw is None else (name, raw.decode("latin-1"))
    if len(rest) < 2:
        return None
    compressed, body = rest[0], rest[2:]
    # Language tag and translated keyword, each NUL-terminated, come before the text.
    parts = body.split(b"\0", 2)
    if len(parts) < 3:
        return None
    raw = _inflate(parts[2]) if compressed else parts[2]
    return None if raw is None else (name, raw.decode("utf-8", "replace"))


def _created(value: Any) -> int | str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        return int(value) if value.strip().isdigit() else value.strip()
    return None


def _from_png_text(info: FileInfo) -> None:
    text = info.text
    if not any(k in text for k in ("prompt", "model", "parameters")):
        return
    info.source = "png"
    info.prompt = text.get("prompt")
    info.model = text.get("model")
    info.revised_prompt = text.get("revised_prompt")
    info.created = _created(text.get("created"))
    info.software = text.get("software")
    try:
        params = json.loads(text.get("parameters", ""))
    except ValueError:
        params = None
    info.parameters = params if isinstance(params, dict) else None


def _load_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > MAX_SIDECAR:
            return None
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _from_sidecar(info: FileInfo, doc: Mapping[str, Any]) -> None:
    request = doc.get("request")
    body = request.get("body") if isinstance(request, Mapping) else None
    if not isinstance(body, dict):
        body = doc.get("parameters") if isinstance(doc.get("parameters"), dict) else None
    raw = doc.get("response")
    response: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    data = response.get("data")
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], Mapping) else {}
    body = body or {}
    prompt = _str(doc.get("prompt")) or _str(body.get("prompt"))
    model = _str(doc.get("model")) or _str(body.get("model"))
    if not body and prompt is None and model is None:
        return
    info.source = "sidecar"
    info.parameters = dict(body) if body else None
    info.prompt, info.model = prompt, model
    info.revised_prompt = _str(doc.get("revised_prompt")) or _str(first.get("revised_prompt"))
    info.created = _created(doc.get("created", response.get("created")))
    info.software = _str(doc.get("software"))
