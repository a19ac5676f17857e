"""Settings resolution (flag > env > profile > file > default), config file I/O and paths."""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError, EasyImgError, UsageError
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


def save_config(path: Path, data: Mapping[str, Any]) -> None:
    """Write the config atomically, file 0600 in a 0700 directory: it holds API keys."""
    import tomli_w

    from .output import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        write_text_atomic(path, tomli_w.dumps(dict(data)), mode=0o600)
    except (OSError, EasyImgError) as exc:
        raise ConfigError(f"cannot write config file {path}: {exc}") from None


def coerce(key: str, value: Any, source: str) -> Any:
    """Convert a value from the environment, the command line or TOML to the key's type."""
    if key not in KEYS:
        raise UsageError(f"unknown config key {key!r}; known keys: {', '.join(KEYS)}")
    kind = KEYS[key]
    if value is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if kind is bool:
                low = text.lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            if kind is int:
                return int(text)
            if kind is float:
                return float(text)
        except ValueError:
            pass
    raise ConfigError(f"{source}: {key} must be {kind.__name__}, not {value!r}")


def set_value(data: dict[str, Any], key: str, value: str, profile: str | None) -> dict[str, Any]:
    table = data.setdefault("profiles", {}).setdefault(profile, {}) if profile else data
    table[key] = coerce(key, value, "config set")
    return data


def unset_value(data: dict[str, Any], key: str, profile: str | None) -> bool:
    table = data.get("profiles", {}).get(profile, {}) if profile else data
    if key not in KEYS:
        raise UsageError(f"unknown config key {key!r}; known keys: {', '.join(KEYS)}")
    return table.pop(key, None) is not None


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

    @property
    def needs_key(self) -> bool:
        return not is_loopback(self.base_url)


@dataclass(frozen=True)
class StoredKey:
    """An `api_key` from the config file and the one host it may be sent to."""

    key: str
    host: str
    source: str


# Resolved together by `stored_keys`, never layered one by one: a key's host must come from
# the table that holds the key.
_KEY_FIELDS = ("api_key", "api_key_host")


def key_host(url_or_host: str) -> str:
    """What a stored key is bound to: the host of a URL (or a bare `host[:port]`), lowercase,
    with its port only when that is not the scheme's default."""
    text = url_or_host.strip()
    parts = urlsplit(text if "://" in text else f"//{text}")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    defaults = {"http": (80,), "https": (443,)}.get(parts.scheme, (80, 443))
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port and port not in defaults else shown


DEFAULT_KEY_HOST = key_host(DEFAULT_BASE_URL)


def stored_keys(data: Mapping[str, Any], profile: str | None, path: Path) -> list[StoredKey]:
    """The keys in the config file, the chosen profile's first.

    Each belongs to the host its table records in `api_key_host` (as `login` writes it), else
    to the host of the same table's `base_url`, else to the default host.
    """
    tables: list[tuple[str, Mapping[str, Any]]] = []
    if profile:
        tables.append((f"profile {profile!r} in {path}", data["profiles"][profile]))
    tables.append((f"config file {path}", data))
    found = []
    for source, table in tables:
        if table.get("api_key") is None:
            continue
        key = coerce("api_key", table["api_key"], source)
        where = coerce("api_key_host", table.get("api_key_host"), source)
        where = where or coerce("base_url", table.get("base_url"), source) or DEFAULT_BASE_URL
        found.append(StoredKey(key, key_host(where), source))
    return found


def resolve(flags: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    """Merge built-in defaults, the config file, the chosen profile, EASYIMG_* and flags."""
    path = config_path(env)
    data = load_config(path)
    profile = flags.get("profile") or env.get("EASYIMG_PROFILE") or None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"config file {path}: [profiles] must be a table")
    if profile and profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none defined"
        raise ConfigError(f"no profile {profile!r} in {path} (profiles: {known})")

    values: dict[str, Any] = {k: v for k, v in DEFAULTS.items() if k not in _KEY_FIELDS}
    layers: list[tuple[str, Mapping[str, Any]]] = [
        (f"config file {path}", {k: v for k, v in data.items() if k in KEYS}),
    ]
    if profile:
        layers.append((f"profile {profile!r} in {path}", profiles[profile]))
    # EASYIMG_HISTORY names the history file (SPEC §4), so `history` has no variable.
    layers.append(
        (
            "environment",
            {
                k: env[f"EASYIMG_{k.upper()}"]
                for k in KEYS
                if k not in ("history", *_KEY_FIELDS) and env.get(f"EASYIMG_{k.upper()}")
            },
        )
    )
    layers.append(("command line", {k: v for k, v in flags.items() if k in KEYS and v is not None}))
    for source, layer in layers:
        for key, value in layer.items():
            if key not in KEYS:
                raise ConfigError(f"{source}: unknown key {key!r}; known keys: {', '.join(KEYS)}")
            if key not in _KEY_FIELDS:
                values[key] = coerce(key, value, source)

    settings = Settings(**values, profile=profile, config_file=path, history_file=history_path(env))
    settings.base_url = settings.base_url.rstrip("/")
    if settings.out_dir:
        settings.out_dir = str(Path(settings.out_dir).expanduser())
    prices = data.get("prices", {})
    settings.prices = prices if isinstance(prices, dict) else {}
    accepted = data.get("batch_privacy", {})
    if isinstance(accepted, dict):
        settings.batch_privacy = {str(k): str(v) for k, v in accepted.items()}
    if settings.timeout <= 0:
        raise UsageError(f"timeout must be positive, not {settings.timeout}")
    if settings.retries < 0:
        raise UsageError(f"retries must be 0 or more, not {settings.retries}")
    if settings.max_image_mb <= 0:
        raise UsageError(f"max_image_mb must be positive, not {settings.max_image_mb:g}")
    if settings.max_retry_wait < 0:
        raise UsageError(f"max_retry_wait must be 0 or more, not {settings.max_retry_wait:g}")
    if settings.jobs < 1:
        raise UsageError(f"jobs must be at least 1, not {settings.jobs}")
    if settings.confirm_over < 0:
        raise UsageError(f"confirm_over must be 0 or more USD, not {settings.confirm_over}")
    scheme = urlsplit(settings.base_url).scheme
    if scheme not in ("http", "https") or not host_of(settings.base_url):
        raise UsageError(f"base URL {settings.base_url!r} is not an http(s) URL")
    _choose_key(settings, flags, env, stored_keys(data, profile, path))
    return settings


def _choose_key(
    settings: Settings, flags: Mapping[str, Any], env: Mapping[str, str], stored: list[StoredKey]
) -> None:
    """SPEC §3: a key given for this run goes to the base URL in effect; a stored key only to
    its own host; OPENAI_API_KEY only to api.openai.com."""
    host = key_host(settings.base_url)
    key = source = None
    if flags.get("api_key"):
        key, source = coerce("api_key", flags["api_key"], "command line"), "command line"
    elif env.get("EASYIMG_API_KEY"):
        key, source = env["EASYIMG_API_KEY"], "environment"
    else:
        match = next((s for s in stored if s.host == host), None)
        if match is not None:
            key, source = match.key, match.source
        elif host == "api.openai.com" and env.get("OPENAI_API_KEY"):
            key, source = env["OPENAI_API_KEY"], "OPENAI_API_KEY"
        settings.other_key_hosts = tuple(
            dict.fromkeys(s.host for s in stored if s is not match and s.host != host)
        )
    settings.api_key, settings.key_source = key, source
    settings.api_key_host = host if key else None


def login_host(
    data: Mapping[str, Any], profile: str | None, base_url: str | None, env: Mapping[str, str]
) -> str:
    """The host a key stored by `login` belongs to: that of the base URL it is stored with
    (`--base-url`, else EASYIMG_BASE_URL, else the profile's or the file's, else the default)."""
    table = data.get("profiles", {}).get(profile, {}) if profile else {}
    url = (
        base_url
        or env.get("EASYIMG_BASE_URL")
        or table.get("base_url")
        or data.get("base_url")
        or DEFAULT_BASE_URL
    )
    host = key_host(str(url))
    if not host:
        raise UsageError(f"base URL {url!r} has no host to store the key for")
    return host


def require_key(settings: Settings) -> None:
    if settings.api_key or not settings.needs_key:
        return
    host = key_host(settings.base_url)
    message = f"no API key for {host}"
    others = settings.other_key_hosts
    if others:
        which = "key is" if len(others) == 1 else "keys are"
        message += f" (the stored {which} for {', '.join(others)} and sent only there)"
    login = "easyimg login" + (
        "" if host == DEFAULT_KEY_HOST else f" --base-url {settings.base_url}"
    )
    openai = ", OPENAI_API_KEY" if host == "api.openai.com" else ""
    raise ConfigError(
        message,
        hint=f"give one with --api-key, the EASYIMG_API_KEY environment variable{openai}, "
        f"or store one with `{login}`",
    )


mask_key = mask
