"""`easyimg config path|show|get|set|unset`."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..config import KEYS
from .common import Profile, make_console, settings_for, state

if TYPE_CHECKING:
    from ..config import Settings

config_app = typer.Typer(help="Read and change the config file.", no_args_is_help=True)

ProfileFlag = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="change this [profiles.NAME] table instead of the top level",
        show_default=False,
    ),
]
KEY_HELP = " ".join(KEYS)

# What an unset key means, for `config show`, where no value stands for a choice made later.
UNSET = {
    "api_key": "(none)",
    "api_key_host": "(none)",
    "api": "(by model)",
    "chat_style": "(by host)",
    "task_poll": "(by host)",
    "batch_api": "(by host)",
}
NOT_SENT = "(not sent)"


def _effective(settings: "Settings", key: str) -> Any:
    """The value a command would use for `key` (the key masked); None for a field not sent."""
    from ..config import mask_key
    from ..models import DEFAULT_MODEL
    from ..output import DEFAULT_TEMPLATE

    value = getattr(settings, key)
    if key == "api_key":
        return mask_key(value) if value else None
    if value is None:
        return {"model": DEFAULT_MODEL, "out_dir": ".", "name": DEFAULT_TEMPLATE}.get(key)
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


@config_app.command("path")
def config_path_cmd() -> None:
    """Print the config file's path."""
    from ..config import config_path

    make_console().out(str(config_path(state.env.env)))


@config_app.command("show")
def config_show(
    profile: Profile = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="print the settings and their sources as JSON")
    ] = False,
) -> None:
    """Show every setting in effect (the key masked) and where it comes from.

    Sources: flag, env VARIABLE, profile NAME, file, or default.
    """
    from ..config import KEYS

    console = make_console(json_mode=json_out)
    settings = settings_for(profile=profile)
    values = {k: None if settings.problem(k) else _effective(settings, k) for k in KEYS}
    problems = {k: p for k in KEYS if (p := settings.problem(k))}
    if json_out:
        console.out_json(
            {
                "config_file": str(settings.config_file),
                "profile": settings.profile,
                "key_source": settings.key_source,
                "settings": values,
                "sources": {k: settings.sources.get(k, "default") for k in KEYS},
                "problems": {k: p.message for k, p in problems.items()},
                "notes": settings.notes,
            }
        )
    else:
        console.out(
            f"# {settings.config_file}"
            + (f" (profile {settings.profile})" if settings.profile else "")
        )
        shown = {
            k: "(invalid, see below)"
            if k in problems
            else UNSET.get(k, NOT_SENT)
            if v is None
            else _text(v)
            for k, v in values.items()
        }
        key_width = max(map(len, KEYS))
        value_width = min(40, max(map(len, shown.values())))
        for key, text in shown.items():
            source = settings.sources.get(key, "default")
            console.out(f"{key:<{key_width}} = {text:<{value_width}}  ({source})")
    for note in settings.notes:
        console.warn(note)
    for problem in problems.values():
        console.error(problem.message, problem.hint)
    if problems:
        raise typer.Exit(int(next(iter(problems.values())).exit_code))


@config_app.command("get")
def config_get(
    key: Annotated[str, typer.Argument(metavar="KEY", help=KEY_HELP)],
    profile: Profile = None,
) -> None:
    """Print the value in effect for KEY, alone on a line, for scripts.

    An API key is printed masked; a field easyimg does not send prints an empty line.

    easyimg config get out_dir --profile work
    """
    from ..config import KEYS, unknown_key

    if key not in KEYS:
        raise unknown_key(key)
    console = make_console()
    console.out(_text(_effective(settings_for(profile=profile), key)))


# A negative VALUE (`timeout -1`) is a value to refuse with a reason, not an unknown option.
@config_app.command("set", context_settings={"ignore_unknown_options": True})
def config_set(
    key: Annotated[str, typer.Argument(metavar="KEY", help=KEY_HELP)],
    value: Annotated[str, typer.Argument(metavar="VALUE", help="the new value")],
    profile: ProfileFlag = None,
) -> None:
    """Set KEY to VALUE (in a profile with --profile), checked as the flag would check it.

    Comments, blank lines and the order of keys in the file are kept.
    """
    from ..config import config_path
    from ..configfile import model_conflicts, read_document, save_config, set_key
    from ..errors import UsageError

    console = make_console()
    path = config_path(state.env.env)
    doc = read_document(path)
    set_key(doc, key, value, profile, path)
    conflicts = model_conflicts(doc, profile)
    if key in conflicts:
        raise UsageError(
            conflicts[key], hint="set the model first if this value is for another one"
        )
    if key == "model":
        for other, message in conflicts.items():
            console.warn(f"the {other} already set does not suit it: {message}")
    save_config(path, doc)
    shown = "…" if key == "api_key" else value
    console.info(f"set {key} = {shown} in {path}" + (f" [profiles.{profile}]" if profile else ""))


@config_app.command("unset")
def config_unset(
    key: Annotated[str, typer.Argument(metavar="KEY", help="the key to remove")],
    profile: ProfileFlag = None,
) -> None:
    """Remove KEY (from a profile with --profile); works on a file with bad values in it."""
    from ..config import config_path
    from ..configfile import read_document, save_config, unset_key

    path = config_path(state.env.env)
    doc = read_document(path)
    console = make_console()
    where = f"[profiles.{profile}] in {path}" if profile else str(path)
    if unset_key(doc, key, profile, path):
        save_config(path, doc)
        console.info(f"removed {key} from {where}")
    else:
        console.info(f"{key} was not set in {where}")
