"""`batch --shard K/N` and `--head N`: which items of a prompt file this run takes."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from ..errors import UsageError
from .prompts import Item


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` with 1 <= K <= N: the K-th of N shards."""
    k, sep, n = text.strip().partition("/")
    if not sep or not k.strip().isdigit() or not n.strip().isdigit():
        raise UsageError(f"--shard {text!r} is not K/N, e.g. 2/4 for the second of four shards")
    shard, shards = int(k), int(n)
    if not 1 <= shard <= shards:
        raise UsageError(f"--shard {text!r}: K must be from 1 to N")
    return shard, shards


def shard_of(key: str, shards: int) -> int:
    """The shard (1..N) an item's key falls in: the same on every machine and in every run."""
    return int(key[:16], 16) % shards + 1


def select(
    items: Iterable[Item], *, head: int | None = None, shard: tuple[int, int] | None = None
) -> Iterator[Item]:
    """The items of one shard (all without one), then the first `head` of those."""
    chosen: Iterable[Item] = items
    if shard is not None:
        k, n = shard
        chosen = (i for i in chosen if shard_of(i.key, n) == k)
    if head is not None:
        chosen = itertools.islice(chosen, head)
    return iter(chosen)
