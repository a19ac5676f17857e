"""What an answer's `usage` cost, from the price book; the pricing both it and estimates use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .prices import (
    DEFAULT_QUALITY,
    PARTIAL_IMAGE_TOKENS,
    STANDARD_SIZES,
    TOKEN_RULES,
    ModelPrice,
    PriceBook,
    base_model,
    pick,
)

QUALITY_ORDER = ("low", "medium", "high")
_SIZE_DEFAULT = {"dall-e-2": "1024x1024", "dall-e-3": "1024x1024"}
UNPRICED_FORMATS = ("svg", "gif")


@dataclass(frozen=True)
class Tokens:
    """Token counts of one answer; the cached counts are part of the input counts."""

    input_text: int = 0
    input_image: int = 0
    output: int = 0
    total: int = 0
    cached_text: int = 0
    cached_image: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input_text + other.input_text,
            self.input_image + other.input_image,
            self.output + other.output,
            self.total + other.total,
            self.cached_text + other.cached_text,
            self.cached_image + other.cached_image,
        )


def whole_count(value: Any) -> int:
    if type(value) is int:  # the common case first: history files hold many of these
        return value if value > 0 else 0
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return max(0, int(value))
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return 0


def tokens_of(usage: Any) -> Tokens | None:
    """Token counts from an images `usage` object, or a router's chat-style names; None if absent.

    Input without a text/image split counts as text. `cached_tokens` without a split is
    taken from the text first (a repeated prompt is what caches).
    """
    if not isinstance(usage, Mapping) or not usage:
        return None
    given = usage.get("input_tokens", usage.get("prompt_tokens"))
    output = whole_count(usage.get("output_tokens", usage.get("completion_tokens")))
    details = usage.get("input_tokens_details") or usage.get("prompt_tokens_details") or {}
    if not isinstance(details, Mapping):
        details = {}
    image = whole_count(details.get("image_tokens"))
    if "text_tokens" in details:
        text = whole_count(details.get("text_tokens"))
    else:
        text = max(0, whole_count(given) - image)
    cached_text = cached_image = 0
    if "cached_text_tokens" in details or "cached_image_tokens" in details:
        cached_text = min(text, whole_count(details.get("cached_text_tokens")))
        cached_image = min(image, whole_count(details.get("cached_image_tokens")))
    elif "cached_tokens" in details:
        cached = whole_count(details["cached_tokens"])
        cached_text = min(text, cached)
        cached_image = min(image, cached - cached_text)
    total = usage.get("total_tokens")
    all_input = whole_count(given) if given is not None else text + image
    return Tokens(
        text,
        image,
        output,
        whole_count(total) if total is not None else all_input + output,
        cached_text,
        cached_image,
    )


def token_cost(price: ModelPrice, tokens: Tokens) -> float:
    """USD for these tokens; cached tokens at the cached price where there is one."""
    cached_text = price.input_text if price.cached_input_text is None else price.cached_input_text
    cached_image = (
        price.input_image if price.cached_input_image is None else price.cached_input_image
    )
    return (
        (tokens.input_text - tokens.cached_text) * price.input_text
        + tokens.cached_text * cached_text
        + (tokens.input_image - tokens.cached_image) * price.input_image
        + tokens.cached_image * cached_image
        + tokens.output * price.output
    ) / 1_000_000


def money(dollars: float) -> str:
    """$X.XX, with more digits below a cent so a small cost does not read as nothing."""
    if dollars == 0 or dollars >= 0.01:
        return f"${dollars:,.2f}"
    return f"${dollars:.4f}".rstrip("0")


def rate_text(usd: float) -> str:
    return f"${usd:g}/1M"


@dataclass(frozen=True)
class ImageCost:
    dollars: float
    how: str


def image_cost(price: ModelPrice, quality: str, size: str, partials: int) -> ImageCost | None:
    """One image's output at this quality and size: from its tokens, else a per-image price."""
    tokens = pick(price.image_tokens, quality, size)
    how = "output tokens"
    if tokens is None and price.token_rule in TOKEN_RULES:
        dims = _dims(size)
        if dims is not None:
            tokens = TOKEN_RULES[price.token_rule](quality, *dims)
            how = "output tokens (OpenAI's size formula, as worked out by its users)"
    if tokens is not None and price.output:
        if partials:
            tokens += partials * PARTIAL_IMAGE_TOKENS
            how += f" with {partials} partial images"
        return ImageCost(
            tokens * price.output / 1_000_000, f"{tokens:,} {how} at {rate_text(price.output)}"
        )
    per = pick(price.per_image, quality, size)
    if per is not None:
        return ImageCost(float(per), f"${per:.3f} an image")
    return None


def _dims(size: str) -> tuple[int, int] | None:
    width, sep, height = size.partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        return None
    return int(width), int(height)


@dataclass(frozen=True)
class Choice:
    """The quality and size an estimate counts, and why when they differ from what was sent."""

    quality: str
    size: str
    notes: tuple[str, ...] = ()


def counted(
    model: str, price: ModelPrice | None, quality: Any, size: Any, partials: int = 0
) -> Choice:
    """`auto` or nothing becomes the dearest choice that has a price: an estimate errs high."""
    base = base_model(model)
    q = str(quality).strip().lower() if quality else DEFAULT_QUALITY.get(base, "auto")
    s = str(size).strip().lower() if size else _SIZE_DEFAULT.get(base, "auto")
    notes: list[str] = []
    qualities = QUALITY_ORDER if q == "auto" else (q,)
    sizes = STANDARD_SIZES if s == "auto" else (s,)
    if price is not None and (len(qualities) > 1 or len(sizes) > 1):
        best: tuple[float, str, str] | None = None
        seen: list[float] = []
        for cq in qualities:
            for cs in sizes:
                cost = image_cost(price, cq, cs, partials)
                if cost is not None:
                    seen.append(cost.dollars)
                    if best is None or cost.dollars > best[0]:
                        best = (cost.dollars, cq, cs)
        # One price for every choice: what auto picks does not matter, so it stays auto.
        flat = len(seen) == len(qualities) * len(sizes) and len(set(seen)) == 1
        if best is not None and not flat:
            if q == "auto":
                notes.append(f"quality auto counted as {best[1]}, the dearest")
            if s == "auto":
                notes.append(f"size auto counted as {best[2]}, the dearest of {', '.join(sizes)}")
            q, s = best[1], best[2]
    return Choice(q, s, tuple(notes))


def cost_from_usage(
    model: str,
    usage: Any,
    book: PriceBook | None = None,
    *,
    images: int = 0,
    quality: Any = None,
    size: Any = None,
) -> float | None:
    """USD an answer cost: its `usage` at the model's token prices, or images at the model's
    per-image price (per-image models, and answers without usage); None when neither is known."""
    book = book if book is not None else PriceBook()
    return Pricer(book).cost(model, tokens_of(usage), images=images, quality=quality, size=size)


class Pricer:
    """`cost_from_usage` for many answers: prices looked up once per model and kind."""

    def __init__(self, book: PriceBook) -> None:
        self.book = book
        self._prices: dict[str, ModelPrice | None] = {}
        self._per_image: dict[tuple[str, str, str], float | None] = {}

    def cost(
        self, model: str, tokens: Tokens | None, *, images: int, quality: Any, size: Any
    ) -> float | None:
        if model not in self._prices:
            self._prices[model] = self.book.get(model)
        price = self._prices[model]
        if price is None:
            return None
        if price.by_tokens and tokens is not None:
            return token_cost(price, tokens)
        if not price.per_image or not images:
            return None
        key = (model, str(quality), str(size))
        if key not in self._per_image:
            choice = counted(model, price, quality, size)
            found = pick(price.per_image, choice.quality, choice.size)
            self._per_image[key] = None if found is None else float(found)
        per = self._per_image[key]
        return None if per is None else images * per
