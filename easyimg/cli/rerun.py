"""`easyimg rerun ID|FILE`: send a past request again, with any option overridden."""

from typing import Annotated, Any

import typer

from .common import (
    GEN,
    ApiKey,
    Background,
    BaseUrl,
    Compression,
    DryRun,
    Extra,
    Format,
    Json,
    Model,
    Moderation,
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
    ResponseFormat,
    Retries,
    RetryTimeouts,
    Sidecar,
    Size,
    Style,
    Timeout,
    User,
    make_console,
    read_prompt,
    settings_for,
)
from .spend import MaxCost


def rerun(
    ref: Annotated[
        str,
        typer.Argument(
            metavar="ID|FILE",
            help="a history id (easyimg history), or an image easyimg wrote (PNG chunks, "
            "or the NAME.json sidecar beside it)",
            show_default=False,
        ),
    ],
    prompt: Annotated[
        str | None,
        typer.Option(
            "-p",
            "--prompt",
            metavar="PROMPT",
            help="a new prompt; - reads it from stdin",
            rich_help_panel=GEN,
            show_default=False,
        ),
    ] = None,
    model: Model = None,
    count: Annotated[
        int | None,
        typer.Option(
            "-n",
            "--count",
            metavar="N",
            min=1,
            help="number of images [default: as before]",
            rich_help_panel=GEN,
            show_default=False,
        ),
    ] = None,
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
    max_cost: MaxCost = None,
) -> None:
    """Send a past request again, as it was but for the options given here.

    The config's model, size, quality and format do not apply: the past request's do.
    A request made with --offline is sent offline again unless --base-url or --profile is given.

    easyimg rerun 3f2a9c01d4 -q high
    easyimg rerun out/20261201-101500-a-cat-1.png -n 4 --dry-run
    """
    from ..api import images as images_api
    from ..generate import Ask, Writing, parse_extra
    from ..models import rules_for, validate
    from ..rerun import KINDS, apply, find
    from .edit import EDITS, VARIATIONS, show_multipart
    from .gen import show_dry_run
    from .generation import Showing, run_generation

    console = make_console(quiet=quiet, json_mode=json_out)
    settings = settings_for(
        base_url=base_url,
        api_key=api_key,
        profile=profile,
        timeout=timeout,
        retries=retries,
        out_dir=out,
        name=name,
    )
    past = find(ref, settings.history_file)
    if past.offline and not offline and base_url is None and profile is None:
        offline = True
        console.info(f"{past.source} ran --offline; so does this (--base-url to send it elsewhere)")
    overrides: dict[str, Any] = {
        "prompt": read_prompt(prompt) if prompt is not None else None,
        "model": model,
        "size": size,
        "quality": quality,
        "background": background,
        "moderation": moderation,
        "style": style,
        "output_format": fmt,
        "output_compression": compression,
        "response_format": response_format,
        "user": user,
    }
    body = apply(past, overrides, dict(parse_extra(x) for x in extra or []))
    model_id = str(body.get("model") or "")
    rules = rules_for(model_id)
    total = count or _count(body.get("n"))
    body["n"] = min(total, rules.max_n)
    endpoint = KINDS[past.kind]
    if not no_validate:
        validate(body, endpoint=endpoint)
    files = _files(past, rules, model_id, validate=not no_validate)
    path = {"edits": EDITS, "variations": VARIATIONS}.get(endpoint)
    if dry_run:
        if path is None or not files:
            show_dry_run(
                console,
                settings,
                body,
                total,
                rules.max_n,
                json_out,
                path=path or images_api.GENERATIONS,
            )
        else:
            show_multipart(console, settings, path, body, files, total, rules.max_n, json_out)
        return
    run_generation(
        console,
        settings,
        Ask(
            body,
            count=total,
            max_n=rules.max_n,
            dialect=images_api.Dialect(path, files or None) if path else None,
            command=past.kind,
        ),
        Writing(
            out=settings.out_dir,
            name=settings.name,
            overwrite=overwrite,
            metadata=not no_metadata,
            sidecar=sidecar,
        ),
        Showing(json_out=json_out, open_files=open_files, preview=preview),
        offline=offline,
        retry_timeouts=retry_timeouts,
        max_cost=max_cost,
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def _files(past: Any, rules: Any, model: str, *, validate: bool) -> list[tuple[str, Any]]:
    """The input files of an edit or variation, checked again (they may have changed)."""
    from ..inputs import check_edit, check_vary

    if past.kind == "vary":
        return [("image", check_vary(str(past.inputs["image"][0]), validate=validate))]
    if past.kind != "edit" or isinstance(past.body.get("images"), list):
        return []  # a JSON edit carries its inputs in the body
    images = [str(p) for p in past.inputs.get("image") or []]
    found, mask = check_edit(images, past.inputs.get("mask"), rules, model, validate=validate)
    field = "image" if len(found) == 1 else "image[]"
    files: list[tuple[str, Any]] = [(field, image) for image in found]
    if mask is not None:
        files.append(("mask", mask))
    return files
