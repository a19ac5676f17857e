"""`easyimg batch` and `easyimg batches`: many generations from a prompt file."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import (
    ApiKey,
    Background,
    BaseUrl,
    Compression,
    Count,
    Extra,
    Format,
    Json,
    Model,
    Moderation,
    Name,
    NoMetadata,
    NoValidate,
    Offline,
    Overwrite,
    Profile,
    Quality,
    Quiet,
    ResponseFormat,
    Retries,
    RetryTimeouts,
    Sidecar,
    Size,
    Style,
    Timeout,
    User,
    connect,
    make_console,
    settings_for,
    state,
)

if TYPE_CHECKING:
    from pathlib import Path

    from ..batch import Outcome, Summary
    from ..batchfile import Item
    from ..config import Settings
    from ..console import Console

BATCH = "Batch"
batches_app = typer.Typer(help="The provider's Batch API: list, show, fetch, cancel.",
                          no_args_is_help=True)

Jobs = Annotated[int | None, typer.Option(
    "-j", "--jobs", min=1, help="concurrent requests [default: config jobs, else 4]",
    rich_help_panel=BATCH, show_default=False)]
NoResume = Annotated[bool, typer.Option(
    "--no-resume", help="redo items the manifest lists as done", rich_help_panel=BATCH)]
Remote = Annotated[bool, typer.Option(
    "--remote", help="hand the run to the provider's Batch API (24 h window)",
    rich_help_panel=BATCH)]
Wait = Annotated[bool, typer.Option(
    "--wait", help="wait for the batch to finish, then fetch it", rich_help_panel=BATCH)]
BatchId = Annotated[str, typer.Argument(help="batch id (batch_...)", show_default=False)]
OutDir = Annotated[str | None, typer.Option(
    "-o", "--out", help="output directory: the images and easyimg-manifest.jsonl "
    "[default: config out_dir, else .]", rich_help_panel="Output", show_default=False)]
BatchDryRun = Annotated[bool, typer.Option(
    "--dry-run", help="print the requests (with --remote: the JSONL to upload) and exit",
    rich_help_panel="Output")]
MAX_LISTED = 50


def batch(
    file: Annotated[str, typer.Argument(help="prompt file: .txt (one prompt a line), .jsonl, "
                                        ".csv, or - for txt on stdin", show_default=False)],
    jobs: Jobs = None,
    model: Model = None,
    count: Count = 1,
    size: Size = None,
    quality: Quality = None,
    background: Background = None,
    moderation: Moderation = None,
    style: Style = None,
    fmt: Format = None,
    compression: Compression = None,
    response_format: ResponseFormat = None,
    user: User = None,
    extra: Extra = None,
    no_validate: NoValidate = False,
    out: OutDir = None,
    name: Name = None,
    overwrite: Overwrite = False,
    no_metadata: NoMetadata = False,
    sidecar: Sidecar = False,
    no_resume: NoResume = False,
    json_out: Json = False,
    quiet: Quiet = False,
    dry_run: BatchDryRun = False,
    remote: Remote = False,
    wait: Wait = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
    retry_timeouts: RetryTimeouts = False,
    offline: Offline = False,
) -> None:
    """Generate images for every prompt in FILE; generation options are the defaults.

    Items already in DIR/easyimg-manifest.jsonl are skipped: run it again to finish.

    easyimg batch prompts.txt -j 8 -o out/
    """
    from pathlib import Path

    from ..batchfile import Defaults
    from ..errors import UsageError
    from ..models import DEFAULT_MODEL
    from ..output import DEFAULT_TEMPLATE, IMAGE_SUFFIXES, check_template

    console = make_console(quiet=quiet, json_mode=json_out)
    settings = settings_for(base_url=base_url, api_key=api_key, profile=profile, timeout=timeout,
                            retries=retries, model=model, size=size, quality=quality, format=fmt,
                            out_dir=out, name=name, jobs=jobs)
    if wait and not remote:
        raise UsageError("--wait goes with --remote")
    directory = Path(settings.out_dir or ".")
    if directory.suffix.lower() in IMAGE_SUFFIXES and not directory.is_dir():
        raise UsageError(f"-o {directory}: a batch writes many files; give a directory")
    template = settings.name or DEFAULT_TEMPLATE
    check_template(template)
    defaults = Defaults(
        model=settings.model or DEFAULT_MODEL, n=count, extras=list(extra or []),
        validate=not no_validate,
        options={"size": settings.size, "quality": settings.quality, "background": background,
                 "moderation": moderation, "style": style, "output_format": settings.format,
                 "output_compression": compression, "response_format": response_format,
                 "user": user})
    items = _read_items(console, file, defaults)

    if dry_run:
        _dry_run(console, settings, items, directory, resume=not no_resume, remote=remote,
                 json_out=json_out, source=file)
        return
    if remote:
        _submit(console, settings, items, directory, source=file, template=template,
                resume=not no_resume, wait=wait, offline=offline, retry_timeouts=retry_timeouts,
                overwrite=overwrite, metadata=not no_metadata, sidecar=sidecar,
                json_out=json_out)
        return
    _run_local(console, settings, items, directory, source=file, template=template,
               resume=not no_resume, offline=offline, retry_timeouts=retry_timeouts,
               overwrite=overwrite, metadata=not no_metadata, sidecar=sidecar,
               json_out=json_out)


def _read_items(console: "Console", file: str, defaults: Any) -> "list[Item]":
    from ..batchfile import FileErrors, kind_of, parse
    from ..errors import UsageError

    try:
        if file == "-":
            return parse(state.env.stdin, "txt", defaults, "<stdin>")
        kind = kind_of(file)
        try:
            fh = open(file, "rb")  # noqa: SIM115 - closed below, after a clear error otherwise
        except OSError as exc:
            reason = "no such file" if isinstance(exc, FileNotFoundError) else (
                "is a directory" if isinstance(exc, IsADirectoryError) else
                (exc.strerror or str(exc)).lower())
            raise UsageError(f"cannot read {file}: {reason}") from None
        with fh:
            return parse(fh, kind, defaults, file)
    except FileErrors as exc:
        if console.json_mode:
            console.out_json({"error": {"message": exc.message, "exit_code": 2,
                                        "problems": [{"line": e.line, "message": e.message}
                                                     for e in exc.errors],
                                        "count": exc.total}})
        for line in exc.lines():
            console.error(line)
        console.info("nothing was sent")
        raise typer.Exit(2) from None


def _dry_run(console: "Console", settings: "Settings", items: "list[Item]",
             directory: "Path", *, resume: bool, remote: bool, json_out: bool,
             source: str) -> None:
    import json

    from ..batch import Manifest
    from ..client import USER_AGENT
    from ..config import mask_key
    from ..models import plan_counts
    from ..remote import request_lines

    done = Manifest(directory).read().ok if resume else set()
    todo = [i for i in items if i.key not in done]
    if len(todo) < len(items):
        console.info(f"{len(items) - len(todo)} of {len(items)} items are already done "
                     f"(see {directory / 'easyimg-manifest.jsonl'})")
    if remote:
        lines = [line for _, line in request_lines(todo)]
        if json_out:
            console.out_json({"requests": [json.loads(line) for line in lines]})
        else:
            for line in lines:
                console.out(line)
        return
    url = f"{settings.base_url}/images/generations"
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {mask_key(settings.api_key)}"
    requests = [{"line": i.line, "method": "POST", "url": url, "headers": headers,
                 "body": {**i.body, "n": k}}
                for i in todo for k in plan_counts(i.count, i.max_n)]
    if json_out:
        console.out_json({"requests": requests})
        return
    blocks = [
        "\n".join([f"# {source}:{r['line']}", f"POST {url}",
                   *(f"{k}: {v}" for k, v in headers.items()), "",
                   json.dumps(r["body"], indent=2, ensure_ascii=False)])
        for r in requests]
    console.out("\n\n".join(blocks))


def _pool_size(items: "list[Item]", jobs: int) -> int:
    from ..models import plan_counts

    widest = max((len(plan_counts(i.count, i.max_n)) for i in items), default=1)
    return min(jobs * widest, 256)


def _history(settings: "Settings") -> Any:
    from .. import history

    def record(outcome: "Outcome") -> None:
        if not settings.history or not outcome.paths:
            return
        body = outcome.body
        history.append(settings.history_file, history.record(
            "batch", model=str(body.get("model", "")), prompt=body.get("prompt"),
            parameters={k: v for k, v in body.items() if k != "prompt"},
            files=[str(p.resolve()) for p in outcome.paths], usage=outcome.usage,
            request_id=outcome.request_id, base_url=settings.base_url,
            status="ok" if outcome.status == "ok" else "partial"))

    return record


def _run_local(console: "Console", settings: "Settings", items: "list[Item]",
               directory: "Path", *, source: str, template: str, resume: bool, offline: bool,
               retry_timeouts: bool, overwrite: bool, metadata: bool, sidecar: bool,
               json_out: bool) -> None:
    from ..batch import BatchRun
    from ..output import plan_output

    plan_output(directory, template=template, count=1, overwrite=overwrite)
    conn = connect(settings, offline=offline, retry_timeouts=retry_timeouts, console=console,
                   pool_size=_pool_size(items, settings.jobs))
    view = _View(console, source, json_out=json_out)
    try:
        run = BatchRun(conn.client, items, directory, total=len(items), jobs=settings.jobs,
                       template=template, overwrite=overwrite, metadata=metadata,
                       sidecar=sidecar, resume=resume, events=view, on_record=_history(settings))
        try:
            summary = run.run()
        finally:
            view.close()
    finally:
        conn.close()
    _finish(console, summary, source, json_out=json_out, offline=offline)


def _submit(console: "Console", settings: "Settings", items: "list[Item]", directory: "Path",
            *, source: str, template: str, resume: bool, wait: bool, offline: bool,
            retry_timeouts: bool, overwrite: bool, metadata: bool, sidecar: bool,
            json_out: bool) -> None:
    from ..output import plan_output
    from ..remote import submit

    plan_output(directory, template=template, count=1, overwrite=overwrite)
    if offline and not wait:
        from ..errors import UsageError

        raise UsageError("--remote --offline needs --wait: the offline server ends with the "
                         "command")
    conn = connect(settings, offline=offline, retry_timeouts=retry_timeouts, console=console)
    try:
        sub = submit(conn.client, items, source=source, directory=directory, template=template,
                     state_dir=_state_dir(), resume=resume)
        if sub.batch is None:
            console.info(f"nothing to submit: all {sub.skipped} items are already done "
                         f"(--no-resume to redo them)")
            if json_out:
                console.out_json({"batch": None, "items": 0, "skipped": sub.skipped})
            return
        batch_id = str(sub.batch["id"])
        console.info(f"submitted {sub.items} item{'s' if sub.items != 1 else ''} "
                     f"({sub.requests} requests) as {batch_id}"
                     + (f"; {sub.skipped} already done" if sub.skipped else ""))
        if not wait:
            if json_out:
                console.out_json({"batch": sub.batch, "items": sub.items,
                                  "requests": sub.requests, "skipped": sub.skipped,
                                  "state": [str(p) for p in sub.state_files]})
            else:
                console.out(batch_id)
            console.info(f"follow it with `easyimg batches show {batch_id}`, then "
                         f"`easyimg batches fetch {batch_id} -o {directory}`")
            return
        _fetch(console, settings, conn.client, batch_id, directory, wait=True,
               overwrite=overwrite, metadata=metadata, sidecar=sidecar, json_out=json_out,
               offline=offline)
    finally:
        conn.close()


def _state_dir() -> "Path":
    from pathlib import Path

    from platformdirs import user_data_dir

    return Path(user_data_dir("easyimg")) / "batches"


def _fetch(console: "Console", settings: "Settings", client: Any, batch_id: str,
           directory: "Path", *, wait: bool, overwrite: bool, metadata: bool, sidecar: bool,
           json_out: bool, offline: bool = False) -> None:
    from .. import remote

    if wait:
        last: list[str] = []

        def on_status(b: dict[str, Any]) -> None:
            line = _progress_text(b)
            if not last or last[-1] != line:
                console.info(line)
                last.append(line)

        batch = remote.wait(client, batch_id, on_status=on_status)
    else:
        batch = remote.get_batch(client, batch_id)
    found = remote.load_state(batch_id, directory, _state_dir())
    if found is None and batch.get("status") not in remote.RUNNING:
        console.warn(f"no record of {batch_id} in {directory} or the user data directory: "
                     "files are named by custom_id")
    view = _View(console, str((found or {}).get("source") or batch_id), json_out=json_out,
                 fetching=True)
    try:
        summary = remote.Fetch(client, batch, directory, state=found, overwrite=overwrite,
                               metadata=metadata, sidecar=sidecar, events=view,
                               on_record=_history(settings)).run()
    finally:
        view.close()
    if batch.get("status") in ("cancelled", "expired"):
        console.warn(f"batch {batch_id} was {batch.get('status')}: "
                     f"{summary.not_started} items have no result")
    _finish(console, summary, view.source, json_out=json_out, offline=offline,
            batch_id=batch_id)


def _progress_text(b: dict[str, Any]) -> str:
    counts = b.get("request_counts") or {}
    failed = f", {counts.get('failed')} failed" if counts.get("failed") else ""
    return (f"{b.get('id')}: {b.get('status')} ({counts.get('completed', 0)} of "
            f"{counts.get('total', 0)} done{failed})")


class _View:
    """Progress for a batch: one rich bar on a terminal, one line per item in a pipe."""

    def __init__(self, console: "Console", source: str, *, json_out: bool,
                 fetching: bool = False) -> None:
        import time

        self.console = console
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
        if summary.skipped and not to_run and self.fetching:
            self.console.info(f"nothing new: all {summary.total} items of the batch are "
                              "already in the manifest")
        elif summary.skipped and not to_run:
            self.console.info(f"nothing to do: all {summary.total} items are already done "
                              "(--no-resume to redo them)")
        elif summary.skipped:
            self.console.info(f"{summary.skipped} of {summary.total} items already done; "
                              f"{to_run} to go")
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
            TextColumn("{task.description}"), BarColumn(bar_width=30), MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"), TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(), TextColumn("{task.fields[tokens]}"),
            console=self.console.err, transient=True, redirect_stdout=False,
            redirect_stderr=False)
        self._progress.start()
        self._task = self._progress.add_task("batch", total=to_run, failed="", rate="",
                                             tokens="")

    def finished(self, outcome: "Outcome", summary: "Summary") -> None:
        self._shown += 1
        done = self._shown
        if not self.json_out:
            for path in outcome.paths:
                if self._progress is not None and self.console.env.stdout_isatty:
                    self._progress.console.print(str(path), highlight=False, markup=False)
                else:
                    self.console.out(str(path))
        if self._progress is not None:
            elapsed = max(1e-6, self._clock() - self._start)
            total = (summary.usage or {}).get("total_tokens")
            self._progress.update(
                self._task, completed=done,
                failed=f"[red]{summary.failed} failed[/]" if summary.failed else "",
                rate=f"{done / elapsed:.1f}/s", tokens=f"{total:,} tokens" if total else "")
            return
        if self.console.quiet:
            return
        where = f"line {outcome.line}" if outcome.line is not None else outcome.key[:12]
        head = f"[{done}/{self._to_run}] {where}:"
        if outcome.status == "ok":
            self.console.info(f"{head} ok, {len(outcome.paths)} "
                              f"image{'s' if len(outcome.paths) != 1 else ''}")
        else:
            error = outcome.error.message if outcome.error else "failed"
            self.console.info(f"{head} {outcome.status}: {error}")

    def stopping(self, in_flight: int, reason: str) -> None:
        if reason == "interrupted":
            text = (f"interrupted: finishing {in_flight} item{'s' if in_flight != 1 else ''} "
                    "in flight (Ctrl-C again to abandon them)")
        else:
            text = f"{reason}; finishing {in_flight} in flight, starting no more"
        if self._progress is not None:
            self._progress.console.print(text, highlight=False, markup=False)
        else:
            self.console.info(text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _finish(console: "Console", s: "Summary", source: str, *, json_out: bool, offline: bool,
            batch_id: str | None = None) -> None:
    import contextlib

    from ..console import human_bytes, usage_line

    failures = sorted(s.failures, key=lambda f: (f.line is None, f.line or 0))
    if json_out:
        doc: dict[str, Any] = {
            "total": s.total, "ok": s.ok, "failed": s.failed, "skipped": s.skipped,
            "not_started": s.not_started, "interrupted": s.interrupted,
            "images": [str(p) for p in s.images], "usage": s.usage,
            "failures": [{"line": f.line, "error": f.message, "exit_code": f.exit_code}
                         for f in failures],
            "manifest": str(s.manifest), "elapsed": round(s.elapsed, 3)}
        if batch_id:
            doc["batch"] = batch_id
        console.out_json(doc)
    size = 0
    for path in s.images:
        with contextlib.suppress(OSError):
            size += path.stat().st_size
    if not console.quiet:
        rate = s.done / s.elapsed if s.elapsed > 0 else 0.0
        tokens = usage_line(s.usage)
        if console.env.stderr_isatty:
            from rich.table import Table

            table = Table(title=f"{source}{' (placeholder images)' if offline else ''}",
                          title_justify="left")
            cells = {"items": s.total, "ok": s.ok, "failed": s.failed, "skipped": s.skipped,
                     "not started": s.not_started, "images": len(s.images),
                     "size": human_bytes(size), "time": f"{s.elapsed:.1f}s",
                     "rate": f"{rate:.2f}/s"}
            if not s.not_started:
                del cells["not started"]
            for col in cells:
                table.add_column(col, justify="right", no_wrap=True)
            table.add_row(*(str(v) for v in cells.values()))
            console.err.print(table)
        else:
            console.info(f"{s.total} items: {s.ok} ok, {s.failed} failed, {s.skipped} skipped, "
                         f"{s.not_started} not started; {len(s.images)} images, "
                         f"{human_bytes(size)}, {s.elapsed:.1f}s, {rate:.2f} items/s"
                         + (" (placeholder images from the offline server)" if offline else ""))
        if tokens:
            console.info(tokens)
        console.info(f"manifest: {s.manifest}")
    for f in failures[:MAX_LISTED]:
        where = f"{source}:{f.line}" if f.line is not None else source
        console.error(f"{where}: {f.message}")
    if len(failures) > MAX_LISTED:
        console.error(f"and {len(failures) - MAX_LISTED} more failures; see {s.manifest}")
    if s.stopped_by is not None and not s.interrupted:
        console.error(f"stopped early: {s.stopped_by.message}", s.stopped_by.hint)
    if s.interrupted:
        console.error(f"interrupted: {s.ok + s.failed} items finished, {s.abandoned} abandoned, "
                      f"{s.not_started} not started; run the same command again to continue")
    code = s.exit_code()
    if code:
        raise typer.Exit(code)


# --- easyimg batches ------------------------------------------------------------------------


def _client(base_url: str | None, api_key: str | None, profile: str | None,
            timeout: float | None, retries: int | None, console: "Console") -> Any:
    settings = settings_for(base_url=base_url, api_key=api_key, profile=profile,
                            timeout=timeout, retries=retries)
    return connect(settings, console=console)


@batches_app.command("list")
def list_cmd(
    limit: Annotated[int, typer.Option("--limit", min=1, max=100,
                                       help="how many batches, newest first")] = 20,
    json_out: Json = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
) -> None:
    """List recent batches with their progress."""
    from datetime import datetime

    from ..remote import list_batches

    console = make_console(json_mode=json_out)
    conn = _client(base_url, api_key, profile, timeout, retries, console)
    try:
        page = list_batches(conn.client, limit=limit)
    finally:
        conn.close()
    if json_out:
        console.out_json(page)
        return
    rows = []
    for b in page.get("data") or []:
        counts = b.get("request_counts") or {}
        created = b.get("created_at")
        when = datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M") if isinstance(
            created, int) else ""
        rows.append([str(b.get("id")), str(b.get("status")),
                     f"{counts.get('completed', 0)}/{counts.get('total', 0)}",
                     str(counts.get("failed", 0)), when,
                     str((b.get("metadata") or {}).get("easyimg_source") or "")])
    if not rows:
        console.info("no batches")
        return
    if console.env.stdout_isatty:
        from rich.console import Console as RichConsole
        from rich.table import Table

        table = Table("id", "status", "done", "failed", "created", "source")
        for row in rows:
            table.add_row(*row)
        RichConsole(file=console.env.stdout, highlight=False).print(table)
    else:
        for row in rows:
            console.out("\t".join(row))


@batches_app.command("show")
def show_cmd(
    batch_id: BatchId,
    json_out: Json = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
) -> None:
    """Show one batch: status, request counts, times and result files."""
    from datetime import datetime

    from ..remote import get_batch

    console = make_console(json_mode=json_out)
    conn = _client(base_url, api_key, profile, timeout, retries, console)
    try:
        b = get_batch(conn.client, batch_id)
    finally:
        conn.close()
    if json_out:
        console.out_json(b)
        return
    counts = b.get("request_counts") or {}

    def when(key: str) -> str | None:
        value = b.get(key)
        return datetime.fromtimestamp(value).isoformat(sep=" ") if isinstance(value, int) \
            else None

    fields = [
        ("id", b.get("id")), ("status", b.get("status")), ("endpoint", b.get("endpoint")),
        ("requests", f"{counts.get('completed', 0)} completed, {counts.get('failed', 0)} "
                     f"failed, {counts.get('total', 0)} total"),
        ("created", when("created_at")), ("expires", when("expires_at")),
        ("completed", when("completed_at")), ("cancelled", when("cancelled_at")),
        ("failed", when("failed_at")), ("output file", b.get("output_file_id")),
        ("error file", b.get("error_file_id")),
        ("source", (b.get("metadata") or {}).get("easyimg_source")),
    ]
    for label, value in fields:
        if value is not None:
            console.out(f"{label + ':':<13}{value}")
    for err in ((b.get("errors") or {}).get("data") or [])[:10]:
        line = f"line {err.get('line')}: " if err.get("line") else ""
        console.out(f"{'error:':<13}{line}{err.get('message')}")


@batches_app.command("fetch")
def fetch_cmd(
    batch_id: BatchId,
    out: OutDir = None,
    wait: Wait = False,
    overwrite: Overwrite = False,
    no_metadata: NoMetadata = False,
    sidecar: Sidecar = False,
    json_out: Json = False,
    quiet: Quiet = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
) -> None:
    """Download a batch's results: images and manifest lines, as a local run writes them.

    Run it again at will: items already in the manifest are not written twice.
    """
    from pathlib import Path

    from ..output import plan_output

    console = make_console(quiet=quiet, json_mode=json_out)
    settings = settings_for(base_url=base_url, api_key=api_key, profile=profile,
                            timeout=timeout, retries=retries, out_dir=out)
    directory = Path(settings.out_dir or ".")
    plan_output(directory, template=None, count=1, overwrite=overwrite)
    conn = connect(settings, console=console)
    try:
        _fetch(console, settings, conn.client, batch_id, directory, wait=wait,
               overwrite=overwrite, metadata=not no_metadata, sidecar=sidecar,
               json_out=json_out)
    finally:
        conn.close()


@batches_app.command("cancel")
def cancel_cmd(
    batch_id: BatchId,
    json_out: Json = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
) -> None:
    """Cancel a batch; what finished before can still be fetched."""
    from ..remote import cancel_batch

    console = make_console(json_mode=json_out)
    conn = _client(base_url, api_key, profile, timeout, retries, console)
    try:
        b = cancel_batch(conn.client, batch_id)
    finally:
        conn.close()
    if json_out:
        console.out_json(b)
    else:
        console.out(f"{b.get('id')}\t{b.get('status')}")
