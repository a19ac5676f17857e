"""Images from chat completions: new-api's request form (EasyRouter) or OpenRouter's."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from .. import aspect
from ..errors import UsageError, ValidationError
from ..models import parse_size
from .chat_read import read_chat

if TYPE_CHECKING:
    import requests

    from ..inputs import InputImage
    from ..references import Reference
    from .client import Client
    from .dialect import OnImage

ENDPOINT = "chat/completions"
FORMS = ("new-api", "openrouter")
# Hosts whose request form is known; any other gets new-api's, which EasyRouter speaks.
KNOWN_FORMS = {"openrouter.ai": "openrouter"}
# Body fields of the images API that chat image models do not take, with the flag that sets each.
IMAGES_ONLY = {
    "quality": "-q/--quality",
    "background": "--background",
    "moderation": "--moderation",
    "style": "--style",
    "output_format": "-f/--format",
    "output_compression": "--compression",
    "response_format": "--response-format",
    "partial_images": "--partial-images",
    "input_fidelity": "--input-fidelity",
    "complexity": "--complexity",
    "frame_count": "--frames",
    "frame_duration_ms": "--frame-ms",
}
# Fields of the logical body that the request form places itself.
_PLACED = ("model", "prompt", "n", "stream", "aspect_ratio", "image_size")


def form_for(base_url: str, chosen: str | None = None) -> str:
    """The request form: the profile's `chat_style`, else the host's own, else new-api's."""
    if chosen:
        if chosen not in FORMS:
            raise UsageError(f"chat_style {chosen!r}: use one of {', '.join(FORMS)}")
        return chosen
    host = (urlsplit(base_url).hostname or "").lower()
    return KNOWN_FORMS.get(host, "new-api")


def prepare(body: Mapping[str, Any], *, validate: bool = True) -> tuple[dict[str, Any], list[str]]:
    """The chat form of an images-style body: `size` as an aspect ratio, `resolution` as
    `image_size`; and the warnings to show. Fields chat models do not take are usage errors.
    """
    out = dict(body)
    notes: list[str] = []
    model = str(out.get("model") or "")
    for key, flag in IMAGES_ONLY.items():
        if out.get(key) is not None and validate:
            raise UsageError(
                f"{flag} does not apply to chat image models (--api chat); "
                "send router-specific fields with -x KEY=VALUE"
            )
    size = out.pop("size", None)
    if size is not None and str(size) != "auto":
        ratio = _ratio(str(size), model, notes, validate)
        if ratio:
            out["aspect_ratio"] = ratio
    resolution = out.pop("resolution", None)
    if resolution is not None:
        value = aspect.normalize_size(str(resolution))
        allowed = aspect.sizes_for(model)
        if validate and (value is None or value not in allowed):
            raise ValidationError(
                f"resolution {resolution!r} is not supported by {model}; "
                f"allowed: {', '.join(allowed)}",
                param="image_size",
                code="invalid_image_size",
            )
        out["image_size"] = value or str(resolution)
    return out, notes


def _ratio(size: str, model: str, notes: list[str], validate: bool) -> str | None:
    ratios = aspect.ratios_for(model)
    named = aspect.NAMED.get(size.strip().lower())
    if named:
        return named
    if aspect.parse_ratio(size):
        if validate and size not in ratios:
            raise ValidationError(
                f"aspect ratio {size!r} is not supported by {model}; allowed: {', '.join(ratios)}",
                param="aspect_ratio",
                code="invalid_aspect_ratio",
            )
        return size
    dims = parse_size(size)
    if dims is None or min(dims) < 1:
        if not validate:
            return size
        raise ValidationError(
            f"size {size!r} is not an aspect ratio (16:9), WxH, auto, square, landscape "
            "or portrait",
            param="size",
            code="invalid_size",
        )
    ratio = aspect.nearest_ratio(*dims, ratios)
    notes.append(
        f"chat image models take an aspect ratio, not pixels: -s {size} is sent as {ratio}"
        " (--resolution 1K/2K/4K sets the size)"
    )
    return ratio


@dataclass
class Dialect:
    """Asks `/chat/completions` for an image; `images` are edit inputs, sent as data URLs
    (an input given as a URL goes as that URL: the router fetches it)."""

    form: str = "new-api"
    images: list[InputImage | Reference] = field(default_factory=list)
    name: ClassVar[str] = "chat"
    endpoint: str = ENDPOINT
    _urls: list[str] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def request_body(self, body: Mapping[str, Any], *, data_urls: bool = True) -> dict[str, Any]:
        """The wire body; with `data_urls=False`, input images are shown by size (--dry-run)."""
        prompt = str(body.get("prompt", ""))
        content: Any = prompt
        if self.images:
            urls = self._data_urls() if data_urls else [_shown(i) for i in self.images]
            content = [
                {"type": "text", "text": prompt},
                *({"type": "image_url", "image_url": {"url": u}} for u in urls),
            ]
        out: dict[str, Any] = {
            "model": body.get("model"),
            "stream": bool(body.get("stream")),
            "messages": [{"role": "user", "content": content}],
            "modalities": ["image", "text"],
        }
        config = {k: body[k] for k in ("aspect_ratio", "image_size") if body.get(k)}
        if config and self.form == "openrouter":
            out["image_config"] = config
        elif config:
            # new-api passes this object through to Google as is: the key is literally
            # extra_body, and the names inside must be snake_case.
            out["extra_body"] = {"google": {"image_config": config}}
        out.update({k: v for k, v in body.items() if k not in _PLACED})
        return out

    def _data_urls(self) -> list[str]:
        # Encoded once for all the requests of a command (-n N sends N of them).
        with self._lock:
            if self._urls is None:
                self._urls = [_data_url(i) for i in self.images]
            return self._urls

    def send(self, client: Client, body: Mapping[str, Any], count: int) -> requests.Response:
        return client.request("POST", self.endpoint, json_body=self.request_body(body))

    def read(self, resp: requests.Response, on_image: OnImage) -> dict[str, Any]:
        return read_chat(resp, on_image)


def _data_url(image: InputImage | Reference) -> str:
    from ..inputs import InputImage
    from ..references import data_url

    return data_url(image) if isinstance(image, InputImage) else image.label


def _shown(image: InputImage | Reference) -> str:
    from ..inputs import InputImage

    if not isinstance(image, InputImage):
        return image.label
    return f"data:{image.content_type};base64,<{image.size} bytes of {image.label}>"
