"""`easyimg login` and `easyimg config path|show|set|unset`."""

from typing import Annotated

import typer

from .common import Json, Profile, make_console, settings_for, state

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


def login(
    profile: ProfileFlag = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="also store this base URL with the key",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Store an API key in the config file (asked for hidden, or read from stdin).

    The key is stored with the host it is for (that of the base URL in effect) and is sent
    only there.
    """
    from ..config import config_path, load_config, login_host, mask_key, save_config, set_value
    from ..errors import UsageError

    console = make_console()
    env = state.env
    if env.stdin_isatty:
        import getpass

        key = getpass.getpass("API key (input hidden): ", stream=env.stderr)  # type: ignore[arg-type]
    else:
        key = env.stdin.readline()
    key = key.strip()
    if not key:
        raise UsageError("no key given")
    if any(c.isspace() for c in key):
        raise UsageError("an API key has no spaces; paste only the key")
    path = config_path(env.env)
    data = load_config(path)
    host = login_host(data, profile, base_url, env.env)
    set_value(data, "api_key", key, profile)
    set_value(data, "api_key_host", host, profile)
    if base_url:
        set_value(data, "base_url", base_url, profile)
    save_config(path, data)
    where = f"profile {profile!r}" if profile else "the default settings"
    console.info(f"saved key {mask_key(key)} for {host} ({where}) in {path}")


@config_app.command("path")
def config_path_cmd() -> None:
    """Print the config file's path."""
    from ..config import config_path

    make_console().out(str(config_path(state.env.env)))


@config_app.command("show")
def config_show(profile: Profile = None, json_out: Json = False) -> None:
    """Show the settings in effect (the key masked) and the file they come from."""
    from ..config import KEYS, mask_key

    console = make_console(json_mode=json_out)
    settings = settings_for(profile=profile)
    values = {k: getattr(settings, k) for k in KEYS}
    values["api_key"] = mask_key(settings.api_key) if settings.api_key else None
    if json_out:
        console.out_json(
            {
                "config_file": str(settings.config_file),
                "profile": settings.profile,
                "key_source": settings.key_source,
                "settings": values,
            }
        )
        return
    console.out(
        f"# {settings.config_file}" + (f" (profile {settings.profile})" if settings.profile else "")
    )
    for key, value in values.items():
        shown = "(not set)" if value is None else value
        if key == "api_key" and settings.key_source:
            shown = f"{shown}  (from {settings.key_source})"
        console.out(f"{key} = {shown}")


@config_app.command("set")
def config_set(
    key: Annotated[
        str,
        typer.Argument(
            metavar="KEY",
            help="base_url api_key api_key_host model size quality format out_dir "
            "name timeout retries jobs history",
        ),
    ],
    value: Annotated[str, typer.Argument(metavar="VALUE", help="the new value")],
    profile: ProfileFlag = None,
) -> None:
    """Set KEY to VALUE (in a profile with --profile)."""
    from ..config import config_path, load_config, save_config, set_value

    path = config_path(state.env.env)
    data = load_config(path)
    set_value(data, key, value, profile)
    save_config(path, data)
    shown = "…" if key == "api_key" else value
    make_console().info(
        f"set {key} = {shown} in {path}" + (f" [profiles.{profile}]" if profile else "")
    )


@config_app.command("unset")
def config_unset(
    key: Annotated[str, typer.Argument(metavar="KEY", help="the key to remove")],
    profile: ProfileFlag = None,
) -> None:
    """Remove KEY (from a profile with --profile)."""
    from ..config import config_path, load_config, save_config, unset_value

    path = config_path(state.env.env)
    data = load_config(path)
    console = make_console()
    if unset_value(data, key, profile):
        save_config(path, data)
        console.info(f"removed {key} from {path}")
    else:
        console.info(f"{key} was not set in {path}")
