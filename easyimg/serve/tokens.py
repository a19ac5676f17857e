"""Plausible token counts for `easyimg serve` answers, shaped like the API's usage objects."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .images import Plan

TOKENS_PER_MPX = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 6240, "max": 8320}


def _image_tokens(width: int, height: int) -> int:
    # The vision rule: fit in 2048 square, shortest side to 768, 170 tokens per 512 tile + 85.
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def _output_tokens(plan: Plan) -> int:
    """What the real model bills for one such image where that is known (the price table),
    else a count by area; so an offline run rehearses a budget with realistic numbers."""
    from ..prices import BUILTIN, TOKEN_RULES, base_model, pick

    price = BUILTIN.get(base_model(plan.model))
    if price is not None:
        known = pick(price.image_tokens, plan.quality, plan.size)
        if known is None and price.token_rule in TOKEN_RULES:
            known = TOKEN_RULES[price.token_rule](plan.quality, plan.width, plan.height)
        if known is not None:
            return int(known)
    return round(TOKENS_PER_MPX[plan.quality] * plan.width * plan.height / (1 << 20))


def usage(plan: Plan, *, images: int | None = None, with_input: bool = True) -> dict[str, Any]:
    """Plausible token counts: ~1.3 tokens a word, input images by size, output by size/quality."""
    text = max(1, round(len(plan.prompt.split()) * 1.3)) if with_input else 0
    pictures = sum(_image_tokens(*i.size) for i in plan.inputs) if with_input else 0
    per_image = _output_tokens(plan)
    per_image *= max(1, plan.frames)  # every gif frame is drawn
    if plan.stream:
        per_image += 100 * plan.partials  # the API bills each partial image
    output = per_image * (plan.n if images is None else images)
    return {
        "input_tokens": text + pictures,
        "input_tokens_details": {"text_tokens": text, "image_tokens": pictures},
        "output_tokens": output,
        "total_tokens": text + pictures + output,
    }


def svg_usage(plan: Plan, blobs: list[bytes]) -> dict[str, Any]:
    """What the SVG author spent: its prompt, and about four characters a token written."""
    text = max(1, round(len(plan.prompt.split()) * 1.3))
    written = sum(len(b) for b in blobs) // 4
    return {
        "input_tokens": text,
        "model": plan.svg_model,
        "output_tokens": written,
        "reasoning_tokens": 0,
        "total_tokens": text + written,
    }
