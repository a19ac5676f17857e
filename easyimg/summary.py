"""The history file's totals per (model, day, host, placeholder, status), cached beside it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .cost import tokens_of

VERSION = 2
# The fingerprint hashes this much of the file's start: a rewritten file changes there.
_HEAD = 4096
_READ = 1 << 20


class Key(NamedTuple):
    """The finest grouping `usage` answers from: every report is a sum over these (a tuple:
    a million history lines hash and compare it in C)."""

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


# Look-ups a history repeats on nearly every line, remembered while one is read; cleared
# when full, so that a file of many distinct values cannot make them grow without bound.
_MEMO_SIZE = 4096
_HOSTS: dict[str, str] = {}
_DAYS: dict[tuple[Any, ...], str] = {}


def host_of(entry: Mapping[str, Any]) -> str:
    """The recorded host, else host[:port] of the base URL, lower case."""
    host = entry.get("host")
    if isinstance(host, str) and host:
        return host
    base = str(entry.get("base_url") or "")
    found = _HOSTS.get(base)
    if found is None:
        if len(_HOSTS) >= _MEMO_SIZE:
            _HOSTS.clear()
        found = _HOSTS[base] = _host_of_url(base)
    return found


def _host_of_url(base: str) -> str:
    try:
        parts = urlsplit(base)
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
    if len(raw) == 20 and raw[19] == "Z":
        # What easyimg writes (2026-12-01T10:23:45Z): no time zone is offset by seconds, so
        # one answer serves every line of the same minute (in the same local zone).
        memo = (raw[:16], tz, time.tzname, time.timezone)
        day = _DAYS.get(memo)
        if day is None:
            if len(_DAYS) >= _MEMO_SIZE:
                _DAYS.clear()
            day = _DAYS[memo] = _day_of(raw, tz)
        return day
    return _day_of(raw, tz)


def _day_of(raw: str, tz: tzinfo | None) -> str:
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return ""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(tz).date().isoformat()


def add(totals: Totals, entry: Mapping[str, Any], tz: tzinfo | None = None) -> None:
    """Count one history entry into `totals`."""
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
    files = entry.get("files")
    row[1] += len(files) if isinstance(files, list) else 0  # as usage.image_count
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
        fold_line(totals, line, tz)


def fold_line(totals: Totals, line: bytes, tz: tzinfo | None = None) -> None:
    """Count one line of the history file as `totals()` reads it."""
    if not line.strip():
        return
    try:
        entry = json.loads(line)
    except ValueError:
        return  # cut short by a crash, as history.read skips it
    if isinstance(entry, dict):
        add(totals, entry, tz)


def follow(history: Path, before: int, after: int, added: Totals) -> None:
    """A writer that appended bytes [before, after) of `history`, and nothing else did, folds
    `added` (those lines' totals, local days) into the summary, so that `usage` need not read
    them again: after a batch of a million lines it answers at once.

    Only a summary that ends exactly at `before` is carried on (or a history that was empty);
    any other is left for `totals()` to bring up to date, as it would have been.
    """
    cache, zone = cache_path(history), _zone(None)
    try:
        with history.open("rb") as fh:
            head_bytes = fh.read(_HEAD)
    except OSError:
        return
    loaded = _load(cache, zone)
    if loaded is None:
        if before != 0:
            return  # an older history with no summary yet: `usage` makes it when asked
        found: Totals = {}
    else:
        found, at, head = loaded
        if at != before or head != _hash(head_bytes[:at]):
            return
    for key, counts in added.items():
        row = found.setdefault(key, [0] * FIELDS)
        for i, n in enumerate(counts):
            row[i] += n
    _save(cache, found, after, _hash(head_bytes[:after]), zone)


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
    rows = [[*k, *v] for k, v in sorted(totals.items())]
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
