"""`easyimg info FILE...`: what an image file carries."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import make_console

if TYPE_CHECKING:
    from ..fileinfo import FileInfo


def info(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE", help="image files (and their NAME.json sidecars)", show_default=False
        ),
    ],
    json_out: Annotated[
        bool, typer.Option("--json", help="print one JSON list, an object a file")
    ] = False,
) -> None:
    """Show what image files carry: prompt, model, parameters, created, software, size, format.

    Read from PNG text chunks, or from the NAME.json sidecar beside an SVG, JPEG or WebP.

    easyimg info out/*.png --json | jq -r '.[].prompt'
    """
    from pathlib import Path

    from ..errors import EasyImgError, ExitCode
    from ..fileinfo import read_info

    console = make_console(json_mode=json_out)
    docs: list[dict[str, Any]] = []
    blocks: list[str] = []
    failed = False
    for name in files:
        try:
            found = read_info(Path(name))
        except EasyImgError as exc:
            failed = True
            docs.append({"path": name, "error": exc.message})
            console.error(exc.message)
            continue
        docs.append(found.to_json())
        blocks.append(_text(found))
    if json_out:
        console.out_json(docs)
    elif blocks:
        console.out("\n\n".join(blocks))
    if failed:
        raise typer.Exit(ExitCode.USAGE)


def _text(found: "FileInfo") -> str:
    import json

    from ..console import human_bytes

    size = f"{found.width}x{found.height}" if found.width and found.height else "size unknown"
    shape = f"{found.format}, {size}, {human_bytes(found.bytes)}"
    rows: list[tuple[str, str]] = [("format", shape)]
    if found.source is None:
        rows.append(("metadata", "none that easyimg wrote"))
    for label, value in (
        ("prompt", found.prompt),
        ("revised", found.revised_prompt),
        ("model", found.model),
        ("created", _created(found.created)),
        ("software", found.software),
    ):
        if value:
            rows.append((label, value))
    if found.parameters:
        rows.append(("parameters", json.dumps(found.parameters, ensure_ascii=False)))
    if found.source is not None:
        where = "PNG text chunks" if found.source == "png" else f"sidecar {found.sidecar}"
        if found.source == "png" and found.sidecar:
            where += f" (and sidecar {found.sidecar})"
        rows.append(("from", where))
    if found.c2pa:
        rows.append(("c2pa", "carries a C2PA manifest (content credentials)"))
    # One line a field: a prompt's line breaks would start what looks like a new field.
    lines = [str(found.path), *(f"  {k:<11} {' '.join(v.split())}" for k, v in rows)]
    return "\n".join(lines)


def _created(value: Any) -> str | None:
    if isinstance(value, int):
        from datetime import datetime

        try:
            return datetime.fromtimestamp(value).astimezone().isoformat(timespec="seconds")
        except (OverflowError, OSError, ValueError):
            return str(value)
    return str(value) if value else None
