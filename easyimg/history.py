"""The history file: one JSON line per completed generation, never the key."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, EasyImgError
from .redact import redact

if TYPE_CHECKING:
    from .generate import GenResult

# Keys that must never reach the history file, whatever a caller passes.
_SECRET_KEYS = frozenset({"api_key", "authorization", "Authorization"})


def record(
    command: str,
    *,
    model: str,
    prompt: str | None,
    parameters: Mapping[str, Any],
    files: list[str],
    usage: Mapping[str, Any] | None,
    request_id: str | None,
    base_url: str,
    status: str = "ok",
    now: datetime | None = None,
    answer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    when = (now or datetime.now(UTC)).astimezone(UTC)
    entry = {
        "time": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "command": command,
        "model": model,
        "prompt": prompt,
        "parameters": {k: v for k, v in parameters.items() if k not in _SECRET_KEYS},
        "files": files,
        "usage": dict(usage) if usage else None,
        "request_id": request_id,
        "base_url": base_url,
        "status": status,
    }
    if answer:
        entry["answer"] = dict(answer)
    return entry


def answer_of(result: GenResult) -> dict[str, Any]:
    """What a GenResult's answers said of themselves, for the history line: echoed fields,
    the SVG author's usage, generation ids and which images carry C2PA credentials."""
    out: dict[str, Any] = dict(result.answer)
    if result.svg_usage:
        out["svg_usage"] = result.svg_usage
    ids = [i.generation_id for i in result.images if i.generation_id]
    if ids:
        out["generation_ids"] = ids
    signed = [i.saved.path.name for i in result.images if i.saved.c2pa]
    if signed:
        out["c2pa"] = signed
    return out


def append_jsonl(
    path: Path,
    entry: Mapping[str, Any],
    error: type[EasyImgError],
    *,
    mode: int = 0o666,
    what: str | None = None,
) -> None:
    """Append one JSON line in one write on an O_APPEND descriptor: lines stay whole even
    when several threads or processes write at once. The entry is redacted first: history and
    manifest lines quote servers (errors, revised prompts), and no key may be stored."""
    # Redacted as JSON text: a key needs no escaping in JSON, so it is found there as it is,
    # in one pass over the line instead of one per field.
    text = redact(json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
    line = (text + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as exc:
        raise error(f"cannot write {what or path}: {exc.strerror or exc}") from None


# Folders made (or found) once per process: a batch appends a line per item, and a failing
# mkdir per line was most of the cost of keeping history.
_READY: set[Path] = set()


def append(path: Path, entry: Mapping[str, Any]) -> None:
    """Append one history line; the file is private (0600) in a private directory."""
    if path.parent not in _READY:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(f"cannot write history file {path}: {exc.strerror or exc}") from None
        _READY.add(path.parent)
    append_jsonl(path, entry, ConfigError, mode=0o600, what=f"history file {path}")


def read(path: Path) -> Iterator[dict[str, Any]]:
    """Entries in file order; damaged lines (a crash mid-write) are skipped."""
    return read_jsonl(path, ConfigError, what=f"history file {path}")


def read_jsonl(
    path: Path, error: type[EasyImgError], what: str | None = None
) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines file in order; no file means none.

    Lines that do not decode to an object are skipped: appenders write whole lines, so such a
    line is one cut short by a crash. A file that exists but cannot be opened raises `error`.
    """
    try:
        # Bytes, so that a line of bad UTF-8 is skipped like any other damaged line.
        fh = path.open("rb")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise error(f"cannot read {what or path}: {exc.strerror or exc}") from None
    with fh:
        for line in fh:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry


_BLOCK = 1 << 16


def last(path: Path, limit: int) -> list[dict[str, Any]]:
    """The last `limit` entries, newest first, read from the end of the file backwards:
    as quick for a million lines as for ten. Damaged lines are skipped as in `read`."""
    what = f"history file {path}"
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror or exc}") from None
    found: list[dict[str, Any]] = []
    with fh:
        end = fh.seek(0, os.SEEK_END)
        rest = b""  # the start of a line whose beginning lies in an earlier block
        while end > 0 and len(found) < limit:
            start = max(0, end - _BLOCK)
            fh.seek(start)
            lines = (fh.read(end - start) + rest).split(b"\n")
            end = start
            # The first piece may be cut: keep it for the next block, unless at the start.
            rest = lines.pop(0) if start > 0 else b""
            for line in reversed(lines):
                entry = _entry(line)
                if entry is not None:
                    found.append(entry)
                    if len(found) == limit:
                        break
        if len(found) < limit and rest:
            entry = _entry(rest)
            if entry is not None:
                found.append(entry)
    return found


def _entry(line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None
