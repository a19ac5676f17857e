"""`batch --remote` and `batches fetch`: submitting to a Batch API, and writing its results."""

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from ..console import plural
from ..errors import ExitCode, Terminated
from .common import (
    batch_backend,
    connect,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from ..api.client import Client
    from ..batch.backend import BatchBackend
    from ..batch.prompts import Item
    from ..batch.run import Outcome
    from ..config import Settings
    from ..console import Console
    from ..history import Appender


def history_recorder(
    settings: "Settings", *, offline: bool = False, journal: "Appender | None" = None
) -> Any:
    """The on_record callback that writes an item's history line: through `journal` (the
    history file held open for the run) when given."""
    from .. import history

    append: Callable[[Mapping[str, Any]], None] = partial(history.append, settings.history_file)
    if journal is not None:
        append = journal.append
    # Images are plain names in the output folder: its real path is looked up once, not a
    # walk of every path component per image.
    folders: dict[str, str] = {}

    def absolute(path: "Path") -> str:
        parent, name = os.path.split(os.fspath(path))
        folder = folders.get(parent)
        if folder is None:
            folder = folders[parent] = str(Path(parent or ".").resolve())
        return os.path.join(folder, name)

    def record(outcome: "Outcome") -> None:
        failed = outcome.status == "error" and outcome.error is not None
        # Items cut short with nothing written were never finished: they run again.
        if not settings.history or not (outcome.paths or failed):
            return
        body = outcome.body
        status = ("ok" if outcome.status == "ok" else "partial") if outcome.paths else "error"
        append(
            history.record(
                "batch",
                model=str(body.get("model", "")),
                prompt=body.get("prompt"),
                parameters={k: v for k, v in body.items() if k != "prompt"},
                files=[absolute(p) for p in outcome.paths],
                usage=outcome.usage,
                request_id=outcome.request_id,
                base_url=settings.base_url,
                status=status,
                placeholder=offline or outcome.placeholder,
                host="offline" if offline else None,
                error=outcome.error.message if outcome.error is not None else None,
            ),
        )

    return record


def submit_remote(
    console: "Console",
    settings: "Settings",
    items: "Iterable[Item]",
    directory: "Path",
    *,
    source: str,
    template: str,
    resume: bool,
    wait: bool,
    offline: bool,
    retry_timeouts: bool,
    overwrite: bool,
    metadata: bool,
    sidecar: bool,
    json_out: bool,
    gallery: bool = False,
    open_page: bool = False,
    accept_privacy: bool = False,
    max_lines: int | None = None,
) -> None:
    from ..output import plan_output
    from .batch_progress import folder_lock

    plan_output(directory, template=template, count=1, overwrite=overwrite)
    if offline and not wait:
        from ..errors import UsageError

        raise UsageError(
            "--remote --offline needs --wait: the offline server ends with the command"
        )
    with folder_lock(console, directory):
        _submit_and_fetch(
            console,
            settings,
            items,
            directory,
            source=source,
            template=template,
            resume=resume,
            wait=wait,
            offline=offline,
            retry_timeouts=retry_timeouts,
            overwrite=overwrite,
            metadata=metadata,
            sidecar=sidecar,
            json_out=json_out,
            gallery=gallery,
            open_page=open_page,
            accept_privacy=accept_privacy,
            max_lines=max_lines,
        )


def _submit_and_fetch(
    console: "Console",
    settings: "Settings",
    items: "Iterable[Item]",
    directory: "Path",
    *,
    source: str,
    template: str,
    resume: bool,
    wait: bool,
    offline: bool,
    retry_timeouts: bool,
    overwrite: bool,
    metadata: bool,
    sidecar: bool,
    json_out: bool,
    gallery: bool,
    open_page: bool,
    accept_privacy: bool,
    max_lines: int | None,
) -> None:
    from ..batch.manifest import MANIFEST_NAME
    from ..batch.remote import MAX_REQUESTS, submit
    from .batch_progress import warn_unreadable

    # Chosen by the host the user named, so --offline rehearses the same Batch API.
    backend = batch_backend(settings)
    conn = connect(settings, offline=offline, retry_timeouts=retry_timeouts, console=console)
    try:
        if backend.name == "easyrouter":
            _privacy(
                console, settings, conn.client, backend, accept=accept_privacy, offline=offline
            )
        sub = submit(
            conn.client,
            items,
            backend=backend,
            source=source,
            directory=directory,
            template=template,
            state_dir=state_dir(),
            resume=resume,
            max_requests=max_lines or MAX_REQUESTS,
        )
        warn_unreadable(console, directory / MANIFEST_NAME, sub.manifest)
        if sub.batch is None:
            console.info(
                f"nothing to submit: all {sub.skipped} items are already done "
                f"(--no-resume to redo them)"
            )
            if json_out:
                console.out_json({"batch": None, "items": 0, "skipped": sub.skipped})
            return
        ids = [str(b["id"]) for b in sub.batches]
        as_what = ids[0] if len(ids) == 1 else f"{len(ids)} batches ({', '.join(ids)})"
        console.info(
            f"submitted {plural(sub.items, 'item')} "
            f"({plural(sub.requests, 'request')}) as {as_what}"
            + (f"; {sub.skipped} already done" if sub.skipped else "")
        )
        if not wait:
            if json_out:
                console.out_json(
                    {
                        "batch": sub.batch,
                        "batches": sub.batches,
                        "items": sub.items,
                        "requests": sub.requests,
                        "skipped": sub.skipped,
                        "state": [str(p) for p in sub.state_files],
                    }
                )
            else:
                for batch_id in ids:
                    console.out(batch_id)
            # One batch is fetched into the folder it was submitted for; several by the folder.
            fetch = ids[0] if len(ids) == 1 else str(directory)
            console.info(f"follow it with `easyimg batches show {ids[0]}`; collect it with:")
            console.info(f"  easyimg batches fetch {fetch}", wrap=False)
            return
        fetch_results(
            console,
            settings,
            conn.client,
            backend,
            ids,
            directory,
            wait=True,
            overwrite=overwrite,
            metadata=metadata,
            sidecar=sidecar,
            json_out=json_out,
            offline=offline,
            gallery=gallery,
            open_page=open_page,
        )
    finally:
        conn.close()


def _privacy(
    console: "Console",
    settings: "Settings",
    client: "Client",
    backend: Any,
    *,
    accept: bool,
    offline: bool,
) -> None:
    """EasyRouter's batches need its privacy terms accepted: the user's call, made once."""
    from ..batch.easyrouter import DOCS
    from ..config import host_of
    from ..errors import ConfigError

    host = host_of(settings.base_url)
    if offline:
        # The in-process placeholder server: nothing leaves this machine, nothing to agree to.
        backend.accept_privacy(client)
        return
    if accept:
        backend.accept_privacy(client)
        _remember(settings, host)
        console.info(
            f"accepted the batch privacy terms for {host} (remembered in {settings.config_file})"
        )
        return
    if host in settings.batch_privacy:
        return
    raise ConfigError(
        f"{host}'s image batches need its batch privacy terms accepted first, once per "
        f"account (read them at {DOCS})",
        hint="to accept them, run this command again with --accept-batch-privacy "
        f"(remembered for {host} in {settings.config_file})",
    )


def _remember(settings: "Settings", host: str) -> None:
    import tomlkit

    from ..batch.manifest import now_iso
    from ..configfile import read_document, save_config

    doc = read_document(settings.config_file)  # the user's comments and order stay
    if "batch_privacy" not in doc:
        doc["batch_privacy"] = tomlkit.table()
    accepted = doc["batch_privacy"]
    if isinstance(accepted, dict):
        accepted[host] = now_iso()
        save_config(settings.config_file, doc)
        settings.batch_privacy[host] = str(accepted[host])


def state_dir() -> "Path":
    from pathlib import Path

    from platformdirs import user_data_dir

    return Path(user_data_dir("easyimg")) / "batches"


def fetch_results(
    console: "Console",
    settings: "Settings",
    client: "Client",
    backend: "BatchBackend",
    batch_ids: list[str],
    directory: "Path",
    *,
    wait: bool,
    overwrite: bool,
    metadata: bool,
    sidecar: bool,
    json_out: bool,
    offline: bool = False,
    gallery: bool = False,
    open_page: bool = False,
) -> None:
    """Write provider batches' results as a local run would; `batch --remote --wait` ends here.

    Several batches (a run split past one batch's limits) end in one summary.
    """
    from ..batch import remote
    from .batch_progress import finish

    summaries = []
    source = batch_ids[0]
    missing = False
    for batch_id in batch_ids:
        found = remote.load_state(batch_id, directory, state_dir())
        summary, source, left_out = _fetch_one(
            console,
            settings,
            client,
            _backend_of(found, backend, settings),
            batch_id,
            directory,
            found,
            wait=wait,
            overwrite=overwrite,
            metadata=metadata,
            sidecar=sidecar,
            json_out=json_out,
            offline=offline,
        )
        summaries.append(summary)
        missing = missing or left_out
    finish(
        console,
        _merged(summaries),
        source,
        json_out=json_out,
        offline=offline,
        batch_id=", ".join(batch_ids),
        gallery=directory if gallery else None,
        open_page=open_page,
    )
    if missing:
        # Not everything asked for was written, even if nothing that came back failed.
        raise typer.Exit(ExitCode.PARTIAL)


def _backend_of(found: Any, backend: "BatchBackend", settings: "Settings") -> "BatchBackend":
    """The backend a batch was submitted to, as its record says, unless the flag says otherwise."""
    from ..batch import BACKENDS, find

    name = (found or {}).get("backend")
    if settings.batch_api or name not in BACKENDS or name == backend.name:
        return backend
    return find(str(name))


def _merged(summaries: list[Any]) -> Any:
    from ..api.answers import add_usage
    from ..batch.run import MAX_FAILURES

    first = summaries[0]
    for other in summaries[1:]:
        first.total += other.total
        first.skipped += other.skipped
        first.ok += other.ok
        first.failed += other.failed
        first.abandoned += other.abandoned
        first.interrupted = first.interrupted or other.interrupted
        if other.stopped_by is not None:
            first.stop(other.stopped_by, other.stop_reason)
        first.images.extend(other.images)
        first.image_bytes += other.image_bytes
        first.failures += other.failures[: max(0, MAX_FAILURES - len(first.failures))]
        first.usage = add_usage(first.usage, other.usage)
        first.elapsed += other.elapsed
    return first


def _fetch_one(
    console: "Console",
    settings: "Settings",
    client: "Client",
    backend: "BatchBackend",
    batch_id: str,
    directory: "Path",
    found: Any,
    *,
    wait: bool,
    overwrite: bool,
    metadata: bool,
    sidecar: bool,
    json_out: bool,
    offline: bool = False,
) -> Any:
    from ..batch.backend import RUNNING
    from ..batch.fetch import Fetch
    from ..history import Appender
    from .batch_progress import View

    try:
        batch = _wait(console, client, backend, batch_id) if wait else backend.get(client, batch_id)
    except KeyboardInterrupt as exc:  # SIGTERM too (Terminated), which exits 143
        stop = "terminated" if isinstance(exc, Terminated) else "interrupted"
        _left_running(console, settings, batch_id, directory, found, offline, stop)
    if found is None and batch.get("status") not in RUNNING:
        console.warn(
            f"no record of {batch_id} in {directory} or the user data directory: "
            "files are named by custom_id"
        )
    source = str((found or {}).get("source") or batch_id)
    view = View(console, source, json_out=json_out, fetching=True)
    journal = Appender(settings.history_file)
    try:
        summary = Fetch(
            client,
            batch,
            directory,
            state=found,
            overwrite=overwrite,
            metadata=metadata,
            sidecar=sidecar,
            events=view,
            on_record=history_recorder(settings, offline=offline, journal=journal),
            backend=backend,
        ).run()
    finally:
        journal.close()
        view.close()
    missing = batch.get("status") in ("cancelled", "expired") and summary.not_started > 0
    if missing:
        console.warn(
            f"batch {batch_id} was {batch.get('status')}: "
            f"{plural(summary.not_started, 'item')} have no result"
        )
    return summary, source, missing


def _wait(
    console: "Console", client: "Client", backend: "BatchBackend", batch_id: str
) -> dict[str, Any]:
    """Poll until the batch ends: one status line redrawn on a terminal, a line per change in
    a pipe."""
    from ..batch import remote

    if console.interactive:
        # Without the id (the line above names it) the redrawn line fits a 60-column terminal.
        with console.reporter("waiting for the batch") as status:
            batch = remote.wait(
                client,
                batch_id,
                on_status=lambda b: status.status(_progress_text(b, with_id=False)),
                backend=backend,
            )
        console.info(_progress_text(batch))
        return batch
    last: list[str] = []

    def on_status(b: dict[str, Any]) -> None:
        line = _progress_text(b)
        if not last or last[-1] != line:
            console.info(line)
            last.append(line)

    return remote.wait(client, batch_id, on_status=on_status, backend=backend)


def _left_running(
    console: "Console",
    settings: "Settings",
    batch_id: str,
    directory: "Path",
    found: dict[str, Any] | None,
    offline: bool,
    stop: str,
) -> NoReturn:
    """Ctrl-C while waiting stops the waiting, not the batch: say how to collect it later."""
    from pathlib import Path

    from ..errors import Interrupted

    terminated = stop == "terminated"
    if offline:
        raise Interrupted(
            f"{stop}; the offline server and its batch end with the command", terminated=terminated
        )
    line = f"easyimg batches fetch {batch_id}"
    recorded = (found or {}).get("directory")
    if not recorded or Path(str(recorded)) != directory.resolve():
        line += f" -o {directory}"
    if settings.profile:
        line += f" --profile {settings.profile}"
    if settings.sources.get("base_url") == "flag":
        line += f" --base-url {settings.base_url}"
    message = f"{stop}; batch {batch_id} keeps running on the server"
    if console.json_mode:
        raise Interrupted(message, terminated=terminated, hint=f"collect it with `{line}`")
    console.error(message)
    console.info("collect its results with:")
    # Alone on its line and never wrapped, so it copies as one command.
    console.info(f"  {line}", wrap=False)
    raise typer.Exit(ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED)


def _progress_text(b: dict[str, Any], *, with_id: bool = True) -> str:
    counts = b.get("request_counts") or {}
    failed = f", {counts.get('failed')} failed" if counts.get("failed") else ""
    head = f"{b.get('id')}: " if with_id else ""
    return (
        f"{head}{b.get('status')} ({counts.get('completed', 0)} of "
        f"{counts.get('total', 0)} done{failed})"
    )
