"""API keys bound to hosts: which stored key a base URL is sent, and the no-key message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import DEFAULT_BASE_URL, Settings, file_problem, parse_value
from .errors import ConfigError, UsageError


@dataclass(frozen=True)
class StoredKey:
    """An `api_key` from the config file and the one host it may be sent to."""

    key: str
    host: str
    source: str


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
    to the host of the same table's `base_url`, else to the default host. A bad value in the
    table that holds a key is a ConfigError naming the file, line and key.
    """
    from .configfile import profile_table

    tables: list[tuple[str, tuple[str, ...], Mapping[str, Any]]] = []
    if profile:
        table = profile_table(data, profile, path)
        tables.append((f"profile {profile!r} in {path}", ("profiles", profile), table))
    tables.append((f"config file {path}", (), data))
    found = []
    for source, where, table in tables:
        if table.get("api_key") is None:
            continue
        values = {}
        for key in ("api_key", "api_key_host", "base_url"):
            try:
                values[key] = parse_value(key, table.get(key))
            except ValueError as exc:
                raise file_problem(path, where, key, str(exc)) from None
        bound = values["api_key_host"] or values["base_url"] or DEFAULT_BASE_URL
        found.append(StoredKey(values["api_key"], key_host(bound), source))
    return found


def choose_key(settings: Settings, env: Mapping[str, str], stored: list[StoredKey]) -> None:
    """SPEC §3: a key given for this run goes to the base URL in effect; a stored key only to
    its own host; OPENAI_API_KEY only to api.openai.com."""
    given = settings.sources["api_key"]
    if given in ("flag", "env EASYIMG_API_KEY"):
        settings.key_source = "command line" if given == "flag" else "environment"
        settings.sources["api_key_host"] = given
        if not settings.problem("base_url"):  # --offline with a bad base URL still runs
            settings.api_key_host = key_host(settings.base_url)
        return
    if settings.problem("base_url") or settings.problem("api_key"):
        return  # no key can be matched to a host: reading either key says why
    host = key_host(settings.base_url)
    match = next((s for s in stored if s.host == host), None)
    key = source = label = None
    if match is not None:
        key, source = match.key, match.source
        label = "file" if source.startswith("config file") else f"profile {settings.profile}"
    elif host == "api.openai.com" and env.get("OPENAI_API_KEY"):
        key, source, label = env["OPENAI_API_KEY"], "OPENAI_API_KEY", "env OPENAI_API_KEY"
    settings.other_key_hosts = tuple(
        dict.fromkeys(s.host for s in stored if s is not match and s.host != host)
    )
    settings.api_key, settings.key_source = key, source
    settings.api_key_host = host if key else None
    if label:
        settings.sources["api_key"] = settings.sources["api_key_host"] = label


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
