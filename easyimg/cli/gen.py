"""`easyimg gen`: generate images from a prompt."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import (
    ApiChoice,
    ApiKey,
    Background,
    BaseUrl,
    Complexity,
    Compression,
    Count,
    DryRun,
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
    Out,
    Overwrite,
    Preview,
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
    dry_run_target,
    make_console,
    newer_fields,
    output_format,
    read_prompt,
    settings_for,
    warn_advisories,
)
from .dialects import api_for, chat_request, no_resolution
from .spend import MaxCost

if TYPE_CHECKING:
    from ..config import Settings
    from ..console import Console

OpenFiles = Annotated[
    bool,
    typer.Option(
        "--open",
        help="open the files in the system viewer (with --gallery: the page, in the browser)",
        rich_help_panel="Output",
    ),
]


def gen(
    prompt: Annotated[
        str,
        typer.Argument(
            help="what to draw; - reads it from stdin", metavar="PROMPT", show_default=False
        ),
    ],
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
    stream: Annotated[
        bool,
        typer.Option(
            "--stream",
            help="stream the answer (SSE) with partial images",
            rich_help_panel="Generation",
        ),
    ] = False,
    partial_images: Annotated[
        int | None,
        typer.Option(
            "--partial-images",
            metavar="0-3",
            help="partial images to stream",
            rich_help_panel="Generation",
            show_default=False,
        ),
    ] = None,
    save_partials: Annotated[
        bool,
        typer.Option(
            "--save-partials",
            help="keep streamed partials as NAME.partial-K.EXT",
            rich_help_panel="Output",
        ),
    ] = False,
    frames: Frames = None,
    frame_ms: FrameMs = None,
    complexity: Complexity = None,
    safety_id: SafetyId = None,
    user: User = None,
    extra: Extra = None,
    no_validate: NoValidate = False,
    api: ApiChoice = None,
    resolution: Resolution = None,
    out: Out = None,
    name: Name = None,
    overwrite: Overwrite = False,
    no_metadata: NoMetadata = False,
    sidecar: Sidecar = False,
    json_out: Json = False,
    quiet: Quiet = False,
    dry_run: DryRun = False,
    open_files: OpenFiles = False,
    gallery: Gallery = False,
    preview: Preview = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
    retry_timeouts: RetryTimeouts = False,
    offline: Offline = False,
    max_cost: MaxCost = None,
) -> None:
    """Generate images from a prompt.

    easyimg gen "a cat in a spacesuit" -n 4 -o out/
    """
    from ..errors import UsageError
    from ..generate import Ask, Writing, build_body
    from ..models import DEFAULT_MODEL, request_limit, validate
    from .common import FLAG_FIELDS
    from .generation import Showing, run_generation

    console = make_console(quiet=quiet, json_mode=json_out)
    text = read_prompt(prompt)
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
        api=api,
    )
    model_id = settings.model or DEFAULT_MODEL
    if partial_images is not None and not stream:
        raise UsageError("--partial-images needs --stream")
    out_fmt = output_format(settings, model_id, check=not no_validate)
    options: dict[str, Any] = {
        "size": settings.size,
        "quality": settings.quality,
        "background": background,
        "moderation": moderation,
        "style": style,
        "output_format": out_fmt,
        "output_compression": compression,
        "response_format": response_format,
        "stream": stream,
        "partial_images": partial_images,
        "user": user,
        **newer_fields(
            out_fmt,
            frames=frames,
            frame_ms=frame_ms,
            complexity=complexity,
            safety_id=safety_id,
        ),
    }
    dialect: Any = None
    if api_for(settings, model_id) == "chat":
        if save_partials:
            raise UsageError("--save-partials is for the images API: chat answers no partials")
        options["resolution"] = resolution
        body, dialect = chat_request(
            console,
            settings,
            build_body(text, model=model_id, n=1, options=options, extras=extra, owned=FLAG_FIELDS),
            validate=not no_validate,
        )
        max_n = 1
    else:
        no_resolution(resolution)
        max_n = request_limit(model_id, out_fmt)
        body = build_body(
            text,
            model=model_id,
            n=min(count, max_n),
            options=options,
            extras=extra,
            owned=FLAG_FIELDS,
        )
        if not no_validate:
            validate(body)
    if not text.strip():
        raise UsageError("prompt is empty")
    warn_advisories(console, settings, [body])

    if dry_run:
        target = dry_run_target(settings, offline)
        show_dry_run(console, target, body, count, max_n, json_out, dialect=dialect)
        return
    run_generation(
        console,
        settings,
        Ask(body, count=count, max_n=max_n, dialect=dialect),
        Writing(
            out=settings.out_dir,
            name=settings.name,
            overwrite=overwrite,
            metadata=not no_metadata,
            sidecar=sidecar,
            save_partials=save_partials,
        ),
        Showing(json_out=json_out, open_files=open_files, preview=preview, gallery=gallery),
        offline=offline,
        retry_timeouts=retry_timeouts,
        max_cost=max_cost,
    )


def show_dry_run(
    console: "Console",
    settings: "Settings",
    body: dict[str, Any],
    count: int,
    max_n: int,
    json_out: bool,
    path: str = "images/generations",
    dialect: Any = None,
) -> None:
    """Print the requests a generation would send; a chat `dialect` shows its own form."""
    import json

    from ..api.client import USER_AGENT
    from ..config import mask_key
    from ..generate import recordable
    from ..models import plan_counts

    if dialect is not None:
        path = dialect.endpoint
    url = f"{settings.base_url}/{path}"
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {mask_key(settings.api_key)}"
    # Inlined images (data: URLs) are shown cut short, not as megabytes of base64.
    shown = recordable(body)

    def wire(k: int) -> dict[str, Any]:
        if dialect is None:
            return {**shown, "n": k}
        return dict(dialect.request_body({**shown, "n": k}, data_urls=False))

    requests: list[dict[str, Any]] = [
        {"method": "POST", "url": url, "headers": headers, "body": wire(k)}
        for k in plan_counts(count, max_n)
    ]
    from ..estimate import estimate
    from .spend import estimate_doc, estimate_lines, price_book

    expected = estimate(body, price_book(settings), images=count)
    if json_out:
        console.out_json({"requests": requests, "estimate": estimate_doc(expected)})
        return
    blocks: list[tuple[dict[str, Any], str]] = []
    # Fan-out repeats the same request (dall-e-3 -n 4): show each distinct one once.
    for req in requests:
        times = sum(1 for r in requests if r["body"] == req["body"])
        if any(b[0] == req["body"] for b in blocks):
            continue
        lines = [
            f"POST {url}",
            *(f"{k}: {v}" for k, v in headers.items()),
            "",
            json.dumps(req["body"], indent=2, ensure_ascii=False),
        ]
        if times > 1:
            lines.insert(0, f"# sent {times} times")
        blocks.append((req["body"], "\n".join(lines)))
    console.out("\n\n".join([*(text for _, text in blocks), "\n".join(estimate_lines(expected))]))
