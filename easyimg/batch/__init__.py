"""Batches: prompt files, the local worker pool, and the remote Batch API backends by name."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backend import BatchBackend

# Each name is a module here whose `Backend` implements batch.backend.BatchBackend; imported
# only when a command asks for it.
BACKENDS = ("openai", "easyrouter")


def find(name: str) -> BatchBackend:
    """The remote Batch API backend called `name` (one of BACKENDS), imported on first use."""
    if name not in BACKENDS:
        from ..errors import UsageError

        raise UsageError(f"unknown batch API {name!r} (known: {', '.join(BACKENDS)})")
    backend: BatchBackend = importlib.import_module(f"{__name__}.{name}").Backend()
    return backend
