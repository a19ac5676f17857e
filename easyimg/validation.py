"""Request validation against the rule table: one ValidationError naming the rule broken."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ValidationError
from .models import (
    BACKGROUNDS,
    COMPLEXITIES,
    DEFAULT_MODEL,
    FIDELITIES,
    GENERIC,
    GIF_FRAME_CAPS,
    GIF_FRAME_MS,
    GIF_FRAMES,
    GIF_FRAMES_DEFAULT,
    MODERATIONS,
    RESPONSE_FORMATS,
    STYLES,
    SVG_MAX_N,
    ModelRules,
    gif_frame_cap,
    lookup,
    parse_size,
)


def _allowed(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _fail(message: str, key: str, code: str | None = None) -> ValidationError:
    return ValidationError(message, param=key, code=code or f"invalid_{key}")


def _check_choice(body: Mapping[str, Any], key: str, allowed: tuple[str, ...], model: str) -> None:
    value = body.get(key)
    if value is None or not allowed:
        return
    if value not in allowed:
        raise _fail(
            f"{key} {value!r} is not supported by {model}; allowed: {_allowed(allowed)}", key
        )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_range(body: Mapping[str, Any], key: str, bounds: tuple[int, int]) -> None:
    value = body.get(key)
    if value is not None and (not _whole(value) or not bounds[0] <= value <= bounds[1]):
        raise _fail(f"{key} must be {bounds[0]}-{bounds[1]}, not {value!r}", key)


def check_size(
    size: str, rules: ModelRules, model: str, *, gif: bool = False, frames: int | None = None
) -> None:
    """Check `size` for `model`; with `gif`, as the frame of a `frames`-frame animation."""
    if size == "auto":
        if rules.sizes is not None and "auto" not in rules.sizes:
            raise _fail(
                f"size 'auto' is not supported by {model}; allowed: {_allowed(rules.sizes)}",
                "size",
            )
        return
    dims = parse_size(size)
    if dims is None:
        raise _fail(f"size {size!r} is not WxH, auto, square, landscape or portrait", "size")
    w, h = dims
    if w < 1 or h < 1:
        raise _fail(f"size {size!r} has a zero side", "size")
    if rules.sizes is not None:
        if size not in rules.sizes:
            raise _fail(
                f"size {size!r} is not supported by {model}; allowed: {_allowed(rules.sizes)}",
                "size",
            )
        return
    if rules is GENERIC:
        return
    m = rules.size_multiple
    if w % m or h % m:
        raise _fail(
            f"size {size!r} for {model}: width and height must both be divisible by {m}", "size"
        )
    if max(w, h) / min(w, h) > rules.max_aspect:
        raise _fail(f"size {size!r} for {model}: aspect ratio must be between 1:3 and 3:1", "size")
    if w * h > rules.max_pixels or max(w, h) > rules.max_edge:
        raise _fail(f"size {size!r} for {model}: at most 3840x2160 (or 2160x3840) pixels", "size")
    if gif:
        side = gif_frame_cap(frames)
        count = GIF_FRAMES_DEFAULT if frames is None else frames
        if w * h > side * side:
            raise _fail(
                f"size {size!r} for a {count}-frame gif: frames are at most {side}x{side} "
                f"({side * side:,} pixels) for {_frame_band(count)} frames",
                "size",
            )
    elif w * h < rules.min_pixels:
        raise _fail(
            f"size {size!r} for {model}: at least {rules.min_pixels:,} pixels (1024x640 or larger)",
            "size",
        )


def _frame_band(count: int) -> str:
    low = GIF_FRAMES[0]
    for most, _ in GIF_FRAME_CAPS:
        if count <= most:
            return f"{low}-{most}"
        low = most + 1
    return f"{low}-{GIF_FRAMES[1]}"


def _check_gif_svg(body: Mapping[str, Any], fmt: Any, *, mask: bool) -> None:
    """Rules of the gif and svg outputs that hold whatever the model."""
    for key in ("frame_count", "frame_duration_ms"):
        if body.get(key) is not None and fmt != "gif":
            raise _fail(f"{key} needs output_format gif", key)
    _check_range(body, "frame_count", GIF_FRAMES)
    _check_range(body, "frame_duration_ms", GIF_FRAME_MS)
    if body.get("svg") is not None:
        if fmt != "svg":
            raise _fail("the svg object needs output_format svg", "svg")
        if not isinstance(body["svg"], Mapping):
            raise _fail('svg must be an object such as {"model": ...}', "svg")
    if fmt not in ("gif", "svg"):
        return
    conflicts = [
        ("stream", body.get("stream") not in (None, False), "streaming"),
        ("partial_images", body.get("partial_images") is not None, "partial images"),
        ("output_compression", body.get("output_compression") is not None, "output_compression"),
    ]
    if fmt == "gif":
        conflicts.append(("mask", mask or body.get("mask") is not None, "a mask"))
    for key, present, what in conflicts:
        if present:
            raise _fail(f"{fmt} output cannot be combined with {what}", key, f"invalid_{fmt}")
    n = body.get("n", 1)
    if fmt == "svg" and _whole(n) and n > SVG_MAX_N:
        raise _fail(f"n={n}: svg output makes one image a request", "n")


def validate(body: Mapping[str, Any], *, endpoint: str = "generations", mask: bool = False) -> None:
    """Raise ValidationError when `body` breaks a rule of its model (or a generic one).

    `endpoint` is "generations", "edits" or "variations"; `mask` says an edit sends a mask
    outside the body (multipart).
    """
    model = str(body.get("model") or DEFAULT_MODEL)
    known = lookup(model)
    rules = known or GENERIC

    prompt = body.get("prompt")
    if endpoint != "variations":
        if not isinstance(prompt, str) or not prompt.strip():
            raise _fail("prompt is empty", "prompt", "empty_prompt")
        if known and len(prompt) > rules.max_prompt:
            raise _fail(
                f"prompt is {len(prompt)} characters; {model} allows at most {rules.max_prompt}",
                "prompt",
                "prompt_too_long",
            )

    n = body.get("n", 1)
    if not _whole(n) or n < 1:
        raise _fail(f"n must be a whole number of at least 1, not {n!r}", "n")
    if n > rules.max_n:
        raise _fail(
            f"n={n}: {model} makes at most {rules.max_n} image{'s' if rules.max_n > 1 else ''} "
            "a request",
            "n",
        )

    fmt = body.get("output_format")
    _check_gif_svg(body, fmt, mask=mask)
    size = body.get("size")
    if size is not None:
        check_size(str(size), rules, model, gif=fmt == "gif", frames=body.get("frame_count"))

    comp = body.get("output_compression")
    if comp is not None:
        _check_range(body, "output_compression", (0, 100))
        if fmt not in ("jpeg", "webp"):
            raise _fail("output_compression needs output_format jpeg or webp", "output_compression")
    if body.get("background") == "transparent" and fmt not in (None, "png", "webp"):
        raise _fail(
            f"a transparent background needs output_format png or webp, not {fmt}", "background"
        )
    _check_range(body, "partial_images", (0, 3))
    sid = body.get("safety_identifier")
    if sid is not None and not isinstance(sid, str):
        raise _fail(f"safety_identifier must be a string, not {sid!r}", "safety_identifier")
    _check_choice(body, "background", BACKGROUNDS, model)
    _check_choice(body, "moderation", MODERATIONS, model)
    _check_choice(body, "style", STYLES, model)
    _check_choice(body, "response_format", RESPONSE_FORMATS, model)
    _check_choice(body, "input_fidelity", FIDELITIES, model)
    _check_choice(body, "complexity", COMPLEXITIES, model)
    if not known:
        return

    _check_choice(body, "quality", rules.qualities, model)
    if fmt is not None:
        if not rules.formats:
            raise _fail(
                f"{model} does not take output_format (it always returns PNG)", "output_format"
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
    _unsupported(body, "complexity", rules.complexity, model, why="it is a gpt-image-2.6 field")
    _unsupported(body, "input_fidelity", bool(rules.fidelities), model, why=rules.fidelity_note)
    _check_choice(body, "input_fidelity", rules.fidelities, model)
    if endpoint == "edits" and not rules.edits:
        raise _fail(
            f"{model} cannot edit images; use a GPT image model or dall-e-2",
            "model",
            "invalid_model",
        )
    if endpoint == "variations" and not rules.variations:
        raise _fail(f"{model} cannot make variations; only dall-e-2 can", "model", "invalid_model")


def _unsupported(
    body: Mapping[str, Any], key: str, supported: bool, model: str, why: str = ""
) -> None:
    if body.get(key) not in (None, False) and not supported:
        reason = f" ({why})" if why else ""
        raise _fail(f"{key} is not supported by {model}{reason}", key, f"unsupported_{key}")
