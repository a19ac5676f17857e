"""The per-model rule table (data) and request validation against it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ValidationError

DEFAULT_MODEL = "gpt-image-2"

GPT_QUALITIES = ("low", "medium", "high", "auto")
GPT_FORMATS = ("png", "jpeg", "webp")
GPT_FIXED_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
MB = 1024 * 1024


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
    input_fidelity: bool = False
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
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())


_GPT_NAMED = {"square": "1024x1024", "landscape": "1536x1024", "portrait": "1024x1536"}


def _gpt(
    name: str,
    *,
    arbitrary: bool,
    qualities: tuple[str, ...] = GPT_QUALITIES,
    formats: tuple[str, ...] = GPT_FORMATS,
    aliases: tuple[str, ...] = (),
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
        input_fidelity=True,
        edits=True,
        max_edit_images=16,
        max_image_bytes=50 * MB,
        aliases=aliases,
        notes=notes,
    )


MODELS: dict[str, ModelRules] = {
    m.name: m
    for m in (
        _gpt(
            "gpt-image-1",
            arbitrary=False,
            notes="shut down 2026-10-23 on OpenAI; routers may still serve it",
        ),
        _gpt("gpt-image-1-mini", arbitrary=True),
        _gpt("gpt-image-1.5", arbitrary=True),
        _gpt("chatgpt-image-latest", arbitrary=True),
        _gpt("gpt-image-2", arbitrary=True),
        _gpt(
            "gpt-image-2.5-sunburst",
            arbitrary=True,
            qualities=(*GPT_QUALITIES, "xhigh", "max"),
            formats=(*GPT_FORMATS, "gif"),
        ),
        _gpt(
            "gpt-image-2.5-flare",
            arbitrary=True,
            qualities=(*GPT_QUALITIES, "xhigh", "max"),
            formats=(*GPT_FORMATS, "gif"),
        ),
        _gpt(
            "gpt-image-2.6-sunburst",
            arbitrary=True,
            qualities=(*GPT_QUALITIES, "xhigh", "max"),
            formats=(*GPT_FORMATS, "gif"),
        ),
        _gpt(
            "gpt-image-2.6-flare",
            arbitrary=True,
            qualities=(*GPT_QUALITIES, "xhigh", "max"),
            formats=(*GPT_FORMATS, "gif"),
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
            notes="legacy; retired on OpenAI 2026-05-12",
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
            notes="legacy; retired on OpenAI 2026-05-12",
        ),
    )
}

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
FIDELITIES = ("high", "low")
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


def parse_size(size: str) -> tuple[int, int] | None:
    m = _SIZE.match(size)
    return (int(m.group(1)), int(m.group(2))) if m else None


def resolve_size(model: str, size: str) -> str:
    """Map square/landscape/portrait to the model's size; other values pass through."""
    key = size.strip().lower()
    if key not in ("square", "landscape", "portrait"):
        return size.strip()
    rules = rules_for(model)
    if key not in rules.named_sizes:
        raise ValidationError(
            f"size {key!r} is not available for {model}; allowed: {', '.join(rules.sizes or ())}",
            param="size",
            code="invalid_size",
        )
    return rules.named_sizes[key]


def plan_counts(n: int, max_n: int) -> list[int]:
    """Split `n` images into request sizes of at most `max_n` (25 by 10 -> 10, 10, 5)."""
    if n < 1:
        return []
    full, rest = divmod(n, max(1, max_n))
    return [max_n] * full + ([rest] if rest else [])


def _allowed(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _check_choice(body: Mapping[str, Any], key: str, allowed: tuple[str, ...], model: str) -> None:
    value = body.get(key)
    if value is None or not allowed:
        return
    if value not in allowed:
        raise ValidationError(
            f"{key} {value!r} is not supported by {model}; allowed: {_allowed(allowed)}",
            param=key,
            code=f"invalid_{key}",
        )


def check_size(size: str, rules: ModelRules, model: str) -> None:
    if size == "auto":
        if rules.sizes is not None and "auto" not in rules.sizes:
            raise ValidationError(
                f"size 'auto' is not supported by {model}; allowed: {_allowed(rules.sizes)}",
                param="size",
                code="invalid_size",
            )
        return
    dims = parse_size(size)
    if dims is None:
        raise ValidationError(
            f"size {size!r} is not WxH, auto, square, landscape or portrait",
            param="size",
            code="invalid_size",
        )
    w, h = dims
    if w < 1 or h < 1:
        raise ValidationError(f"size {size!r} has a zero side", param="size", code="invalid_size")
    if rules.sizes is not None:
        if size not in rules.sizes:
            raise ValidationError(
                f"size {size!r} is not supported by {model}; allowed: {_allowed(rules.sizes)}",
                param="size",
                code="invalid_size",
            )
        return
    if rules is GENERIC:
        return
    m = rules.size_multiple
    if w % m or h % m:
        raise ValidationError(
            f"size {size!r} for {model}: width and height must both be divisible by {m}",
            param="size",
            code="invalid_size",
        )
    if max(w, h) / min(w, h) > rules.max_aspect:
        raise ValidationError(
            f"size {size!r} for {model}: aspect ratio must be between 1:3 and 3:1",
            param="size",
            code="invalid_size",
        )
    if w * h > rules.max_pixels or max(w, h) > rules.max_edge:
        raise ValidationError(
            f"size {size!r} for {model}: at most 3840x2160 (or 2160x3840) pixels",
            param="size",
            code="invalid_size",
        )


def validate(body: Mapping[str, Any], *, endpoint: str = "generations") -> None:
    """Raise ValidationError when `body` breaks a rule of its model (or a generic one).

    `endpoint` is "generations", "edits" or "variations".
    """
    model = str(body.get("model") or DEFAULT_MODEL)
    known = lookup(model)
    rules = known or GENERIC

    prompt = body.get("prompt")
    if endpoint != "variations":
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValidationError("prompt is empty", param="prompt", code="empty_prompt")
        if known and len(prompt) > rules.max_prompt:
            raise ValidationError(
                f"prompt is {len(prompt)} characters; {model} allows at most {rules.max_prompt}",
                param="prompt",
                code="prompt_too_long",
            )

    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValidationError(
            f"n must be a whole number of at least 1, not {n!r}", param="n", code="invalid_n"
        )
    if n > rules.max_n:
        raise ValidationError(
            f"n={n}: {model} makes at most {rules.max_n} image{'s' if rules.max_n > 1 else ''} "
            "a request",
            param="n",
            code="invalid_n",
        )

    size = body.get("size")
    if size is not None:
        check_size(str(size), rules, model)

    fmt = body.get("output_format")
    comp = body.get("output_compression")
    if comp is not None:
        if not isinstance(comp, int) or isinstance(comp, bool) or not 0 <= comp <= 100:
            raise ValidationError(
                f"output_compression must be 0-100, not {comp!r}",
                param="output_compression",
                code="invalid_output_compression",
            )
        if fmt not in ("jpeg", "webp"):
            raise ValidationError(
                "output_compression needs output_format jpeg or webp",
                param="output_compression",
                code="invalid_output_compression",
            )
    if body.get("background") == "transparent" and fmt not in (None, "png", "webp"):
        raise ValidationError(
            f"a transparent background needs output_format png or webp, not {fmt}",
            param="background",
            code="invalid_background",
        )
    partial = body.get("partial_images")
    if partial is not None and (not isinstance(partial, int) or not 0 <= partial <= 3):
        raise ValidationError(
            f"partial_images must be 0-3, not {partial!r}",
            param="partial_images",
            code="invalid_partial_images",
        )
    _check_choice(body, "background", BACKGROUNDS, model)
    _check_choice(body, "moderation", MODERATIONS, model)
    _check_choice(body, "style", STYLES, model)
    _check_choice(body, "response_format", RESPONSE_FORMATS, model)
    _check_choice(body, "input_fidelity", FIDELITIES, model)
    if not known:
        return

    _check_choice(body, "quality", rules.qualities, model)
    if fmt is not None:
        if not rules.formats:
            raise ValidationError(
                f"{model} does not take output_format (it always returns PNG)",
                param="output_format",
                code="invalid_output_format",
            )
        _check_choice(body, "output_format", rules.formats, model)
    _unsupported(body, "background", rules.background, model)
    _unsupported(body, "moderation", rules.moderation, model)
    _unsupported(body, "style", bool(rules.styles), model)
    _unsupported(
        body,
        "response_format",
        rules.response_format,
        model,
        why="GPT image models always return b64_json",
    )
    _unsupported(body, "stream", rules.streaming, model)
    _unsupported(body, "input_fidelity", rules.input_fidelity, model)
    if endpoint == "edits" and not rules.edits:
        raise ValidationError(
            f"{model} cannot edit images; use a GPT image model or dall-e-2",
            param="model",
            code="invalid_model",
        )
    if endpoint == "variations" and not rules.variations:
        raise ValidationError(
            f"{model} cannot make variations; only dall-e-2 can",
            param="model",
            code="invalid_model",
        )


def _unsupported(
    body: Mapping[str, Any], key: str, supported: bool, model: str, why: str = ""
) -> None:
    if body.get(key) not in (None, False) and not supported:
        reason = f" ({why})" if why else ""
        raise ValidationError(
            f"{key} is not supported by {model}{reason}", param=key, code=f"unsupported_{key}"
        )
