"""Compact sets of item keys: 8 bytes a key, so resume and duplicate checks stay flat in memory."""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left

_RUN = 1 << 16  # keys gathered in a small set before they are frozen into a sorted array


def digest(key: str) -> int:
    """The first 64 bits of a key: item keys are SHA-256 hex, anything else is hashed."""
    if len(key) >= 16:
        try:
            return int(key[:16], 16)
        except ValueError:
            pass
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=8).digest())


class DigestSet:
    """A growing set of 64-bit digests held as sorted runs of unsigned 64-bit integers
    (8 bytes each) plus one small set being filled; a million keys take about 8 MB."""

    def __init__(self) -> None:
        self._runs: list[array[int]] = []
        self._fresh: set[int] = set()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        if value in self._fresh:
            return True
        for run in self._runs:
            at = bisect_left(run, value)
            if at < len(run) and run[at] == value:
                return True
        return False

    def add(self, value: int) -> None:
        if value in self:
            return
        self._fresh.add(value)
        self._count += 1
        if len(self._fresh) >= _RUN:
            self._runs.append(array("Q", sorted(self._fresh)))
            self._fresh = set()
