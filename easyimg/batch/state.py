"""A remote batch's state file, written as a stream: its items spooled as they are planned."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import OutputError
from ..output import os_reason, temp_path
from ..redact import redact

CHUNK = 1 << 20


class StateItems:
    """The `items` object of a state file, one entry at a time in a temp file, so a batch of
    50,000 items holds none of them; `write` then puts the whole file in place.

    The bytes are those of `json.dumps(state, indent=2)` (redacted), as before streaming:
    the state file reads the same whether it was written whole or piece by piece."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0
        try:
            # Unnamed (gone when closed, or when the process dies) and on the output's disk.
            self._fh: BinaryIO = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115
        except OSError as exc:
            raise OutputError(f"cannot write to {directory}: {os_reason(exc)}") from None

    def add(self, custom_id: str, entry: Mapping[str, Any]) -> None:
        # An entry sits two levels in: each of its lines but the first gets four spaces more.
        text = json.dumps({custom_id: entry}, indent=2, ensure_ascii=False)[2:-2]
        text = redact(text.replace("\n", "\n  "))
        try:
            self._fh.write(((",\n" if self.count else "") + "  " + text).encode("utf-8"))
        except OSError as exc:
            raise OutputError(f"cannot write to {self.directory}: {os_reason(exc)}") from None
        self.count += 1

    def write(self, head: Mapping[str, Any], paths: list[Path]) -> None:
        """Each of `paths` holds `head` then the items, replaced only once complete. The items
        are read once and written to every path as they are read."""
        top = json.dumps({**head, "items": {}}, indent=2, ensure_ascii=False)
        start = redact(top.removesuffix("{}\n}")).encode("utf-8")
        start += b"{\n" if self.count else b""
        end = b"\n  }\n}\n" if self.count else b"{}\n}\n"
        outs: list[tuple[Path, Path, BinaryIO]] = []
        try:
            for path in paths:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = temp_path(path.parent, ".tmp")
                outs.append((path, tmp, open(tmp, "xb")))  # noqa: SIM115 - closed below
            src = self._fh
            src.flush()
            src.seek(0)
            for _, _, fh in outs:
                fh.write(start)
            while piece := src.read(CHUNK):
                for _, _, fh in outs:
                    fh.write(piece)
            for _, _, fh in outs:
                fh.write(end)
                fh.close()
            for path, tmp, _ in outs:
                os.replace(tmp, path)
        except OSError as exc:
            where = outs[-1][0] if outs else self.directory
            raise OutputError(f"cannot write {where}: {os_reason(exc)}") from None
        finally:
            for _, tmp, fh in outs:
                fh.close()
                with contextlib.suppress(OSError):
                    tmp.unlink()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
