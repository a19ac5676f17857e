"""`--max-cost`: a spending limit that no request may pass, counting requests in flight."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .cost import cost_from_usage, money
from .errors import EasyImgError, ExitCode, UsageError
from .estimate import estimate
from .prices import PriceBook


class BudgetReached(EasyImgError):
    """A request was not started: spent plus what is in flight plus it would pass the limit."""

    exit_code = ExitCode.PARTIAL


@dataclass(frozen=True)
class Hold:
    """What one started request is expected to cost, until its answer says what it did."""

    dollars: float


class Budget:
    """Spent (measured from answers) plus estimates of requests in flight never pass `limit`.

    Thread-safe: workers start and settle requests at the same time.
    """

    def __init__(self, limit: float) -> None:
        if limit < 0:
            raise ValueError("a budget cannot be negative")
        self.limit = limit
        self.spent = 0.0
        self.in_flight = 0.0
        # How many requests (or items) were refused, and what the first refused one needed.
        self.refused = 0
        self.refused_estimate: float | None = None
        # Answers whose cost could not be measured, counted at their estimate instead.
        self.unmeasured = 0
        self._lock = threading.Lock()

    def hold(self, estimate: float) -> Hold | None:
        """Reserve `estimate` for a request about to start; None when it would pass the limit."""
        with self._lock:
            # A little slack for float sums, so a budget of exactly N requests admits N.
            if self.spent + self.in_flight + estimate > self.limit + 1e-9:
                self.refused += 1
                if self.refused_estimate is None:
                    self.refused_estimate = estimate
                return None
            self.in_flight += estimate
            return Hold(estimate)

    def settle(self, hold: Hold, actual: float | None) -> None:
        """The request ended: release its hold and count what it cost (its estimate when the
        answer did not say: a budget errs on the safe side)."""
        with self._lock:
            self.in_flight = max(0.0, self.in_flight - hold.dollars)
            if actual is None:
                self.unmeasured += 1
                actual = hold.dollars
            self.spent += actual

    @property
    def stopped(self) -> bool:
        return self.refused > 0

    def summary(self, not_started: int, what: str = "items") -> str:
        """`budget: spent $X.XX of $Y.YY; N items did not start (...)`."""
        line = f"budget: spent {money(self.spent)} of {money(self.limit)}"
        if not_started:
            line += f"; {not_started} {what} did not start"
            if self.refused_estimate is not None:
                line += f" (the next would have cost about {money(self.refused_estimate)})"
        if self.unmeasured:
            line += f"; {self.unmeasured} answers had no usage and count at their estimate"
        return line


class Meter:
    """One generation's requests under a budget: each holds its estimate until answered.

    UsageError when the request has no price: a budget cannot be kept without one.
    """

    def __init__(
        self,
        budget: Budget,
        body: Mapping[str, Any],
        book: PriceBook,
        *,
        endpoint: str = "generations",
    ) -> None:
        first = estimate(body, book, images=1, endpoint=endpoint)
        if first.dollars is None:
            raise UsageError(f"--max-cost needs a price: {first.basis}")
        self.budget = budget
        self.book = book
        self.per_image = first.dollars
        self.model = first.model
        self.quality = body.get("quality")
        self.size = body.get("size")

    def start(self, count: int) -> Hold | None:
        return self.budget.hold(self.per_image * count)

    def finish(self, hold: Hold, usage: Any, *, images: int, billed: bool = True) -> None:
        """`billed` False: the server refused the request, so it cost nothing."""
        actual = (
            cost_from_usage(
                self.model, usage, self.book, images=images, quality=self.quality, size=self.size
            )
            if billed
            else 0.0
        )
        self.budget.settle(hold, actual)
