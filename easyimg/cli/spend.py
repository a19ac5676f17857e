"""Costs for people: estimates after a dry run, the ask before a dear batch, cost lines."""

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import state

if TYPE_CHECKING:
    from ..batch.manifest import Task
    from ..batch.run import Outcome
    from ..budget import Budget
    from ..config import Settings
    from ..console import Console
    from ..estimate import Estimate
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


def batch_estimate(todo: Iterable["Task"], book: "PriceBook", remote: bool) -> "Estimate":
    """What a batch will send, added up; a partial item asks only for the images it lacks."""
    from dataclasses import replace

    from ..estimate import Tally

    tally = Tally(book)
    for task in todo:
        tally.add(task.body, task.item.count - len(task.have))
    est = tally.result()
    if remote and est.dollars is not None:
        # Batch APIs bill half the synchronous price (OpenAI's and EasyRouter's own).
        est = replace(est, dollars=est.dollars / 2, basis=f"{est.basis}; Batch API: half price")
    return est


def announce(
    console: "Console", est: "Estimate", settings: "Settings", *, yes: bool, offline: bool
) -> None:
    """The estimate on stderr before a batch starts, and the question above confirm_over."""
    if est.images:
        for line in estimate_lines(est):
            console.info(line)
        if offline:
            console.info("(--offline: placeholder images, nothing is billed)")
    confirm(console, est, settings, yes, offline=offline)


def confirm(
    console: "Console", est: "Estimate", settings: "Settings", yes: bool, offline: bool = False
) -> None:
    """On a terminal, ask before a run estimated above `confirm_over`; never in a pipe."""
    from ..cost import money

    env = state.env
    if yes or offline or est.dollars is None or est.dollars <= settings.confirm_over:
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


def costs(
    model: str,
    usage: Mapping[str, Any] | None,
    book: "PriceBook",
    *,
    images: int,
    body: Mapping[str, Any],
    placeholder: bool,
    endpoint: str = "generations",
) -> dict[str, Any]:
    """What a generation cost (from usage; $0 for placeholders) and what it was estimated at."""
    from ..cost import cost_from_usage
    from ..estimate import estimate

    expected = estimate(body, book, images=images, endpoint=endpoint).dollars
    actual = (
        0.0
        if placeholder
        else cost_from_usage(
            model, usage, book, images=images, quality=body.get("quality"), size=body.get("size")
        )
    )
    return {
        "usd": None if actual is None else round(actual, 6),
        "estimated_usd": None if expected is None else round(expected, 6),
        "placeholder": placeholder,
    }


def cost_line(doc: Mapping[str, Any]) -> str | None:
    """`cost: $X.XX (estimated $Y.YY)` for a summary; None when neither is known."""
    from ..cost import money

    actual, expected = doc["usd"], doc["estimated_usd"]
    if doc["placeholder"]:
        real = f" (a real run: about {money(expected)})" if expected is not None else ""
        return f"cost: $0.00, placeholder images{real}"
    if actual is None and expected is None:
        return None
    shown = money(actual) if actual is not None else "unknown (no usage in the answer)"
    return f"cost: {shown}" + (f" (estimated {money(expected)})" if expected is not None else "")


class RunCost:
    """What a batch cost so far, from each item's usage (or per-image price); thread-safe.

    With a budget, each item holds its estimate from when it starts until it is recorded.
    """

    def __init__(self, book: "PriceBook", budget: "Budget | None" = None) -> None:
        import threading

        from ..estimate import Tally

        self.book = book
        self.budget = budget
        self.dollars = 0.0
        self.unmeasured = 0
        self._rates = Tally(book)
        self._holds: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_run(
        cls, book: "PriceBook", max_cost: float | None, expected: "Estimate | None"
    ) -> "RunCost":
        """With `max_cost`, a budget; UsageError when an item has no price to hold."""
        from ..budget import Budget
        from ..errors import UsageError

        if max_cost is not None and expected is not None and expected.unpriced:
            raise UsageError(f"--max-cost needs a price for every item: {expected.basis}")
        return cls(book, Budget(max_cost) if max_cost is not None else None)

    def admit(self, task: "Task") -> bool:
        assert self.budget is not None
        # Items without a price were refused before the run (--max-cost needs prices).
        images = task.item.count - len(task.have)
        hold = self.budget.hold(self._rates.dollars(task.body, images) or 0.0)
        if hold is None:
            return False
        with self._lock:
            self._holds[task.item.key] = hold
        return True

    def record(self, outcome: "Outcome") -> None:
        from ..cost import cost_from_usage
        from ..errors import APIError

        body = outcome.body
        actual = cost_from_usage(
            str(body.get("model") or ""),
            outcome.usage,
            self.book,
            images=len(outcome.paths),
            quality=body.get("quality"),
            size=body.get("size"),
        )
        if actual is None and isinstance(outcome.error, APIError) and not outcome.paths:
            actual = 0.0  # refused: nothing was made, nothing billed
        with self._lock:
            hold = self._holds.pop(outcome.key, None)
            if outcome.placeholder:
                pass  # costs nothing, though a budget counts it (below) as a rehearsal
            elif actual is None:
                self.unmeasured += 1
            else:
                self.dollars += actual
        if hold is not None and self.budget is not None:
            self.budget.settle(hold, actual)

    def doc(self, expected: "Estimate") -> dict[str, Any]:
        return {
            "usd": round(self.dollars, 6),
            "estimated_usd": None if expected.dollars is None else round(expected.dollars, 6),
            "unmeasured_items": self.unmeasured,
        }

    def line(self, expected: "Estimate") -> str | None:
        from ..cost import money

        if expected.dollars is None and not self.dollars:
            return None
        text = f"cost: {money(self.dollars)}"
        if self.unmeasured:
            text += f" and {self.unmeasured} items with no usage to price"
        if expected.dollars is not None:
            text += f" (estimated {money(expected.dollars)})"
        return text


def both(*calls: Any) -> Any:
    """One on_record callback that calls each of `calls` that is not None."""
    chosen = [c for c in calls if c is not None]

    def call(outcome: "Outcome") -> None:
        for c in chosen:
            c(outcome)

    return call
