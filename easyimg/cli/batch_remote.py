"""`batch --remote` and `batches fetch`: submitting to a Batch API, and writing its results."""

from typing import TYPE_CHECKING, Any

from .common import (
    batch_backend,
    connect,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from ..api.client import Client
    from ..batch.backend import BatchBackend
    from ..batch.prompts import Item
    from ..batch.run import Outcome
    from ..config import Settings
    from ..console import Console


def history_recorder(settings: "Settings") -> Any:
    from .. import history

    def record(outcome: "Outcome") -> None:
        if not settings.history or not outcome.paths:
            return
        body = outcome.body
        history.append(
            settings.history_file,
            history.record(
                "batch",
                model=str(body.get("model", "")),
                prompt=body.get("prompt"),
                parameters={k: v for k, v in body.items() if k != "prompt"},
                files=[str(p.resolve()) for p in outcome.paths],
                usage=outcome.usage,
                request_id=outcome.request_id,
                base_url=settings.base_url,
                status="ok" if outcome.status == "ok" else "partial",
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
) -> None:
    from ..batch.manifest import MANIFEST_NAME
    from ..batch.remote import submit
    from .batch_progress import warn_unreadable

    conn = connect(settings, offline=offline, retry_timeouts=retry_timeouts, console=console)
    backend = batch_backend(settings)
    try:
        sub = submit(
            conn.client,
            items,
            backend=backend,
            source=source,
            directory=directory,
            template=template,
            state_dir=_state_dir(),
            resume=resume,
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
        batch_id = str(sub.batch["id"])
        console.info(
            f"submitted {sub.items} item{'s' if sub.items != 1 else ''} "
            f"({sub.requests} requests) as {batch_id}"
            + (f"; {sub.skipped} already done" if sub.skipped else "")
        )
        if not wait:
            if json_out:
                console.out_json(
                    {
                        "batch": sub.batch,
                        "items": sub.items,
                        "requests": sub.requests,
                        "skipped": sub.skipped,
                        "state": [str(p) for p in sub.state_files],
                    }
                )
            else:
                console.out(batch_id)
            console.info(
                f"follow it with `easyimg batches show {batch_id}`, then "
                f"`easyimg batches fetch {batch_id} -o {directory}`"
            )
            return
        fetch_results(
            console,
            settings,
            conn.client,
            backend,
            batch_id,
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


def _state_dir() -> "Path":
    from pathlib import Path

    from platformdirs import user_data_dir

    return Path(user_data_dir("easyimg")) / "batches"


def fetch_results(
    console: "Console",
    settings: "Settings",
    client: "Client",
    backend: "BatchBackend",
    batch_id: str,
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
    """Write a provider batch's results as a local run would; `batch --remote --wait` ends here."""
    from ..batch import remote
    from ..batch.backend import RUNNING
    from ..batch.fetch import Fetch
    from .batch_progress import View, finish

    if wait:
        last: list[str] = []

        def on_status(b: dict[str, Any]) -> None:
            line = _progress_text(b)
            if not last or last[-1] != line:
                console.info(line)
                last.append(line)

        batch = remote.wait(client, batch_id, on_status=on_status, backend=backend)
    else:
        batch = backend.get(client, batch_id)
    found = remote.load_state(batch_id, directory, _state_dir())
    if found is None and batch.get("status") not in RUNNING:
        console.warn(
            f"no record of {batch_id} in {directory} or the user data directory: "
            "files are named by custom_id"
        )
    view = View(
        console, str((found or {}).get("source") or batch_id), json_out=json_out, fetching=True
    )
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
            on_record=history_recorder(settings),
            backend=backend,
        ).run()
    finally:
        view.close()
    if batch.get("status") in ("cancelled", "expired"):
        console.warn(
            f"batch {batch_id} was {batch.get('status')}: "
            f"{summary.not_started} items have no result"
        )
    finish(
        console,
        summary,
        view.source,
        json_out=json_out,
        offline=offline,
        batch_id=batch_id,
        gallery=directory if gallery else None,
        open_page=open_page,
    )


def _progress_text(b: dict[str, Any]) -> str:
    counts = b.get("request_counts") or {}
    failed = f", {counts.get('failed')} failed" if counts.get("failed") else ""
    return (
        f"{b.get('id')}: {b.get('status')} ({counts.get('completed', 0)} of "
        f"{counts.get('total', 0)} done{failed})"
    )
