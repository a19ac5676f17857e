"""`easyimg edit`: edits of existing images (and the multipart dry run `vary` shares)."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import (
    GEN,
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
    Json,
    Model,
    Name,
    NoMetadata,
    NoValidate,
    Offline,
    Open,
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
    Timeout,
    User,
    dry_run_target,
    make_console,
    newer_fields,
    output_format,
    read_prompt,
    read_stdin,
    settings_for,
    warn_advisories,
)
from .dialects import api_for, no_resolution

if TYPE_CHECKING:
    from ..config import Settings
    from ..console import Console
    from ..inputs import InputImage

EDITS = "images/edits"
VARIATIONS = "images/variations"

Prompt = Annotated[
    str | None,
    typer.Option(
        "-p",
        "--prompt",
        metavar="PROMPT",
        help="what to change; - reads it from stdin",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
PromptFile = Annotated[
    str | None,
    typer.Option(
        "--prompt-file",
        metavar="FILE",
        help="read the prompt from this file",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Mask = Annotated[
    str | None,
    typer.Option(
        "--mask",
        metavar="PNG",
        help="PNG whose transparent pixels mark where to edit (size of the first image); "
        "a URL or file-... id also works",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
InputFidelity = Annotated[
    str | None,
    typer.Option(
        "--input-fidelity",
        metavar="high|low",
        help="how closely to keep the input's features",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Stream = Annotated[
    bool,
    typer.Option(
        "--stream", help="stream the answer (SSE) with partial images", rich_help_panel=GEN
    ),
]
PartialImages = Annotated[
    int | None,
    typer.Option(
        "--partial-images",
        metavar="0-3",
        help="partial images to stream",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
SavePartials = Annotated[
    bool,
    typer.Option(
        "--save-partials",
        help="keep streamed partials as NAME.partial-K.EXT",
        rich_help_panel="Output",
    ),
]


def edit(
    images: Annotated[
        list[str],
        typer.Argument(
            help="images to edit (PNG, JPEG or WebP; up to 16); an http(s) URL or a file-... id "
            "is sent as a JSON edit",
            metavar="IMAGE",
            show_default=False,
        ),
    ],
    prompt: Prompt = None,
    prompt_file: PromptFile = None,
    mask: Mask = None,
    input_fidelity: InputFidelity = None,
    model: Model = None,
    count: Count = 1,
    size: Size = None,
    quality: Quality = None,
    background: Background = None,
    fmt: Format = None,
    compression: Compression = None,
    response_format: ResponseFormat = None,
    stream: Stream = False,
    partial_images: PartialImages = None,
    save_partials: SavePartials = False,
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
    open_files: Open = False,
    preview: Preview = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
    retry_timeouts: RetryTimeouts = False,
    offline: Offline = False,
) -> None:
    """Edit or extend images with a prompt.

    easyimg edit photo.png -p "add a red hat" --mask hat-area.png
    """
    from ..api import images as images_api
    from ..errors import UsageError
    from ..generate import Ask, Writing, build_body
    from ..inputs import check_edit
    from ..models import DEFAULT_MODEL, request_limit, rules_for, validate
    from ..references import Reference, json_edit_fields
    from .common import EDIT_FLAG_FIELDS
    from .gen import show_dry_run
    from .generation import Showing, run_generation

    console = make_console(quiet=quiet, json_mode=json_out)
    text = _prompt(prompt, prompt_file)
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
    if save_partials and not stream:
        raise UsageError("--save-partials needs --stream")
    out_fmt = output_format(settings, model_id, check=not no_validate)
    options: dict[str, Any] = {
        "size": settings.size,
        "quality": settings.quality,
        "background": background,
        "output_format": out_fmt,
        "output_compression": compression,
        "response_format": response_format,
        "input_fidelity": input_fidelity,
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
    showing = Showing(json_out=json_out, open_files=open_files, preview=preview)
    writing = Writing(
        out=settings.out_dir,
        name=settings.name,
        overwrite=overwrite,
        metadata=not no_metadata,
        sidecar=sidecar,
        save_partials=save_partials,
    )
    if api_for(settings, model_id) == "chat":
        from .edit_chat import edit_by_chat

        edit_by_chat(
            console,
            settings,
            images,
            build_body(
                text,
                model=model_id,
                n=1,
                options={**options, "resolution": resolution},
                extras=extra,
            ),
            count,
            writing,
            showing,
            mask=mask,
            validate=not no_validate,
            dry_run=dry_run,
            offline=offline,
            retry_timeouts=retry_timeouts,
        )
        return
    no_resolution(resolution)
    rules = rules_for(model_id)
    max_n = request_limit(model_id, out_fmt)
    body = build_body(
        text,
        model=model_id,
        n=min(count, max_n),
        options=options,
        extras=extra,
        owned=EDIT_FLAG_FIELDS,
    )
    if no_validate:
        if not text.strip():
            raise UsageError("prompt is empty")
    else:
        validate(body, endpoint="edits", mask=mask is not None)
    found, mask_image = check_edit(images, mask, rules, model_id, validate=not no_validate)
    warn_advisories(console, settings, [body])
    if any(isinstance(i, Reference) for i in [*found, mask_image]):
        # An input the server fetches: the whole edit goes as JSON, local files inlined.
        body.update(json_edit_fields(found, mask_image))
        dialect = images_api.Dialect(images_api.EDITS)
        if dry_run:
            target = dry_run_target(settings, offline)
            show_dry_run(console, target, body, count, max_n, json_out, path=EDITS)
            return
    else:
        local = [i for i in found if not isinstance(i, Reference)]
        # One file goes as `image`, several as `image[]`: what the openai SDK sends.
        field = "image" if len(local) == 1 else "image[]"
        files = [(field, image) for image in local]
        if mask_image is not None and not isinstance(mask_image, Reference):
            files.append(("mask", mask_image))
        if dry_run:
            target = dry_run_target(settings, offline)
            show_multipart(console, target, EDITS, body, files, count, max_n, json_out)
            return
        dialect = images_api.Dialect(images_api.EDITS, files)
    run_generation(
        console,
        settings,
        Ask(
            body,
            count=count,
            max_n=max_n,
            dialect=dialect,
            command="edit",
        ),
        writing,
        showing,
        offline=offline,
        retry_timeouts=retry_timeouts,
    )


def _prompt(prompt: str | None, prompt_file: str | None) -> str:
    from pathlib import Path

    from ..errors import UsageError

    if prompt is not None and prompt_file is not None:
        raise UsageError("give the prompt with -p or --prompt-file, not both")
    if prompt_file is None:
        if prompt is None:
            raise UsageError("a prompt is needed: -p TEXT, -p - (read stdin) or --prompt-file FILE")
        return read_prompt(prompt)
    if prompt_file == "-":
        return read_stdin("the prompt")
    try:
        return Path(prompt_file).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise UsageError(f"prompt file {prompt_file}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"prompt file {prompt_file} is not UTF-8 text") from None
    except OSError as e:
        raise UsageError(
            f"cannot read prompt file {prompt_file}: {(e.strerror or str(e)).lower()}"
        ) from None


def show_multipart(
    console: "Console",
    settings: "Settings",
    path: str,
    body: dict[str, Any],
    files: list[tuple[str, "InputImage"]],
    count: int,
    max_n: int,
    json_out: bool,
) -> None:
    """--dry-run: the multipart requests that would be sent, files by name, type and size."""
    from ..api.client import USER_AGENT
    from ..config import mask_key
    from ..console import human_bytes
    from ..estimate import estimate
    from ..inputs import MultipartBody, form_fields
    from ..models import plan_counts
    from .spend import estimate_doc, estimate_lines, price_book

    url = f"{settings.base_url}/{path}"
    headers = {"Content-Type": "multipart/form-data; boundary=…", "User-Agent": USER_AGENT}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {mask_key(settings.api_key)}"
    parts = [
        {
            "field": field,
            "filename": image.filename,
            "content_type": image.content_type,
            "bytes": image.size,
            "path": str(image.path),
        }
        for field, image in files
    ]
    plans = [form_fields({**body, "n": n}) for n in plan_counts(count, max_n)]
    expected = estimate(body, price_book(settings), images=count, endpoint=path.rsplit("/", 1)[-1])
    if json_out:
        console.out_json(
            {
                "requests": [
                    {
                        "method": "POST",
                        "url": url,
                        "headers": headers,
                        "fields": [list(f) for f in fields],
                        "files": parts,
                        "content_length": len(MultipartBody(fields, files)),
                    }
                    for fields in plans
                ],
                "estimate": estimate_doc(expected),
            }
        )
        return
    blocks = []
    for fields in plans:
        lines = [f"POST {url}", *(f"{k}: {v}" for k, v in headers.items()), ""]
        lines += [f"{name}: {value}" for name, value in fields]
        lines += [
            f"{field}: {image.filename} ({image.content_type}, "
            f"{human_bytes(image.size)}) from {image.path}"
            for field, image in files
        ]
        blocks.append("\n".join(lines))
    console.out("\n\n".join([*blocks, "\n".join(estimate_lines(expected))]))
