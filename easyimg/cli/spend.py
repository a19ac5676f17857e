"""Costs for people: estimates after a dry run, the ask before a dear batch, cost lines."""

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import state

if TYPE_CHECKING:
    from ..config import Settings
    from ..console import Console
    from ..cost import Estimate
    from ..prices import PriceBook

SPEND = "Spend"

MaxCost = Annotated[
    float | None,
    typer.Option(
        "--max-cost",
        metavar="DOLLARS",
        min=0,
        help="start no request that would take spending past DOLLARS (USD); exit 6 when it stops",
        rich_help_panel=SPEND,
        show_default=False,
    ),
]
Yes = Annotated[
    bool,
    typer.Option(
        "-y",
        "--yes",
        help="do not ask before a run estimated above config confirm_over (default $5)",
        rich_help_panel=SPEND,
    ),
]


def price_book(settings: "Settings") -> "PriceBook":
    from ..prices import PriceBook

    return PriceBook.from_config(settings.prices, f"config file {settings.config_file}")


def estimate_doc(est: "Estimate") -> dict[str, Any]:
    return {
        "dollars": None if est.dollars is None else round(est.dollars, 6),
        "currency": "USD",
        "images": est.images,
        "model": est.model,
        "quality": est.quality,
        "size": est.size,
        "basis": est.basis,
    }


def estimate_lines(est: "Estimate") -> list[str]:
    return [est.line(), f"basis: {est.basis}"]


def combine(estimates: Iterable["Estimate"]) -> "Estimate":
    """One estimate for many requests: the sum of those with a price, and what had none."""
    from ..cost import Estimate, money

    known: list[Estimate] = []
    unknown: list[Estimate] = []
    for est in estimates:
        (known if est.dollars is not None else unknown).append(est)
    every = known + unknown
    if not every:
        return Estimate(0.0, 0, "", None, None, "nothing to send")
    images = sum(e.images for e in every)

    def same(attr: str) -> Any:
        values = {getattr(e, attr) for e in every}
        return values.pop() if len(values) == 1 else None

    models = sorted({e.model for e in every})
    model = same("model") or f"{len(models)} models"
    # The basis of the commonest kind of request, and what could not be priced.
    groups: dict[str, int] = {}
    for est in known:
        groups[est.basis] = groups.get(est.basis, 0) + est.images
    parts = []
    if groups:
        top = max(groups, key=lambda b: groups[b])
        parts.append(top if len(groups) == 1 else f"mostly {top}")
    if unknown:
        missing = sorted({e.model for e in unknown})
        count = sum(e.images for e in unknown)
        parts.append(
            f"{count} of {images} images have no price ({', '.join(missing)}) and are not in "
            "the sum" + ("" if known else f": {unknown[0].basis}")
        )
    dollars = sum(e.dollars or 0.0 for e in known) if known else None
    est = Estimate(dollars, images, model, same("quality"), same("size"), "; ".join(parts))
    if known and unknown:
        # Say plainly that the sum is a floor, not the whole.
        est = Estimate(
            dollars,
            images,
            model,
            est.quality,
            est.size,
            f"at least {money(dollars or 0.0)}: {est.basis}",
        )
    return est


def confirm(console: "Console", est: "Estimate", settings: "Settings", yes: bool) -> None:
    """On a terminal, ask before a run estimated above `confirm_over`; never in a pipe."""
    from ..cost import money

    env = state.env
    if yes or est.dollars is None or est.dollars <= settings.confirm_over:
        return
    if not (env.stdin_isatty and env.stderr_isatty) or console.json_mode:
        return
    env.stderr.write(
        f"this run is estimated at {money(est.dollars)}, above confirm_over "
        f"({money(settings.confirm_over)}); go on? [y/N] "
    )
    env.stderr.flush()
    answer = env.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        console.info("not started; nothing was sent (--yes skips this question)")
        raise typer.Exit(130)


def cost_line(
    model: str,
    usage: Mapping[str, Any] | None,
    book: "PriceBook",
    *,
    images: int,
    body: Mapping[str, Any],
    placeholder: bool,
    endpoint: str = "generations",
) -> str | None:
    """`cost: $X.XX (estimated $Y.YY)` for a summary; None when neither is known."""
    from ..cost import cost_from_usage, estimate, money

    expected = estimate(body, book, images=images, endpoint=endpoint).dollars
    if placeholder:
        real = f" (a real run: about {money(expected)})" if expected is not None else ""
        return f"cost: $0.00, placeholder images{real}"
    actual = cost_from_usage(
        model, usage, book, images=images, quality=body.get("quality"), size=body.get("size")
    )
    if actual is None and expected is None:
        return None
    shown = money(actual) if actual is not None else "unknown (no usage in the answer)"
    return f"cost: {shown}" + (f" (estimated {money(expected)})" if expected is not None else "")
