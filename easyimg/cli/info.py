"""`easyimg models`, `history`, `usage` and `completions`."""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .common import (
    ApiKey,
    BaseUrl,
    Offline,
    Profile,
    Retries,
    Timeout,
    connect,
    make_console,
    settings_for,
    state,
)

if TYPE_CHECKING:
    from ..console import Console
    from ..models import ModelRules

# Ids that name an image model, besides those in the rule table: a documented heuristic,
# matched case-insensitively anywhere in the id. `models --all` shows every id regardless.
IMAGE_HINTS = (
    "image",
    "dall-e",
    "dalle",
    "flux",
    "stable-diffusion",
    "sdxl",
    "sd3",
    "sd1",
    "sd2",
    "seedream",
    "seededit",
    "imagen",
    "recraft",
    "ideogram",
    "midjourney",
    "kolors",
    "hunyuan",
    "cogview",
    "kandinsky",
    "playground",
    "hidream",
    "nano-banana",
    "wanx",
    "omnigen",
    "photon",
    "dreamshaper",
    "juggernaut",
)


def _is_image_model(model_id: str) -> bool:
    from ..models import lookup

    low = model_id.lower()
    return lookup(model_id) is not None or any(hint in low for hint in IMAGE_HINTS)


def _json_flag(what: str) -> Any:
    return typer.Option("--json", help=f"print {what} as JSON")


# --- table or TSV ---------------------------------------------------------------------------


def _emit(
    columns: list[tuple[str, str]],
    rows: list[list[str]],
    *,
    total: list[str] | None = None,
    wrap: tuple[str, ...] = (),
    shrink: tuple[str, ...] = (),
) -> None:
    """A table on a terminal, tab-separated values with a header row in a pipe.

    `columns` holds (name, justify). On a terminal the columns named in `wrap` wrap, those
    in `shrink` are cut with an ellipsis to fit, and the rest keep their whole width.
    """
    env = state.env
    if not env.stdout_isatty:
        lines = ["\t".join(name for name, _ in columns)]
        lines += ["\t".join(_cell(v) for v in row) for row in [*rows, *([total] if total else [])]]
        env.stdout.write("\n".join(lines) + "\n")
        env.stdout.flush()
        return
    from rich import box
    from rich.console import Console as RichConsole
    from rich.table import Table

    width = env.env.get("COLUMNS", "")
    out = RichConsole(
        file=env.stdout,
        force_terminal=True,
        highlight=False,
        width=int(width) if width.isdigit() else None,
    )
    cells = [[_cell(v) for v in row] for row in rows]
    # Fixed columns keep their full width; the shrinkable ones share what is left, so a long
    # prompt or file name is cut with an ellipsis instead of squeezing the model to "mod".
    # Each column costs its text plus 3 cells: padding on both sides and the divider.
    fixed = sum(
        max(len(name), *(len(r[i]) for r in cells), len(total[i]) if total else 0) + 3
        for i, (name, _) in enumerate(columns)
        if name not in shrink
    )
    shrinking = [i for i, (name, _) in enumerate(columns) if name in shrink]
    room = (out.width - fixed) // max(1, len(shrinking)) - 3
    while room < 12 and len(shrinking) > 1:
        # Too narrow for all of them: drop the last shrinkable column (files before prompt).
        drop = shrinking.pop()
        columns = [c for i, c in enumerate(columns) if i != drop]
        cells = [[v for i, v in enumerate(r) if i != drop] for r in cells]
        total = [v for i, v in enumerate(total) if i != drop] if total else total
        room = (out.width - fixed) // len(shrinking) - 3
    room = max(10, room)
    table = Table(
        box=box.SIMPLE,
        show_footer=total is not None,
        highlight=False,
        pad_edge=False,
        show_edge=False,
    )
    for i, (name, justify) in enumerate(columns):
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            footer=total[i] if total else "",
            no_wrap=name not in wrap,
            overflow="ellipsis" if name in shrink else "fold",
            max_width=room if name in shrink else None,
        )
    for row in cells:
        table.add_row(*row)
    out.print(table)


def _cell(value: Any) -> str:
    """One TSV cell: tabs and line breaks become spaces (--json keeps the exact text)."""
    return " ".join(str("" if value is None else value).split())


# --- models -------------------------------------------------------------------------------------


def models(
    all_models: Annotated[
        bool,
        typer.Option("--all", help="list every model the endpoint offers, not only image models"),
    ] = False,
    json_out: Annotated[bool, _json_flag("the list")] = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
    offline: Offline = False,
) -> None:
    """List the image models the endpoint offers (GET /models), with what easyimg knows of each.

    Image models: the ids in easyimg's rule table, and ids with image, dall-e, flux, sd3, ...

    easyimg models --base-url http://localhost:4000/v1 --json | jq -r '.[].id'
    """
    from ..errors import ResponseError
    from ..models import lookup

    console = make_console(json_mode=json_out)
    settings = settings_for(
        base_url=base_url, api_key=api_key, profile=profile, timeout=timeout, retries=retries
    )
    conn = connect(settings, offline=offline, console=console)
    try:
        resp = conn.client.request("GET", "models")
        try:
            payload = resp.json()
        except ValueError:
            raise ResponseError(
                f"the models list from {settings.base_url} is not JSON: "
                f"{' '.join(resp.text.split())[:80]}"
            ) from None
    finally:
        conn.close()
    listed = _model_items(payload)
    if listed is None:
        raise ResponseError(f"the answer from {settings.base_url}/models holds no model list")
    everything = sorted(listed, key=lambda m: m["id"])
    shown = [m for m in everything if all_models or _is_image_model(m["id"])]
    docs = [_describe(m, lookup(m["id"])) for m in shown]
    if json_out:
        console.out_json(docs)
        return
    if shown or not everything:
        sep = ", " if state.env.stdout_isatty else ","
        _emit(
            [
                ("id", "left"),
                ("known", "left"),
                ("sizes", "left"),
                ("qualities", "left"),
                ("formats", "left"),
                ("owned_by", "left"),
            ],
            [
                [
                    d["id"],
                    "yes" if d["known"] else "no",
                    _sizes_text(d, sep),
                    sep.join(d["qualities"] or ()),
                    sep.join(d["formats"] or ()),
                    d["owned_by"] or "",
                ]
                for d in docs
            ],
            wrap=("sizes", "qualities", "formats", "owned_by"),
        )
    where = "the offline server" if offline else settings.base_url
    _models_note(console, len(shown), len(everything), all_models, where)


def _model_items(payload: Any) -> list[dict[str, Any]] | None:
    """Model objects from an OpenAI list, a bare list, or a router's `models` key."""
    items = payload
    if isinstance(payload, dict):
        items = payload.get("data", payload.get("models"))
    if not isinstance(items, list):
        return None
    found = []
    for item in items:
        if isinstance(item, str):
            item = {"id": item}
        if isinstance(item, dict) and isinstance(item.get("id") or item.get("name"), str):
            found.append({**item, "id": item.get("id") or item["name"]})
    return found


def _describe(item: dict[str, Any], rules: Optional["ModelRules"]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": item["id"],
        "known": rules is not None,
        "image": _is_image_model(item["id"]),
        "owned_by": item.get("owned_by"),
        "created": item.get("created"),
        "sizes": None,
        "size_rule": None,
        "qualities": None,
        "formats": None,
    }
    if rules is not None:
        doc["sizes"] = list(rules.sizes) if rules.sizes is not None else None
        if rules.sizes is None:
            doc["size_rule"] = (
                f"auto or any WxH: sides divisible by {rules.size_multiple}, "
                f"aspect 1:{rules.max_aspect:g} to {rules.max_aspect:g}:1, "
                f"at most {rules.max_edge}x{rules.max_pixels // rules.max_edge}"
            )
        doc["named_sizes"] = dict(rules.named_sizes)
        doc["qualities"] = list(rules.qualities)
        # No output_format means PNG, always.
        doc["formats"] = list(rules.formats) or ["png"]
        doc["max_n"] = rules.max_n
    return doc


def _sizes_text(doc: dict[str, Any], sep: str) -> str:
    if doc["sizes"] is not None:
        return sep.join(doc["sizes"])
    if doc["size_rule"]:
        return f"auto{sep}any WxH ÷16 up to {doc['size_rule'].rsplit(' ', 1)[-1]}"
    return ""


def _models_note(console: "Console", shown: int, listed: int, all_models: bool, where: str) -> None:
    if not state.env.stderr_isatty:
        return
    if not listed:
        console.info(f"{where} lists no models")
    elif all_models:
        console.info(f"{listed} models at {where}")
    elif not shown:
        console.info(
            f"none of the {listed} models at {where} looks like an image model; "
            "--all lists them all"
        )
    else:
        console.info(f"{shown} image models of {listed} at {where}; --all lists them all")


# --- history ------------------------------------------------------------------------------------


def history(
    limit: Annotated[
        int,
        typer.Option(
            "-n", "--limit", min=0, metavar="N", help="show the last N entries; 0 shows them all"
        ),
    ] = 20,
    json_out: Annotated[bool, _json_flag("the entries, as stored,")] = False,
) -> None:
    """Show past generations from the history file, newest first."""
    from .. import history as history_file
    from ..usage import image_count, newest_first, tokens_of

    console = make_console(json_mode=json_out)
    settings = settings_for()
    entries = newest_first(history_file.read(settings.history_file), limit)
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
    _emit(columns, rows, shrink=("prompt", "files"))


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
    json_out: Annotated[bool, _json_flag("the totals")] = False,
) -> None:
    """Token totals per model or day from the history file, with an estimated cost.

    A cost column appears for models priced in the config file, in USD per 1M tokens:

    prices."gpt-image-2" = { input_text = 5.0, input_image = 8.0, output = 30.0 }
    """
    from datetime import date

    from .. import history as history_file
    from ..errors import UsageError
    from ..usage import parse_prices, parse_since, summarize

    console = make_console(json_mode=json_out)
    start = None
    if since is not None:
        try:
            start = parse_since(since, date.today())
        except UsageError as exc:
            raise UsageError(f"--since {exc.message}") from None
    settings = settings_for()
    prices = parse_prices(settings.prices, f"config file {settings.config_file}")
    report = summarize(
        history_file.read(settings.history_file), by=by.value, since=start, prices=prices
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
    _emit(columns, rows, total=_usage_row(report.total, report.priced, tty))
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


# --- completions --------------------------------------------------------------------------------


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


_INSTALL = {
    "bash": "easyimg completions bash > ~/.local/share/bash-completion/completions/easyimg",
    "zsh": "easyimg completions zsh > ~/.zfunc/_easyimg  (with fpath=(~/.zfunc $fpath) "
    "before compinit in ~/.zshrc)",
    "fish": "easyimg completions fish > ~/.config/fish/completions/easyimg.fish",
}


def completions(
    shell: Annotated[
        Shell | None, typer.Argument(help="bash, zsh or fish", metavar="SHELL", show_default=False)
    ] = None,
    list_profiles: Annotated[
        bool,
        typer.Option(
            "--list-profiles",
            hidden=True,
            help="print the config's profile names (used by the "
            "scripts while completing --profile)",
        ),
    ] = False,
) -> None:
    """Print the shell completion script for bash, zsh or fish.

    easyimg completions bash > ~/.local/share/bash-completion/completions/easyimg
    """
    from ..errors import UsageError

    console = make_console()
    if list_profiles:
        _list_profiles(console)
        return
    if shell is None:
        raise UsageError("name a shell: easyimg completions bash|zsh|fish")
    from ..completion import script, tree_from_app
    from . import app

    text = script(shell.value, tree_from_app(app))
    state.env.stdout.write(text)
    state.env.stdout.flush()
    if state.env.stdout_isatty and state.env.stderr_isatty:
        console.info(f"to install: {_INSTALL[shell.value]}")


def _list_profiles(console: "Console") -> None:
    from ..config import config_path, load_config

    profiles = load_config(config_path(state.env.env)).get("profiles")
    if isinstance(profiles, dict):
        for name in sorted(profiles):
            console.out(str(name))
