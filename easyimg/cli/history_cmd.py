"""`easyimg history` and `easyimg usage`: past generations and their token totals."""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import (
    make_console,
    settings_for,
    state,
)

if TYPE_CHECKING:
    from datetime import date

    from ..console import Console


from .tables import emit, json_flag


class Status(StrEnum):
    ok = "ok"
    partial = "partial"
    error = "error"


history_app = typer.Typer(
    invoke_without_command=True, no_args_is_help=False, subcommand_metavar="[show ID]"
)


@history_app.callback()
def history(
    ctx: typer.Context,
    limit: Annotated[
        int,
        typer.Option(
            "-n", "--limit", min=0, metavar="N", help="show the last N entries; 0 shows them all"
        ),
    ] = 20,
    grep: Annotated[
        str | None,
        typer.Option(
            "--grep",
            metavar="TEXT",
            help="only entries whose prompt or file names hold TEXT (any case)",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "-m",
            "--model",
            metavar="MODEL",
            help="only this model (and its dated snapshots)",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="only from DATE on: YYYY-MM-DD, today, yesterday, Nd or Nw, in local time",
            show_default=False,
        ),
    ] = None,
    status: Annotated[
        Status | None,
        typer.Option(
            "--status",
            metavar="ok|partial|error",
            help="only entries that ended so",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[bool, json_flag("the entries, as stored (with their ids),")] = False,
) -> None:
    """Show past generations from the history file, newest first, each with its id.

    easyimg history --grep fox --since 7d
    easyimg history show 3f2a9c01d4
    """
    if ctx.invoked_subcommand is not None:
        return
    from .. import history as history_file
    from ..usage import image_count, tokens_of

    console = make_console(json_mode=json_out)
    settings = settings_for()
    query = history_file.Query(
        grep=grep,
        model=model,
        since=_since(since),
        status=status.value if status else None,
    )
    entries = history_file.newest(settings.history_file, limit, query)
    if json_out:
        console.out_json([{"id": history_file.entry_id(e), **e} for e in entries])
        return
    if not entries:
        _history_note(
            console,
            settings.history_file,
            settings.history,
            filtered=any(v is not None for v in (grep, model, since, status)),
        )
        return
    tty = state.env.stdout_isatty
    rows = []
    for entry in entries:
        tokens = tokens_of(entry.get("usage"))
        files = [str(f) for f in entry.get("files") or []]
        images = str(image_count(entry))
        if tty:
            if history_file.entry_status(entry) != "ok":
                images += f" {history_file.entry_status(entry)}"
            if history_file.is_placeholder(entry):
                images += " placeholder"
            first = files[0].rsplit("/", 1)[-1] if files else ""
            shown_files = first + (f" (+{len(files) - 1})" if len(files) > 1 else "")
        else:
            shown_files = " ".join(files)
        row = [
            history_file.entry_id(entry),
            _when(entry, tty),
            str(entry.get("command") or ""),
            str(entry.get("model") or ""),
            images,
            str(tokens.total) if tokens else "",
            str(entry.get("prompt") or ""),
            shown_files,
        ]
        if not tty:
            row.insert(5, str(entry.get("status") or ""))
        rows.append(row)
    columns = [
        ("id", "left"),
        ("time", "left"),
        ("command", "left"),
        ("model", "left"),
        ("images", "right"),
        ("tokens", "right"),
        ("prompt", "left"),
        ("files", "left"),
    ]
    if not tty:
        columns.insert(5, ("status", "left"))
    emit(columns, rows, shrink=("prompt", "files"), optional=("command", "tokens"))


@history_app.command("show")
def show(
    ref: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="a history id, or its first 4 or more characters", show_default=False
        ),
    ],
    json_out: Annotated[bool, json_flag("the entry, as stored,")] = False,
) -> None:
    """Show one history entry in full: request, files, usage and cost.

    easyimg history show 3f2a9c01d4
    """
    import json

    from .. import history as history_file
    from ..usage import entry_cost
    from .spend import price_book

    console = make_console(json_mode=json_out)
    settings = settings_for()
    entry = history_file.find(settings.history_file, ref)
    ident = history_file.entry_id(entry)
    if json_out:
        console.out_json({"id": ident, **entry})
        return
    cost = entry_cost(entry, price_book(settings))
    placeholder = history_file.is_placeholder(entry)
    rows: list[tuple[str, Any]] = [
        ("id", ident),
        ("time", entry.get("time")),
        ("command", entry.get("command")),
        ("model", entry.get("model")),
        ("status", history_file.entry_status(entry)),
        ("host", history_file.entry_host(entry)),
        ("placeholder", "not recorded" if placeholder is None else "yes" if placeholder else "no"),
        ("prompt", entry.get("prompt")),
        ("parameters", json.dumps(entry.get("parameters") or {}, ensure_ascii=False)),
        ("usage", json.dumps(entry["usage"]) if entry.get("usage") else None),
        (
            "cost",
            "$0.00 (placeholder images)" if placeholder else _money(cost),
        ),
        ("request id", entry.get("request_id")),
        ("error", entry.get("error")),
    ]
    lines = [f"{k:<12} {' '.join(str(v).split())}" for k, v in rows if v not in (None, "")]
    lines += [f"file         {f}" for f in entry.get("files") or []]
    lines.append(f"rerun        easyimg rerun {ident}")
    console.out("\n".join(lines))


def _money(dollars: float | None) -> str | None:
    from ..cost import money

    return None if dollars is None else money(dollars)


def _since(text: str | None) -> "date | None":
    from datetime import date

    from ..errors import UsageError
    from ..usage import parse_since

    if text is None:
        return None
    try:
        return parse_since(text, date.today())
    except UsageError as exc:
        raise UsageError(f"--since {exc.message}") from None


def _when(entry: dict[str, Any], tty: bool) -> str:
    """Local minutes on a terminal; the stored UTC time in a pipe."""
    from ..usage import entry_time

    if not tty:
        return str(entry.get("time") or "")
    when = entry_time(entry)
    return when.astimezone().strftime("%Y-%m-%d %H:%M") if when else str(entry.get("time", ""))


def _history_note(console: "Console", path: Any, enabled: bool, filtered: bool = False) -> None:
    if not state.env.stderr_isatty:
        return
    if filtered:
        console.info("no history entries match")
    elif not enabled:
        console.info("history is turned off (config history = false)")
    else:
        console.info(f"no history yet; easyimg records each generation in {path}")


# --- usage --------------------------------------------------------------------------------------


class By(StrEnum):
    model = "model"
    day = "day"
    host = "host"


def usage(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="only from DATE on: YYYY-MM-DD, today, yesterday, or Nd / Nw "
            "(days or weeks ago), in local time",
            metavar="DATE",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        By,
        typer.Option("--by", metavar="model|day|host", help="one row per model, day or host"),
    ] = By.model,
    all_runs: Annotated[
        bool,
        typer.Option(
            "--all", help="count placeholder images too (--offline, easyimg serve): they cost $0"
        ),
    ] = False,
    json_out: Annotated[bool, json_flag("the totals")] = False,
) -> None:
    """Token totals and cost per model, day or host from the history file.

    Costs come from easyimg's built-in price table; prices in the config file override it or
    add models, in USD per 1M tokens or per image:

    prices."gpt-image-2" = { input_text = 5.0, input_image = 8.0, output = 30.0 }
    prices."flux-dev" = { per_image = 0.025 }

    Placeholder images (--offline, easyimg serve) are left out unless --all.
    """
    from ..summary import totals
    from ..usage import report as make_report
    from .spend import price_book

    console = make_console(json_mode=json_out)
    start = _since(since)
    settings = settings_for()
    # Totals cached beside the file: only lines appended since the last `usage` are read.
    report = make_report(
        totals(settings.history_file),
        by=by.value,
        since=start,
        prices=price_book(settings),
        placeholders=all_runs,
    )
    if json_out:
        console.out_json(
            {
                "by": report.by,
                "since": start.isoformat() if start else None,
                "currency": "USD",
                "rows": [_usage_doc(report.by, r, report.priced) for r in report.rows],
                "total": _usage_doc(None, report.total, report.priced),
                "unpriced_models": report.unpriced_models if report.priced else [],
                "placeholder_runs_left_out": report.placeholder_runs,
            }
        )
        return
    if not report.rows:
        if state.env.stderr_isatty:
            where = f" since {start.isoformat()}" if start else ""
            console.info(f"no generations in the history{where} ({settings.history_file})")
            _usage_notes(console, report)
        return
    tty = state.env.stdout_isatty
    columns = [
        (report.by, "left"),
        ("runs", "right"),
        ("images", "right"),
        ("input text", "right"),
        ("input image", "right"),
        ("output", "right"),
        ("total tokens", "right"),
    ]
    if report.priced:
        columns.append(("cost USD", "right"))
    rows = [_usage_row(r, report.priced, tty) for r in report.rows]
    emit(columns, rows, total=_usage_row(report.total, report.priced, tty))
    if state.env.stderr_isatty:
        _usage_notes(console, report)


def _usage_notes(console: "Console", report: Any) -> None:
    if report.priced and report.unpriced_models:
        console.info(
            '* not counted in the cost, no price known (add [prices."MODEL"] to the config '
            "file): " + ", ".join(report.unpriced_models)
        )
    if report.placeholder_runs:
        runs = report.placeholder_runs
        console.info(
            f"{runs} run{'s' if runs != 1 else ''} of placeholder images left out "
            "(--all counts them)"
        )
    if report.unmarked_loopback_runs:
        console.info(
            f"{report.unmarked_loopback_runs} older runs against a loopback server are counted; "
            "they may be placeholder images from before easyimg marked them (--by host shows them)"
        )


def _usage_row(row: Any, priced: bool, tty: bool) -> list[str]:
    t = row.tokens
    cells = [
        row.key,
        str(row.runs),
        str(row.images),
        str(t.input_text),
        str(t.input_image),
        str(t.output),
        str(t.total),
    ]
    if priced:
        if row.cost is None:
            cells.append("-" if tty else "")
        elif tty:
            cells.append(f"{row.cost:,.4f}" + ("*" if row.unpriced_runs else ""))
        else:
            cells.append(f"{row.cost:.4f}")
    return cells


def _usage_doc(by: str | None, row: Any, priced: bool) -> dict[str, Any]:
    t = row.tokens
    doc: dict[str, Any] = {by: row.key} if by else {}
    doc.update(
        runs=row.runs,
        images=row.images,
        input_text_tokens=t.input_text,
        input_image_tokens=t.input_image,
        output_tokens=t.output,
        total_tokens=t.total,
        cost_usd=round(row.cost, 6) if priced and row.cost is not None else None,
        unpriced_runs=row.unpriced_runs,
    )
    return doc


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"
