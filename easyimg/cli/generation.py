"""Running a generation-like request (gen, edit, vary, rerun) and showing its result."""

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import typer

from .common import connect

if TYPE_CHECKING:
    from pathlib import Path

    from ..budget import Budget, Meter
    from ..config import Settings
    from ..console import Console
    from ..generate import Ask, GenResult, Writing
    from ..output import OutputPlan


@dataclass
class Showing:
    """How the result is shown: paths or one JSON document, previews, the system viewer."""

    json_out: bool = False
    open_files: bool = False
    preview: bool = False
    gallery: bool = False  # refresh the output folder's page; --open then opens the page


def run_generation(
    console: "Console",
    settings: "Settings",
    ask: "Ask",
    writing: "Writing",
    showing: Showing,
    *,
    offline: bool,
    retry_timeouts: bool,
    max_cost: float | None = None,
) -> None:
    """Run a generation-like request (gen, edit, vary) and render its result."""
    import shutil
    import tempfile

    from ..budget import Budget, Meter
    from ..errors import UsageError
    from ..output import plan_output
    from .record import inputs_of
    from .spend import price_book

    body = {**ask.body, "n": ask.count}
    budget = meter = None
    if max_cost is not None:
        budget = Budget(max_cost)
        meter = Meter(budget, body, price_book(settings))
    if writing.save_partials and not body.get("stream"):
        raise UsageError("--save-partials needs --stream")
    to_stdout = writing.out == "-"
    if to_stdout:
        _check_stdout(console, ask, writing, showing)
    # `-o -`: the image is written whole to a private folder first, so stdout never gets
    # half an image from an answer that breaks off.
    scratch = tempfile.mkdtemp(prefix="easyimg-") if to_stdout else None
    try:
        plan = plan_output(
            scratch or writing.out,
            template=writing.name,
            count=ask.count,
            overwrite=writing.overwrite,
        )
        result = _generate(
            console, settings, ask, writing, plan, offline, retry_timeouts, budget, meter
        )
        render_result(
            console,
            settings,
            body,
            result,
            showing,
            offline=offline,
            command=ask.command,
            directory=None if to_stdout else plan.directory,
            budget=budget,
            inputs=inputs_of(ask.dialect),
            to_stdout=to_stdout,
        )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _check_stdout(console: "Console", ask: "Ask", writing: "Writing", showing: Showing) -> None:
    """`-o -` writes one image's bytes to stdout: refused where that cannot work."""
    from ..errors import UsageError

    if console.env.stdout_isatty:
        raise UsageError(
            "-o - writes the image's bytes to stdout, which is a terminal",
            hint="redirect it (> cat.png) or pipe it into another program",
        )
    for given, what in (
        (ask.count > 1, f"-n {ask.count}: -o - writes one image"),
        (showing.json_out, "--json and -o - both write to stdout"),
        (showing.open_files, "--open needs a file; -o - leaves none"),
        (showing.gallery, "--gallery needs a folder; -o - leaves none"),
        (writing.sidecar, "--sidecar needs a file name; -o - has none"),
        (writing.save_partials, "--save-partials needs a file name; -o - has none"),
    ):
        if given:
            raise UsageError(what)


def _generate(
    console: "Console",
    settings: "Settings",
    ask: "Ask",
    writing: "Writing",
    plan: "OutputPlan",
    offline: bool,
    retry_timeouts: bool,
    budget: "Budget | None",
    meter: "Meter | None",
) -> "GenResult":
    from ..api import images
    from ..budget import BudgetReached
    from ..errors import EasyImgError, Interrupted
    from ..generate import Generation
    from .record import failed, inputs_of

    body = {**ask.body, "n": ask.count}
    conn = connect(settings, offline=offline, retry_timeouts=retry_timeouts, console=console)
    reader: Any = None
    try:
        reporter: Any = console.reporter(
            f"waiting for {body.get('model')}", show_saved=writing.out != "-"
        )
        dialect = ask.dialect or images.Dialect()
        if body.get("stream") and isinstance(dialect, images.Dialect):
            from ..api.images_stream import StreamReader

            # The reader is also the generation's reporter: it learns each final name from
            # `saved` and names the kept partials after it.
            reader = StreamReader(
                reporter,
                partials=int(body.get("partial_images") or 0),
                images=ask.count,
                keep=plan.directory if writing.save_partials else None,
                overwrite=writing.overwrite,
            )
            dialect = replace(dialect, reader=reader)
        elif isinstance(dialect, images.Dialect):
            from ..api import tasks

            # Relays that answer with a task to poll are recognised by the answer itself.
            dialect = tasks.Dialect(dialect, poll=settings.task_poll, on_status=reporter.status)
        job = Generation(
            conn.client,
            body,
            plan,
            max_n=ask.max_n,
            dialect=dialect,
            metadata=writing.metadata,
            sidecar=writing.sidecar,
            label=ask.label,
            reporter=reader or reporter,
            meter=meter,
        )
        with reporter:
            try:
                return job.run()
            except Interrupted as exc:
                waiting = sorted(getattr(dialect, "pending", ()))
                if waiting:
                    exc.message = (
                        f"interrupted while task {', '.join(waiting)} was still running "
                        "on the server"
                    )
                raise
            except BudgetReached:
                assert budget is not None
                raise BudgetReached(budget.summary(ask.count, "images")) from None
            except EasyImgError as exc:
                # Interruptions went above; any other error made no image: record it too.
                failed(console, settings, ask.command, body, exc, offline, inputs_of(ask.dialect))
                raise
    finally:
        if reader is not None:
            reader.close()
        conn.close()


def render_result(
    console: "Console",
    settings: "Settings",
    body: dict[str, Any],
    result: "GenResult",
    showing: Showing,
    *,
    offline: bool,
    command: str,
    directory: "Path | None" = None,
    budget: "Budget | None" = None,
    inputs: dict[str, Any] | None = None,
    to_stdout: bool = False,
) -> None:
    from ..budget import BudgetReached
    from ..errors import ExitCode
    from ..history import answer_of
    from ..models import parse_size
    from ..output.checks import answer_warnings
    from .record import command_endpoint, record
    from .spend import cost_line, costs, price_book

    # Requests the budget did not start are one line at the end, not an error each.
    stopped = [e for e in result.errors if isinstance(e, BudgetReached)]
    result.errors = [e for e in result.errors if not isinstance(e, BudgetReached)]
    placeholder = offline or result.placeholder
    spent = costs(
        result.model,
        result.usage,
        price_book(settings),
        images=len(result.images),
        body=body,
        placeholder=placeholder,
        endpoint=command_endpoint(command),
    )

    wanted = parse_size(str(body.get("size", "")))
    for image in result.images:
        saved = image.saved
        if wanted and saved.width and (saved.width, saved.height) != wanted:
            where = "the image on stdout" if to_stdout else saved.path
            console.warn(f"asked for {body['size']}, got {saved.width}x{saved.height}: {where}")
    for line in answer_warnings(body, [i.saved for i in result.images]):
        console.warn(line)
    if showing.json_out:
        doc: dict[str, Any] = {
            "created": result.created,
            "model": result.model,
            "images": [
                {
                    "path": str(i.saved.path),
                    "format": i.saved.format,
                    "width": i.saved.width,
                    "height": i.saved.height,
                    "bytes": i.saved.bytes,
                    "revised_prompt": i.revised_prompt,
                    "generation_id": i.generation_id,
                    "c2pa": i.saved.c2pa,
                    **({"text": i.text} if i.text else {}),
                }
                for i in result.images
            ],
            "usage": result.usage,
            "request_id": result.request_ids[0] if result.request_ids else None,
            # What the server says it made: size, quality, output_format, background, svg.
            "answer": result.answer or None,
            "svg_usage": result.svg_usage,
        }
        if result.errors:
            doc["errors"] = [str(e) for e in result.errors]
        console.out_json(doc)
    elif to_stdout:
        for image in result.images:
            console.out_file(image.saved.path)
    else:
        for image in result.images:
            console.out(str(image.saved.path))
    for err in result.errors:
        console.error(str(err), err.hint)
    console.summary(result, placeholders=placeholder, cost=cost_line(spent))
    record(
        console,
        settings,
        command,
        body,
        # `-` for an image that went to stdout: counted, but there is no file to name.
        files=["-" if to_stdout else str(i.saved.path.resolve()) for i in result.images],
        usage=result.usage,
        request_id=result.request_ids[0] if result.request_ids else None,
        status="ok" if result.complete and not stopped else "partial",
        placeholder=placeholder,
        offline=offline,
        inputs=inputs,
        answer=answer_of(result),
    )
    if showing.gallery and directory is not None:
        from .gallery import refresh

        refresh(console, directory, open_page=showing.open_files)
    open_files = showing.open_files and not showing.gallery
    if showing.preview or open_files:
        from ..preview import show_images

        show_images(
            console,
            [i.saved.path for i in result.images],
            preview=showing.preview,
            open_files=open_files,
        )
    if stopped and budget is not None:
        console.error(budget.summary(result.requested - len(result.images), "images"))
        raise typer.Exit(ExitCode.PARTIAL)
    if not result.complete:
        raise typer.Exit(ExitCode.PARTIAL)
