"""What a request will cost before it is sent: one estimate, or a tally of many."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .cost import UNPRICED_FORMATS, counted, image_cost, money, rate_text, whole_count
from .prices import PRICES_DATE, ModelPrice, PriceBook


def prompt_tokens(prompt: Any) -> int:
    """A rough count for an estimate: one token per four bytes of UTF-8."""
    return math.ceil(len(str(prompt or "").encode("utf-8")) / 4)


@dataclass(frozen=True)
class Estimate:
    """What a request is expected to cost; `dollars` None when no price is known."""

    dollars: float | None
    images: int
    model: str
    quality: str | None
    size: str | None
    basis: str
    per_image: float | None = None
    # Of `images`, how many have no price (a tally's sum leaves them out).
    unpriced: int = 0

    def line(self) -> str:
        """`estimated cost: $X.XX (N images, MODEL, QUALITY, SIZE)`, or why there is none."""
        what = f"{self.images:,} image{'s' if self.images != 1 else ''}, {self.model}"
        what += "".join(f", {v}" for v in (self.quality, self.size) if v)
        if self.dollars is None:
            return f"estimated cost: unknown ({what})"
        return f"estimated cost: {money(self.dollars)} ({what})"


def _source(price: ModelPrice) -> str:
    if price.source == "built-in":
        return f"built-in prices of {PRICES_DATE}"
    return f"prices from {price.source}"


@dataclass(frozen=True)
class Card:
    """The price of one kind of request, whatever its prompt: USD per image for the output,
    USD per 1M prompt tokens, and the words of the basis around the prompt's part."""

    model: str
    quality: str
    size: str
    image: float | None  # None: no price known, and `head` says why
    text_price: float
    head: str
    tail: tuple[str, ...] = ()


# The fields of a body a price depends on (besides the prompt and the count).
_PRICED_FIELDS = ("model", "quality", "size", "output_format", "stream", "partial_images")


def card(body: Mapping[str, Any], book: PriceBook, endpoint: str = "generations") -> Card:
    model = str(body.get("model") or "")
    price = book.get(model)
    partials = whole_count(body.get("partial_images")) if body.get("stream") else 0
    choice = counted(model, price, body.get("quality"), body.get("size"), partials)

    def none(why: str) -> Card:
        # Nothing was counted, so the line shows what was asked, not what would be counted.
        asked = counted(model, None, body.get("quality"), body.get("size"))
        return Card(model, asked.quality, asked.size, None, 0.0, why)

    if price is None:
        return none(
            f'no price known for {model}; add [prices."{model}"] to the config file '
            "(input_text, input_image and output in USD per 1M tokens, or per_image in USD)"
        )
    fmt = str(body.get("output_format") or "").lower()
    if fmt in UNPRICED_FORMATS and not price.per_image:
        return none(f"no price known for {fmt} output on {model}")
    one = image_cost(price, choice.quality, choice.size, partials)
    if one is None:
        return none(f"no price known for {model} at quality {choice.quality}, size {choice.size}")
    tail = []
    if endpoint in ("edits", "variations") and price.by_tokens:
        tail.append("input images not counted")
    tail.extend(choice.notes)
    if price.note:
        tail.append(price.note)
    tail.append(_source(price))
    return Card(
        model,
        choice.quality,
        choice.size,
        one.dollars,
        price.input_text if endpoint != "variations" else 0.0,
        f"{model} {choice.quality} {choice.size}: {one.how}",
        tuple(tail),
    )


def estimate(
    body: Mapping[str, Any],
    book: PriceBook | None = None,
    *,
    images: int | None = None,
    endpoint: str = "generations",
) -> Estimate:
    """The expected cost of `images` images (default: the body's n) for this request body."""
    rates = card(body, book if book is not None else PriceBook(), endpoint)
    count = images if images is not None else whole_count(body.get("n")) or 1
    if rates.image is None:
        return Estimate(
            None, count, rates.model, rates.quality, rates.size, rates.head, unpriced=count
        )
    parts = [rates.head]
    per_image = rates.image
    if rates.text_price:
        words = prompt_tokens(body.get("prompt"))
        per_image += words * rates.text_price / 1_000_000
        parts.append(f"prompt ~{words} tokens at {rate_text(rates.text_price)} for each image")
    parts.extend(rates.tail)
    return Estimate(
        per_image * count, count, rates.model, rates.quality, rates.size, "; ".join(parts),
        per_image,
    )  # fmt: skip


class Tally:
    """Estimates of many requests added up; memory for each kind of request, not each request."""

    def __init__(self, book: PriceBook, endpoint: str = "generations") -> None:
        self.book = book
        self.endpoint = endpoint
        self._cards: dict[tuple[str, ...], Card] = {}
        # Per card: images, dollars, prompt tokens (for the average in the basis).
        self._sums: dict[Card, list[float]] = {}
        self.unknown: dict[Card, int] = {}

    def dollars(self, body: Mapping[str, Any], images: int) -> float | None:
        """One request's estimate (cached by kind): what a budget holds while it runs."""
        rates = self._card(body)
        if rates.image is None:
            return None
        words = prompt_tokens(body.get("prompt")) if rates.text_price else 0
        return (rates.image + words * rates.text_price / 1_000_000) * images

    def add(self, body: Mapping[str, Any], images: int) -> float | None:
        rates = self._card(body)
        if rates.image is None:
            self.unknown[rates] = self.unknown.get(rates, 0) + images
            return None
        words = prompt_tokens(body.get("prompt")) if rates.text_price else 0
        dollars = (rates.image + words * rates.text_price / 1_000_000) * images
        sums = self._sums.setdefault(rates, [0.0, 0.0, 0.0])
        sums[0] += images
        sums[1] += dollars
        sums[2] += words * images
        return dollars

    def _card(self, body: Mapping[str, Any]) -> Card:
        key = tuple(str(body.get(k)) for k in _PRICED_FIELDS)
        found = self._cards.get(key)
        if found is None:
            found = self._cards[key] = card(body, self.book, self.endpoint)
        return found

    def result(self) -> Estimate:
        """The sum, said as one estimate: what most requests are, and what had no price."""
        every = [*self._sums, *self.unknown]
        images = int(sum(v[0] for v in self._sums.values()) + sum(self.unknown.values()))
        if not every:
            return Estimate(0.0, 0, "", None, None, "nothing to send")

        def same(attr: str) -> Any:
            values = {getattr(c, attr) for c in every}
            return values.pop() if len(values) == 1 else None

        models = {c.model for c in every}
        model = same("model") or f"{len(models)} models"
        parts = []
        if self._sums:
            top = max(self._sums, key=lambda c: self._sums[c][0])
            count, _, words = self._sums[top]
            lead = [top.head]
            if top.text_price:
                lead.append(
                    f"prompts ~{round(words / count)} tokens on average at "
                    f"{rate_text(top.text_price)} for each image"
                )
            text = "; ".join([*lead, *top.tail])
            parts.append(text if len(self._sums) == 1 else f"mostly {text}")
        if self.unknown:
            missing = sorted({c.model for c in self.unknown})
            count = sum(self.unknown.values())
            reason = "" if self._sums else f": {next(iter(self.unknown)).head}"
            parts.append(
                f"{count} of {images} images have no price ({', '.join(missing)}) and are "
                f"not in the sum{reason}"
            )
        dollars = sum(v[1] for v in self._sums.values()) if self._sums else None
        basis = "; ".join(parts)
        if self._sums and self.unknown:
            basis = f"at least {money(dollars or 0.0)}: {basis}"
        unpriced = sum(self.unknown.values())
        return Estimate(
            dollars, images, model, same("quality"), same("size"), basis, unpriced=unpriced
        )
