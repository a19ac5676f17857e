"""The history file for people: recent entries, token totals by model or day, estimated costs."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, UsageError

if TYPE_CHECKING:
    from .summary import Key

# USD per 1M tokens, read from `[prices."MODEL"]` tables in the config file.
PRICE_KEYS = ("input_text", "input_image", "output")
GROUPINGS = ("model", "day")
UNKNOWN = "(unknown)"
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_AGO = re.compile(r"^(\d{1,5})([dw])$")


@dataclass(frozen=True)
class Tokens:
    input_text: int = 0
    input_image: int = 0
    output: int = 0
    total: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input_text + other.input_text,
            self.input_image + other.input_image,
            self.output + other.output,
            self.total + other.total,
        )


def _count(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return max(0, int(value))
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return 0


def tokens_of(usage: Any) -> Tokens | None:
    """Token counts from an images `usage` object, or a router's chat-style names; None if absent.

    Input without a text/image split counts as text.
    """
    if not isinstance(usage, Mapping) or not usage:
        return None
    given = usage.get("input_tokens", usage.get("prompt_tokens"))
    output = _count(usage.get("output_tokens", usage.get("completion_tokens")))
    details = usage.get("input_tokens_details") or usage.get("prompt_tokens_details") or {}
    if not isinstance(details, Mapping):
        details = {}
    image = _count(details.get("image_tokens"))
    if "text_tokens" in details:
        text = _count(details.get("text_tokens"))
    else:
        text = max(0, _count(given) - image)
    total = usage.get("total_tokens")
    all_input = _count(given) if given is not None else text + image
    return Tokens(text, image, output, _count(total) if total is not None else all_input + output)


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens of each kind."""

    input_text: float = 0.0
    input_image: float = 0.0
    output: float = 0.0

    def cost(self, tokens: Tokens) -> float:
        return (
            tokens.input_text * self.input_text
            + tokens.input_image * self.input_image
            + tokens.output * self.output
        ) / 1_000_000


def parse_prices(raw: Any, source: str = "config file") -> dict[str, Price]:
    """`[prices."MODEL"]` tables: input_text, input_image, output (`input` sets both inputs)."""
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{source}: [prices] must be a table of [prices."MODEL"] tables')
    prices: dict[str, Price] = {}
    for model, table in raw.items():
        where = f'{source}: [prices."{model}"]'
        if not isinstance(table, Mapping):
            raise ConfigError(
                f"{where} must be a table such as "
                "{ input_text = 5.0, input_image = 8.0, output = 30.0 }"
            )
        values: dict[str, float] = {}
        for key, value in table.items():
            if key not in (*PRICE_KEYS, "input"):
                raise ConfigError(
                    f"{where}: unknown key {key!r}; known keys: "
                    f"{', '.join(PRICE_KEYS)} (USD per 1M tokens)"
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(
                    f"{where}: {key} must be a number of USD per 1M tokens, not {value!r}"
                )
            values[key] = float(value)
        both = values.pop("input", 0.0)
        prices[str(model)] = Price(
            values.get("input_text", both),
            values.get("input_image", both),
            values.get("output", 0.0),
        )
    return prices


def price_for(prices: Mapping[str, Price], model: str) -> Price | None:
    """The model's price, or its undated id's for a dated snapshot."""
    if model in prices:
        return prices[model]
    return prices.get(_SNAPSHOT.sub("", model))


def entry_time(entry: Mapping[str, Any]) -> datetime | None:
    raw = entry.get("time")
    if not isinstance(raw, str):
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def local_day(entry: Mapping[str, Any], tz: tzinfo | None = None) -> date | None:
    """The entry's calendar day in `tz` (None: this machine's local time zone)."""
    when = entry_time(entry)
    return when.astimezone(tz).date() if when else None


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


def newest_first(entries: Iterable[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The last `limit` entries of the file (all with 0), newest first; memory stays bounded."""
    kept: deque[dict[str, Any]] = deque(maxlen=limit if limit > 0 else None)
    kept.extend(entries)
    return list(reversed(kept))


def image_count(entry: Mapping[str, Any]) -> int:
    files = entry.get("files")
    return len(files) if isinstance(files, list) else 0


@dataclass
class Row:
    """Totals for one model or one day."""

    key: str
    runs: int = 0
    images: int = 0
    tokens: Tokens = field(default_factory=Tokens)
    cost: float | None = None
    # Runs whose model has no price: their tokens are not in `cost`.
    unpriced_runs: int = 0

    def add(self, entry: Mapping[str, Any], tokens: Tokens | None, price: Price | None) -> None:
        self.runs += 1
        self.images += image_count(entry)
        if tokens is not None:
            self.tokens = self.tokens + tokens
        if price is None:
            self.unpriced_runs += 1
        else:
            self.cost = (self.cost or 0.0) + (price.cost(tokens) if tokens else 0.0)

    def merge(self, counts: list[int], price: Price | None) -> None:
        """Add a bucket of `summary.Totals`: runs, images, four token counts."""
        runs, images, text, image, output, total = counts[:6]
        tokens = Tokens(text, image, output, total)
        self.runs += runs
        self.images += images
        self.tokens = self.tokens + tokens
        if price is None:
            self.unpriced_runs += runs
        else:
            self.cost = (self.cost or 0.0) + price.cost(tokens)


@dataclass
class Report:
    by: str
    since: date | None
    rows: list[Row]
    total: Row
    # Whether any model has a price: cost columns are shown only then.
    priced: bool
    unpriced_models: list[str]


def summarize(
    entries: Iterable[Mapping[str, Any]],
    *,
    by: str = "model",
    since: date | None = None,
    prices: Mapping[str, Price] | None = None,
    tz: tzinfo | None = None,
) -> Report:
    """Runs, images, tokens and estimated cost per model or per local day."""
    from .summary import of_entries

    return report(of_entries(entries, tz), by=by, since=since, prices=prices)


def report(
    totals: Mapping[Key, list[int]],
    *,
    by: str = "model",
    since: date | None = None,
    prices: Mapping[str, Price] | None = None,
) -> Report:
    """The rows of `by` from fine-grained totals (`summary.totals`, days already local)."""
    if by not in GROUPINGS:
        raise UsageError(f"cannot group by {by!r}; use one of: {', '.join(GROUPINGS)}")
    prices = prices or {}
    rows: dict[str, Row] = {}
    total = Row("total")
    unpriced: set[str] = set()
    first = since.isoformat() if since is not None else None
    for key, counts in totals.items():
        if first is not None and (not key.day or key.day < first):
            continue
        model = key.model or UNKNOWN
        name = model if by == "model" else (key.day or UNKNOWN)
        price = price_for(prices, model)
        if price is None:
            unpriced.add(model)
        for row in (rows.setdefault(name, Row(name)), total):
            row.merge(counts, price)
    # Models alphabetically; days in calendar order, the newest last, next to the total.
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (k == UNKNOWN, k))]
    return Report(by, since, ordered, total, bool(prices), sorted(unpriced))
