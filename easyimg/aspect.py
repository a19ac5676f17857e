"""Aspect ratios and image sizes of chat image models (Gemini): the data and the mapping."""

from __future__ import annotations

import math

# ROUTERS.md §2b: every Gemini image model takes these; 3.1-flash also the four tall/wide ones.
RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
WIDE_RATIOS = ("1:4", "4:1", "1:8", "8:1")
IMAGE_SIZES = ("1K", "2K", "4K")
SMALL_SIZE = "0.5K"
NAMED = {"square": "1:1", "landscape": "3:2", "portrait": "2:3"}
_EDGE = {"0.5K": 512, "1K": 1024, "2K": 2048, "4K": 4096}


def _flash31(model: str) -> bool:
    return "3.1-flash" in model.lower()


def ratios_for(model: str) -> tuple[str, ...]:
    return RATIOS + WIDE_RATIOS if _flash31(model) else RATIOS


def sizes_for(model: str) -> tuple[str, ...]:
    return (SMALL_SIZE, *IMAGE_SIZES) if _flash31(model) else IMAGE_SIZES


def parse_ratio(text: str) -> tuple[int, int] | None:
    """`16:9` as (16, 9); None for anything else."""
    w, sep, h = text.strip().partition(":")
    if not sep or not w.isdigit() or not h.isdigit() or int(w) < 1 or int(h) < 1:
        return None
    return int(w), int(h)


def nearest_ratio(width: int, height: int, ratios: tuple[str, ...] = RATIOS) -> str:
    """The supported ratio closest to width:height, compared on a log scale (2:1 ~ 1:2)."""
    target = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = parse_ratio(ratio) or (1, 1)
        return abs(math.log(w / h) - target)

    return min(ratios, key=distance)


def normalize_size(text: str) -> str | None:
    """`2k`, `2K` -> `2K`; `0.5k` -> `0.5K`; None when it is not one of the known sizes."""
    value = text.strip().upper()
    return value if value in _EDGE else None


def pixels(ratio: str, image_size: str = "1K") -> tuple[int, int]:
    """Width and height for a ratio at a size: about (edge)^2 pixels, sides multiples of 16."""
    w, h = parse_ratio(ratio) or (1, 1)
    area = _EDGE.get(image_size, 1024) ** 2
    scale = math.sqrt(area / (w * h))
    return max(16, int(w * scale) // 16 * 16), max(16, int(h * scale) // 16 * 16)
