"""The batch manifest: one JSON line per finished item, read back to resume a run."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import EasyImgError, OutputError
from ..history import append_jsonl, read_jsonl

MANIFEST_NAME = "easyimg-manifest.jsonl"


def relative(path: Path, directory: Path) -> str:
    """A manifest path: relative to the output directory, so the directory can move."""
    try:
        return str(Path(path).relative_to(directory))
    except ValueError:
        return os.path.relpath(path, directory)


@dataclass
class ManifestState:
    ok: set[str] = field(default_factory=set)
    # (batch id, custom_id) pairs already written by `batches fetch`.
    fetched: set[tuple[str, str]] = field(default_factory=set)


class Manifest:
    """`easyimg-manifest.jsonl`: append-only, one whole line per finished item."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / MANIFEST_NAME
        self._lock = threading.Lock()

    def read(self) -> ManifestState:
        state = ManifestState()
        for entry in read_jsonl(self.path, OutputError):
            key = entry.get("key")
            if entry.get("status") == "ok" and isinstance(key, str):
                state.ok.add(key)
            if isinstance(entry.get("batch"), str) and isinstance(entry.get("custom_id"), str):
                state.fetched.add((entry["batch"], entry["custom_id"]))
        return state

    def append(self, entry: Mapping[str, Any]) -> None:
        with self._lock:
            append_jsonl(self.path, entry, OutputError)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def entry(
    *,
    line: int | None,
    key: str,
    status: str,
    files: list[str],
    usage: Mapping[str, Any] | None,
    error: EasyImgError | None,
    prompt: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """One manifest line (SPEC §5), the same for local runs and `batches fetch`."""
    return {
        "line": line,
        "key": key,
        "status": status,
        "files": files,
        "usage": dict(usage) if usage else None,
        "error": None if error is None else error.message,
        "exit_code": None if error is None else int(error.exit_code),
        "prompt": prompt,
        "time": now_iso(),
        **extra,
    }
