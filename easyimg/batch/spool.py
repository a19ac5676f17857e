"""A list of paths that moves to a temporary file once it grows: a batch's images, in order."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

_KEPT = 4096  # paths kept in memory; the rest go to the spool file
_SEP = b"\0"  # the one byte no path holds


class PathSpool:
    """Append-only, iterable again and again; memory stays flat however many paths come."""

    def __init__(self, kept: int = _KEPT) -> None:
        self._head: list[Path] = []
        self._kept = kept
        self._file: IO[bytes] | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def append(self, path: Path) -> None:
        self._count += 1
        if len(self._head) < self._kept:
            self._head.append(path)
            return
        if self._file is None:
            # Gone with the process, whatever ends it; closed by close() otherwise.
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the spool
        self._file.seek(0, os.SEEK_END)
        self._file.write(os.fsencode(path) + _SEP)

    def extend(self, paths: Iterable[Path]) -> None:
        for path in paths:
            self.append(path)

    def __iter__(self) -> Iterator[Path]:
        yield from list(self._head)
        if self._file is None:
            return
        self._file.flush()
        with open(os.dup(self._file.fileno()), "rb", closefd=True) as f:
            f.seek(0)
            rest = b""
            while block := f.read(1 << 16):
                *whole, rest = (rest + block).split(_SEP)
                for raw in whole:
                    yield Path(os.fsdecode(raw))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PathSpool | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
