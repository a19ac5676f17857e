"""Local batch runs: the worker pool over one shared client, resume, the breaker, Ctrl-C."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..api import images as images_api
from ..api.answers import add_usage
from ..api.client import Client
from ..errors import EasyImgError, ExitCode, Interrupted, OutputError, Terminated
from ..generate import Generation, GenImage
from ..heap import steady
from ..output import OutputPlan
from .breaker import Breaker
from .manifest import Manifest, Pending, Task, Unreadable, entry, relative
from .prompts import Item
from .spool import PathSpool

if TYPE_CHECKING:
    from ..api.dialect import Dialect

_POLL = 0.1  # how often the main thread looks up from waiting, to notice Ctrl-C
MAX_FAILURES = 1000


@dataclass
class Outcome:
    """One finished item, as the progress display and the history see it."""

    line: int | None
    key: str
    status: str  # ok, error or interrupted
    paths: list[Path]
    usage: dict[str, Any] | None = None
    error: EasyImgError | None = None
    body: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    images: list[GenImage] = field(default_factory=list)
    # Files an earlier run wrote for this item (relative): the manifest line lists them too.
    kept: list[str] = field(default_factory=list)
    # The server said its images are placeholders (`easyimg serve`).
    placeholder: bool = False

    @property
    def image_count(self) -> int:
        return len(self.kept) + len(self.paths)


@dataclass
class Failure:
    line: int | None
    message: str
    exit_code: int


@dataclass
class Summary:
    total: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    abandoned: int = 0
    interrupted: bool = False
    terminated: bool = False  # the interruption was SIGTERM
    stopped_by: EasyImgError | None = None
    stop_reason: str | None = None
    images: PathSpool = field(default_factory=lambda: PathSpool())
    image_bytes: int = 0  # of the images written, as they were written (not looked up again)
    usage: dict[str, Any] | None = None
    # The first MAX_FAILURES failures (`failed` counts them all): the manifest has the rest.
    failures: list[Failure] = field(default_factory=list)
    elapsed: float = 0.0
    manifest: Path | None = None
    unreadable: list[Unreadable] = field(default_factory=list)
    unreadable_count: int = 0

    @property
    def done(self) -> int:
        return self.ok + self.failed

    @property
    def not_started(self) -> int:
        return max(0, self.total - self.skipped - self.ok - self.failed - self.abandoned)

    def exit_code(self) -> int:
        if self.interrupted:
            return int(ExitCode.TERMINATED if self.terminated else ExitCode.INTERRUPTED)
        wrote = bool(self.ok or self.skipped or self.images)
        if self.stopped_by is not None:
            # A disk that fills after some items is a partial success; usage errors (2) are
            # for what is found before any request.
            if isinstance(self.stopped_by, OutputError) and wrote:
                return int(ExitCode.PARTIAL)
            return int(self.stopped_by.exit_code)
        if not self.failed:
            return int(ExitCode.OK)
        if wrote:
            return int(ExitCode.PARTIAL)
        return self.failures[0].exit_code if self.failures else int(ExitCode.ERROR)

    def stop(self, error: EasyImgError, reason: str | None = None) -> None:
        if self.stopped_by is None:
            self.stopped_by, self.stop_reason = error, reason or error.message

    def count(self, outcome: Outcome) -> None:
        if outcome.status == "ok":
            self.ok += 1
        elif outcome.status == "interrupted":
            self.abandoned += 1
        else:
            self.failed += 1
            err = outcome.error or EasyImgError("failed")
            if len(self.failures) < MAX_FAILURES:
                self.failures.append(Failure(outcome.line, err.message, int(err.exit_code)))
        self.images.extend(outcome.paths)
        self.image_bytes += sum(image.saved.bytes for image in outcome.images)
        self.usage = add_usage(self.usage, outcome.usage)


class Events(Protocol):
    """What a batch run reports; called on the main thread only."""

    def started(self, summary: Summary, to_run: int) -> None: ...
    def finished(self, outcome: Outcome, summary: Summary) -> None: ...
    def stopping(self, in_flight: int, reason: str) -> None: ...


class _Quiet:
    def started(self, summary: Summary, to_run: int) -> None:
        pass

    def finished(self, outcome: Outcome, summary: Summary) -> None:
        pass

    def stopping(self, in_flight: int, reason: str) -> None:
        pass


class BatchRun:
    """Run items on `jobs` worker threads sharing one Client (and so one 429 gate)."""

    def __init__(
        self,
        client: Client,
        items: Iterable[Item],
        directory: Path,
        *,
        total: int,
        jobs: int = 4,
        template: str,
        overwrite: bool = False,
        metadata: bool = True,
        sidecar: bool = False,
        resume: bool = True,
        events: Events | None = None,
        on_record: Callable[[Outcome], None] | None = None,
        admit: Callable[[Task], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        dialects: Callable[[Item], Dialect | None] | None = None,
        planned: Pending | None = None,
        flush: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        # Called on the main thread a few times a second while the run goes (each time it
        # looks up from waiting) and once at its end: what the reports gathered (paths for
        # stdout) goes out in one write, not one per image.
        self.flush = flush
        # A pass already made over these items (the estimate's): used again, count and
        # manifest state, when the manifest has not changed since.
        self.planned = planned
        # The dialect each item is sent with (None: the images API's JSON generations).
        self.dialects = dialects
        self.items = items
        self.manifest = Manifest(directory)
        self.jobs = max(1, jobs)
        self.template = template
        self.overwrite = overwrite
        self.metadata = metadata
        self.sidecar = sidecar
        self.resume = resume
        self.events: Events = events or _Quiet()
        self.on_record = on_record
        # Asked before each item starts (a budget); False stops the run starting items.
        self.admit = admit
        self.admit_refused = False
        self.clock = clock
        self.summary = Summary(total=total, manifest=self.manifest.path)
        self._lock = threading.Lock()
        # Items being run; whoever takes an item out of it (its worker, or a second Ctrl-C)
        # writes its manifest line: exactly once. A dict's set, pop and copy are each atomic,
        # so neither needs a lock for it.
        self._active: dict[str, tuple[Task, Generation]] = {}
        self._breaker = Breaker()
        # The workers take their items from this stream themselves, one at a time, under
        # `_take_lock`, and count and report each result under `_report_lock`: the main
        # thread only waits for them (and for a signal).
        self._todo: Iterator[Task] = iter(())
        self._take_lock = threading.Lock()
        self._report_lock = threading.Lock()
        self._stopping = False
        self._told = False  # events.stopping has been called
        self._silent = False  # the run is ending: nothing more is reported
        self._closed = False  # the wake-up pair is closed
        self._working = 0  # workers not yet stopped
        self._wake_r: socket.socket  # made by run()
        self._wake_w: socket.socket
        # What went wrong outside any item (the prompt file, a report): raised by run().
        self._failure: BaseException | None = None
        # Ctrl-C and SIGTERM while the pool runs, noted by the handlers and acted on in the
        # main thread's wait (see _signals_deferred).
        self._signalled: list[int] = []

    # --- main thread ---------------------------------------------------------------------

    def run(self) -> Summary:
        start = self.clock()
        steady()  # a million images must not grow the heap (see heap.py)
        pending, to_run = self._plan()
        self.events.started(self.summary, to_run)
        self._todo = iter(pending) if to_run else iter(())
        self._working = min(self.jobs, to_run)
        # The main thread sleeps on this pair until the last worker stops or a signal comes
        # (it is also the signals' wake-up fd): it does not wake up for each result.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        # The manifest stays open while the run writes its lines; closed however it ends.
        self.manifest.hold()
        try:
            with self._signals_deferred():
                self._run()
        finally:
            with self._lock:
                self._closed = True  # a worker still running after a second Ctrl-C: silent
                self._wake_r.close()
                self._wake_w.close()
        self.summary.elapsed = self.clock() - start
        if self._failure is not None:
            raise self._failure
        return self.summary

    @contextlib.contextmanager
    def _signals_deferred(self) -> Iterator[None]:
        """While the pool runs, Ctrl-C and SIGTERM are raised only in the main thread's wait.

        A KeyboardInterrupt raised wherever the main thread happens to be can land inside a
        lock's wait ("release unlocked lock") or between two steps of stopping. The handlers
        only note the signal (and the wake-up fd wakes the main thread, whichever thread the
        signal reached); `_wait_workers` raises it. Outside the main thread (an embedding
        program) signals are left alone.
        """
        import signal

        if threading.current_thread() is not threading.main_thread():
            yield
            return
        wanted = [signal.SIGINT, signal.SIGTERM]
        before = {sig: signal.getsignal(sig) for sig in wanted}

        def note(signum: int, frame: object) -> None:
            self._signalled.append(signum)

        for sig in wanted:
            # A handler left as "ignore" (nohup, a supervisor's choice) stays ignored.
            if before[sig] is not signal.SIG_IGN:
                signal.signal(sig, note)
        wakeup = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        try:
            yield
        finally:
            signal.set_wakeup_fd(wakeup)
            for sig, handler in before.items():
                signal.signal(sig, handler)

    def _raise_signalled(self) -> None:
        if self._signalled:
            import signal

            signum = self._signalled.pop(0)
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    def _run(self) -> None:
        try:
            try:
                for i in range(self._working):
                    name = f"easyimg-batch-{i}"
                    threading.Thread(target=self._work, name=name, daemon=True).start()
                self._wait_workers()
            except KeyboardInterrupt as exc:
                self._interrupted(exc)
                self._stop("terminated" if self.summary.terminated else "interrupted")
                self._wait_workers()
        except KeyboardInterrupt as exc:
            self._interrupted(exc)
            self._abandon()
        finally:
            with self._report_lock:
                self._stopping = self._silent = True  # no worker reports after this
            self._flush()
            self.manifest.close()

    def _wait_workers(self) -> None:
        """Sleep until the last worker has stopped, raising a signal noted meanwhile."""
        while True:
            self._raise_signalled()
            if not self._working:
                return
            # The timeout is only a safety net: a wake-up byte ends the wait.
            select.select([self._wake_r], [], [], _POLL)
            with contextlib.suppress(BlockingIOError):
                self._wake_r.recv(4096)
            self._flush()

    def _flush(self) -> None:
        if self.flush is not None:
            with self._report_lock:
                try:
                    self.flush()
                except Exception as exc:  # stdout closed, say: the run stops as for a report
                    self._fail(exc)

    def _plan(self) -> tuple[Pending, int]:
        """The tasks as a stream, and how many there are: one pass counts them (holding
        none), the run reads the items again. Under the folder's lock: a pass made before
        it (`planned`) counts only if the manifest is as that pass read it."""
        if isinstance(self.items, Iterator):
            self.items = list(self.items)  # a one-pass iterator cannot be read twice
        pending = self.planned
        if pending is not None and pending.count is not None and pending.current():
            to_run = pending.count
        else:
            pending = Pending(self.manifest, self.items, resume=self.resume)
            to_run = sum(1 for _ in pending)
        self.summary.skipped = pending.skipped
        self.summary.unreadable = pending.state.unreadable
        self.summary.unreadable_count = pending.state.unreadable_count
        return pending, to_run

    def _interrupted(self, exc: BaseException) -> None:
        self.summary.interrupted = True
        self.summary.terminated = self.summary.terminated or isinstance(exc, Terminated)

    def _stop(self, reason: str) -> None:
        self._stopping = True
        with self._report_lock:
            if not self._told and not self._silent:
                self._told = True
                self.events.stopping(len(self._active), reason)

    def _abandon(self) -> None:
        """Second Ctrl-C: stop waiting; no half-written file stays, and the manifest says so."""
        self._stopping = self.summary.interrupted = True
        active = list(self._active.values())
        for _, gen in active:
            gen.stop()  # lets a file being written finish, and refuses the next one
        word = "terminated" if self.summary.terminated else "interrupted"
        for task, gen in active:
            images = gen.saved_images()
            self._record(
                Outcome(
                    task.item.line,
                    task.item.key,
                    "interrupted",
                    [i.saved.path for i in images],
                    gen.result.usage,
                    Interrupted(f"{word} before it finished", terminated=self.summary.terminated),
                    body=task.item.body,
                    images=images,
                    kept=task.have,
                )
            )

    # --- worker threads ------------------------------------------------------------------

    def _work(self) -> None:
        try:
            while (task := self._take()) is not None:
                self._run_item(task)
        finally:
            with self._lock:
                self._working -= 1
                if self._working == 0 and not self._closed:
                    with contextlib.suppress(OSError):
                        self._wake_w.send(b"\0")

    def _take(self) -> Task | None:
        """The next item to run, or None when there are no more or the run is stopping."""
        with self._take_lock:
            if self._stopping:
                return None
            try:
                task = next(self._todo, None)
                if task is not None and self.admit is not None and not self.admit(task):
                    self.admit_refused = True
                    self._stop("budget reached")
                    return None
            except BaseException as exc:  # the prompt file changed under the run, say
                self._fail(exc)
                return None
            return task

    def _fail(self, exc: BaseException) -> None:
        """Something outside any one item went wrong: start no more, and let run() raise it."""
        if self._failure is None:
            self._failure = exc
        self._stopping = True

    def _dialect(self, item: Item) -> Dialect | None:
        if self.dialects is not None:
            return self.dialects(item)
        return images_api.Dialect(images_api.EDITS) if item.is_edit else None

    def _run_item(self, task: Task) -> None:
        item = task.item
        plan = OutputPlan(
            self.manifest.directory,
            item.name or self.template,
            stem=None,
            count=item.count,
            overwrite=self.overwrite,
        )
        error: EasyImgError | None = None
        try:
            # An edit's local images are read and inlined only now, one item at a time.
            body = task.request().request_body()
        except EasyImgError as exc:
            body, error = task.body, exc
        gen = Generation(
            self.client.labelled(f"line {item.line}"),
            body,
            plan,
            max_n=item.max_n,
            dialect=self._dialect(item),
            metadata=self.metadata,
            sidecar=self.sidecar,
            now=datetime.now(),
            first_index=len(task.have),
        )
        self._active[item.key] = (task, gen)
        try:
            if error is not None:
                raise error
            result = gen.run()
            if result.errors:
                error = result.errors[0]
            elif not result.complete:
                error = EasyImgError(
                    f"server returned {len(result.images)} of {result.requested} images"
                )
        except EasyImgError as exc:
            error = exc
        except Exception as exc:  # one broken item must not end the batch
            error = EasyImgError(f"unexpected internal error: {exc!r}")
        images = gen.saved_images()
        status = "ok" if error is None else "error"
        outcome = Outcome(
            item.line,
            item.key,
            status,
            [i.saved.path for i in images],
            gen.result.usage,
            error,
            body=item.body,
            images=images,
            request_id=gen.result.request_ids[0] if gen.result.request_ids else None,
            kept=task.have,
            placeholder=gen.result.placeholder,
        )
        self._record(outcome)

    def _record(self, outcome: Outcome) -> None:
        """Write the manifest line once per item (after its files), then count it."""
        if self._active.pop(outcome.key, None) is None:
            return
        files = outcome.kept + [relative(p, self.manifest.directory) for p in outcome.paths]
        try:
            self.manifest.append(
                entry(
                    line=outcome.line,
                    key=outcome.key,
                    # An item stopped with some of its images keeps them: a re-run asks
                    # only for the rest.
                    status="ok" if outcome.status == "ok" else "partial" if files else "error",
                    files=files,
                    usage=outcome.usage,
                    error=outcome.error,
                    prompt=outcome.body.get("prompt"),
                )
            )
        except OutputError as exc:
            outcome.status, outcome.error = "error", exc
        if self.on_record is not None:
            with contextlib.suppress(Exception):  # a side record (history) never stops a batch
                self.on_record(outcome)
        self._report(outcome)

    def _report(self, outcome: Outcome) -> None:
        with self._report_lock:
            self.summary.count(outcome)
            reason = self._breaker.trip(outcome.status, outcome.error, outcome.body.get("model"))
            if reason is not None and outcome.error is not None:
                self.summary.stop(outcome.error, reason)
            if self._silent:
                return
            try:
                self.events.finished(outcome, self.summary)
            except BaseException as exc:  # stdout closed, say
                self._fail(exc)
                return
            reason = self.summary.stop_reason
        if reason is not None:
            self._stop(f"stopped: {reason}")
