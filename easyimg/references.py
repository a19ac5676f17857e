"""Edit inputs as references: URLs, file ids, and local files inlined as data: URLs (JSON edits)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .models import MB

if TYPE_CHECKING:
    from .inputs import InputImage

# OpenAI's ImageRefParam caps image_url at this many characters, data: URLs included.
IMAGE_URL_MAX = 20 * MB
_FILE_ID = re.compile(r"^file-[A-Za-z0-9_-]{1,200}$")


@dataclass(frozen=True)
class Reference:
    """An input the server fetches itself: an http(s) URL, or the id of an uploaded file."""

    label: str
    kind: str  # "url" or "file_id"

    def ref(self) -> dict[str, str]:
        return {"image_url": self.label} if self.kind == "url" else {"file_id": self.label}


def parse_reference(label: str) -> Reference | None:
    """A Reference when `label` is a URL or a `file-...` id (and no local file has that name)."""
    low = label[:8].lower()
    if low.startswith(("http://", "https://")):
        return Reference(label, "url")
    if _FILE_ID.match(label) and not Path(label).exists():
        return Reference(label, "file_id")
    return None


def inline_size(image: InputImage) -> int:
    """How long the image's data: URL will be, from its size alone."""
    return len(f"data:{image.content_type};base64,") + 4 * ((image.size + 2) // 3)


def data_url(image: InputImage) -> str:
    """The file as a data: URL, its length checked against the API's cap before encoding."""
    length = inline_size(image)
    if length > IMAGE_URL_MAX:
        most = (IMAGE_URL_MAX - 64) * 3 // 4
        raise UsageError(
            f"{image.label} is {image.size / MB:.1f} MB; inlined in a JSON edit it may be at "
            f"most {most / MB:.1f} MB (give a URL or a file-... id for bigger images)"
        )
    try:
        data = image.path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {image.label}: {(e.strerror or str(e)).lower()}") from None
    if len(data) != image.size:
        raise UsageError(f"{image.label} changed while it was being read")
    return f"data:{image.content_type};base64,{base64.b64encode(data).decode('ascii')}"


def image_ref(source: InputImage | Reference) -> dict[str, Any]:
    """The ImageRefParam for one input: a URL or file id as given, a local file inlined."""
    if isinstance(source, Reference):
        return source.ref()
    return {"image_url": data_url(source)}


def json_edit_fields(
    images: list[InputImage | Reference], mask: InputImage | Reference | None
) -> dict[str, Any]:
    """The `images` and `mask` fields of a JSON edit body."""
    fields: dict[str, Any] = {"images": [image_ref(i) for i in images]}
    if mask is not None:
        fields["mask"] = image_ref(mask)
    return fields
