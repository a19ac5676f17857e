"""When a batch stops starting items: failures that every later item would meet too."""

from __future__ import annotations

from typing import Any

from ..errors import EasyImgError, OutputError

LIMIT = 5  # account-wide failures in a row after which no new item starts


class Breaker:
    """A full disk stops a batch at once; an account-wide error (no connection, the key, the
    quota, the model) once `limit` items in a row have failed with it. Errors say which they
    are (`account_wide`) where they are made; this only counts."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._last: tuple[Any, ...] | None = None
        self._count = 0

    def trip(self, status: str, error: EasyImgError | None, model: Any = None) -> str | None:
        """Count one finished item (status ok, error or interrupted); why to stop, if so."""
        if status == "interrupted":
            return None
        if isinstance(error, OutputError):
            return error.message
        if status == "ok" or error is None or not error.account_wide:
            self._last, self._count = None, 0
            return None
        # The model is part of the kind: only items asking for the same unknown model add up.
        kind = (
            error.account_wide,
            int(error.exit_code),
            getattr(error, "status", None),
            model if error.account_wide == "model" else None,
        )
        self._count = self._count + 1 if kind == self._last else 1
        self._last = kind
        if self._count >= self.limit:
            return f"{self._count} items in a row failed with: {error.message}"
        return None
