"""Input images for edit and vary: checked before sending, then streamed from disk as multipart."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .models import GENERIC, MB, ModelRules
from .output import image_dimensions, sniff_format
from .references import Reference, parse_reference

if TYPE_CHECKING:
    import requests

    from .api.client import Client

CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
EDIT_FORMATS = ("png", "jpeg", "webp")
MAX_EDIT_IMAGES = 16  # the endpoint's own limit, for models the table does not know
MASK_MAX_BYTES = 4 * MB
VARY_MAX_BYTES = 4 * MB
CHUNK = 1 << 16
_NAMES = {
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "webp": "a WebP image",
    "gif": "a GIF image",
}
# Signatures of files people pass by mistake, to say what the file looks like instead.
_LOOKS = (
    (0, b"%PDF", "a PDF document"),
    (0, b"BM", "a BMP image"),
    (0, b"II*\0", "a TIFF image"),
    (0, b"MM\0*", "a TIFF image"),
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"\x1f\x8b", "gzip data"),
    (0, b"\0\0\1\0", "an ICO icon"),
    (4, b"ftypheic", "a HEIC image"),
    (4, b"ftypheix", "a HEIC image"),
    (4, b"ftypmif1", "a HEIF image"),
    (4, b"ftypavif", "an AVIF image"),
    (4, b"ftyp", "a video"),
)


@dataclass(frozen=True)
class InputImage:
    """One checked input file; `label` is the path as the user typed it, for messages."""

    path: Path
    label: str
    format: str | None
    size: int

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.format or "", "application/octet-stream")


def _human(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB // 10 else f"{n / 1024:.0f} KB"


def looks_like(head: bytes) -> str | None:
    """What a non-image file seems to be, from its first bytes, when that is cheap to tell."""
    fmt = sniff_format(head)
    if fmt:
        return _NAMES[fmt]
    for offset, sig, what in _LOOKS:
        if head[offset : offset + len(sig)] == sig:
            return what
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not text or not all(c.isprintable() or c in "\t\r\n" for c in text):
        return None
    start = text.lstrip().lower()
    if start.startswith(("<svg", "<?xml")) and "<svg" in start:
        return "an SVG drawing"
    if start.startswith("<"):
        return "HTML or XML"
    if start.startswith(("{", "[")):
        return "JSON"
    return "text"


def open_input(label: str) -> tuple[InputImage, bytes]:
    """The file's facts and first bytes; UsageError when it is missing or unreadable."""
    path = Path(label)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{label} is a directory, not an image")
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{label} is not a regular file")
        with open(path, "rb") as f:
            head = f.read(64)
    except FileNotFoundError:
        raise UsageError(f"{label}: no such file") from None
    except PermissionError:
        raise UsageError(f"cannot read {label}: permission denied") from None
    except OSError as e:
        raise UsageError(f"cannot read {label}: {(e.strerror or str(e)).lower()}") from None
    return InputImage(path, label, sniff_format(head), info.st_size), head


def _not_image(image: InputImage, head: bytes, kinds: str, what: str = "") -> UsageError:
    if not head:
        return UsageError(f"{what}{image.label} is empty, not an image")
    seems = looks_like(head)
    tail = f" (it looks like {seems})" if seems else ""
    return UsageError(f"{what}{image.label} is not {kinds}{tail}")


def dimensions(image: InputImage) -> tuple[int, int]:
    dims = image_dimensions(image.path)
    if dims is None:
        raise UsageError(f"cannot read the image in {image.label} (broken or truncated file)")
    return dims


def _has_alpha(image: InputImage) -> bool:
    from PIL import Image

    try:
        with Image.open(image.path) as im:
            return "A" in im.getbands() or "transparency" in im.info
    except Exception:  # Pillow raises many types for broken files
        raise UsageError(
            f"cannot read the image in {image.label} (broken or truncated file)"
        ) from None


def check_edit(
    labels: list[str], mask: str | None, rules: ModelRules, model: str, *, validate: bool = True
) -> tuple[list[InputImage | Reference], InputImage | Reference | None]:
    """Check the images and mask of an edit before anything is sent.

    Files must exist and be readable whatever `validate` says; the rest (formats, sizes,
    counts, the mask's alpha and size) are the API's rules and skipped with --no-validate.
    URLs and `file-...` ids come back as References: the server reads them, not easyimg.
    """
    known = rules is not GENERIC
    limit = rules.max_edit_images or MAX_EDIT_IMAGES
    if validate and len(labels) > limit:
        raise UsageError(
            f"{len(labels)} images given; {model} edits at most {limit} "
            f"image{'s' if limit > 1 else ''} at a time"
        )
    images: list[InputImage | Reference] = []
    for label in labels:
        ref = parse_reference(label)
        if ref is not None:
            images.append(ref)
            continue
        image, head = open_input(label)
        if validate:
            _check_edit_image(image, head, rules, model, known)
        images.append(image)
    if validate and known and rules.family == "dall-e" and _any_reference(images, mask):
        raise UsageError(
            f"URLs and file ids are sent as a JSON edit, which {model} does not take; "
            "give it local files"
        )
    if mask is None:
        return images, None
    mask_ref = parse_reference(mask)
    if mask_ref is not None:
        return images, mask_ref
    found, head = open_input(mask)
    if not validate:
        return images, found
    _check_mask(found, head, mask, known)
    first = images[0]
    if isinstance(first, Reference):
        return images, found  # its size is the server's to check
    mask_dims, first_dims = dimensions(found), dimensions(first)
    if mask_dims != first_dims:
        raise UsageError(
            f"the mask {mask} is {mask_dims[0]}x{mask_dims[1]} but {first.label} is "
            f"{first_dims[0]}x{first_dims[1]}; the mask must be the size of the "
            "first image"
        )
    return images, found


def _any_reference(images: list[InputImage | Reference], mask: str | None) -> bool:
    refs = any(isinstance(i, Reference) for i in images)
    return refs or (mask is not None and parse_reference(mask) is not None)


def _check_mask(found: InputImage, head: bytes, mask: str, known: bool) -> None:
    if found.format != "png":
        if found.format:
            raise UsageError(
                f"the mask {mask} is {_NAMES[found.format]}; the mask must be a "
                "PNG with an alpha channel"
            )
        raise _not_image(found, head, "a PNG image", what="the mask ")
    if known and found.size >= MASK_MAX_BYTES:
        raise UsageError(
            f"the mask {mask} is {_human(found.size)}; masks must be under "
            f"{MASK_MAX_BYTES // MB} MB"
        )
    if not _has_alpha(found):
        raise UsageError(
            f"the mask {mask} has no alpha channel; its transparent pixels mark where to edit"
        )


def _check_edit_image(
    image: InputImage, head: bytes, rules: ModelRules, model: str, known: bool
) -> None:
    if image.format not in EDIT_FORMATS:
        raise _not_image(image, head, "a PNG, JPEG or WebP image")
    if rules.max_image_bytes and image.size >= rules.max_image_bytes:
        raise UsageError(
            f"{image.label} is {_human(image.size)}; {model} takes images under "
            f"{rules.max_image_bytes // MB} MB"
        )
    if known and rules.family == "dall-e":
        if image.format != "png":
            raise UsageError(
                f"{image.label} is {_NAMES[image.format]}; {model} edits only square PNG images"
            )
        w, h = dimensions(image)
        if w != h:
            raise UsageError(f"{image.label} is {w}x{h}; {model} edits only square PNG images")


def check_vary(label: str, *, validate: bool = True) -> InputImage:
    """The image of a variation: a square PNG under 4 MB (dall-e-2's rules)."""
    image, head = open_input(label)
    if not validate:
        return image
    if image.format != "png":
        if image.format:
            raise UsageError(
                f"{label} is {_NAMES[image.format]}; variations need a square PNG image"
            )
        raise _not_image(image, head, "a PNG image")
    if image.size >= VARY_MAX_BYTES:
        raise UsageError(
            f"{label} is {_human(image.size)}; variations need an image under "
            f"{VARY_MAX_BYTES // MB} MB"
        )
    w, h = dimensions(image)
    if w != h:
        raise UsageError(f"{label} is {w}x{h}; variations need a square image")
    return image


# --- multipart ------------------------------------------------------------------------------


def form_fields(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Body fields as multipart text fields, flattened the way the openai SDK does it.

    Numbers become their decimal text, booleans "true"/"false", objects `key[sub]`, lists
    `key[]`; unset (None) fields are left out.
    """
    out: list[tuple[str, str]] = []
    for key, value in body.items():
        _flatten(str(key), value, out)
    return out


def _flatten(key: str, value: Any, out: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        out.append((key, "true" if value else "false"))
    elif isinstance(value, Mapping):
        for sub, inner in value.items():
            _flatten(f"{key}[{sub}]", inner, out)
    elif isinstance(value, list | tuple):
        for inner in value:
            _flatten(f"{key}[]", inner, out)
    else:
        out.append((key, str(value)))


def _quote(value: str) -> str:
    # HTML5 form encoding, as browsers, urllib3 and httpx do it.
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody:
    """A multipart/form-data body streamed from disk in 64 KiB pieces.

    Its length is known up front (a Content-Length, not chunked), and iterating again starts
    over from the first byte, so a retried request sends the whole body again.
    """

    def __init__(
        self,
        fields: list[tuple[str, str]],
        files: list[tuple[str, InputImage]],
        *,
        boundary: str | None = None,
        chunk_size: int = CHUNK,
    ) -> None:
        self.boundary = boundary or os.urandom(16).hex()
        self.chunk_size = chunk_size
        self.fields = fields
        self.files = files
        sep = f"--{self.boundary}\r\n".encode()
        self._heads: list[bytes] = []
        for name, value in fields:
            self._heads.append(
                sep
                + f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
                + value.encode("utf-8")
            )
        for name, image in files:
            self._heads.append(
                sep
                + (
                    f'Content-Disposition: form-data; name="{_quote(name)}"; '
                    f'filename="{_quote(image.filename)}"\r\n'
                    f"Content-Type: {image.content_type}\r\n\r\n"
                ).encode()
            )
        self._tail = f"--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        heads = sum(len(h) + 2 for h in self._heads)  # each part ends with CRLF
        return heads + sum(image.size for _, image in self.files) + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        n = len(self.fields)
        for head in self._heads[:n]:
            yield head + b"\r\n"
        for head, (_, image) in zip(self._heads[n:], self.files, strict=True):
            yield head
            yield from self._file(image)
            yield b"\r\n"
        yield self._tail

    def _file(self, image: InputImage) -> Iterator[bytes]:
        # Exactly the size checked before: the Content-Length was computed from it.
        left = image.size
        try:
            with open(image.path, "rb") as f:
                while left > 0:
                    piece = f.read(min(self.chunk_size, left))
                    if not piece:
                        break
                    left -= len(piece)
                    yield piece
                grew = left == 0 and f.read(1)
        except OSError as e:
            # Not an OSError any more: urllib3 would take that for a network failure.
            raise UsageError(
                f"cannot read {image.label}: {(e.strerror or str(e)).lower()}"
            ) from None
        if left or grew:
            raise UsageError(f"{image.label} changed while it was being sent")


def post_multipart(client: Client, path: str, body: MultipartBody) -> requests.Response:
    """POST `body` with the client's retries; the files are read from disk as it is sent."""
    return client.request("POST", path, data=body, headers={"Content-Type": body.content_type})
