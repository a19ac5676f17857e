"""Talking to a server: the HTTP client, and one module per API dialect found by name."""

from __future__ import annotations

import importlib
from types import ModuleType

# Each name is a module here whose `Dialect` implements api.dialect.Dialect; imported only
# when a command asks for it, so start-up pays for none of them.
DIALECTS = ("images", "chat")


def find(name: str) -> ModuleType:
    """The dialect module called `name` (one of DIALECTS), imported on first use."""
    if name not in DIALECTS:
        from ..errors import UsageError

        raise UsageError(f"unknown API dialect {name!r} (known: {', '.join(DIALECTS)})")
    return importlib.import_module(f"{__name__}.{name}")
