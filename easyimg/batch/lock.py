"""One run per output folder: a lock file with its holder's pid; what a dead run left is cleared."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ..errors import OutputError, UsageError
from ..output import TEMP_NAME

LOCK_NAME = ".easyimg.lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class FolderBusy(UsageError):
    """Another easyimg run holds the output folder."""

    def __init__(self, directory: Path, pid: int | None) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"{directory} is in use by another easyimg run{who}",
            hint="wait for it to finish, or write to another folder",
        )
        self.pid = pid


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (in this pid namespace)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return True  # os.kill(pid, 0) would end it there; the file lock is what decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists and belongs to someone else
    return True


def _try_lock(fd: int) -> bool | None:
    """Lock the open file for this process until it closes or dies: True; False when another
    process holds it; None where the file system has no such locks (the pid decides then)."""
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, errno.EDEADLK):
            return False
        return None
    return True


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        words = os.read(fd, 64).split()
        return int(words[0]) if words else None
    except (OSError, ValueError):
        return None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
    except OSError:
        return False


def _cannot(path: Path, exc: OSError) -> OutputError:
    if exc.errno == errno.ELOOP:
        return OutputError(f"{path} is a symbolic link; easyimg does not lock through one")
    return OutputError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}")


@dataclass
class FolderLock:
    """A held folder lock. `took_over`: the pid of the gone run whose lock it was; `removed`:
    the temporary files such runs left behind."""

    path: Path
    fd: int
    took_over: int | None = None
    removed: list[str] = field(default_factory=list)

    def release(self) -> None:
        if self.fd < 0:
            return
        # Removed before it is unlocked: whoever opens it after sees no file, or its own.
        if _same_file(self.fd, self.path):
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _open(path: Path) -> tuple[int, bool] | None:
    """(descriptor, created), or None when the file went away between two calls."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644), True
    except FileExistsError:
        pass
    except OSError as exc:
        raise _cannot(path, exc) from None
    try:
        return os.open(path, os.O_RDWR | _NOFOLLOW), False
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _cannot(path, exc) from None


def hold(directory: Path) -> FolderLock:
    """Take the folder's lock or raise FolderBusy naming its holder; then clear what dead
    runs left. The lock lasts until `release()` (or the process's end, whatever kills it)."""
    directory = Path(directory)
    path = directory / LOCK_NAME
    for _ in range(10):
        opened = _open(path)
        if opened is None:
            continue  # its holder let it go just now
        fd, created = opened
        holder = None if created else _read_pid(fd)
        locked = _try_lock(fd)
        if locked is None:
            locked = created or holder is None or holder == os.getpid() or not pid_alive(holder)
        if not locked:
            # The pid is read again: a holder that has just started may not have written it.
            pid = _read_pid(fd) or holder
            os.close(fd)
            raise FolderBusy(directory, pid)
        if not _same_file(fd, path):
            os.close(fd)  # its holder removed it between our open and our lock: again
            continue
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            os.close(fd)
            raise _cannot(path, exc) from None
        lock = FolderLock(path, fd, took_over=holder)
        lock.removed = remove_stale_temps(directory)
        return lock
    raise FolderBusy(directory, None)


def remove_stale_temps(directory: Path) -> list[str]:
    """Delete our temporary files in `directory` (not below it) whose writer is gone."""
    removed: list[str] = []
    # One entry at a time (the folder may hold millions); a folder we cannot list has none.
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            match = TEMP_NAME.fullmatch(entry.name)
            if match is None or not entry.is_file(follow_symlinks=False):
                continue
            pid = match.group(1)
            if pid is not None and (int(pid) == os.getpid() or pid_alive(int(pid))):
                continue
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return sorted(removed)
