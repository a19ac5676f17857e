"""Progress, summaries and JSON rendering; progress is drawn only on a terminal."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .redact import redact

if TYPE_CHECKING:
    from rich.console import Console as RichConsole
    from rich.progress import Progress, TaskID

    from .generate import GenImage, GenResult


@dataclass
class Environment:
    """Streams, terminal facts and the environment, on one object the commands receive."""

    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_system(cls) -> Environment:
        import os

        def tty(stream: IO[str]) -> bool:
            try:
                return stream.isatty()
            except (AttributeError, ValueError):
                return False

        return cls(
            sys.stdin,
            sys.stdout,
            sys.stderr,
            tty(sys.stdin),
            tty(sys.stdout),
            tty(sys.stderr),
            dict(os.environ),
        )


def in_ci(env: Mapping[str, str]) -> bool:
    """CI services set `CI` (GitHub, GitLab, Travis, CircleCI, ...); "false" or "0" is not CI."""
    return env.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def rich_console(env: Environment, file: IO[str], **options: Any) -> RichConsole:
    """A rich Console on `file` that reads the command's environment, not the process's.

    Rich decides on colour and width itself (NO_COLOR, FORCE_COLOR, TERM=dumb, COLUMNS), from
    `env.env`: a command run with its own environment (tests, embedding) sees only that one.
    """
    from rich.console import Console as RichConsole

    return RichConsole(file=file, _environ=env.env, **options)


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 item`, `2 items`; `many` for words that do not just take an s (`batch`, `batches`)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def usage_line(usage: Mapping[str, Any] | None) -> str | None:
    if not usage:
        return None
    details = usage.get("input_tokens_details") or {}
    parts = []
    if details:
        parts.append(
            f"input {details.get('text_tokens', 0)} text + {details.get('image_tokens', 0)} image"
        )
    elif "input_tokens" in usage:
        parts.append(f"input {usage['input_tokens']}")
    if "output_tokens" in usage:
        parts.append(f"output {usage['output_tokens']}")
    if "total_tokens" in usage:
        parts.append(f"total {usage['total_tokens']}")
    return "tokens: " + ", ".join(parts) if parts else None


class Console:
    """All talk on stderr and all data on stdout go through here."""

    def __init__(self, env: Environment, *, quiet: bool = False, json_mode: bool = False) -> None:
        self.env = env
        self.quiet = quiet
        self.json_mode = json_mode
        self._err: RichConsole | None = None

    @property
    def err(self) -> RichConsole:
        if self._err is None:
            # Soft wrap: a path or URL printed alone is never cut into pieces that no longer
            # paste (talk lines ask for word wrapping themselves, in _say).
            self._err = rich_console(
                self.env,
                self.env.stderr,
                stderr=True,
                highlight=False,
                force_terminal=self.env.stderr_isatty or None,
                soft_wrap=True,
            )
        return self._err

    @property
    def interactive(self) -> bool:
        return self.env.stderr_isatty and not self.quiet

    @property
    def may_open(self) -> bool:
        """Open a browser or viewer only for a person at a terminal: never in a pipe or CI."""
        return self.env.stdout_isatty and self.env.stderr_isatty and not in_ci(self.env.env)

    # stdout: data only. Everything shown is redacted once more, the last line of defence
    # for a key in server text that no earlier step masked.
    def out(self, line: str) -> None:
        self.env.stdout.write(redact(line) + "\n")
        self.env.stdout.flush()

    def out_file(self, path: Path) -> None:
        """The bytes of a finished file on stdout (`-o -`), copied a piece at a time."""
        import shutil

        self.env.stdout.flush()
        sink = getattr(self.env.stdout, "buffer", self.env.stdout)
        with open(path, "rb") as fh:
            shutil.copyfileobj(fh, sink, 1 << 20)
        sink.flush()

    def out_json(self, data: Any) -> None:
        self.env.stdout.write(redact(json.dumps(data, ensure_ascii=False, indent=2)) + "\n")
        self.env.stdout.flush()

    # stderr: talk
    def info(self, message: str, *, wrap: bool = True) -> None:
        """A line of talk; `wrap=False` for a command to copy, which the terminal may fold
        but which never gets a line break in it."""
        if not self.quiet:
            self._say(message, wrap=wrap)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self._say(f"[yellow]warning:[/] {_esc(message)}", markup=True)

    def error(self, message: str, hint: str | None = None) -> None:
        text = message if not hint else f"{message}; {hint}"
        self._say(f"[bold red]error:[/] {_esc(text)}", markup=True)

    def _say(self, message: str, markup: bool = False, wrap: bool = True) -> None:
        message = redact(message)
        if self.env.stderr_isatty:
            # Sentences wrap between words at the terminal's width, never in the middle of one.
            self.err.print(message if markup else _esc(message), soft_wrap=not wrap)
        else:
            from rich.text import Text

            plain = Text.from_markup(message).plain if markup else message
            self.env.stderr.write(plain + "\n")
            self.env.stderr.flush()

    def reporter(self, label: str, *, show_saved: bool = True) -> Reporter:
        """`show_saved=False` when the files are not the user's to see (`-o -`)."""
        reporter = Reporter(self, label)
        reporter.show_saved = show_saved
        return reporter

    def summary(
        self, result: GenResult, *, placeholders: bool = False, cost: str | None = None
    ) -> None:
        if self.quiet:
            return
        size = sum(i.saved.bytes for i in result.images)
        count = len(result.images)
        head = (
            f"{plural(count, 'image')}"
            f"{f' of {result.requested}' if count < result.requested else ''}, "
            f"{human_bytes(size)}, {_seconds(result.elapsed)}, {result.model}"
        )
        if placeholders:
            head += " (placeholder images from the offline server)"
        self.info(head)
        line = usage_line(result.usage)
        if line:
            self.info(line)
        if cost:
            self.info(cost)


def _seconds(elapsed: float) -> str:
    return f"{elapsed:.2f}s" if elapsed < 10 else f"{elapsed:.1f}s"


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class Reporter:
    """Spinner with elapsed time while waiting, byte progress for downloads (terminal only)."""

    def __init__(self, console: Console, label: str, clock: Any = time.monotonic) -> None:
        self.console = console
        self.label = label
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._download: TaskID | None = None
        self._clock = clock
        self._saved = 0
        self._status = label
        self.show_saved = True

    def __enter__(self) -> Reporter:
        if self.console.interactive:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                *_download_columns(),
                TimeElapsedColumn(),
                console=self.console.err,
                transient=True,
                get_time=self._clock,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def status(self, text: str) -> None:
        self._status = text
        self._refresh()

    def _refresh(self) -> None:
        if self._progress is not None and self._task is not None:
            done = f" · {self._saved} saved" if self._saved else ""
            self._progress.update(self._task, description=f"{self._status}{done}")

    def saved(self, image: GenImage) -> None:
        self._saved += 1
        if self._progress is None:
            return
        if self.console.env.stdout_isatty or not self.show_saved:
            # The paths appear on stdout at the end; count them here instead of repeating.
            self._refresh()
        else:
            self._progress.console.print(
                f"[green]saved[/] {_esc(str(image.saved.path))}", highlight=False
            )

    def download(self, done: int, total: int | None) -> None:
        if self._progress is None:
            return
        if self._download is None:
            self._download = self._progress.add_task("downloading", total=total, download=True)
        self._progress.update(self._download, completed=done, total=total)


def _download_columns() -> list[Any]:
    """A bar and byte counts, drawn only on download tasks (not on the waiting spinner)."""
    from rich.progress import BarColumn, DownloadColumn, ProgressColumn, Task
    from rich.text import Text

    class OnlyDownloads(ProgressColumn):
        def __init__(self, inner: ProgressColumn) -> None:
            super().__init__()
            self.inner = inner

        def render(self, task: Task) -> Any:
            return self.inner.render(task) if task.fields.get("download") else Text("")

    return [OnlyDownloads(BarColumn(bar_width=24)), OnlyDownloads(DownloadColumn())]
