"""A batch's progress and closing summary: rich on a terminal, plain lines in a pipe."""

import contextlib
from typing import TYPE_CHECKING, Any

import typer

from ..console import plural

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ..batch.manifest import ManifestState
    from ..batch.run import Outcome, Summary
    from ..console import Console

MAX_LISTED = 50


@contextlib.contextmanager
def folder_lock(console: "Console", directory: "Path") -> "Iterator[None]":
    """Hold the output folder for this run (exit 2 naming the holder if another run has it)."""
    from ..batch.lock import hold

    with hold(directory) as lock:
        if lock.took_over:
            console.info(
                f"took over {directory} from an earlier run (pid {lock.took_over}) that is gone"
            )
        if lock.removed:
            n = len(lock.removed)
            console.info(f"removed {plural(n, 'temporary file')} an earlier run left")
        yield


def warn_unreadable(
    console: "Console", path: "Path", state: "ManifestState | Summary | None"
) -> None:
    """One warning per manifest line that could not be read, with its number."""
    if state is None:
        return
    for bad in state.unreadable:
        if bad.reason == "cut off":
            console.warn(
                f"{path} line {bad.line} was cut off (a run ended while writing it); ignored"
            )
        else:
            console.warn(f"{path} line {bad.line} cannot be read ({bad.reason}); ignored")
    more = state.unreadable_count - len(state.unreadable)
    if more > 0:
        console.warn(f"{path}: and {more} more lines that cannot be read; ignored")


def _all(total: int) -> str:
    return "the one item is" if total == 1 else f"all {total} items are"


class View:
    """Progress for a batch: one rich bar on a terminal, one line per item in a pipe."""

    def __init__(
        self,
        console: "Console",
        source: str,
        *,
        json_out: bool,
        fetching: bool = False,
        gather: bool = False,
    ) -> None:
        import time

        self.console = console
        # Paths for a pipe are kept for `flush()` (which the run calls a few times a second)
        # and written together: one write for many images, not one each.
        self.gather = gather
        self._paths: list[str] = []
        self.source = source
        self.json_out = json_out
        self.fetching = fetching
        self._progress: Any = None
        self._task: Any = None
        self._start = time.monotonic()
        self._clock = time.monotonic
        self._to_run = 0
        self._shown = 0

    def started(self, summary: "Summary", to_run: int) -> None:
        self._to_run = to_run
        self._start = self._clock()
        if summary.manifest is not None:
            warn_unreadable(self.console, summary.manifest, summary)
        if summary.skipped and not to_run and self.fetching:
            self.console.info(
                f"nothing new: {_all(summary.total)} of the batch already in the manifest"
            )
        elif summary.skipped and not to_run:
            self.console.info(
                f"nothing to do: {_all(summary.total)} already done (--no-resume to redo them)"
            )
        elif summary.skipped:
            self.console.info(
                f"{summary.skipped} of {summary.total} items already done; {to_run} to go"
            )
        if not self.console.interactive or not to_run:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[tokens]}"),
            console=self.console.err,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("batch", total=to_run, failed="", rate="", tokens="")

    def finished(self, outcome: "Outcome", summary: "Summary") -> None:
        self._shown += 1
        done = self._shown
        if not self.json_out:
            for path in outcome.paths:
                if self._progress is not None and self.console.env.stdout_isatty:
                    self._progress.console.print(str(path), highlight=False, markup=False)
                elif self.gather:
                    self._paths.append(str(path))
                else:
                    self.console.out(str(path))
        if self._progress is not None:
            elapsed = max(1e-6, self._clock() - self._start)
            total = (summary.usage or {}).get("total_tokens")
            self._progress.update(
                self._task,
                completed=done,
                failed=f"[red]{summary.failed} failed[/]" if summary.failed else "",
                rate=f"{done / elapsed:.1f}/s",
                tokens=f"{total:,} tokens" if total else "",
            )
            return
        if self.console.quiet:
            return
        where = f"line {outcome.line}" if outcome.line is not None else outcome.key[:12]
        head = f"[{done}/{self._to_run}] {where}:"
        if outcome.status == "ok":
            self.console.info(f"{head} ok, {plural(len(outcome.paths), 'image')}")
        else:
            error = outcome.error.message if outcome.error else "failed"
            kept = f" ({outcome.image_count} images kept)" if outcome.image_count else ""
            self.console.info(f"{head} {outcome.status}{kept}: {error}")

    def stopping(self, in_flight: int, reason: str) -> None:
        if reason in ("interrupted", "terminated"):
            again = "Ctrl-C again" if reason == "interrupted" else "SIGTERM or Ctrl-C again"
            text = (
                f"{reason}: finishing {plural(in_flight, 'item')} "
                f"in flight ({again} to abandon them)"
            )
        else:
            text = f"{reason}; finishing {in_flight} in flight, starting no more"
        if self._progress is not None:
            self._progress.console.print(text, highlight=False, markup=False)
        else:
            self.console.info(text)

    def flush(self) -> None:
        paths, self._paths = self._paths, []
        if paths:
            self.console.out("\n".join(paths))

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def finish(
    console: "Console",
    s: "Summary",
    source: str,
    *,
    json_out: bool,
    offline: bool,
    batch_id: str | None = None,
    gallery: "Path | None" = None,
    open_page: bool = False,
    cost: str | None = None,
    cost_doc: dict[str, Any] | None = None,
) -> None:
    """Report a finished run or fetch, refresh the gallery of `gallery` if given; a non-zero
    exit code ends the command here."""

    from ..console import human_bytes, usage_line

    failures = sorted(s.failures, key=lambda f: (f.line is None, f.line or 0))
    if json_out:
        doc: dict[str, Any] = {
            "total": s.total,
            "ok": s.ok,
            "failed": s.failed,
            "skipped": s.skipped,
            "not_started": s.not_started,
            "interrupted": s.interrupted,
            "terminated": s.terminated,
            "stopped_early": s.stop_reason,
            "images": [str(p) for p in s.images],
            "usage": s.usage,
            "failures": [
                {"line": f.line, "error": f.message, "exit_code": f.exit_code} for f in failures
            ],
            "manifest": str(s.manifest),
            "elapsed": round(s.elapsed, 3),
        }
        if batch_id:
            doc["batch"] = batch_id
        if cost_doc is not None:
            doc["cost"] = cost_doc
        console.out_json(doc)
    size = s.image_bytes
    if not console.quiet:
        rate = s.done / s.elapsed if s.elapsed > 0 else 0.0
        tokens = usage_line(s.usage)
        if console.env.stderr_isatty:
            from .tables import render

            cells = {
                "items": s.total,
                "ok": s.ok,
                "failed": s.failed,
                "skipped": s.skipped,
                "not started": s.not_started,
                "images": len(s.images),
                "size": human_bytes(size),
                "time": f"{s.elapsed:.1f}s",
                "rate": f"{rate:.2f}/s",
            }
            if not s.not_started:
                del cells["not started"]
            # Too narrow for nine columns, it stacks them rather than hide counts behind `…`.
            render(
                console.err,
                [(col, "right") for col in cells],
                [[str(v) for v in cells.values()]],
                title=f"{source}{' (placeholder images)' if offline else ''}",
            )
        else:
            console.info(
                f"{plural(s.total, 'item')}: {s.ok} ok, {s.failed} failed, {s.skipped} skipped, "
                f"{s.not_started} not started; {plural(len(s.images), 'image')}, "
                f"{human_bytes(size)}, {s.elapsed:.1f}s, {rate:.2f} items/s"
                + (" (placeholder images from the offline server)" if offline else "")
            )
        if tokens:
            console.info(tokens)
        if cost:
            console.info(cost)
        console.info(f"manifest: {s.manifest}")
    for f in failures[:MAX_LISTED]:
        where = f"{source}:{f.line}" if f.line is not None else source
        console.error(f"{where}: {f.message}")
    if len(failures) > MAX_LISTED:
        more = len(failures) - MAX_LISTED
        console.error(f"and {plural(more, 'more failure')}; see {s.manifest}")
    if s.stopped_by is not None and not s.interrupted:
        console.error(f"stopped early: {s.stop_reason}", s.stopped_by.hint)
    if s.interrupted:
        console.error(
            f"{'terminated' if s.terminated else 'interrupted'}: "
            f"{plural(s.ok + s.failed, 'item')} finished, {s.abandoned} abandoned, "
            f"{s.not_started} not started; run the same command again to continue"
        )
    if gallery is not None and not s.interrupted:
        from .gallery import refresh

        refresh(console, gallery, open_page=open_page)
    code = s.exit_code()
    if code:
        raise typer.Exit(code)
