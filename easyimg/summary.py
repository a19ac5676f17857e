"""The history file's totals per (model, day, host, placeholder, status), cached beside it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

VERSION = 2
# The fingerprint hashes this much of the file's start: a rewritten file changes there.
_HEAD = 4096
_READ = 1 << 20


@dataclass(frozen=True, order=True)
class Key:
    """The finest grouping `usage` answers from: every report is a sum over these."""

    model: str
    day: str  # the local calendar day, YYYY-MM-DD; "" when the entry has no time
    host: str
    placeholder: bool
    status: str
    # What a per-image price depends on (the request's; "" when it sent none).
    quality: str = ""
    size: str = ""
    # Whether the entry said if its images were placeholders (older ones did not).
    marked: bool = True


# runs, images, input_text, input_image, output, total tokens, runs with usage,
# cached input_text, cached input_image
FIELDS = 9
Totals = dict[Key, list[int]]


def cache_path(history: Path) -> Path:
    return history.with_name(history.name + ".summary.json")


def host_of(entry: Mapping[str, Any]) -> str:
    """The recorded host, else host[:port] of the base URL, lower case."""
    host = entry.get("host")
    if isinstance(host, str) and host:
        return host
    try:
        parts = urlsplit(str(entry.get("base_url") or ""))
        name, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return ""
    if ":" in name:
        name = f"[{name}]"
    return f"{name}:{port}" if name and port else name


def _day(entry: Mapping[str, Any], tz: tzinfo | None) -> str:
    raw = entry.get("time")
    if not isinstance(raw, str):
        return ""
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return ""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(tz).date().isoformat()


def add(totals: Totals, entry: Mapping[str, Any], tz: tzinfo | None = None) -> None:
    """Count one history entry into `totals`."""
    from .usage import image_count, tokens_of

    status = entry.get("status")
    params = entry.get("parameters")
    params = params if isinstance(params, Mapping) else {}
    key = Key(
        str(entry.get("model") or ""),
        _day(entry, tz),
        host_of(entry),
        entry.get("placeholder") is True,
        status if isinstance(status, str) and status else "ok",
        str(params.get("quality") or ""),
        str(params.get("size") or ""),
        isinstance(entry.get("placeholder"), bool),
    )
    row = totals.get(key)
    if row is None:
        row = totals[key] = [0] * FIELDS
    row[0] += 1
    row[1] += image_count(entry)
    tokens = tokens_of(entry.get("usage"))
    if tokens is not None:
        row[2] += tokens.input_text
        row[3] += tokens.input_image
        row[4] += tokens.output
        row[5] += tokens.total
        row[6] += 1
        row[7] += tokens.cached_text
        row[8] += tokens.cached_image


def of_entries(entries: Iterable[Mapping[str, Any]], tz: tzinfo | None = None) -> Totals:
    totals: Totals = {}
    for entry in entries:
        add(totals, entry, tz)
    return totals


def _zone(tz: tzinfo | None) -> str:
    # Days are local: a cache made in another time zone counts them differently.
    if tz is not None:
        return repr(tz)
    return f"local:{time.tzname}:{time.timezone}:{time.altzone}"


def _fold(totals: Totals, chunk: bytes, tz: tzinfo | None) -> None:
    for line in chunk.split(b"\n"):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # cut short by a crash, as history.read skips it
        if isinstance(entry, dict):
            add(totals, entry, tz)


def _load(cache: Path, zone: str) -> tuple[Totals, int, str] | None:
    try:
        doc = json.loads(cache.read_bytes())
        if doc.get("version") != VERSION or doc.get("zone") != zone:
            return None
        totals: Totals = {}
        for row in doc["rows"]:
            model, day, host, placeholder, status, quality, size, marked, *counts = row
            if len(counts) != FIELDS:
                return None
            key = Key(
                str(model),
                str(day),
                str(host),
                bool(placeholder),
                str(status),
                str(quality),
                str(size),
                bool(marked),
            )
            totals[key] = [int(c) for c in counts]
        return totals, int(doc["offset"]), str(doc["head"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no cache, or a damaged one: read the history whole


def _save(cache: Path, totals: Totals, offset: int, head: str, zone: str) -> None:
    rows = [[*k.__dict__.values(), *v] for k, v in sorted(totals.items())]
    doc = {"version": VERSION, "zone": zone, "offset": offset, "head": head, "rows": rows}
    part = cache.with_name(f".{cache.name}.{os.getpid()}.part")
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, separators=(",", ":"))
        os.replace(part, cache)
    except OSError:
        # The cache only saves time: a read-only folder still gets its report.
        with contextlib.suppress(OSError):
            part.unlink()


def totals(history: Path, tz: tzinfo | None = None, *, cache: Path | None = None) -> Totals:
    """The totals of the whole history file: the cached ones, plus the lines appended since.

    A file that shrank or whose start changed is read whole again. A last line without its
    newline (being written right now) is counted but left for the next call to cache.
    """
    from .errors import ConfigError

    cache = cache or cache_path(history)
    zone = _zone(tz)
    try:
        fh = history.open("rb")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read history file {history}: {exc.strerror or exc}") from None
    with fh:
        head_bytes = fh.read(_HEAD)
        size = fh.seek(0, os.SEEK_END)
        loaded = _load(cache, zone)
        found: Totals = {}
        offset = 0
        if loaded is not None:
            cached, at, head = loaded
            if at <= size and head == _hash(head_bytes[:at]):
                found, offset = cached, at
        start = offset
        fh.seek(offset)
        rest = b""
        while True:
            block = fh.read(_READ)
            if not block:
                break
            chunk, nl, tail = (rest + block).rpartition(b"\n")
            if nl:
                _fold(found, chunk, tz)
                offset += len(chunk) + 1
                rest = tail
            else:
                rest = tail
    if offset != start or loaded is None:
        _save(cache, found, offset, _hash(head_bytes[:offset]), zone)
    if rest.strip():
        found = {k: list(v) for k, v in found.items()}
        _fold(found, rest, tz)
    return found


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
