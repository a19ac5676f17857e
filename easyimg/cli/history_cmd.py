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
    from ..console import Console


from .tables import emit, json_flag


def history(
    limit: Annotated[
        int,
        typer.Option(
            "-n", "--limit", min=0, metavar="N", help="show the last N entries; 0 shows them all"
        ),
    ] = 20,
    json_out: Annotated[bool, json_flag("the entries, as stored,")] = False,
) -> None:
    """Show past generations from the history file, newest first."""
    from .. import history as history_file
    from ..usage import image_count, newest_first, tokens_of

    console = make_console(json_mode=json_out)
    settings = settings_for()
    entries = (
        history_file.last(settings.history_file, limit)
        if limit
        else newest_first(history_file.read(settings.history_file), limit)
    )
    if json_out:
        console.out_json(entries)
        return
    if not entries:
        _history_note(console, settings.history_file, settings.history)
        return
    tty = state.env.stdout_isatty
    rows = []
    for entry in entries:
        tokens = tokens_of(entry.get("usage"))
        files = [str(f) for f in entry.get("files") or []]
        images = str(image_count(entry))
        if tty:
            if entry.get("status") not in (None, "ok"):
                images += f" {entry['status']}"
            first = files[0].rsplit("/", 1)[-1] if files else ""
            shown_files = first + (f" (+{len(files) - 1})" if len(files) > 1 else "")
        else:
            shown_files = " ".join(files)
        row = [
            _when(entry, tty),
            str(entry.get("command") or ""),
            str(entry.get("model") or ""),
            images,
            str(tokens.total) if tokens else "",
            str(entry.get("prompt") or ""),
            shown_files,
        ]
        if not tty:
            row.insert(4, str(entry.get("status") or ""))
        rows.append(row)
    columns = [
        ("time", "left"),
        ("command", "left"),
        ("model", "left"),
        ("images", "right"),
        ("tokens", "right"),
        ("prompt", "left"),
        ("files", "left"),
    ]
    if not tty:
        columns.insert(4, ("status", "left"))
    emit(columns, rows, shrink=("prompt", "files"))


def _when(entry: dict[str, Any], tty: bool) -> str:
    """Local minutes on a terminal; the stored UTC time in a pipe."""
    from ..usage import entry_time

    if not tty:
        return str(entry.get("time") or "")
    when = entry_time(entry)
    return when.astimezone().strftime("%Y-%m-%d %H:%M") if when else str(entry.get("time", ""))


def _history_note(console: "Console", path: Any, enabled: bool) -> None:
    if not state.env.stderr_isatty:
        return
    if not enabled:
        console.info("history is turned off (config history = false)")
    else:
        console.info(f"no history yet; easyimg records each generation in {path}")


# --- usage --------------------------------------------------------------------------------------


class By(StrEnum):
    model = "model"
    day = "day"


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
        By, typer.Option("--by", metavar="model|day", help="one row per model or per day")
    ] = By.model,
    json_out: Annotated[bool, json_flag("the totals")] = False,
) -> None:
    """Token totals per model or day from the history file, with an estimated cost.

    A cost column appears for models priced in the config file, in USD per 1M tokens:

    prices."gpt-image-2" = { input_text = 5.0, input_image = 8.0, output = 30.0 }
    """
    from datetime import date

    from ..errors import UsageError
    from ..summary import totals
    from ..usage import parse_prices, parse_since
    from ..usage import report as make_report

    console = make_console(json_mode=json_out)
    start = None
    if since is not None:
        try:
            start = parse_since(since, date.today())
        except UsageError as exc:
            raise UsageError(f"--since {exc.message}") from None
    settings = settings_for()
    prices = parse_prices(settings.prices, f"config file {settings.config_file}")
    # Totals cached beside the file: only lines appended since the last `usage` are read.
    report = make_report(totals(settings.history_file), by=by.value, since=start, prices=prices)
    if json_out:
        console.out_json(
            {
                "by": report.by,
                "since": start.isoformat() if start else None,
                "currency": "USD",
                "rows": [_usage_doc(report.by, r, report.priced) for r in report.rows],
                "total": _usage_doc(None, report.total, report.priced),
                "unpriced_models": report.unpriced_models if report.priced else [],
            }
        )
        return
    if not report.rows:
        if state.env.stderr_isatty:
            where = f" since {start.isoformat()}" if start else ""
            console.info(f"no generations in the history{where} ({settings.history_file})")
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
    if report.priced and report.unpriced_models and state.env.stderr_isatty:
        console.info(
            "* not counted in the cost, no price in the config file: "
            + ", ".join(report.unpriced_models)
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
