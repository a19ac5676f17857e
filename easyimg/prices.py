"""The built-in price table (data), `[prices."MODEL"]` from the config, and one book of both."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ConfigError

# The day the table below was last checked against its sources.
PRICES_DATE = "2026-12-01"

# Sizes `auto` may pick on the GPT image models: an estimate counts the dearest of them.
STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")


@dataclass(frozen=True)
class ModelPrice:
    """What one model costs: USD per 1M tokens of each kind, and USD per image.

    `per_image` and `image_tokens` are keyed "QUALITY SIZE", "SIZE", "QUALITY" or "*", the
    most specific key that matches wins. A cached price of None means cached tokens are
    billed as uncached ones (the dearer reading).
    """

    input_text: float = 0.0
    input_image: float = 0.0
    output: float = 0.0
    cached_input_text: float | None = None
    cached_input_image: float | None = None
    per_image: Mapping[str, float] = field(default_factory=dict)
    # Output tokens one image costs; `token_rule` names a formula used when no key matches.
    image_tokens: Mapping[str, int] = field(default_factory=dict)
    token_rule: str | None = None
    # Said beside an estimate made from this entry (what is assumed, where it is from).
    note: str = field(default="", compare=False)
    source: str = field(default="built-in", compare=False)

    @property
    def by_tokens(self) -> bool:
        return bool(self.input_text or self.input_image or self.output)


def pick(table: Mapping[str, Any], quality: str | None, size: str | None) -> Any:
    """The value for this quality and size: "QUALITY SIZE", then "SIZE", "QUALITY", "*"."""
    keys = []
    if quality and size:
        keys.append(f"{quality} {size}")
    if size:
        keys.append(size)
    if quality:
        keys.append(quality)
    keys.append("*")
    for key in keys:
        if key in table:
            return table[key]
    return None


# --- the table --------------------------------------------------------------------------------

# GPT Image 1 output tokens by quality and size: OpenAI's image generation guide ("size and
# quality options"); OpenAI's per-image prices for gpt-image-1 ($0.011/0.042/0.167 and
# $0.016/0.063/0.25, burncloud.com and findllms.com copies of its pricing page) are these
# tokens at $40/1M, and gpt-image-1.5's ($0.009/0.034/0.133 and $0.013/0.05/0.20, runware.ai
# and apiyi.com) these at $32/1M, each within a tenth of a cent.
_GPT_IMAGE_1_TOKENS = {
    "low 1024x1024": 272,
    "medium 1024x1024": 1056,
    "high 1024x1024": 4160,
    "low 1024x1536": 408,
    "medium 1024x1536": 1584,
    "high 1024x1536": 6240,
    "low 1536x1024": 408,
    "medium 1536x1024": 1584,
    "high 1536x1024": 6240,
}

# gpt-image-2 and the 2.5/2.6 families: text $5 (cached $1.25), image in $8 (cached $2), image
# out $30 (ROUTERS.md §1: xairouter.com from OpenAI's model page, apidog's 2.6 guide; the same
# figures on gptimage.news and yingtu.ai). That 2.5 and 2.6 cost what gpt-image-2 costs is
# ROUTERS.md's reading of the 2.6 guide, not a price list of OpenAI's.
_GPT_IMAGE_2 = ModelPrice(
    input_text=5.0,
    cached_input_text=1.25,
    input_image=8.0,
    cached_input_image=2.0,
    output=30.0,
    token_rule="gpt-image-2",
)
_GPT_IMAGE_2_FAMILY = replace(
    _GPT_IMAGE_2,
    note="prices and output tokens assumed the same as gpt-image-2's",
)

BUILTIN: dict[str, ModelPrice] = {
    # OpenAI's pricing page as copied by burncloud.com and findllms.com: $5/$1.25/$10/$2.50/$40.
    "gpt-image-1": ModelPrice(
        input_text=5.0,
        cached_input_text=1.25,
        input_image=10.0,
        cached_input_image=2.5,
        output=40.0,
        image_tokens=_GPT_IMAGE_1_TOKENS,
    ),
    # OpenAI's model page (developers.openai.com/api/docs/models/gpt-image-1-mini): tokens
    # $2/$0.20/$2.50/$0.25/$8 and the per-image prices below. Those are not GPT Image 1's
    # output tokens at $8/1M, so its output tokens are not assumed: estimates use the prices.
    "gpt-image-1-mini": ModelPrice(
        input_text=2.0,
        cached_input_text=0.20,
        input_image=2.5,
        cached_input_image=0.25,
        output=8.0,
        per_image={
            "low 1024x1024": 0.005,
            "low 1024x1536": 0.006,
            "low 1536x1024": 0.006,
            "medium 1024x1024": 0.011,
            "medium 1024x1536": 0.015,
            "medium 1536x1024": 0.015,
            "high 1024x1024": 0.036,
            "high 1024x1536": 0.052,
            "high 1536x1024": 0.052,
        },
    ),
    # Text $5 and image in $8: runware.ai's model page; image out $32: checked against the
    # per-image prices (see _GPT_IMAGE_1_TOKENS); cached $1.25/$2: not found in a copy of
    # OpenAI's page, taken as gpt-image-2's (the same text and image-in prices).
    "gpt-image-1.5": ModelPrice(
        input_text=5.0,
        cached_input_text=1.25,
        input_image=8.0,
        cached_input_image=2.0,
        output=32.0,
        image_tokens=_GPT_IMAGE_1_TOKENS,
    ),
    # chatgpt-image-latest: no published price found; left out, so it gets no estimate.
    "gpt-image-2": _GPT_IMAGE_2,
    "gpt-image-2.5-flare": _GPT_IMAGE_2_FAMILY,
    "gpt-image-2.5-sunburst": _GPT_IMAGE_2_FAMILY,
    "gpt-image-2.6-flare": _GPT_IMAGE_2_FAMILY,
    "gpt-image-2.6-sunburst": _GPT_IMAGE_2_FAMILY,
    # Per image, OpenAI's pricing page for the legacy models (retired there 2026-05-12).
    "dall-e-2": ModelPrice(per_image={"256x256": 0.016, "512x512": 0.018, "1024x1024": 0.020}),
    "dall-e-3": ModelPrice(
        per_image={
            "standard 1024x1024": 0.040,
            "standard 1024x1792": 0.080,
            "standard 1792x1024": 0.080,
            "hd 1024x1024": 0.080,
            "hd 1024x1792": 0.120,
            "hd 1792x1024": 0.120,
        }
    ),
}

# Quality a model uses when none is sent (the API's default); GPT image models default to auto.
DEFAULT_QUALITY = {"dall-e-2": "standard", "dall-e-3": "standard"}
# Each streamed partial image costs 100 more output tokens (OpenAI's image generation guide).
PARTIAL_IMAGE_TOKENS = 100


def gpt_image_2_tokens(quality: str, width: int, height: int) -> int | None:
    """Output tokens of one gpt-image-2 image (low, medium, high), or None for other qualities.

    The formula behind OpenAI's cost calculator, as worked out on community.openai.com
    (thread 1382699, 2026-06-05). It gives exactly OpenAI's published examples: 1024x1024 at
    $0.006/$0.053/$0.211 and 1024x1536 at $0.005/$0.041/$0.165 (yingtu.ai, from OpenAI's
    guide), and the calculator's 7024/5488/5063/12329 high-quality tokens for 1024x1024,
    1536x1024, 1792x1024 and 3584x2048. Not OpenAI's own text, so an estimate.
    """
    factor = {"low": 16, "medium": 48, "high": 96}.get(quality)
    if factor is None or width < 1 or height < 1:
        return None
    long_edge, short_edge = max(width, height), min(width, height)
    short_factor = (2 * factor * short_edge + long_edge) // (2 * long_edge)
    return (factor * short_factor * (2_000_000 + width * height) + 3_999_999) // 4_000_000


TOKEN_RULES = {"gpt-image-2": gpt_image_2_tokens}


# --- the config's [prices."MODEL"] tables -------------------------------------------------------

NUMBER_KEYS = ("input_text", "input_image", "output", "cached_input_text", "cached_input_image")
TABLE_KEYS = ("per_image", "image_tokens")
_EXAMPLE = "{ input_text = 5.0, input_image = 8.0, output = 30.0 } or { per_image = 0.04 }"
_PRICE_KEY = re.compile(r"^(\*|[a-z0-9_-]+|\d{1,5}x\d{1,5}|[a-z0-9_-]+ \d{1,5}x\d{1,5})$")


def _number(where: str, key: str, value: Any, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}: {key} must be a number of {unit}, not {value!r}")
    return float(value)


def _table(where: str, key: str, value: Any, unit: str) -> dict[str, float]:
    if not isinstance(value, Mapping):
        return {"*": _number(where, key, value, unit)}
    out: dict[str, float] = {}
    for name, amount in value.items():
        label = str(name).strip().lower()
        if not _PRICE_KEY.match(label):
            raise ConfigError(
                f'{where}: {key} key {name!r} is not "QUALITY SIZE", "SIZE", "QUALITY" or "*" '
                '(e.g. "hd 1024x1792")'
            )
        out[label] = _number(where, f"{key}.{name}", amount, unit)
    return out


def parse_prices(raw: Any, source: str = "config file") -> dict[str, ModelPrice]:
    """`[prices."MODEL"]` tables: USD per 1M tokens (`input` sets both inputs), per image."""
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{source}: [prices] must be a table of [prices."MODEL"] tables')
    prices: dict[str, ModelPrice] = {}
    for model, table in raw.items():
        where = f'{source}: [prices."{model}"]'
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table such as {_EXAMPLE}")
        values: dict[str, float] = {}
        tables: dict[str, dict[str, float]] = {}
        for key, value in table.items():
            if key in (*NUMBER_KEYS, "input"):
                values[key] = _number(where, key, value, "USD per 1M tokens")
            elif key == "per_image":
                tables[key] = _table(where, key, value, "USD per image")
            elif key == "image_tokens":
                tables[key] = _table(where, key, value, "output tokens per image")
            else:
                raise ConfigError(
                    f"{where}: unknown key {key!r}; known keys: "
                    f"{', '.join((*NUMBER_KEYS, *TABLE_KEYS))} (USD per 1M tokens, per image)"
                )
        both = values.pop("input", 0.0)
        prices[str(model)] = ModelPrice(
            input_text=values.get("input_text", both),
            input_image=values.get("input_image", both),
            output=values.get("output", 0.0),
            cached_input_text=values.get("cached_input_text"),
            cached_input_image=values.get("cached_input_image"),
            per_image=tables.get("per_image", {}),
            image_tokens={k: int(v) for k, v in tables.get("image_tokens", {}).items()},
            source=source,
        )
    return prices


# --- the book -----------------------------------------------------------------------------------

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def base_model(model: str) -> str:
    """The model id without a dated snapshot's suffix (gpt-image-2-2026-04-21 -> gpt-image-2)."""
    return _SNAPSHOT.sub("", model)


class PriceBook:
    """The config's prices over the built-in table; a dated snapshot is priced as its model.

    A config table replaces the built-in prices of its model (a router may bill per image
    what OpenAI bills in tokens) but keeps the built-in output tokens per image unless it
    gives its own: those are the model's, not the seller's.
    """

    def __init__(
        self,
        configured: Mapping[str, ModelPrice] | None = None,
        builtin: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        self.configured = dict(configured or {})
        self.builtin = dict(BUILTIN if builtin is None else builtin)

    @classmethod
    def from_config(cls, raw: Any, source: str = "config file") -> PriceBook:
        return cls(parse_prices(raw, source))

    def __bool__(self) -> bool:
        return bool(self.configured or self.builtin)

    def get(self, model: str) -> ModelPrice | None:
        base = base_model(model)
        known = self.builtin.get(model) or self.builtin.get(base)
        mine = self.configured.get(model) or self.configured.get(base)
        if mine is None:
            return known
        if known is not None and not mine.image_tokens and mine.token_rule is None:
            mine = replace(mine, image_tokens=known.image_tokens, token_rule=known.token_rule)
        return mine
