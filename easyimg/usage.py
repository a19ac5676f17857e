"""The history file for people: token totals and costs by model, day or host."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from .cost import Pricer, Tokens, tokens_of
from .errors import UsageError
from .history import entry_time, local_day, newest_first
from .prices import ModelPrice, PriceBook, parse_prices

if TYPE_CHECKING:
    from .summary import Key

# Kept importable from here, where callers have always found them.
__all__ = [
    "GROUPINGS",
    "UNKNOWN",
    "Price",
    "Report",
    "Row",
    "Tokens",
    "entry_time",
    "image_count",
    "local_day",
    "newest_first",
    "parse_prices",
    "parse_since",
    "price_for",
    "report",
    "summarize",
    "tokens_of",
]

Price = ModelPrice
GROUPINGS = ("model", "day", "host")
UNKNOWN = "(unknown)"
_AGO = re.compile(r"^(\d{1,5})([dw])$")


def price_for(prices: Mapping[str, ModelPrice], model: str) -> ModelPrice | None:
    """The model's configured price, or its undated id's for a dated snapshot."""
    return PriceBook(prices, builtin={}).get(model)


def parse_since(text: str, today: date) -> date:
    """YYYY-MM-DD, `today`, `yesterday`, or `Nd` / `Nw`: that many days or weeks before today."""
    value = text.strip().lower()
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    ago = _AGO.match(value)
    if ago:
        days = int(ago.group(1)) * (7 if ago.group(2) == "w" else 1)
        return today - timedelta(days=days)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{text!r} is not a date; use YYYY-MM-DD, today, yesterday, or a "
            "number of days or weeks ago such as 7d or 2w"
        ) from None


def image_count(entry: Mapping[str, Any]) -> int:
    files = entry.get("files")
    return len(files) if isinstance(files, list) else 0


def entry_cost(entry: Mapping[str, Any], book: PriceBook | Pricer) -> float | None:
    """USD one history entry cost, from its usage or its images' per-image price."""
    params = entry.get("parameters")
    params = params if isinstance(params, Mapping) else {}
    pricer = book if isinstance(book, Pricer) else Pricer(book)
    return pricer.cost(
        str(entry.get("model") or ""),
        tokens_of(entry.get("usage")),
        images=image_count(entry),
        quality=params.get("quality"),
        size=params.get("size"),
    )


@dataclass
class Row:
    """Totals for one model, day or host."""

    key: str
    runs: int = 0
    images: int = 0
    tokens: Tokens = field(default_factory=Tokens)
    cost: float | None = None
    # Runs with no price (or nothing to price): they are not in `cost`.
    unpriced_runs: int = 0

    def merge(
        self, runs: int, images: int, tokens: Tokens, cost: float | None, unpriced: int
    ) -> None:
        self.runs += runs
        self.images += images
        self.tokens = self.tokens + tokens
        self.unpriced_runs += unpriced
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost


@dataclass
class Report:
    by: str
    since: date | None
    rows: list[Row]
    total: Row
    # Whether any price is known: cost columns are shown only then.
    priced: bool
    unpriced_models: list[str]
    # Runs of placeholder images left out (0 when they were asked for).
    placeholder_runs: int = 0
    # Runs from before placeholders were recorded, against a loopback server: they may be.
    unmarked_loopback_runs: int = 0


def summarize(
    entries: Iterable[Mapping[str, Any]],
    *,
    by: str = "model",
    since: date | None = None,
    prices: Mapping[str, ModelPrice] | PriceBook | None = None,
    placeholders: bool = False,
    tz: tzinfo | None = None,
) -> Report:
    """Runs, images, tokens and cost per model, local day or host, of these entries."""
    from .summary import of_entries

    return report(
        of_entries(entries, tz), by=by, since=since, prices=prices, placeholders=placeholders
    )


def report(
    totals: Mapping[Key, list[int]],
    *,
    by: str = "model",
    since: date | None = None,
    prices: Mapping[str, ModelPrice] | PriceBook | None = None,
    placeholders: bool = False,
) -> Report:
    """The rows of `by` from fine-grained totals (`summary.totals`, days already local).

    `prices`: a PriceBook (built-in and configured prices), or a plain mapping of the only
    prices to use. Placeholder images are left out unless `placeholders`; runs that made no
    image (status error) cost nothing and are not counted.
    """
    from .config import is_loopback

    if by not in GROUPINGS:
        raise UsageError(f"cannot group by {by!r}; use one of: {', '.join(GROUPINGS)}")
    book = prices if isinstance(prices, PriceBook) else PriceBook(prices, builtin={})
    pricer = Pricer(book)
    rows: dict[str, Row] = {}
    total = Row("total")
    unpriced: set[str] = set()
    left_out = unmarked = 0
    loopback: dict[str, bool] = {}
    first = since.isoformat() if since is not None else None
    for key, counts in totals.items():
        if first is not None and (not key.day or key.day < first):
            continue
        if key.status == "error":
            continue
        runs, images, text, image, output, whole, measured, cached_text, cached_image = counts
        if key.placeholder and not placeholders:
            left_out += runs
            continue
        if not key.marked:
            if key.host not in loopback:
                loopback[key.host] = is_loopback(f"http://{key.host}/")
            unmarked += runs if loopback[key.host] else 0
        model = key.model or UNKNOWN
        tokens = Tokens(text, image, output, whole, cached_text, cached_image)
        cost, missing = _cost(pricer, model, key, runs, images, measured, tokens)
        if missing:
            unpriced.add(model)
        name = {"model": model, "day": key.day or UNKNOWN, "host": key.host or UNKNOWN}[by]
        row = rows.get(name)
        if row is None:
            row = rows[name] = Row(name)
        for target in (row, total):
            target.merge(runs, images, tokens, cost, missing)
    # Alphabetically (days in calendar order, the newest last, next to the total).
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (k == UNKNOWN, k))]
    return Report(by, since, ordered, total, bool(book), sorted(unpriced), left_out, unmarked)


def _cost(
    pricer: Pricer,
    model: str,
    key: Key,
    runs: int,
    images: int,
    measured: int,
    tokens: Tokens,
) -> tuple[float | None, int]:
    """The cost of one bucket, and how many of its runs it could not price."""
    # Token prices are linear, so the bucket's token sums price its measured runs at once.
    if measured:
        cost = pricer.cost(model, tokens, images=images, quality=key.quality, size=key.size)
        if cost is not None:
            return cost, runs - measured
    cost = pricer.cost(model, None, images=images, quality=key.quality, size=key.size)
    return (cost, 0) if cost is not None else (None, runs)
