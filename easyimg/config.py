"""Settings resolution (flag > env > profile > file > default), the rules of each key, paths."""

from __future__ import annotations

import contextlib
import ipaddress
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import ConfigError, UsageError
from .redact import mask

DEFAULT_BASE_URL = "https://easyrouter.io/v1"
APP = "easyimg"

# Keys a config file (top level or a profile) may hold, with the type each is read as.
KEYS: dict[str, type] = {
    "base_url": str,
    "api_key": str,
    # The host an `api_key` in the same table belongs to (written by `login`); without it, the
    # host of that table's `base_url`, else the default host. See `stored_keys`.
    "api_key_host": str,
    "model": str,
    "size": str,
    "quality": str,
    "format": str,
    "out_dir": str,
    "name": str,
    "timeout": float,
    "retries": int,
    "jobs": int,
    "history": bool,
    "max_image_mb": float,
    "max_retry_wait": float,
    "api": str,
    "chat_style": str,
    "task_poll": str,
    "batch_api": str,
    "confirm_over": float,
}

# Resolved together, never layered one by one: a key's host must come from the table that
# holds the key (keys.stored_keys).
KEY_FIELDS = ("api_key", "api_key_host")

DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "api_key": None,
    "api_key_host": None,
    "model": None,
    "size": None,
    "quality": None,
    "format": None,
    "out_dir": None,
    "name": None,
    "timeout": 600.0,
    "retries": 3,
    "jobs": 4,
    "history": True,
    "max_image_mb": 100.0,
    "max_retry_wait": 60.0,
    "api": None,
    "chat_style": None,
    "task_poll": None,
    "batch_api": None,
    # USD: a batch estimated above this asks before it starts (on a terminal).
    "confirm_over": 5.0,
}


def config_path(env: Mapping[str, str]) -> Path:
    if env.get("EASYIMG_CONFIG"):
        return Path(env["EASYIMG_CONFIG"]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP)) / "config.toml"


def history_path(env: Mapping[str, str]) -> Path:
    if env.get("EASYIMG_HISTORY"):
        return Path(env["EASYIMG_HISTORY"]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP)) / "history.jsonl"


def load_config(path: Path) -> dict[str, Any]:
    """The parsed config file, or {} when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


_KINDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}

# The flag that sets each key, so a bad flag value is reported by the name the user typed.
FLAGS = {
    "base_url": "--base-url",
    "api_key": "--api-key",
    "model": "--model",
    "size": "--size",
    "quality": "--quality",
    "format": "--format",
    "out_dir": "--out",
    "name": "--name",
    "timeout": "--timeout",
    "retries": "--retries",
    "jobs": "--jobs",
    "api": "--api",
    "batch_api": "--batch-api",
}


def unknown_key(key: str) -> UsageError:
    return UsageError(f"unknown config key {key!r}; known keys: {', '.join(KEYS)}")


def _coerce(key: str, value: Any, label: str) -> Any:
    kind = KEYS[key]
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        low = text.lower()
        if kind is bool and low in ("1", "true", "yes", "on"):
            return True
        if kind is bool and low in ("0", "false", "no", "off"):
            return False
        with contextlib.suppress(ValueError):
            if kind is int:
                return int(text)
            if kind is float and math.isfinite(number := float(text)):
                return number
    raise ValueError(f"{label} must be {_KINDS[kind]}, not {value!r}")


def _check(key: str, value: Any, label: str) -> None:
    """The rules a flag's value obeys, whether it comes from a flag, the environment or a file."""
    problem = None
    if key == "timeout" and not (value > 0 and math.isfinite(value)):
        problem = f"must be more than 0 seconds, not {value:g}"
    elif key == "retries" and value < 0:
        problem = f"must be 0 or more, not {value}"
    elif key == "jobs" and value < 1:
        problem = f"must be at least 1, not {value}"
    elif key == "max_image_mb" and not (value > 0 and math.isfinite(value)):
        problem = f"must be more than 0, not {value:g}"
    elif key == "max_retry_wait" and not (value >= 0 and math.isfinite(value)):
        problem = f"must be 0 or more seconds, not {value:g}"
    elif key == "confirm_over" and not (value >= 0 and math.isfinite(value)):
        problem = f"must be 0 or more USD, not {value:g}"
    elif key == "base_url":
        try:
            parts = urlsplit(value.strip())
            scheme, host = parts.scheme, parts.hostname
        except ValueError:  # `http://[::1` and the like
            scheme = host = None
        if scheme not in ("http", "https"):
            problem = f"must be an http(s) URL such as {DEFAULT_BASE_URL}, not {value!r}"
        elif not host:
            problem = f"has no host in {value!r}; give one such as {DEFAULT_BASE_URL}"
    elif key == "api_key" and (not value or any(c.isspace() for c in value)):
        problem = "must be the key alone, with no spaces"
    elif key == "api_key_host":
        from .keys import key_host

        if not key_host(value):
            problem = f"must be a host such as easyrouter.io, not {value!r}"
    elif key in ("model", "out_dir") and not value.strip():
        problem = "is empty"
    elif key == "api":
        from .models import DIALECTS

        if value not in DIALECTS:
            problem = f"{value!r}: use {' or '.join(DIALECTS)}"
    elif key == "batch_api":
        from .batch import BACKENDS

        if value not in BACKENDS:
            problem = f"{value!r}: use {' or '.join(BACKENDS)}"
    elif key == "chat_style":
        from .api.chat import form_for

        try:
            form_for(DEFAULT_BASE_URL, value)
        except UsageError as exc:
            raise ValueError(exc.message) from None
    elif key == "task_poll" and "{id}" not in value:
        problem = f"must hold {{id}} where the task id goes, not {value!r}"
    elif key == "name":
        from .output import check_template

        try:
            check_template(value)
        except UsageError as exc:
            raise ValueError(exc.message) from None
    if problem:
        raise ValueError(f"{label} {problem}")


def parse_value(key: str, value: Any, label: str | None = None) -> Any:
    """`value` for `key` converted to its type and checked by the flag's rules.

    ValueError says what is wrong, naming the key as `label` ("jobs must be at least 1, not 0");
    an unknown key is a UsageError.
    """
    if key not in KEYS:
        raise unknown_key(key)
    label = label or key
    if value is None:
        return None
    parsed = _coerce(key, value, label)
    _check(key, parsed, label)
    return parsed


def host_of(base_url: str) -> str:
    return (urlsplit(base_url).hostname or "").lower()


def is_loopback(base_url: str) -> bool:
    host = host_of(base_url)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Settings:
    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = None
    # The host the key in effect goes to (`key_host` form), None without a key.
    api_key_host: str | None = None
    model: str | None = None
    size: str | None = None
    quality: str | None = None
    format: str | None = None
    out_dir: str | None = None
    name: str | None = None
    timeout: float = 600.0
    retries: int = 3
    jobs: int = 4
    history: bool = True
    # One image's data is capped (a server may send endless base64); a longer Retry-After
    # than max_retry_wait seconds ends the command instead of being waited.
    max_image_mb: float = 100.0
    max_retry_wait: float = 60.0
    # Which API generations use (images, chat; None: by model), how chat asks for images
    # (new-api, openrouter; None: by host), where tasks are polled, which Batch API.
    api: str | None = None
    chat_style: str | None = None
    task_poll: str | None = None
    batch_api: str | None = None
    confirm_over: float = 5.0
    profile: str | None = None
    config_file: Path = field(default_factory=Path)
    history_file: Path = field(default_factory=Path)
    # Where the key came from, for `config show` and the no-key message.
    key_source: str | None = None
    # Hosts of stored keys that were not used because they belong elsewhere, for the message.
    other_key_hosts: tuple[str, ...] = ()
    prices: dict[str, Any] = field(default_factory=dict)
    # Hosts whose batch privacy terms the user accepted (`--accept-batch-privacy`), and when.
    batch_privacy: dict[str, str] = field(default_factory=dict)
    # Where each key's value came from: flag, env NAME, profile NAME, file or default.
    sources: dict[str, str] = field(default_factory=dict)
    # What the file holds that nothing reads (a misspelt key, a profile that is not a table),
    # for a warning: it stops nothing, since nothing uses it, but it is never silent.
    notes: list[str] = field(default_factory=list, repr=False)
    # Keys whose value in the file or environment breaks its rules. Reading one raises its
    # error, so a bad value stops only the commands that use it (`--offline` never reads the
    # base URL, `config unset` reads nothing); assigning a value clears it.
    problems: dict[str, ConfigError] = field(default_factory=dict, repr=False)

    @property
    def needs_key(self) -> bool:
        return not is_loopback(self.base_url)

    def problem(self, key: str) -> ConfigError | None:
        return self.problems.get(key)

    if not TYPE_CHECKING:  # mypy keeps checking attribute names against the fields

        def __getattribute__(self, name: str) -> Any:
            if name in KEYS:
                problem = object.__getattribute__(self, "__dict__").get("problems", {}).get(name)
                if problem is not None:
                    raise ConfigError(problem.message, hint=problem.hint)
            return object.__getattribute__(self, name)

        def __setattr__(self, name: str, value: Any) -> None:
            if name in KEYS:
                self.__dict__.get("problems", {}).pop(name, None)
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class _Layer:
    source: str  # as `config show` names it: file, profile NAME, env, flag
    where: str  # as an error names it
    values: Mapping[str, Any]
    table: tuple[str, ...] = ()  # the TOML table the values sit in, to find a key's line


def file_problem(
    path: Path, table: tuple[str, ...], key: str, message: str, hint: str | None = None
) -> ConfigError:
    from .configfile import where

    profile = f" --profile {table[-1]}" if table else ""
    inside = f"[{'.'.join(table)}] " if table else ""
    return ConfigError(
        f"{where(path, (*table, key))}: {inside}{message}",
        hint=hint
        or f"change it with `easyimg config set {key} VALUE{profile}` "
        f"or remove it with `easyimg config unset {key}{profile}`",
    )


def _layers(
    flags: Mapping[str, Any], env: Mapping[str, str], path: Path, data: Mapping[str, Any]
) -> tuple[str | None, list[_Layer]]:
    from .configfile import profile_table

    profile = flags.get("profile") or env.get("EASYIMG_PROFILE") or None
    layers = [_Layer("file", f"config file {path}", {k: v for k, v in data.items() if k in KEYS})]
    if profile:
        table = profile_table(data, profile, path)
        for key in table:
            if key not in KEYS:
                raise file_problem(
                    path,
                    ("profiles", profile),
                    key,
                    f"unknown key {key!r}; known keys: {', '.join(KEYS)}",
                    hint=f"rename it, or remove it with "
                    f"`easyimg config unset {key} --profile {profile}`",
                )
        layers.append(
            _Layer(f"profile {profile}", f"profile {profile!r}", table, ("profiles", profile))
        )
    # EASYIMG_HISTORY names the history file (SPEC §4), so `history` has no variable.
    for key in KEYS:
        name = f"EASYIMG_{key.upper()}"
        if key not in ("history", "api_key_host") and env.get(name):
            layers.append(_Layer(f"env {name}", name, {key: env[name]}))
    layers.append(
        _Layer(
            "flag", "command line", {k: v for k, v in flags.items() if k in KEYS and v is not None}
        )
    )
    return profile, layers


def resolve(flags: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    """Merge built-in defaults, the config file, the chosen profile, EASYIMG_* and flags.

    A bad flag is a UsageError at once; a bad value in the file or environment is kept in
    `Settings.problems` and raised only when a command reads that key.
    """
    path = config_path(env)
    data = load_config(path)
    profile, layers = _layers(flags, env, path, data)

    values: dict[str, Any] = dict(DEFAULTS)
    sources = dict.fromkeys(KEYS, "default")
    problems: dict[str, ConfigError] = {}
    for layer in layers:
        for key, raw in layer.values.items():
            if key in KEY_FIELDS and layer.source in ("file", f"profile {profile}"):
                continue  # a stored key is chosen with its host, by keys.choose_key
            try:
                values[key] = parse_value(
                    key, raw, FLAGS.get(key, key) if layer.source == "flag" else key
                )
            except ValueError as exc:
                if layer.source == "flag":
                    raise UsageError(str(exc)) from None
                if layer.table or layer.source == "file":
                    problems[key] = file_problem(path, layer.table, key, str(exc))
                else:
                    problems[key] = ConfigError(f"{layer.where}={raw!r}: {exc}")
            else:
                problems.pop(key, None)
            sources[key] = layer.source

    if not problems.get("base_url"):
        values["base_url"] = values["base_url"].rstrip("/")
    if values["out_dir"] and not problems.get("out_dir"):
        values["out_dir"] = str(Path(values["out_dir"]).expanduser())
    settings = Settings(
        **values,
        profile=profile,
        config_file=path,
        history_file=history_path(env),
        sources=sources,
        problems=problems,
    )
    prices = data.get("prices", {})
    settings.prices = prices if isinstance(prices, dict) else {}
    accepted = data.get("batch_privacy", {})
    if isinstance(accepted, dict):
        settings.batch_privacy = {str(k): str(v) for k, v in accepted.items()}
    from .keys import choose_key, stored_keys

    try:
        stored = stored_keys(data, profile, path)
    except ConfigError as exc:
        stored, settings.problems["api_key"] = [], exc
    choose_key(settings, env, stored)
    settings.notes = file_notes(data, path, profile)
    return settings


# Top-level tables a config file may hold besides the keys.
TABLES = ("profiles", "prices", "batch_privacy")


def file_notes(data: Mapping[str, Any], path: Path, profile: str | None) -> list[str]:
    """Parts of the file nothing reads, each `config file PATH:LINE: what`; the profile in
    use is checked as it is read (an error there), the others only noted."""
    from .configfile import where

    notes = []
    for key in data:
        if key not in KEYS and key not in TABLES:
            notes.append(
                f"{where(path, (key,))}: unknown key {key!r} is ignored; "
                f"known keys: {', '.join(KEYS)}"
            )
    profiles = data.get("profiles", {})
    if not isinstance(profiles, Mapping):
        notes.append(
            f"{where(path, ('profiles',))}: profiles must be a table of [profiles.NAME] tables, "
            f"not {profiles!r}; it is ignored"
        )
        return notes
    for name, table in profiles.items():
        if name == profile:
            continue
        if not isinstance(table, Mapping):
            notes.append(
                f"{where(path, ('profiles', name))}: profile {name!r} must be a table "
                f"([profiles.{name}] with its keys below it), not {table!r}"
            )
            continue
        notes.extend(
            f"{where(path, ('profiles', name, key))}: unknown key {key!r} in profile {name!r}"
            for key in table
            if key not in KEYS
        )
    return notes


mask_key = mask
