"""Freed big blocks handed back to the system (glibc's malloc; a no-op elsewhere).

glibc serves blocks under its mmap threshold from the heap, and that threshold slides up to
the largest block freed so far. After that, big buffers come from the heap, and the holes
they leave behind are split by small allocations, so memory once used is not given back:
- a long batch: CPython 3.11's pathlib interns every path part it parses, so a batch of many
  images makes new interned strings all the time and the interned table is rebuilt again
  and again, a block of ~2 MB each time (more as it grows); the heap grew ~1.8 MB per
  ~20,000 images (~90 MB over a million);
- big chat answers, read whole: -n 10 held ten 10 MB buffers long after they were freed.
A fixed threshold (which also stops it sliding) gives blocks past it mmap of their own,
handed back whole when freed. It stays above the 1 MiB reads of an answer, which keep
reusing heap space, so that a big image costs no extra page faults.

Threads made after this share two arenas instead of one each: Python holds the GIL for
nearly every allocation, so more arenas buy no parallelism, and each keeps free memory of
its own: over a million-prompt batch at -j 8 the workers' arenas grew in steps of ~2 MB.
"""

from __future__ import annotations

import sys

M_MMAP_THRESHOLD = -3  # <malloc.h>
M_ARENA_MAX = -8
ARENAS = 2
THRESHOLD = 3 << 19  # 1.5 MiB: past a 1 MiB read and its object header, under a 2 MiB table
_done = False


def steady() -> bool:
    """Fix glibc's mmap threshold and arena count for this process; True when set (once is
    enough)."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):
            return False  # musl and others: their own allocators, without this setting
        _done = bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD))
        libc.mallopt(M_ARENA_MAX, ARENAS)
    except (OSError, AttributeError):
        return False
    return _done
