"""`easyimg batch`: many generations from a prompt file, run here or by the Batch API."""

from typing import TYPE_CHECKING, Annotated

import typer

from .batch_plan import read_items, show_dry_run
from .batch_remote import history_recorder, submit_remote
from .batch_select import Head, Shard, chosen
from .common import (
    ApiChoice,
    ApiKey,
    Background,
    BaseUrl,
    BatchApi,
    Complexity,
    Compression,
    Count,
    Extra,
    Format,
    FrameMs,
    Frames,
    Gallery,
    Json,
    Model,
    Moderation,
    Name,
    NoMetadata,
    NoValidate,
    Offline,
    OpenGallery,
    Overwrite,
    Profile,
    Quality,
    Quiet,
    Resolution,
    ResponseFormat,
    Retries,
    RetryTimeouts,
    SafetyId,
    Sidecar,
    Size,
    Style,
    Timeout,
    User,
    advisor,
    connect,
    dry_run_target,
    make_console,
    newer_fields,
    settings_for,
    warn_advisories,
)
from .dialects import dialect_picker
from .spend import (
    MaxCost,
    RunCost,
    Yes,
    announce,
    batch_estimate,
    both,
    price_book,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path
    from typing import Any

    from ..batch.manifest import Pending
    from ..batch.prompts import Item, PromptFile
    from ..config import Settings
    from ..console import Console
    from ..estimate import Estimate
    from ..prices import PriceBook

BATCH = "Batch"

Jobs = Annotated[
    int | None,
    typer.Option(
        "-j",
        "--jobs",
        min=1,
        metavar="N",
        help="concurrent requests [default: config jobs, else 4]",
        rich_help_panel=BATCH,
        show_default=False,
    ),
]
NoResume = Annotated[
    bool,
    typer.Option(
        "--no-resume", help="redo items the manifest lists as done", rich_help_panel=BATCH
    ),
]
Remote = Annotated[
    bool,
    typer.Option(
        "--remote",
        help="hand the run to the provider's Batch API (24 h window)",
        rich_help_panel=BATCH,
    ),
]
Wait = Annotated[
    bool,
    typer.Option(
        "--wait", help="wait for the batch to finish, then fetch it", rich_help_panel=BATCH
    ),
]
OutDir = Annotated[
    str | None,
    typer.Option(
        "-o",
        "--out",
        metavar="DIR",
        help="output directory: the images and easyimg-manifest.jsonl "
        "[default: config out_dir, else .]",
        rich_help_panel="Output",
        show_default=False,
    ),
]
AcceptPrivacy = Annotated[
    bool,
    typer.Option(
        "--accept-batch-privacy",
        help="accept EasyRouter's batch privacy terms (asked once per host; remembered)",
        rich_help_panel=BATCH,
    ),
]
MaxBatchLines = Annotated[
    int | None,
    typer.Option(
        "--max-batch-lines",
        min=1,
        metavar="N",
        help="with --remote: at most N requests a batch; more make several batches "
        "[default: 50000]",
        rich_help_panel=BATCH,
        show_default=False,
    ),
]
BatchDryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="print the requests (with --remote: the JSONL to upload) and exit",
        rich_help_panel="Output",
    ),
]


def batch(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="prompt file: .txt (one prompt a line), .jsonl, .csv, or - for txt on stdin",
            show_default=False,
        ),
    ],
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
    frames: Frames = None,
    frame_ms: FrameMs = None,
    complexity: Complexity = None,
    safety_id: SafetyId = None,
    user: User = None,
    extra: Extra = None,
    no_validate: NoValidate = False,
    api: ApiChoice = None,
    resolution: Resolution = None,
    out: OutDir = None,
    name: Name = None,
    overwrite: Overwrite = False,
    no_metadata: NoMetadata = False,
    sidecar: Sidecar = False,
    no_resume: NoResume = False,
    json_out: Json = False,
    quiet: Quiet = False,
    gallery: Gallery = False,
    open_page: OpenGallery = False,
    dry_run: BatchDryRun = False,
    remote: Remote = False,
    wait: Wait = False,
    batch_api: BatchApi = None,
    accept_batch_privacy: AcceptPrivacy = False,
    max_batch_lines: MaxBatchLines = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
    retry_timeouts: RetryTimeouts = False,
    offline: Offline = False,
    head: Head = None,
    shard: Shard = None,
    max_cost: MaxCost = None,
    yes: Yes = False,
) -> None:
    """Generate images for every prompt in FILE; generation options are the defaults.

    Items already in DIR/easyimg-manifest.jsonl are skipped: run it again to finish.
    A jsonl line with "image" (a path, URL or file id, or a list) is an edit.

    easyimg batch prompts.txt -j 8 -o out/
    """
    from pathlib import Path

    from ..batch.prompts import Defaults
    from ..errors import UsageError
    from ..generate import check_extras
    from ..models import DEFAULT_MODEL
    from ..output import DEFAULT_TEMPLATE, IMAGE_SUFFIXES, check_template
    from .common import FLAG_FIELDS

    console = make_console(quiet=quiet, json_mode=json_out)
    settings = settings_for(
        base_url=base_url,
        api_key=api_key,
        profile=profile,
        timeout=timeout,
        retries=retries,
        model=model,
        size=size,
        quality=quality,
        format=fmt,
        out_dir=out,
        name=name,
        jobs=jobs,
        api=api,
        batch_api=batch_api,
    )
    if wait and not remote:
        raise UsageError("--wait goes with --remote")
    for flag, given in (
        ("--accept-batch-privacy", accept_batch_privacy),
        ("--max-batch-lines", max_batch_lines is not None),
    ):
        if given and not remote:
            raise UsageError(f"{flag} goes with --remote")
    directory = Path(settings.out_dir or ".")
    if directory.suffix.lower() in IMAGE_SUFFIXES and not directory.is_dir():
        raise UsageError(f"-o {directory}: a batch writes many files; give a directory")
    template = settings.name or DEFAULT_TEMPLATE
    check_template(template)
    owned = {k: v for k, v in FLAG_FIELDS.items() if k not in ("stream", "partial_images")}
    check_extras(extra, {**owned, "prompt": "the prompt file"})
    defaults = Defaults(
        model=settings.model or DEFAULT_MODEL,
        n=count,
        extras=list(extra or []),
        validate=not no_validate,
        options={
            "size": settings.size,
            "quality": settings.quality,
            "background": background,
            "moderation": moderation,
            "style": style,
            "output_format": settings.format,
            "output_compression": compression,
            "response_format": response_format,
            "user": user,
            **newer_fields(
                settings.format,
                frames=frames,
                frame_ms=frame_ms,
                complexity=complexity,
                safety_id=safety_id,
            ),
            "resolution": resolution,
        },
        api=settings.api,
    )
    if defaults.api not in (None, "images", "chat"):
        raise UsageError(f"--api {defaults.api!r}: use images or chat")
    if max_cost is not None and remote:
        raise UsageError("--max-cost is for local runs; a Batch API run is started as a whole")
    items = chosen(read_items(console, file, defaults), head=head, shard=shard)
    local = not (remote or dry_run)
    if not local:
        # A stream: a list of every body held a million prompts in memory for the whole run.
        warn_advisories(console, settings, (i.body for i in items))
    if remote:
        chat_line = next((i.line for i in items if i.api == "chat"), None)
        if chat_line is not None:
            raise UsageError(
                f"{file}:{chat_line}: a chat image model cannot go in a remote batch, which "
                "carries images API requests; run it here (without --remote), or send it "
                "as an images request with --api images"
            )
    book = price_book(settings)

    if dry_run:
        show_dry_run(
            console,
            dry_run_target(settings, offline),
            items,
            directory,
            resume=not no_resume,
            remote=remote,
            json_out=json_out,
            source=file,
            book=book,
        )
        return
    # A local run's advisories are looked at in the estimate's pass over the file, and the
    # run starts from that pass (its count and manifest state) when nothing changed since.
    advise = advisor(console, settings) if local else None
    seen = items if advise is None else _advised(items, advise)
    pending = _pending(seen, directory, not no_resume)
    expected = batch_estimate(pending, book, remote)
    pending.items = items
    announce(console, expected, settings, yes=yes, offline=offline)
    if remote:
        submit_remote(
            console,
            settings,
            items,
            directory,
            source=file,
            template=template,
            resume=not no_resume,
            wait=wait,
            offline=offline,
            retry_timeouts=retry_timeouts,
            overwrite=overwrite,
            metadata=not no_metadata,
            sidecar=sidecar,
            json_out=json_out,
            gallery=gallery or open_page,
            open_page=open_page,
            accept_privacy=accept_batch_privacy,
            max_lines=max_batch_lines,
        )
        return
    _run_local(
        console,
        settings,
        items,
        directory,
        source=file,
        template=template,
        resume=not no_resume,
        offline=offline,
        retry_timeouts=retry_timeouts,
        overwrite=overwrite,
        metadata=not no_metadata,
        sidecar=sidecar,
        json_out=json_out,
        gallery=gallery or open_page,
        open_page=open_page,
        book=book,
        expected=expected,
        max_cost=max_cost,
        planned=pending,
    )


def _advised(items: "Iterable[Item]", see: "Callable[[dict[str, Any]], None]") -> "Iterator[Item]":
    for item in items:
        see(item.body)
        yield item


def _pending(items: "Iterable[Item]", directory: "Path", resume: bool) -> "Pending":
    """What is still to do, as a stream (nothing held per item)."""
    from ..batch.manifest import Manifest, Pending

    return Pending(Manifest(directory), items, resume=resume)


def _pool_size(items: "PromptFile", jobs: int) -> int:
    return min(jobs * items.checked.widest, 256)


def _run_local(
    console: "Console",
    settings: "Settings",
    items: "PromptFile",
    directory: "Path",
    *,
    source: str,
    template: str,
    resume: bool,
    offline: bool,
    retry_timeouts: bool,
    overwrite: bool,
    metadata: bool,
    sidecar: bool,
    json_out: bool,
    gallery: bool = False,
    open_page: bool = False,
    book: "PriceBook | None" = None,
    expected: "Estimate | None" = None,
    max_cost: float | None = None,
    planned: "Pending | None" = None,
) -> None:
    from ..batch.run import BatchRun
    from ..budget import BudgetReached
    from ..history import Appender
    from ..output import plan_output
    from ..prices import PriceBook
    from .batch_progress import View, finish, folder_lock

    spent = RunCost.for_run(book or PriceBook(), max_cost, expected)
    budget = spent.budget

    plan_output(directory, template=template, count=1, overwrite=overwrite)
    # Picked before --offline swaps the base URL: the request form is the real host's.
    dialects = dialect_picker(settings)
    with folder_lock(console, directory):
        conn = connect(
            settings,
            offline=offline,
            retry_timeouts=retry_timeouts,
            console=console,
            pool_size=_pool_size(items, settings.jobs),
        )
        # Paths for stdout are gathered and written a few times a second.
        view = View(console, source, json_out=json_out, gather=True)
        journal = Appender(settings.history_file)  # held open for the run
        try:
            run = BatchRun(
                conn.client,
                items,
                directory,
                total=len(items),
                jobs=settings.jobs,
                template=template,
                overwrite=overwrite,
                metadata=metadata,
                sidecar=sidecar,
                resume=resume,
                events=view,
                on_record=both(
                    spent.record, history_recorder(settings, offline=offline, journal=journal)
                ),
                admit=spent.admit if budget is not None else None,
                dialects=dialects,
                planned=planned,
                flush=view.flush,
            )
            try:
                summary = run.run()
            finally:
                view.close()
        finally:
            journal.close()
            conn.close()
    if budget is not None and run.admit_refused:
        summary.stop(BudgetReached(budget.summary(summary.not_started)))
    finish(
        console,
        summary,
        source,
        json_out=json_out,
        offline=offline,
        gallery=directory if gallery else None,
        open_page=open_page,
        cost=spent.line(expected) if expected is not None and not offline else None,
        cost_doc=spent.doc(expected) if expected is not None and not offline else None,
    )
