"""Image requests for `easyimg serve`: checked against the model rules, drawn, answered."""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from .. import errors, models
from . import placeholder
from .request import Refusal
from .tokens import TOKENS_PER_MPX, svg_usage, usage

MAX_PIXELS = 4096 * 4096  # what the server agrees to draw, whatever the model
MAX_EDGE = 8192
_MAX_KEPT_IMAGES = 256
_MAX_KEPT_BYTES = 512 * 1024 * 1024


@dataclass
class Plan:
    """One validated image request, with everything needed to draw and answer it."""

    endpoint: str
    model: str
    family: str
    prompt: str
    n: int
    width: int
    height: int
    fmt: str
    compression: int | None
    background: str
    quality: str
    response_format: str
    stream: bool
    partials: int
    seed: str
    inputs: list[Image.Image] = field(default_factory=list)
    mask: Image.Image | None = None
    frames: int = 0
    frame_ms: int = 0
    svg_model: str = ""
    safety_identifier: str | None = None
    # 2.6 answers carry a generation id per image (ROUTERS.md §1).
    generation_ids: bool = False

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def note(self) -> str:
        frames = f" frames={self.frames}" if self.fmt == "gif" else ""
        return f"{self.size} {self.fmt}{frames} n={self.n}"


def _int_field(body: dict[str, Any], key: str) -> None:
    """Form fields arrive as text: turn the numeric ones into ints as the API does."""
    value = body.get(key)
    if isinstance(value, str):
        try:
            body[key] = int(value.strip())
        except ValueError:
            raise Refusal(
                400,
                f"Invalid type for '{key}': expected an integer, but got a string that is not one.",
                param=key,
                code="invalid_type",
            ) from None


def _must_be_text(body: dict[str, Any], key: str) -> None:
    value = body[key]
    if not isinstance(value, str):
        raise Refusal(
            400,
            f"Invalid type for '{key}': expected a string, but got {_json_type(value)} instead.",
            param=key,
            code="invalid_type",
        )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    return "an array" if isinstance(value, list) else "an object"


def make_plan(
    endpoint: str, fields: dict[str, Any], images: list[bytes], mask: bytes | None
) -> Plan:
    """Check a request against the model rules (the client's own table) and resolve defaults."""
    body = dict(fields)
    if endpoint == "variations" and not body.get("model"):
        body["model"] = "dall-e-2"
    if body.get("model") is not None:
        _must_be_text(body, "model")
    if "prompt" in body:
        _must_be_text(body, "prompt")
    model = body.get("model") or models.DEFAULT_MODEL
    if endpoint != "variations" and "prompt" not in body:
        raise Refusal(
            400,
            "Missing required parameter: 'prompt'.",
            param="prompt",
            code="missing_required_parameter",
        )
    if endpoint != "generations" and not images:
        raise Refusal(
            400,
            "Missing required parameter: 'image'.",
            param="image",
            code="missing_required_parameter",
        )
    for key in ("n", "output_compression", "partial_images", "frame_count", "frame_duration_ms"):
        _int_field(body, key)
    if isinstance(body.get("stream"), str):
        body["stream"] = body["stream"].strip().lower() == "true"
    try:
        if isinstance(body.get("size"), str):
            body["size"] = models.resolve_size(model, body["size"])
        models.validate(body, endpoint=endpoint, mask=mask is not None)
    except errors.ValidationError as exc:
        raise Refusal(400, exc.message, param=exc.param, code=exc.code) from None
    rules = models.rules_for(model)
    limit = rules.max_edit_images or 16
    if endpoint == "edits" and len(images) > limit:
        raise Refusal(
            400,
            f"{len(images)} images given; {model} takes at most {limit}.",
            param="image",
            code="too_many_images",
        )
    inputs = [_decode(data, rules, "image") for data in images]
    mask_img = _decode(mask, rules, "mask") if mask is not None else None
    if mask_img is not None and mask_img.size != inputs[0].size:
        raise Refusal(
            400,
            f"Invalid mask: it is {mask_img.width}x{mask_img.height} but the image"
            f" is {inputs[0].width}x{inputs[0].height}; they must be the same size.",
            param="mask",
            code="invalid_mask",
        )
    fmt = body.get("output_format") or "png"
    if fmt not in placeholder.MIME_TYPES:
        raise Refusal(
            400,
            f"output_format {fmt!r} is not supported; use png, jpeg, webp, gif or svg.",
            param="output_format",
            code="invalid_output_format",
        )
    frames = body.get("frame_count") or models.GIF_FRAMES_DEFAULT
    if fmt == "gif" and body.get("size") in (None, "auto"):
        side = models.gif_frame_cap(frames)
        width, height = side, side
    else:
        width, height = _dimensions(body.get("size"), rules, inputs)
    gpt = rules.family == "gpt-image"
    quality = body.get("quality")
    prompt = body.get("prompt")
    return Plan(
        endpoint=endpoint,
        model=model,
        family=rules.family,
        prompt=prompt if isinstance(prompt, str) else "",
        n=body.get("n") or 1,
        width=width,
        height=height,
        fmt=fmt,
        compression=body.get("output_compression"),
        background="transparent" if body.get("background") == "transparent" else "opaque",
        # The API reports the quality it used; "auto" comes back as what it picked.
        quality=quality if quality in TOKENS_PER_MPX else "high",
        response_format=body.get("response_format")
        or ("b64_json" if gpt or rules is models.GENERIC else "url"),
        stream=body.get("stream") is True,
        partials=body.get("partial_images") or 0,
        seed=str(body["seed"]) if body.get("seed") is not None else "",
        inputs=inputs,
        mask=mask_img,
        frames=frames if fmt == "gif" else 0,
        frame_ms=body.get("frame_duration_ms") or 200,
        svg_model=_svg_model(body.get("svg"), model),
        safety_identifier=body.get("safety_identifier") or body.get("user") or None,
        generation_ids=rules.complexity,
    )


def _svg_model(svg: Any, model: str) -> str:
    if isinstance(svg, dict) and isinstance(svg.get("model"), str):
        return svg["model"]
    return f"{model}-svg"


def _decode(data: bytes, rules: models.ModelRules, param: str) -> Image.Image:
    if rules.max_image_bytes and len(data) > rules.max_image_bytes:
        raise Refusal(
            400,
            f"The {param} is {len(data)} bytes; {rules.name} takes at most "
            f"{rules.max_image_bytes // (1024 * 1024)} MB.",
            param=param,
            code="image_too_large",
        )
    try:
        img, fmt = placeholder.open_image(data)
    except ValueError:
        raise Refusal(
            400,
            f"Invalid {param} file: it is not a PNG, JPEG, WebP or GIF image.",
            param=param,
            code="invalid_image_file",
        ) from None
    if rules.name == "dall-e-2" and (fmt != "png" or img.width != img.height):
        raise Refusal(
            400,
            f"Invalid {param}: dall-e-2 takes a square PNG.",
            param=param,
            code="invalid_image_format",
        )
    return img


def _dimensions(size: Any, rules: models.ModelRules, inputs: list[Image.Image]) -> tuple[int, int]:
    if size in (None, "auto"):
        if inputs and rules.family == "gpt-image":
            # Like the API: "auto" on an edit follows the shape of the input.
            ratio = inputs[0].width / inputs[0].height
            if ratio > 1.2:
                return 1536, 1024
            return (1024, 1536) if ratio < 1 / 1.2 else (1024, 1024)
        return 1024, 1024
    dims = models.parse_size(str(size))
    if dims is None:
        raise Refusal(400, f"Invalid size {size!r}.", param="size", code="invalid_size")
    w, h = dims
    if w * h > MAX_PIXELS or max(w, h) > MAX_EDGE:
        raise Refusal(
            400,
            f"size {size!r}: easyimg serve draws at most {MAX_PIXELS} pixels and "
            f"{MAX_EDGE} a side.",
            param="size",
            code="invalid_size",
        )
    return w, h


def render(plan: Plan, index: int) -> Image.Image:
    label = f"{plan.model} · {plan.size}"
    if plan.endpoint == "variations":
        return placeholder.vary(
            plan.inputs[0], plan.width, plan.height, index=index, total=plan.n, label=label
        )
    if plan.endpoint == "edits":
        img = placeholder.edit(
            plan.inputs,
            plan.prompt,
            plan.width,
            plan.height,
            mask=plan.mask,
            index=index,
            total=plan.n,
            label=label,
        )
        return img if plan.background == "transparent" else img.convert("RGB")
    return placeholder.generate(
        plan.prompt,
        plan.width,
        plan.height,
        index=index,
        total=plan.n,
        label=label,
        transparent=plan.background == "transparent",
        seed=plan.seed,
    )


class ImageStore:
    """Images answered in `url` mode, kept in memory, oldest dropped first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0

    def put(self, blob: bytes, fmt: str) -> str:
        name = f"img_{secrets.token_hex(12)}.{fmt}"
        with self._lock:
            self._items[name] = blob
            self._bytes += len(blob)
            while len(self._items) > 1 and (
                len(self._items) > _MAX_KEPT_IMAGES or self._bytes > _MAX_KEPT_BYTES
            ):
                self._bytes -= len(self._items.popitem(last=False)[1])
        return name

    def get(self, name: str) -> bytes | None:
        with self._lock:
            return self._items.get(name)


def draw(plan: Plan, index: int) -> bytes:
    """One answer image's bytes, in the plan's format (svg text, an animated gif, a still)."""
    if plan.fmt == "svg":
        words = plan.prompt if plan.endpoint == "generations" else f"edit: {plan.prompt}"
        label = f"{plan.model} · {plan.size}"
        return placeholder.svg(
            words, plan.width, plan.height, index=index, total=plan.n, label=label, seed=plan.seed
        )
    image = render(plan, index)
    if plan.fmt == "gif":
        return placeholder.animate(image, plan.frames, plan.frame_ms)
    return placeholder.encode(image, plan.fmt, plan.compression)


def answer(plan: Plan, store: ImageStore, base_url: str) -> dict[str, Any]:
    """The ImagesResponse for a non-streaming request."""

    if plan.n == 1:
        blobs = [draw(plan, 0)]
    else:
        # Pillow lets go of the GIL while resizing and encoding, so threads share the cores.
        with ThreadPoolExecutor(max_workers=min(plan.n, os.cpu_count() or 1)) as pool:
            blobs = list(pool.map(lambda i: draw(plan, i), range(plan.n)))
    data: list[dict[str, Any]] = []
    for blob in blobs:
        if plan.response_format == "url":
            item: dict[str, Any] = {"url": f"{base_url}/images/files/{store.put(blob, plan.fmt)}"}
        else:
            item = {"b64_json": base64.b64encode(blob).decode("ascii")}
        if plan.model.startswith("dall-e-3"):
            item["revised_prompt"] = (
                f"{plan.prompt.strip()}, shown as a soft two-colour "
                "gradient with the words of the prompt written across it"
            )
        if plan.generation_ids:
            item["generation_id"] = f"gen_{secrets.token_hex(12)}"
        data.append(item)
    out: dict[str, Any] = {"created": int(time.time())}
    if plan.family == "gpt-image":
        out["background"] = plan.background
    out["data"] = data
    if plan.family == "gpt-image":
        spent = usage(plan)
        spent["output_tokens_details"] = {"image_tokens": spent["output_tokens"], "text_tokens": 0}
        out.update(output_format=plan.fmt, quality=plan.quality, size=plan.size, usage=spent)
    if plan.fmt == "svg":
        out["svg"] = {"model": plan.svg_model}
        out["svg_usage"] = svg_usage(plan, blobs)
    if plan.safety_identifier:
        out["safety_identifier"] = plan.safety_identifier
    return out


def events(plan: Plan) -> Iterator[tuple[str, dict[str, Any]]]:
    """The SSE events of a streamed request: partial images, then the completed one, per image."""
    kind = "image_generation" if plan.endpoint == "generations" else "image_edit"

    def event(img: Image.Image, name: str) -> dict[str, Any]:
        blob = placeholder.encode(img, plan.fmt, plan.compression)
        return {
            "type": name,
            "b64_json": base64.b64encode(blob).decode("ascii"),
            "created_at": int(time.time()),
            "size": plan.size,
            "quality": plan.quality,
            "background": plan.background,
            "output_format": plan.fmt,
        }

    for i in range(plan.n):
        final = render(plan, i)
        for k, rough in enumerate(placeholder.partials(final, plan.partials)):
            yield (
                f"{kind}.partial_image",
                {**event(rough, f"{kind}.partial_image"), "partial_image_index": k},
            )
        # Input tokens are counted once, on the first image, so the events sum to one request.
        yield (
            f"{kind}.completed",
            {
                **event(final, f"{kind}.completed"),
                "usage": usage(plan, images=1, with_input=i == 0),
            },
        )
