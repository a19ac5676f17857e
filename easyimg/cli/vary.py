"""`easyimg vary`: variations of one image (the legacy dall-e-2 endpoint)."""

import os
from typing import Annotated

import typer

from .common import (
    GEN,
    ApiKey,
    BaseUrl,
    Count,
    DryRun,
    Extra,
    Json,
    Name,
    NoMetadata,
    NoValidate,
    Offline,
    Open,
    Out,
    Overwrite,
    Preview,
    Profile,
    Quiet,
    ResponseFormat,
    Retries,
    RetryTimeouts,
    Sidecar,
    Timeout,
    User,
    dry_run_target,
    make_console,
    output_format,
    settings_for,
)
from .edit import VARIATIONS, show_multipart


def vary(
    image: Annotated[
        str, typer.Argument(help="a square PNG under 4 MB", metavar="IMAGE", show_default=False)
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "-m",
            "--model",
            metavar="MODEL",
            help="model id [default: dall-e-2]",
            rich_help_panel=GEN,
            show_default=False,
        ),
    ] = None,
    count: Count = 1,
    size: Annotated[
        str | None,
        typer.Option(
            "-s",
            "--size",
            metavar="SIZE",
            help="256x256, 512x512, 1024x1024 or square",
            rich_help_panel=GEN,
            show_default=False,
        ),
    ] = None,
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
) -> None:
    """Variations of one image (the legacy dall-e-2 endpoint).

    easyimg vary logo.png -n 4
    """
    from ..api import images as images_api
    from ..generate import Ask, Writing, build_body
    from ..inputs import check_vary
    from ..models import rules_for, validate
    from .generation import Showing, run_generation

    console = make_console(quiet=quiet, json_mode=json_out)
    # The config's model, size and format are for generations; variations are dall-e-2's.
    settings = settings_for(
        base_url=base_url,
        api_key=api_key,
        profile=profile,
        timeout=timeout,
        retries=retries,
        out_dir=out,
        name=name,
    )
    model_id = model or "dall-e-2"
    rules = rules_for(model_id)
    output_format(settings, model_id, check=not no_validate)  # `-o x.jpg`: only PNG here
    options = {"size": size, "response_format": response_format, "user": user}
    owned = {
        "model": "-m/--model",
        "n": "-n/--count",
        "size": "-s/--size",
        "response_format": "--response-format",
        "user": "--user",
        "image": "the IMAGE argument",
    }
    body = build_body(
        None,
        model=model_id,
        n=min(count, rules.max_n),
        options=options,
        extras=extra,
        owned=owned,
    )
    if not no_validate:
        validate(body, endpoint="variations")
    files = [("image", check_vary(image, validate=not no_validate))]
    if dry_run:
        target = dry_run_target(settings, offline)
        show_multipart(console, target, VARIATIONS, body, files, count, rules.max_n, json_out)
        return
    run_generation(
        console,
        settings,
        Ask(
            body,
            count=count,
            max_n=rules.max_n,
            dialect=images_api.Dialect(images_api.VARIATIONS, files),
            label=os.path.splitext(os.path.basename(image))[0],
            command="vary",
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
    )
