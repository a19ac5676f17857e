"""The batch manifest: one JSON line per finished item, read back to resume a run."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import EasyImgError, OutputError
from ..history import Writers, jsonl_line
from ..output import os_reason
from .digests import DigestSet, digest
from .prompts import Item

MANIFEST_NAME = "easyimg-manifest.jsonl"


def relative(path: Path, directory: Path) -> str:
    """A manifest path: relative to the output directory, so the directory can move."""
    text, folder = os.fspath(path), os.fspath(directory)
    if os.path.dirname(text) == folder:
        return os.path.basename(text)  # an image in the folder itself: no Path arithmetic
    try:
        return str(Path(path).relative_to(directory))
    except ValueError:
        return os.path.relpath(path, directory)


# Unreadable lines kept for the warning; the rest are only counted.
MAX_NOTED = 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass
class Unreadable:
    line: int
    reason: str  # "cut off" (a torn last line), "not JSON", "not a JSON object"


@dataclass
class ManifestState:
    """What resume needs, and nothing more: the keys done, the files of partial items, and
    the remote results already fetched. Asked through `done()` and `have()`, so a more
    compact structure can take the place of the set."""

    # Digests of the keys done (8 bytes each: a million done items take 8 MB).
    ok: DigestSet = field(default_factory=DigestSet)
    # key digest -> files (relative) of an item that stopped with only some of its images.
    partial: dict[int, list[str]] = field(default_factory=dict)
    # (batch id, custom_id) pairs already written by `batches fetch`.
    fetched: set[tuple[str, str]] = field(default_factory=set)
    unreadable: list[Unreadable] = field(default_factory=list)
    unreadable_count: int = 0
    # Batches `batch --remote` submitted from here, in order.
    submitted: list[str] = field(default_factory=list)
    # The file as it was when read (`Manifest.stamp`): None when there was none.
    stamp: tuple[int, int, int] | None = None

    def done(self, key: str) -> bool:
        return digest(key) in self.ok

    def have(self, key: str) -> list[str]:
        """The files a partial item already holds (as recorded; they may since be gone)."""
        return self.partial.get(digest(key), []) if self.partial else []

    def add(self, entry: Mapping[str, Any]) -> None:
        if isinstance(entry.get("batch"), str) and isinstance(entry.get("custom_id"), str):
            self.fetched.add((entry["batch"], entry["custom_id"]))
        elif (
            entry.get("status") == "submitted"
            and isinstance(entry.get("batch"), str)
            and entry["batch"] not in self.submitted
        ):
            self.submitted.append(entry["batch"])
        key = entry.get("key")
        if not isinstance(key, str):
            return
        key = digest(key)
        if key in self.ok:
            return
        status, files = entry.get("status"), entry.get("files")
        if status == "ok":
            self.ok.add(key)
            self.partial.pop(key, None)
        elif status == "partial" and isinstance(files, list):
            # Each line lists all the files the item holds, so the last line wins.
            self.partial[key] = [f for f in files if isinstance(f, str)]
        else:
            self.partial.pop(key, None)

    def note(self, line: int, reason: str) -> None:
        self.unreadable_count += 1
        if len(self.unreadable) < MAX_NOTED:
            self.unreadable.append(Unreadable(line, reason))


class Manifest:
    """`easyimg-manifest.jsonl`: append-only, one whole line per finished item."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / MANIFEST_NAME
        self._lock = threading.Lock()
        self._held = False
        self._fd: int | None = None
        self._whole = False  # the held file is known to end with a whole line
        self._writers = Writers(self._lock)

    def check(self) -> None:
        """Refuse, before anything is sent, a manifest that is a symbolic link."""
        if self.path.is_symlink():
            raise self._symlink()

    def _symlink(self) -> OutputError:
        return OutputError(
            f"{self.path} is a symbolic link; easyimg does not write its manifest through one"
        )

    def stamp(self) -> tuple[int, int, int] | None:
        """(inode, size, mtime) of the file now, None when there is none: an append-only file
        with the same stamp holds the same lines."""
        try:
            return _stamp(os.stat(self.path))
        except OSError:
            return None

    def read(self) -> ManifestState:
        """Every complete line, in order; a line that cannot be read is noted with its number."""
        self.check()
        state = ManifestState()
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            return state
        except OSError as exc:
            raise OutputError(f"cannot read {self.path}: {os_reason(exc)}") from None
        with fh:
            # Taken before reading: a line appended meanwhile makes the stamp stale, not wrong.
            state.stamp = _stamp(os.fstat(fh.fileno()))
            for number, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    doc = json.loads(raw)
                except ValueError:
                    # Only the last line can lack its newline: a run ended while writing it.
                    state.note(number, "not JSON" if raw.endswith(b"\n") else "cut off")
                    continue
                if isinstance(doc, dict):
                    state.add(doc)
                else:
                    state.note(number, "not a JSON object")
        return state

    def hold(self) -> Manifest:
        """Keep the file open from the first line on until `close()` (a run's many lines): one
        open for the run instead of an open, a look at the last byte and a close per item.
        Lines are still one unbuffered write each on an O_APPEND descriptor."""
        with self._lock:
            self._held = True
        return self

    def close(self) -> None:
        with self._lock:
            self._held = False
            self._writers.wait_idle()
            fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Manifest:
        return self.hold()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, entry: Mapping[str, Any]) -> None:
        """One line in one write; it starts on a fresh line even after a torn one. Redacted
        as JSON text: entries quote servers (errors, ids), and no key may be stored."""
        data = jsonl_line(entry)
        with self._lock:
            fd = self._fd
            if fd is None or not self._whole:
                self._append_looked(data)
                return
            # A held file that ends with a whole line: the write is made outside the lock, as
            # a lock held across it makes the other workers queue behind it. O_APPEND keeps
            # each line whole beside the others.
            self._writers.enter()
        failure = None
        try:
            _write_all(fd, data)
        except OSError as exc:
            failure = exc
        with self._lock:
            self._writers.leave()
            if failure is not None:
                self._whole = False
        if failure is not None:
            raise OutputError(f"cannot write {self.path}: {os_reason(failure)}") from None

    def _append_looked(self, data: bytes) -> None:
        """The first line of a held file, a line after a failure or a line of a file not held
        (called with the lock held): the file's end is looked at first."""
        fd = self._fd
        if fd is None:
            fd = self._open()
        try:
            # Only a line cut short (a crash, a full disk) leaves the file without its last
            # newline; a held file is looked at once, and again after a failure.
            if os.fstat(fd).st_size:
                os.lseek(fd, -1, os.SEEK_END)
                if os.read(fd, 1) != b"\n":
                    data = b"\n" + data
            self._whole = self._held
            _write_all(fd, data)
        except OSError as exc:
            self._whole = False
            raise OutputError(f"cannot write {self.path}: {os_reason(exc)}") from None
        finally:
            if not self._held:
                os.close(fd)
            elif self._fd is None:
                self._fd = fd

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(self.path, flags, 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._symlink() from None
            raise OutputError(f"cannot write {self.path}: {os_reason(exc)}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_ino, st.st_size, st.st_mtime_ns


@dataclass
class Task:
    """An item to run, with the files an earlier run already wrote for it (relative)."""

    item: Item
    have: list[str] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any]:
        """The request: a partial item asks only for the images it lacks."""
        if not self.have:
            return self.item.body
        return {**self.item.body, "n": self.item.count - len(self.have)}

    def request(self) -> Item:
        """The item as it is to be sent: same line and key, asking only for what it lacks."""
        return self.item if not self.have else dataclasses.replace(self.item, body=self.body)


@dataclass
class Plan:
    todo: list[Task]
    skipped: int
    state: ManifestState


class Pending:
    """What a run still has to do, as a stream of Tasks: items are looked at one at a time, so
    planning a million holds none of them. `skipped` counts the done ones met so far."""

    def __init__(self, manifest: Manifest, items: Iterable[Item], *, resume: bool = True) -> None:
        self.manifest = manifest
        self.items = items
        self.resume = resume
        if resume:
            self.state = manifest.read()
        else:
            manifest.check()
            self.state = ManifestState()
        self.skipped = 0
        # The tasks of the last whole pass (None before one): a run planned by an earlier
        # pass (the estimate) need not count them again.
        self.count: int | None = None

    def current(self) -> bool:
        """Whether the manifest is still as it was read (and so the last count still holds)."""
        return not self.resume or self.manifest.stamp() == self.state.stamp

    def __iter__(self) -> Iterator[Task]:
        """The tasks, in file order; each pass counts `skipped` afresh."""
        self.skipped = 0
        count, self.count = 0, None
        state, directory = self.state, self.manifest.directory
        for item in self.items:
            if not self.resume:
                count += 1
                yield Task(item)
                continue
            if state.done(item.key):
                self.skipped += 1
                continue
            # Only files still there count: one the user deleted is asked for again.
            have = [f for f in state.have(item.key) if (directory / f).is_file()]
            if len(have) >= item.count:
                self.skipped += 1
                continue
            count += 1
            yield Task(item, have)
        self.count = count


def to_do(manifest: Manifest, items: Iterable[Item], *, resume: bool = True) -> Plan:
    """What a run (local, remote or dry) still has to do: done items are skipped, partial
    ones ask for the rest. Resuming means what `Pending` says; this is its list form."""
    pending = Pending(manifest, items, resume=resume)
    todo = list(pending)
    return Plan(todo, pending.skipped, pending.state)


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
