"""Regenerate docs/cli.md and completions/* from the live CLI; `--check` only verifies them."""

from __future__ import annotations

import argparse
import enum
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from easyimg.completion import FILES, Command, Param, script, tree_from_app  # noqa: E402

REGENERATE = "python scripts/gen_docs.py"

EXIT_CODES = {
    0: "everything asked for was written",
    1: "unexpected internal error (a traceback only with --debug)",
    2: "usage or validation error, found before any request",
    3: "authentication, account or configuration problem (no key, 401, 403, quota spent)",
    4: "the API refused the request (other 4xx, content policy, unknown model)",
    5: "network failure, timeout, 429 or 5xx still failing after retries, malformed response, "
    "an answer past --timeout or max_image_mb, a Retry-After over max_retry_wait",
    6: "partial success (some images or batch items written, some failed, or --max-cost reached)",
    130: "interrupted",
    143: "terminated by SIGTERM (a batch first records what finished, as on Ctrl-C)",
}

KEY_NOTES = {
    "base_url": "API base URL (default `https://easyrouter.io/v1`)",
    "api_key": "API key, sent as `Authorization: Bearer KEY`; a stored key goes only to its host",
    "api_key_host": "the host (`host[:port]`) the `api_key` of the same table belongs to; "
    "written by `login`; else the host of that table's `base_url`, else `easyrouter.io`",
    "model": "default `--model` (else `gpt-image-2`)",
    "size": "default `--size`",
    "quality": "default `--quality`",
    "format": "default `--format`",
    "out_dir": "default `--out` directory (else `.`)",
    "name": "default `--name` template",
    "timeout": "seconds the whole answer may take, body included (default 600)",
    "retries": "retries after the first try (default 3)",
    "jobs": "default `batch --jobs` (default 4)",
    "history": "`false` stops writing the history file",
    "max_image_mb": "cap on one image's data, in MB (default 100); past it, exit 5",
    "max_retry_wait": "longest `Retry-After` waited, in seconds (default 60); longer: exit 5",
    "confirm_over": "USD: a batch estimated above this asks before it starts, on a terminal "
    "(default 5)",
}


def _esc(text: str) -> str:
    """Text for a Markdown table cell or paragraph: no HTML, no cell breaks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text.replace('|', chr(92) + '|')}`"


def _anchor(cmd: Command) -> str:
    return re.sub(r"[^a-z0-9 -]", "", cmd.name.lower()).replace(" ", "-")


def _help_blocks(text: str) -> list[str]:
    """Paragraphs of a docstring; lines that are easyimg commands become a code block."""
    blocks: list[str] = []
    for para in re.split(r"\n\s*\n", text.replace("\b", "").strip()):
        lines = [line.strip() for line in para.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith(("easyimg ", "$ ")) for line in lines):
            blocks.append("```sh\n" + "\n".join(lines) + "\n```")
        elif all(re.match(r"^[\w.\"-]+ = ", line) for line in lines):
            blocks.append("```toml\n" + "\n".join(lines) + "\n```")
        else:
            blocks.append(_esc(" ".join(lines)))
    return blocks


def _metavar(p: Param) -> str:
    if p.metavar:
        return p.metavar
    if p.choices:
        return "[" + "|".join(p.choices) + "]"
    if p.kind == "file" or p.type_name == "path":
        return "PATH"
    return {"int": "INTEGER", "float": "FLOAT"}.get(p.type_name, "TEXT")


def _arg_name(p: Param) -> str:
    name = p.name.upper()
    if p.nargs == -1:
        name += "..."
    return name if p.required else f"[{name}]"


def _usage(cmd: Command) -> str:
    parts = [cmd.name, "[OPTIONS]"]
    if cmd.is_group:
        parts.append("COMMAND [ARGS]...")
    parts += [_arg_name(a) for a in cmd.arguments]
    return " ".join(parts)


def _default(p: Param) -> str | None:
    if isinstance(p.show_default, str) and p.show_default:
        return p.show_default
    if not p.show_default or p.default is None or p.default in ((), []):
        return None
    value = p.default.value if isinstance(p.default, enum.Enum) else p.default
    if p.is_flag:
        return None if value is False else ("on" if value is True else str(value))
    return str(value)


def _describe(p: Param) -> str:
    """The help text, then what --help adds in brackets: choices, range, default, ..."""
    parts = [_esc(p.help)] if p.help else []
    if p.choices:
        parts.append("[one of: " + ", ".join(_code(c) for c in p.choices) + "]")
    if p.low is not None or p.high is not None:
        low = "" if p.low is None else f"{p.low} ≤ "
        high = "" if p.high is None else f" ≤ {p.high}"
        parts.append(f"[range: {low}N{high}]")
    if p.multiple and "repeatable" not in p.help.lower():
        parts.append("[repeatable]")
    default = _default(p)
    if default is not None:
        parts.append(f"[default: {_code(default)}]")
    if p.envvar:
        parts.append("[env: " + ", ".join(_code(e) for e in p.envvar) + "]")
    if p.required and p.is_option:
        parts.append("[required]")
    return " ".join(parts) or " "


def _option_cell(p: Param) -> str:
    names = ", ".join([*p.opts, *p.secondary])
    return _code(names if p.is_flag else f"{names} {_metavar(p)}")


def _command_section(cmd: Command, by_path: dict[tuple[str, ...], Command]) -> list[str]:
    out = [f"## {cmd.name}", ""]
    for block in _help_blocks(cmd.help):
        out += [block, ""]
    out += ["```", _usage(cmd), "```", ""]
    aliases = [c for c in by_path.values() if c.alias_of == cmd.path]
    if aliases:
        out += ["Also available as " + ", ".join(_code(a.name) for a in aliases) + ".", ""]
    if cmd.subcommands:
        out += ["| command | description |", "|---|---|"]
        for name in cmd.subcommands:
            sub = by_path[(*cmd.path, name)]
            out.append(f"| [{sub.name}](#{_anchor(sub)}) | {_esc(sub.short_help)} |")
        out.append("")
    if cmd.arguments:
        out += ["**Arguments**", "", "| argument | description |", "|---|---|"]
        for a in cmd.arguments:
            out.append(f"| {_code(_arg_name(a))} | {_describe(a)} |")
        out.append("")
    panels: dict[str, list[Param]] = {}
    for p in cmd.visible_options():
        if p.name == "help":
            continue
        panels.setdefault(p.panel or "Options", []).append(p)
    for panel, params in panels.items():
        title = panel if panel == "Options" else f"{panel} options"
        out += [f"**{title}**", "", "| option | description |", "|---|---|"]
        out += [f"| {_option_cell(p)} | {_describe(p)} |" for p in params]
        out.append("")
    return out


def render_markdown(tree: list[Command]) -> str:
    from easyimg.config import KEYS
    from easyimg.errors import ExitCode

    by_path = {c.path: c for c in tree}
    root = by_path[()]
    lines = [
        "# easyimg command-line reference",
        "",
        f"<!-- Generated from the CLI by scripts/gen_docs.py; do not edit. "
        f"After changing a command run `{REGENERATE}`. -->",
        "",
        *[b + "\n" for b in _help_blocks(root.help)],
        "```",
        _usage(root),
        "```",
        "",
        "Every command also takes `-h, --help`. Options may come before or after arguments.",
        "",
        "| command | description |",
        "|---|---|",
    ]
    for cmd in tree[1:]:
        if not cmd.hidden and not any(
            by_path[cmd.path[:i]].hidden for i in range(1, len(cmd.path))
        ):
            lines.append(f"| [{cmd.name}](#{_anchor(cmd)}) | {_esc(cmd.short_help)} |")
    lines += [
        "",
        "**Global options** (before the command)",
        "",
        "| option | description |",
        "|---|---|",
    ]
    lines += [f"| {_option_cell(p)} | {_describe(p)} |" for p in root.visible_options()]
    lines.append("")
    for cmd in tree[1:]:
        if not cmd.hidden:
            lines += _command_section(cmd, by_path)

    lines += [
        "## Configuration",
        "",
        "A TOML file: `EASYIMG_CONFIG`, else `config.toml` in the user config directory "
        "(`easyimg config path` prints it). Top-level keys are defaults, `[profiles.NAME]` "
        "tables override them for `--profile NAME` or `EASYIMG_PROFILE=NAME`. Precedence: "
        "flag > `EASYIMG_*` variable > profile > top level > built-in default.",
        "",
        "| key | environment | meaning |",
        "|---|---|---|",
    ]
    for key in KEYS:
        env = "—" if key in ("history", "api_key_host") else _code(f"EASYIMG_{key.upper()}")
        lines.append(f"| {_code(key)} | {env} | {_esc(KEY_NOTES.get(key, ''))} |")
    lines += [
        "",
        '`[prices."MODEL"]` tables give USD per 1M tokens for `easyimg usage`: keys '
        "`input_text`, `input_image` and `output` (`input` sets both input prices). "
        "Quote ids that hold a dot.",
        "",
        "```toml",
        '[prices."gpt-image-2"]',
        "input_text = 5.0",
        "input_image = 8.0",
        "output = 30.0",
        "```",
        "",
        "Other variables: `EASYIMG_CONFIG` (config file), `EASYIMG_PROFILE`, "
        "`EASYIMG_HISTORY` (history file), `EASYIMG_DEBUG=1` (tracebacks), "
        "`OPENAI_API_KEY` (sent only when the base URL's host is `api.openai.com`), "
        "`NO_COLOR`.",
        "",
        "## Exit codes",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    for code in ExitCode:
        lines.append(f"| {int(code)} | {_esc(EXIT_CODES.get(int(code), code.name.lower()))} |")
    return "\n".join(lines).rstrip("\n") + "\n"


def outputs(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file and its text."""
    from easyimg.cli import app

    tree = tree_from_app(app)
    files = {root / "docs" / "cli.md": render_markdown(tree)}
    for shell, name in FILES.items():
        files[root / "completions" / name] = script(shell, tree)
    return files


def stale(root: Path = ROOT) -> list[Path]:
    found = []
    for path, text in outputs(root).items():
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != text:
            found.append(path)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a generated file is missing or out of date"
    )
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        for path in old:
            print(f"stale: {path.relative_to(ROOT)}", file=sys.stderr)
        if old:
            print(f"run `{REGENERATE}` and commit the result", file=sys.stderr)
        return 1 if old else 0
    for path, text in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        before = path.read_text(encoding="utf-8") if path.exists() else None
        if before != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
