"""`easyimg batch`'s input and rehearsal: reading the prompt file, and --dry-run."""

import os
from typing import TYPE_CHECKING, Any

import typer

from .common import state
from .dialects import dialect_picker
from .spend import batch_estimate, estimate_doc, estimate_lines

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ..batch.prompts import PromptFile
    from ..config import Settings
    from ..console import Console
    from ..prices import PriceBook


def read_items(console: "Console", file: str, defaults: Any) -> "PromptFile":
    from ..batch.prompts import FileErrors, PromptFile, kind_of
    from ..errors import UsageError

    try:
        if file == "-":
            if state.env.stdin_isatty:
                console.info("reading prompts from the terminal, one a line (Ctrl-D to end)")
            return PromptFile(stdin_opener(), "txt", defaults, "<stdin>")
        kind = kind_of(file)
        try:
            open(file, "rb").close()
        except OSError as exc:
            reason = (
                "no such file"
                if isinstance(exc, FileNotFoundError)
                else (
                    "is a directory"
                    if isinstance(exc, IsADirectoryError)
                    else (exc.strerror or str(exc)).lower()
                )
            )
            raise UsageError(f"cannot read {file}: {reason}") from None
        # Read twice, as a stream each time: checked whole first, then run.
        return PromptFile(lambda: open(file, "rb"), kind, defaults, file)
    except FileErrors as exc:
        if console.json_mode:
            console.out_json(
                {
                    "error": {
                        "message": exc.message,
                        "exit_code": 2,
                        "problems": [{"line": e.line, "message": e.message} for e in exc.errors],
                        "count": exc.total,
                    }
                }
            )
        for line in exc.lines():
            console.error(line)
        console.info("nothing was sent")
        raise typer.Exit(2) from None


def stdin_opener() -> Any:
    """Lines of stdin the first time, copied to a temporary file that later reads replay."""
    import contextlib
    import tempfile

    copy = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the command ends
    read = [False]

    def tee() -> "Iterator[bytes]":
        for line in state.env.stdin:
            raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
            copy.write(raw)
            yield raw
        copy.flush()

    @contextlib.contextmanager
    def opener() -> "Iterator[Any]":
        if not read[0]:
            read[0] = True
            yield tee()
            return
        with open(os.dup(copy.fileno()), "rb") as fh:
            fh.seek(0)
            yield fh

    return opener


def show_dry_run(
    console: "Console",
    settings: "Settings",
    items: "PromptFile",
    directory: "Path",
    *,
    resume: bool,
    remote: bool,
    json_out: bool,
    source: str,
    book: "PriceBook",
) -> None:
    import json

    from ..api.client import USER_AGENT
    from ..batch.manifest import Manifest, to_do
    from ..batch.remote import endpoint_of, request_lines
    from ..config import mask_key
    from ..generate import recordable
    from ..models import plan_counts
    from .batch_progress import warn_unreadable

    manifest = Manifest(directory)
    plan = to_do(manifest, items, resume=resume)
    expected = batch_estimate(plan.todo, book, remote)
    warn_unreadable(console, manifest.path, plan.state)
    if plan.skipped:
        console.info(f"{plan.skipped} of {len(items)} items are already done (see {manifest.path})")
    if remote:
        lines = [
            line for _, line in request_lines((t.request() for t in plan.todo), endpoint_of(items))
        ]
        if json_out:
            console.out_json(
                {
                    "requests": [json.loads(line) for line in lines],
                    "estimate": estimate_doc(expected),
                }
            )
        else:
            for line in lines:
                console.out(line)
            # The JSONL itself stays clean for piping to a file: the estimate is talk here.
            for line in estimate_lines(expected):
                console.info(line)
        return
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {mask_key(settings.api_key)}"
    pick = dialect_picker(settings)

    def request(task: Any, k: int) -> dict[str, Any]:
        item = task.request()
        dialect = pick(item)
        # Inlined images are shown cut short, not as megabytes of base64.
        body = recordable({**item.request_body(), "n": k})
        if item.api == "chat":
            body = dialect.request_body(body, data_urls=False)
        return {
            "line": item.line,
            "method": "POST",
            "url": f"{settings.base_url}/{dialect.endpoint}",
            "headers": headers,
            "body": body,
        }

    requests = [
        request(t, k) for t in plan.todo for k in plan_counts(int(t.body.get("n", 1)), t.item.max_n)
    ]
    if json_out:
        console.out_json({"requests": requests, "estimate": estimate_doc(expected)})
        return
    blocks = [
        "\n".join(
            [
                f"# {source}:{r['line']}",
                f"POST {r['url']}",
                *(f"{k}: {v}" for k, v in headers.items()),
                "",
                json.dumps(r["body"], indent=2, ensure_ascii=False),
            ]
        )
        for r in requests
    ]
    console.out("\n\n".join([*blocks, "\n".join(estimate_lines(expected))]))
