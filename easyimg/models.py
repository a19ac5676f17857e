"""The per-model rule table (data) and request validation against it."""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .errors import ValidationError

DEFAULT_MODEL = "gpt-image-2"

GPT_QUALITIES = ("low", "medium", "high", "auto")
BIG_QUALITIES = (*GPT_QUALITIES, "xhigh", "max")
GPT_FORMATS = ("png", "jpeg", "webp")
GPT_FIXED_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
MB = 1024 * 1024
# Arbitrary sizes below this many pixels are refused by the API (a still image's floor).
MIN_PIXELS = 655_360
# gif (2.6): every frame shares one sheet, so more frames means smaller ones. Each entry is
# (most frames, largest square side); a frame may have at most that side squared in pixels.
GIF_FRAME_CAPS = ((9, 960), (12, 816), (16, 720))
GIF_FRAMES = (2, 16)
GIF_FRAMES_DEFAULT = 9
GIF_FRAME_MS = (20, 2000)
# The SDK documents svg output as one image a request.
SVG_MAX_N = 1


@dataclass(frozen=True)
class ModelRules:
    """What one model accepts. `sizes=None` means any WxH within the arbitrary-size limits."""

    name: str
    family: str
    max_prompt: int
    max_n: int
    sizes: tuple[str, ...] | None
    named_sizes: Mapping[str, str]
    qualities: tuple[str, ...]
    formats: tuple[str, ...] = ()
    background: bool = False
    moderation: bool = False
    styles: tuple[str, ...] = ()
    response_format: bool = False
    streaming: bool = False
    # input_fidelity values the model takes on edits; () means the field is refused.
    fidelities: tuple[str, ...] = ()
    fidelity_note: str = ""
    complexity: bool = False
    # A transparent background works but is a preview (some relays answer it with a 400).
    transparent_preview: bool = False
    edits: bool = False
    variations: bool = False
    max_edit_images: int = 0
    max_image_bytes: int = 0
    # Arbitrary-size limits (sizes=None): multiple, aspect bounds, pixel and edge caps.
    size_multiple: int = 16
    max_aspect: float = 3.0
    max_pixels: int = 3840 * 2160
    max_edge: int = 3840
    min_pixels: int = 0
    # The day OpenAI shut (or shuts) the model down; routers may keep serving it.
    retired: date | None = None
    successor: str = ""
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())
    # Which API the model is reached through: "images" (/images/*) or "chat" (/chat/completions).
    dialect: str = "images"


_GPT_NAMED = {"square": "1024x1024", "landscape": "1536x1024", "portrait": "1024x1536"}
_NO_FIDELITY = "it always keeps its inputs at high fidelity; leave input_fidelity out"


def _gpt(
    name: str,
    *,
    arbitrary: bool,
    qualities: tuple[str, ...] = GPT_QUALITIES,
    formats: tuple[str, ...] = GPT_FORMATS,
    fidelities: tuple[str, ...] = ("high", "low"),
    fidelity_note: str = "",
    complexity: bool = False,
    transparent_preview: bool = False,
    retired: date | None = None,
    successor: str = "",
    notes: str = "",
) -> ModelRules:
    return ModelRules(
        name=name,
        family="gpt-image",
        max_prompt=32000,
        max_n=10,
        sizes=None if arbitrary else GPT_FIXED_SIZES,
        named_sizes=_GPT_NAMED,
        qualities=qualities,
        formats=formats,
        background=True,
        moderation=True,
        streaming=True,
        fidelities=fidelities,
        fidelity_note=fidelity_note,
        complexity=complexity,
        transparent_preview=transparent_preview,
        edits=True,
        max_edit_images=16,
        max_image_bytes=50 * MB,
        min_pixels=MIN_PIXELS if arbitrary else 0,
        retired=retired,
        successor=successor,
        notes=notes,
    )


_SHUTDOWN_1X = date(2026, 12, 1)
_USE_25 = "gpt-image-2.5-sunburst or gpt-image-2.5-flare"
# Sources: ROUTERS.md §1 and the openai package's image_generate_params / image_edit_params.
# 2.5 and newer descend from gpt-image-2, so they take its input_fidelity rule (assumed).
_TABLE = (
    _gpt("gpt-image-1", arbitrary=False, retired=date(2026, 10, 23), successor=_USE_25),
    _gpt(
        "gpt-image-1-mini",
        arbitrary=False,
        fidelities=("low",),
        retired=_SHUTDOWN_1X,
        successor=_USE_25,
    ),
    _gpt("gpt-image-1.5", arbitrary=False, retired=_SHUTDOWN_1X, successor=_USE_25),
    _gpt("chatgpt-image-latest", arbitrary=False, retired=_SHUTDOWN_1X, successor=_USE_25),
    _gpt(
        "gpt-image-2",
        arbitrary=True,
        fidelities=(),
        fidelity_note=_NO_FIDELITY,
        transparent_preview=True,
    ),
    *(
        _gpt(
            f"gpt-image-2.5-{name}",
            arbitrary=True,
            qualities=BIG_QUALITIES,
            fidelities=(),
            fidelity_note=_NO_FIDELITY,
        )
        for name in ("sunburst", "flare")
    ),
    *(
        _gpt(
            f"gpt-image-2.6-{name}",
            arbitrary=True,
            qualities=BIG_QUALITIES,
            formats=(*GPT_FORMATS, "gif", "svg"),
            fidelities=(),
            fidelity_note=_NO_FIDELITY,
            complexity=True,
            notes="sizes and xhigh/max assumed as for 2.5",
        )
        for name in ("sunburst", "flare")
    ),
    ModelRules(
        name="dall-e-2",
        family="dall-e",
        max_prompt=1000,
        max_n=10,
        sizes=("256x256", "512x512", "1024x1024"),
        named_sizes={"square": "1024x1024"},
        qualities=("standard",),
        response_format=True,
        edits=True,
        variations=True,
        max_edit_images=1,
        max_image_bytes=4 * MB,
        retired=date(2026, 5, 12),
        successor="a GPT image model",
        notes="legacy",
    ),
    ModelRules(
        name="dall-e-3",
        family="dall-e",
        max_prompt=4000,
        max_n=1,
        sizes=("1024x1024", "1792x1024", "1024x1792"),
        named_sizes={"square": "1024x1024", "landscape": "1792x1024", "portrait": "1024x1792"},
        qualities=("standard", "hd"),
        styles=("vivid", "natural"),
        response_format=True,
        retired=date(2026, 5, 12),
        successor="a GPT image model",
        notes="legacy",
    ),
)
MODELS: dict[str, ModelRules] = {m.name: m for m in _TABLE}

# Routers serve many more ids; these get generic checks only.
GENERIC = ModelRules(
    name="(unknown)",
    family="unknown",
    max_prompt=0,
    max_n=10,
    sizes=None,
    named_sizes=_GPT_NAMED,
    qualities=(),
)

BACKGROUNDS = ("auto", "transparent", "opaque")
MODERATIONS = ("auto", "low")
STYLES = ("vivid", "natural")
RESPONSE_FORMATS = ("url", "b64_json")
FORMATS = ("png", "jpeg", "webp")
ALL_FORMATS = (*FORMATS, "gif", "svg")
FIDELITIES = ("high", "low")
COMPLEXITIES = ("low", "medium", "high")
OPENAI_HOST = "api.openai.com"
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


def lookup(model: str) -> ModelRules | None:
    """Rules for a known model id or one of its dated snapshots; None for unknown ids."""
    if model in MODELS:
        return MODELS[model]
    base = _SNAPSHOT.sub("", model)
    return MODELS.get(base)


def rules_for(model: str) -> ModelRules:
    return lookup(model) or GENERIC


def request_limit(model: str, output_format: Any = None) -> int:
    """How many images one request may ask for (svg answers one image a request)."""
    limit = rules_for(model).max_n
    return min(limit, SVG_MAX_N) if output_format == "svg" else limit


DIALECTS = ("images", "chat")
# Ids that are not in the table but whose API is known by name (routers add a vendor prefix,
# `google/gemini-2.5-flash-image`, so the name after the last `/` is matched).
DIALECT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("gemini-*-image*", "chat"),
    ("nano-banana*", "chat"),
)


def dialect_for(model: str) -> str:
    """The API a model id is reached through by default: its rule, else its name, else images."""
    known = lookup(model)
    if known is not None:
        return known.dialect
    name = model.rsplit("/", 1)[-1].lower()
    for pattern, dialect in DIALECT_PATTERNS:
        if fnmatch.fnmatchcase(name, pattern):
            return dialect
    return "images"


def parse_size(size: str) -> tuple[int, int] | None:
    m = _SIZE.match(size)
    return (int(m.group(1)), int(m.group(2))) if m else None


def gif_frame_cap(frames: int | None) -> int:
    """The largest square frame side for `frames` gif frames (None: the API's default 9)."""
    count = GIF_FRAMES_DEFAULT if frames is None else frames
    for most, side in GIF_FRAME_CAPS:
        if count <= most:
            return side
    return GIF_FRAME_CAPS[-1][1]


def _gif_named(frames: int | None) -> dict[str, str]:
    side = gif_frame_cap(frames)
    # 3:2 within the frame's pixel budget, both sides multiples of 16.
    short = int(math.sqrt(side * side / 1.5)) // 16 * 16
    long = int(short * 1.5) // 16 * 16
    return {
        "square": f"{side}x{side}",
        "landscape": f"{long}x{short}",
        "portrait": f"{short}x{long}",
    }


def resolve_size(
    model: str, size: str, output_format: Any = None, frames: int | None = None
) -> str:
    """Map square/landscape/portrait to the model's size (a gif frame's, for gif)."""
    key = size.strip().lower()
    if key not in ("square", "landscape", "portrait"):
        return size.strip()
    rules = rules_for(model)
    named = (
        _gif_named(frames)
        if output_format == "gif" and rules.sizes is None
        else dict(rules.named_sizes)
    )
    if key not in named:
        raise ValidationError(
            f"size {key!r} is not available for {model}; allowed: {', '.join(rules.sizes or ())}",
            param="size",
            code="invalid_size",
        )
    return named[key]


def plan_counts(n: int, max_n: int) -> list[int]:
    """Split `n` images into request sizes of at most `max_n` (25 by 10 -> 10, 10, 5)."""
    if n < 1:
        return []
    full, rest = divmod(n, max(1, max_n))
    return [max_n] * full + ([rest] if rest else [])


def advisories(body: Mapping[str, Any], *, host: str | None, today: date) -> list[str]:
    """Warnings (not refusals) for a request that will likely be sent as it is."""
    model = str(body.get("model") or DEFAULT_MODEL)
    rules = lookup(model)
    if rules is None:
        return []
    out: list[str] = []
    if body.get("background") == "transparent" and rules.transparent_preview:
        out.append(
            f"background=transparent on {model} is a preview; some relays answer it with a 400"
        )
    if rules.retired and (host or "").lower() == OPENAI_HOST:
        tense = "was shut down" if today >= rules.retired else "shuts down"
        out.append(
            f"{model} {tense} on OpenAI on {rules.retired.isoformat()}; "
            f"use {rules.successor or 'a newer model'}"
        )
    return out


# Validation lives beside the table and imports it, so it comes last; callers may use either.
from .validation import check_size as check_size  # noqa: E402
from .validation import validate as validate  # noqa: E402
