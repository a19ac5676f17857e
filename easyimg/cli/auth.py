"""`easyimg login`, `easyimg logout` and `easyimg auth status`: stored keys, as gh users expect."""

from typing import TYPE_CHECKING, Annotated

import typer

from .common import make_console, state

if TYPE_CHECKING:
    from ..console import Console

auth_app = typer.Typer(help="Stored API keys: which profile and host each is for.")

ProfileFlag = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="the key of this [profiles.NAME] table instead of the top level's",
        show_default=False,
    ),
]

# `login` only asks whether the key opens GET /models; it should not hang for the 600 s a
# slow image may take.
VERIFY_TIMEOUT = 30.0


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
    no_verify: Annotated[
        bool,
        typer.Option("--no-verify", help="store the key without checking it with GET /models"),
    ] = False,
) -> None:
    """Store an API key in the config file (asked for hidden, or read from stdin).

    The key is checked with GET /models at the base URL it is stored for (--base-url, else
    EASYIMG_BASE_URL, else the profile's or the file's), and is sent only to that host. In a
    pipe the key is the first line of stdin.

    easyimg login --profile openai --base-url https://api.openai.com/v1
    """
    from ..config import config_path, mask_key, parse_value
    from ..configfile import read_document, save_config, set_key, stored_base_url
    from ..errors import ConfigError, UsageError
    from ..keys import key_host

    console = make_console()
    env = state.env.env
    path = config_path(env)
    # Read (and complain about) the file before asking for a key that could not be stored.
    doc = read_document(path)
    if base_url is not None:
        try:
            base_url = parse_value("base_url", base_url, "--base-url").rstrip("/")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    url = base_url
    if url is None and env.get("EASYIMG_BASE_URL"):
        try:
            url = parse_value("base_url", env["EASYIMG_BASE_URL"], "EASYIMG_BASE_URL")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    url = (url or stored_base_url(doc, profile, path)).rstrip("/")
    host = key_host(url)
    key = _read_key(console)
    if not key:
        raise UsageError("no key given")
    if any(c.isspace() for c in key):
        raise UsageError("an API key has no spaces; paste only the key")
    if not no_verify:
        _verify(console, url, key)
    set_key(doc, "api_key", key, profile, path)
    set_key(doc, "api_key_host", host, profile, path)
    if base_url:
        set_key(doc, "base_url", base_url, profile, path)
    save_config(path, doc)
    where = f"profile {profile!r}" if profile else "the default settings"
    console.info(f"saved key {mask_key(key)} for {host} ({where}) in {path}")


def _read_key(console: "Console") -> str:
    from ..errors import Interrupted, Terminated

    env = state.env
    if not env.stdin_isatty:
        return env.stdin.readline().strip()
    import getpass

    try:
        key = getpass.getpass("API key (input hidden): ", stream=env.stderr)  # type: ignore[arg-type]
    except (KeyboardInterrupt, EOFError) as exc:
        # The prompt left the cursor at the end of its line; the error goes on the next one.
        env.stderr.write("\n")
        env.stderr.flush()
        if isinstance(exc, KeyboardInterrupt):
            stop = "terminated" if isinstance(exc, Terminated) else "interrupted"
            raise Interrupted(
                f"{stop}; no key was stored", terminated=stop == "terminated"
            ) from None
        return ""
    return key.strip()


def _verify(console: "Console", url: str, key: str) -> None:
    """GET /models with the key: a 401/403 is exit 3 and nothing is stored."""
    from ..api.client import Client
    from ..errors import APIError, ConfigError, EasyImgError
    from ..keys import key_host

    client = Client(url, key, timeout=VERIFY_TIMEOUT, retries=1)
    try:
        with console.reporter(f"checking the key with {key_host(url)}"):
            client.request("GET", "models").close()
    except APIError as exc:
        if exc.status in (401, 403):
            raise ConfigError(
                f"{key_host(url)} refused the key: {exc.message}; nothing was stored",
                hint="check that it is the key for this base URL",
            ) from None
        raise _unchecked(exc) from None
    except EasyImgError as exc:
        raise _unchecked(exc) from None
    finally:
        client.close()


def _unchecked(exc: Exception) -> Exception:
    """The error, with the way past it: store the key without the check."""
    from ..errors import EasyImgError

    if isinstance(exc, EasyImgError):
        exc.message = f"could not check the key: {exc.message}; nothing was stored"
        exc.hint = "--no-verify stores it without checking"
    return exc


def logout(profile: ProfileFlag = None) -> None:
    """Remove the stored API key (of one profile with --profile) from the config file."""
    from ..config import config_path, mask_key
    from ..configfile import read_document, remove_key, save_config

    console = make_console()
    path = config_path(state.env.env)
    doc = read_document(path)
    gone = remove_key(doc, profile, path)
    where = f"profile {profile!r}" if profile else "the default settings"
    if gone is None:
        console.info(f"no key stored for {where} in {path}")
        return
    save_config(path, doc)
    console.info(f"removed key {mask_key(gone.key)} for {gone.host} ({where}) from {path}")
    if state.env.env.get("EASYIMG_API_KEY"):
        console.warn("EASYIMG_API_KEY is still set in the environment and is used instead")


@auth_app.command("status")
def auth_status(
    json_out: Annotated[bool, typer.Option("--json", help="print the keys as JSON")] = False,
) -> None:
    """List each API key easyimg can use: its profile, host and masked value.

    Keys stored in the config file come first, then those in the environment.
    """
    from ..config import config_path, load_config, mask_key
    from ..configfile import file_keys
    from ..errors import ConfigError
    from .tables import emit

    console = make_console(json_mode=json_out)
    env = state.env.env
    path = config_path(env)
    rows = [
        {"profile": k.profile, "host": k.host, "key": mask_key(k.key), "from": "config file"}
        for k in file_keys(load_config(path))
    ]
    # The environment's keys, for the hosts each is sent to (SPEC §3).
    for name, host in (
        ("EASYIMG_API_KEY", "(the base URL in effect)"),
        ("OPENAI_API_KEY", "api.openai.com"),
    ):
        if env.get(name):
            rows.append({"profile": None, "host": host, "key": mask_key(env[name]), "from": name})
    if not rows:
        raise ConfigError(
            f"no API key stored in {path} or set in the environment",
            hint="store one with `easyimg login`",
        )
    if json_out:
        console.out_json({"config_file": str(path), "keys": rows})
        return
    emit(
        [("profile", "left"), ("host", "left"), ("key", "left"), ("from", "left")],
        [[_profile_cell(r), r["host"], r["key"], r["from"]] for r in rows],
    )


def _profile_cell(row: dict[str, str | None]) -> str:
    """A stored key's profile; the top level is `(default)`; a variable belongs to none."""
    if row["profile"]:
        return row["profile"]
    return "(default)" if row["from"] == "config file" else "-"
