"""The history file: one JSON line per completed generation, never the key."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import ConfigError, EasyImgError, UsageError
from .redact import redact

if TYPE_CHECKING:
    from .generate import GenResult
    from .summary import Totals

# Keys that must never reach the history file, whatever a caller passes.
_SECRET_KEYS = frozenset({"api_key", "authorization", "Authorization"})
STATUSES = ("ok", "partial", "error")
# Sent by a server whose images are placeholders (`easyimg serve`): they cost nothing.
PLACEHOLDER_HEADER = "x-easyimg-placeholder"
ID_LENGTH = 10
MIN_ID_PREFIX = 4
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


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
    placeholder: bool = False,
    host: str | None = None,
    error: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    answer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One history entry. `placeholder`: the images are not real (`--offline`, or a server
    that said so); `host` defaults to the base URL's host and port; `inputs`: the files an
    edit or variation sent (`image`: paths, `mask`: a path), so `rerun` can send them again."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    entry: dict[str, Any] = {
        "time": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "command": command,
        "model": model,
        "prompt": prompt,
        "parameters": {k: v for k, v in parameters.items() if k not in _SECRET_KEYS},
        "files": files,
        "usage": dict(usage) if usage else None,
        "request_id": request_id,
        "base_url": base_url,
        "host": host or host_label(base_url),
        "placeholder": placeholder,
        "status": status,
    }
    if answer:
        entry["answer"] = dict(answer)
    if inputs:
        entry["inputs"] = dict(inputs)
    if error is not None:
        entry["error"] = error
    return {"id": entry_id(entry), **entry}


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


def host_label(base_url: Any) -> str:
    """host[:port] of a base URL, lower case; "" when there is none."""
    try:
        parts = urlsplit(str(base_url or ""))
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if host and port else host


def entry_id(entry: Mapping[str, Any]) -> str:
    """The entry's id: the stored one, else a hash of the line (stable for entries written
    before ids were stored, since a history line never changes)."""
    stored = entry.get("id")
    if isinstance(stored, str) and stored:
        return stored
    canon = json.dumps(
        {k: v for k, v in entry.items() if k != "id"},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:ID_LENGTH]


def entry_host(entry: Mapping[str, Any]) -> str:
    host = entry.get("host")
    return host if isinstance(host, str) and host else host_label(entry.get("base_url"))


def is_placeholder(entry: Mapping[str, Any]) -> bool | None:
    """True or False as recorded; None for entries written before this was recorded."""
    value = entry.get("placeholder")
    return value if isinstance(value, bool) else None


def entry_status(entry: Mapping[str, Any]) -> str:
    status = entry.get("status")
    return status if isinstance(status, str) and status else "ok"


def entry_time(entry: Mapping[str, Any]) -> datetime | None:
    raw = entry.get("time")
    if not isinstance(raw, str):
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def local_day(entry: Mapping[str, Any], tz: tzinfo | None = None) -> date | None:
    """The entry's calendar day in `tz` (None: this machine's local time zone)."""
    when = entry_time(entry)
    return when.astimezone(tz).date() if when else None


@dataclass(frozen=True)
class Query:
    """Which entries `history` shows: every field left None matches everything."""

    grep: str | None = None
    model: str | None = None
    since: date | None = None
    status: str | None = None
    tz: tzinfo | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise UsageError(f"status {self.status!r}: use one of {', '.join(STATUSES)}")

    def matches(self, entry: Mapping[str, Any]) -> bool:
        if self.status is not None and entry_status(entry) != self.status:
            return False
        if self.model is not None:
            model = str(entry.get("model") or "")
            if self.model not in (model, _SNAPSHOT.sub("", model)):
                return False
        if self.since is not None:
            day = local_day(entry, self.tz)
            if day is None or day < self.since:
                return False
        if self.grep:
            needle = self.grep.casefold()
            files = entry.get("files")
            hay = [str(entry.get("prompt") or ""), *(files if isinstance(files, list) else [])]
            if not any(needle in str(h).casefold() for h in hay):
                return False
        return True


def jsonl_line(entry: Mapping[str, Any]) -> bytes:
    """One redacted JSON line. Redacted as JSON text: a key needs no escaping in JSON, so it
    is found there as it is, in one pass over the line instead of one per field."""
    return _redacted_line(entry)[0]


def _redacted_line(entry: Mapping[str, Any]) -> tuple[bytes, bool]:
    """The line and whether redaction changed it."""
    text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    redacted = redact(text)
    return (redacted + "\n").encode(), redacted != text


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
    line = jsonl_line(entry)
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


def _folder(path: Path) -> None:
    if path.parent not in _READY:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(f"cannot write history file {path}: {exc.strerror or exc}") from None
        _READY.add(path.parent)


def append(path: Path, entry: Mapping[str, Any]) -> None:
    """Append one history line; the file is private (0600) in a private directory."""
    _folder(path)
    append_jsonl(path, entry, ConfigError, mode=0o600, what=f"history file {path}")


class Writers:
    """Threads writing to one descriptor outside the lock that guards it (a write drops the
    GIL, and a lock held across it makes the other workers queue behind it). `wait_idle`
    lets the descriptor be closed only once the writes in flight are done, so its number is
    never reused under one. `enter`, `leave` and `wait_idle` are called with `lock` held."""

    def __init__(self, lock: threading.Lock) -> None:
        self._idle = threading.Condition(lock)
        self._count = 0

    def enter(self) -> None:
        self._count += 1

    def leave(self) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.notify_all()

    def wait_idle(self) -> None:
        while self._count:
            self._idle.wait()


class Appender:
    """The history file held open for a run of many lines (a batch): one open for the run
    instead of an open and a close per image. Each line is still one write() on an O_APPEND
    descriptor, unbuffered, so lines stay whole beside other writers and a crash loses none
    that was written. Opened on the first line; thread-safe (the write itself is made
    outside the lock); `close()` may be called twice.

    The lines' totals are kept as they are written and folded into `usage`'s summary on
    close, when no other writer came in between (`summary.follow`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._writers = Writers(self._lock)
        self._start = 0  # the file's size when it was opened
        self._written = 0
        self._totals: Totals | None = {}

    def append(self, entry: Mapping[str, Any]) -> None:
        from .summary import add, fold_line

        line, masked = _redacted_line(entry)
        with self._lock:
            if self._closed:
                raise ConfigError(f"history file {self.path} is closed")
            if self._fd is None:
                try:
                    _folder(self.path)
                    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
                    self._fd = os.open(self.path, flags, 0o600)
                    self._start = os.fstat(self._fd).st_size
                except OSError as exc:
                    self._totals = None
                    raise self._error(exc) from None
            fd = self._fd
            self._writers.enter()
        wrote, failure = 0, None
        try:
            wrote = os.write(fd, line)
        except OSError as exc:
            failure = exc
        with self._lock:
            self._writers.leave()
            self._written += wrote
            if failure is not None or wrote != len(line):
                self._totals = None  # what reached the file is unknown: `usage` reads it
            elif self._totals is not None:
                # The line as written, as `usage` would read it back: the entry itself when
                # redaction changed nothing, else the redacted line parsed again.
                if masked:
                    fold_line(self._totals, line)
                else:
                    add(self._totals, entry)
        if failure is not None:
            raise self._error(failure) from None

    def _error(self, exc: OSError) -> ConfigError:
        return ConfigError(f"cannot write history file {self.path}: {exc.strerror or exc}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._writers.wait_idle()
            fd, self._fd = self._fd, None
            totals, self._totals = self._totals, None
        if fd is None:
            return
        size = None
        with contextlib.suppress(OSError):
            size = os.fstat(fd).st_size
        with contextlib.suppress(OSError):
            os.close(fd)
        if totals is not None and size == self._start + self._written:
            from .summary import follow

            with contextlib.suppress(Exception):  # the summary only saves time
                follow(self.path, self._start, size, totals)

    def __enter__(self) -> Appender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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


def backwards(path: Path) -> Iterator[dict[str, Any]]:
    """The entries newest first, read from the end of the file backwards: the last few of a
    million lines come as quick as of ten. Damaged lines are skipped as in `read`."""
    what = f"history file {path}"
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror or exc}") from None
    with fh:
        end = fh.seek(0, os.SEEK_END)
        rest = b""  # the start of a line whose beginning lies in an earlier block
        while end > 0:
            start = max(0, end - _BLOCK)
            fh.seek(start)
            lines = (fh.read(end - start) + rest).split(b"\n")
            end = start
            # The first piece may be cut: keep it for the next block, unless at the start.
            rest = lines.pop(0) if start > 0 else b""
            for line in reversed(lines):
                entry = _entry(line)
                if entry is not None:
                    yield entry
        if rest:
            entry = _entry(rest)
            if entry is not None:
                yield entry


def last(path: Path, limit: int) -> list[dict[str, Any]]:
    """The last `limit` entries, newest first."""
    return list(itertools.islice(backwards(path), limit))


def _entry(line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def newest(path: Path, limit: int = 0, query: Query | None = None) -> list[dict[str, Any]]:
    """The last `limit` entries that match (all with 0), newest first, read from the end."""
    found = (e for e in backwards(path) if query is None or query.matches(e))
    return list(itertools.islice(found, limit or None))


def newest_first(entries: Iterable[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The last `limit` of `entries` (all with 0), newest first; memory stays bounded."""
    kept: deque[dict[str, Any]] = deque(maxlen=limit if limit > 0 else None)
    kept.extend(entries)
    return list(reversed(kept))


def find(path: Path, ref: str) -> dict[str, Any]:
    """The entry whose id is `ref` or starts with it (at least 4 characters, and unique)."""
    ref = ref.strip().lower()
    if len(ref) < MIN_ID_PREFIX or not re.fullmatch(r"[0-9a-z_-]+", ref):
        raise UsageError(
            f"{ref!r} is not a history id; ids are the first column of `easyimg history` "
            f"(at least {MIN_ID_PREFIX} characters)"
        )
    found: list[dict[str, Any]] = []
    # Newest first: the entry asked for is most often a recent one.
    for entry in backwards(path):
        ident = entry_id(entry)
        if ident == ref:
            return entry
        if ident.startswith(ref):
            found.append(entry)
    if not found:
        raise UsageError(f"no history entry {ref} in {path}")
    if len(found) > 1:
        ids = ", ".join(entry_id(e) for e in found[:5])
        raise UsageError(f"history id {ref} matches several entries ({ids}); give more of it")
    return found[0]
