"""Masking API keys in any text that came from a server before it is shown or stored."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

# The keys to mask, process-wide. The Client registers the key it was built with and the CLI
# the key it resolved; a key is never unregistered, since text quoting it may still be about.
# Reading needs no lock: the tuple is replaced whole, never changed in place. Longest first,
# so that a key which contains another is masked whole.
_keys: tuple[str, ...] = ()
_lock = threading.Lock()

# Shorter keys are not looked for as plain text: masking every "test" in a message would garble
# it, and no real key is this short.
MIN_KEY = 8

# RFC 6750's token68 after "Bearer ", of at least MIN_KEY characters: prose ("the Bearer of
# news") is left alone, and so is a masked form (`sk-…AbCd`), so redacting twice changes nothing.
_BEARER = re.compile(r"(\b[Bb]earer\s+)([A-Za-z0-9\-._~+/]{8,}+=*+)")


def register(*keys: str | None) -> None:
    """Mask these keys in every text redacted from now on (None and "" are ignored)."""
    global _keys
    new = {k for k in keys if k and len(k) >= MIN_KEY}
    if new <= set(_keys):
        return
    with _lock:
        _keys = _longest_first(new.union(_keys))


def registered() -> tuple[str, ...]:
    return _keys


def _longest_first(keys: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(keys), key=lambda k: (-len(k), k)))


def mask(key: str | None) -> str:
    """The shown form of a key: `sk-…AbCd`, at most the last four characters."""
    if not key:
        return "(none)"
    tail = key[-4:] if len(key) >= 12 else ""
    head = "sk-" if key.startswith("sk-") else ""
    return f"{head}…{tail}"


def redact(text: str, keys: Iterable[str | None] = ()) -> str:
    """`text` with every registered key (and `keys`) and every Bearer token masked."""
    if not text:
        return text
    wanted = _keys
    if keys:
        wanted = _longest_first([*_keys, *(k for k in keys if k and len(k) >= MIN_KEY)])
    for key in wanted:
        if key in text:
            text = text.replace(key, mask(key))
    if "earer" in text:
        text = _BEARER.sub(lambda m: m.group(1) + mask(m.group(2)), text)
    return text


def redact_value(value: Any, keys: Iterable[str | None] = ()) -> Any:
    """A copy of a JSON-like value with every string in it (keys of objects too) redacted.

    For a value about to be written as JSON, redacting the JSON text is the same and faster:
    neither a key nor a Bearer token has a character JSON escapes."""
    keys = tuple(keys)
    if isinstance(value, str):
        return redact(value, keys)
    if isinstance(value, dict):
        return {
            (redact(k, keys) if isinstance(k, str) else k): redact_value(v, keys)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v, keys) for v in value]
    return value
