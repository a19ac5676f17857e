"""`easyimg batches`: list, show, fetch and cancel runs on the provider's Batch API."""

from typing import TYPE_CHECKING, Annotated

import typer

# Shared with `batch --remote --wait`, so both commands describe them in the same words.
from .batch import Wait
from .common import (
    ApiKey,
    BaseUrl,
    BatchApi,
    Gallery,
    Json,
    NoMetadata,
    OpenGallery,
    Overwrite,
    Profile,
    Quiet,
    Retries,
    Sidecar,
    Timeout,
    batch_backend,
    connect,
    make_console,
    settings_for,
)
from .tables import emit, json_flag

if TYPE_CHECKING:
    from ..api.client import Client
    from ..batch.backend import BatchBackend
    from ..config import Settings
    from ..console import Console

batches_app = typer.Typer(
    help="The provider's Batch API: list, show, fetch, cancel.", no_args_is_help=True
)

FetchOut = Annotated[
    str | None,
    typer.Option(
        "-o",
        "--out",
        metavar="DIR",
        help="output directory [default: the one `batch --remote` was given, else config "
        "out_dir, else .]",
        rich_help_panel="Output",
        show_default=False,
    ),
]
LIST_COLUMNS = ("id", "status", "done", "failed", "created", "source")
BatchJson = Annotated[bool, json_flag("the batch")]

BatchId = Annotated[
    str, typer.Argument(help="batch id (batch_...)", metavar="ID", show_default=False)
]


class _Connected:
    """The API client of one command; leaving the `with` block closes it."""

    def __init__(self, console: "Console", settings: "Settings") -> None:
        self._conn = connect(settings, console=console)
        self.backend = batch_backend(settings)

    def __enter__(self) -> "tuple[Client, BatchBackend]":
        return self._conn.client, self.backend

    def __exit__(self, *exc_info: object) -> None:
        self._conn.close()


def _connected(
    console: "Console",
    base_url: str | None,
    api_key: str | None,
    profile: str | None,
    timeout: float | None,
    retries: int | None,
    batch_api: str | None = None,
) -> _Connected:
    return _Connected(
        console,
        settings_for(
            base_url=base_url,
            api_key=api_key,
            profile=profile,
            timeout=timeout,
            retries=retries,
            batch_api=batch_api,
        ),
    )


@batches_app.command("list")
def list_cmd(
    limit: Annotated[
        int,
        typer.Option("--limit", min=1, max=100, metavar="N", help="how many batches, newest first"),
    ] = 20,
    json_out: Annotated[bool, json_flag("the page of batches")] = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
    batch_api: BatchApi = None,
) -> None:
    """List recent batches with their progress."""
    from datetime import datetime

    console = make_console(json_mode=json_out)
    with _connected(console, base_url, api_key, profile, timeout, retries, batch_api) as (
        client,
        backend,
    ):
        page = backend.list(client, limit=limit)
    if json_out:
        console.out_json(page)
        return
    rows = []
    for b in page.get("data") or []:
        counts = b.get("request_counts") or {}
        created = b.get("created_at")
        when = (
            datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M")
            if isinstance(created, int)
            else ""
        )
        rows.append(
            [
                str(b.get("id")),
                str(b.get("status")),
                f"{counts.get('completed', 0)}/{counts.get('total', 0)}",
                str(counts.get("failed", 0)),
                when,
                str((b.get("metadata") or {}).get("easyimg_source") or ""),
            ]
        )
    if not rows:
        console.info("no batches")
        return
    emit(
        [(name, "right" if name in ("done", "failed") else "left") for name in LIST_COLUMNS],
        rows,
        shrink=("source",),
    )


@batches_app.command("show")
def show_cmd(
    batch_id: BatchId,
    json_out: BatchJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
    batch_api: BatchApi = None,
) -> None:
    """Show one batch: status, request counts, times and result files."""
    from datetime import datetime

    console = make_console(json_mode=json_out)
    with _connected(console, base_url, api_key, profile, timeout, retries, batch_api) as (
        client,
        backend,
    ):
        b = backend.get(client, batch_id)
    if json_out:
        console.out_json(b)
        return
    counts = b.get("request_counts") or {}

    def when(key: str) -> str | None:
        value = b.get(key)
        return datetime.fromtimestamp(value).isoformat(sep=" ") if isinstance(value, int) else None

    fields = [
        ("id", b.get("id")),
        ("status", b.get("status")),
        ("endpoint", b.get("endpoint")),
        (
            "requests",
            f"{counts.get('completed', 0)} completed, {counts.get('failed', 0)} "
            f"failed, {counts.get('total', 0)} total",
        ),
        ("created", when("created_at")),
        ("expires", when("expires_at")),
        ("completed", when("completed_at")),
        ("cancelled", when("cancelled_at")),
        ("failed", when("failed_at")),
        ("output file", b.get("output_file_id")),
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
    batch_id: Annotated[
        str,
        typer.Argument(
            help="batch id, or the output directory of a `batch --remote` run: every batch "
            "it submitted",
            metavar="ID|DIR",
            show_default=False,
        ),
    ],
    out: FetchOut = None,
    wait: Wait = False,
    overwrite: Overwrite = False,
    no_metadata: NoMetadata = False,
    sidecar: Sidecar = False,
    json_out: Json = False,
    quiet: Quiet = False,
    gallery: Gallery = False,
    open_page: OpenGallery = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
    batch_api: BatchApi = None,
) -> None:
    """Download a batch's results: images and manifest lines, as a local run writes them.

    Without -o they go where `batch --remote` was told to write them. Run it again at will:
    items already in the manifest are not written twice.
    """
    from pathlib import Path

    from ..batch.manifest import Manifest
    from ..batch.remote import load_state
    from ..errors import UsageError
    from ..output import plan_output
    from .batch_progress import folder_lock
    from .batch_remote import fetch_results, state_dir

    console = make_console(quiet=quiet, json_mode=json_out)
    settings = settings_for(
        base_url=base_url,
        api_key=api_key,
        profile=profile,
        timeout=timeout,
        retries=retries,
        out_dir=out,
        batch_api=batch_api,
    )
    run_dir = Path(batch_id)
    if run_dir.is_dir():
        # A run split into several batches records each in its manifest.
        ids = Manifest(run_dir).read().submitted
        if not ids:
            raise UsageError(
                f"{run_dir}: no batches were submitted from here (no manifest says so)"
            )
        directory = Path(out) if out else run_dir
    else:
        ids = [batch_id]
        directory = Path(settings.out_dir or ".")
        if out is None:
            # The folder the batch was submitted for, recorded by `batch --remote`.
            recorded = (load_state(batch_id, directory, state_dir()) or {}).get("directory")
            if isinstance(recorded, str) and recorded:
                directory = Path(recorded)
                console.info(f"writing into {directory}, where the batch was submitted for")
    plan_output(directory, template=None, count=1, overwrite=overwrite)
    with folder_lock(console, directory), _Connected(console, settings) as (client, backend):
        fetch_results(
            console,
            settings,
            client,
            backend,
            ids,
            directory,
            wait=wait,
            overwrite=overwrite,
            metadata=not no_metadata,
            sidecar=sidecar,
            json_out=json_out,
            gallery=gallery or open_page,
            open_page=open_page,
        )


@batches_app.command("cancel")
def cancel_cmd(
    batch_id: BatchId,
    json_out: BatchJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
    batch_api: BatchApi = None,
) -> None:
    """Cancel a batch; what finished before can still be fetched."""
    console = make_console(json_mode=json_out)
    with _connected(console, base_url, api_key, profile, timeout, retries, batch_api) as (
        client,
        backend,
    ):
        b = backend.cancel(client, batch_id)
    if json_out:
        console.out_json(b)
    else:
        console.out(f"{b.get('id')}\t{b.get('status')}")
