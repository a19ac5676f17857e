"""The config file as a document: where a key sits, edits that keep comments, stored keys."""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import DEFAULT_BASE_URL, KEYS, parse_value, unknown_key
from .errors import ConfigError, EasyImgError, UsageError

if TYPE_CHECKING:
    from tomlkit import TOMLDocument

_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([^\s=#\[][^=]*?)\s*=")
_KEY_PART = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'([^']*)'|([^.\s\"']+)")

# The body field each key fills, for the model rules `config set` checks against.
BODY_FIELDS = {"size": "size", "quality": "quality", "format": "output_format"}


def _dotted(text: str) -> tuple[str, ...]:
    """`a."b.c".d` as ('a', 'b.c', 'd')."""
    return tuple(a or b or c for a, b, c in _KEY_PART.findall(text))


def find_line(text: str, keys: tuple[str, ...]) -> int | None:
    """The 1-based line that assigns the key path `keys` (or its table's header, or the line
    of the nearest enclosing key); None when the file does not mention it."""
    table: tuple[str, ...] = ()
    header = None
    for number, line in enumerate(text.splitlines(), 1):
        if m := _HEADER.match(line):
            table = _dotted(m.group(1))
            if table == keys and header is None:
                header = number
        elif (m := _ASSIGN.match(line)) and (*table, *_dotted(m.group(1))) == keys:
            return number
    if header is None and len(keys) > 1:
        return find_line(text, keys[:-1])
    return header


def where(path: Path, keys: tuple[str, ...]) -> str:
    """`config file PATH:LINE`, the line where `keys` is set when it can be found."""
    try:
        line = find_line(path.read_text(encoding="utf-8"), keys)
    except (OSError, UnicodeDecodeError):
        line = None
    return f"config file {path}" + (f":{line}" if line else "")


def profiles_of(data: Mapping[str, Any], path: Path) -> Mapping[str, Any]:
    profiles = data.get("profiles", {})
    if not isinstance(profiles, Mapping):
        raise ConfigError(
            f"{where(path, ('profiles',))}: profiles must be a table of [profiles.NAME] tables, "
            f"not {profiles!r}"
        )
    return profiles


def profile_table(data: Mapping[str, Any], profile: str, path: Path) -> Mapping[str, Any]:
    """The [profiles.NAME] table; ConfigError when it is missing or is not a table."""
    profiles = profiles_of(data, path)
    if profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none defined"
        raise ConfigError(
            f"no profile {profile!r} in {path} (profiles: {known})",
            hint=f"create it with `easyimg config set KEY VALUE --profile {profile}`",
        )
    table = profiles[profile]
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"{where(path, ('profiles', profile))}: profile {profile!r} must be a table "
            f"([profiles.{profile}] with its keys below it), not {table!r}"
        )
    return table


# --- round-trip edits ----------------------------------------------------------------------


def read_document(path: Path) -> TOMLDocument:
    """The config file as a tomlkit document (empty when there is none), comments and all."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"cannot read config file {path}: {reason}") from None
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def save_config(path: Path, data: Mapping[str, Any]) -> None:
    """Write the config atomically, file 0600 in a 0700 directory: it holds API keys."""
    import tomlkit

    from .output import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        write_text_atomic(path, tomlkit.dumps(data), mode=0o600)
    except (OSError, EasyImgError) as exc:
        raise ConfigError(f"cannot write config file {path}: {exc}") from None


def edit_table(doc: TOMLDocument, profile: str | None, path: Path) -> MutableMapping[str, Any]:
    """The top level, or the [profiles.NAME] table (created when missing)."""
    if not profile:
        return doc
    import tomlkit

    if "profiles" not in doc:
        # A super table writes only `[profiles.NAME]` headers, never a bare `[profiles]`.
        doc["profiles"] = tomlkit.table(is_super_table=True)
    profiles = profiles_of(doc, path)
    if profile not in profiles:
        profiles[profile] = tomlkit.table()  # type: ignore[index]
    return profile_table(doc, profile, path)  # type: ignore[return-value]


def set_key(doc: TOMLDocument, key: str, value: str, profile: str | None, path: Path) -> Any:
    """Set `key` by the rules its flag obeys (UsageError when it breaks one); the new value."""
    try:
        parsed = parse_value(key, value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if isinstance(parsed, float) and parsed.is_integer():
        parsed = int(parsed)  # `timeout = 30` as the user typed it, not 30.0
    edit_table(doc, profile, path)[key] = parsed
    return parsed


def unset_key(doc: TOMLDocument, key: str, profile: str | None, path: Path) -> bool:
    """Remove `key` (any key present, so a misspelt one can go too); False when it was not set."""
    table: Any = profile_table(doc, profile, path) if profile else doc
    if key in table:
        del table[key]
        return True
    if key not in KEYS:
        raise unknown_key(key)
    return False


def model_conflicts(data: Mapping[str, Any], profile: str | None) -> dict[str, str]:
    """Keys of the table whose value its model (the table's, else the top level's, else the
    default) does not accept, by the rules `gen` applies: {key: message}."""
    from .errors import ValidationError
    from .models import DEFAULT_MODEL, resolve_size, validate

    top: Mapping[str, Any] = data
    table: Mapping[str, Any] = data
    if profile:
        profiles = data.get("profiles")
        table = profiles.get(profile, {}) if isinstance(profiles, Mapping) else {}
    model = str(table.get("model") or top.get("model") or DEFAULT_MODEL)
    found: dict[str, str] = {}
    for key, body_field in BODY_FIELDS.items():
        value = table.get(key)
        if not isinstance(value, str):
            continue
        try:
            if key == "size":
                value = resolve_size(model, value)
            validate({"model": model, "prompt": "-", body_field: value})
        except ValidationError as exc:
            found[key] = exc.message
    return found


# --- stored keys ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FileKey:
    """A key stored in the file, where it sits and the host it is sent to."""

    profile: str | None  # None: the top level
    host: str
    key: str


def _base_url_of(data: Mapping[str, Any], profile: str | None) -> tuple[Any, tuple[str, ...]]:
    """The base URL a table's requests go to, and where it is set: its own, else the top
    level's; (None, ()) for the default."""
    if profile:
        profiles = data.get("profiles")
        table = profiles.get(profile) if isinstance(profiles, Mapping) else None
        if isinstance(table, Mapping) and table.get("base_url") is not None:
            return table["base_url"], ("profiles", profile, "base_url")
    if data.get("base_url") is not None:
        return data["base_url"], ("base_url",)
    return None, ()


def stored_base_url(data: Mapping[str, Any], profile: str | None, path: Path) -> str:
    """The base URL the file gives the top level or a profile; a bad one is a ConfigError."""
    url, keys = _base_url_of(data, profile)
    if url is None:
        return DEFAULT_BASE_URL
    try:
        return str(parse_value("base_url", url)).rstrip("/")
    except ValueError as exc:
        raise ConfigError(f"{where(path, keys)}: {exc}") from None


def _table(data: Mapping[str, Any], profile: str | None) -> Mapping[str, Any]:
    if not profile:
        return data
    profiles = data.get("profiles")
    table = profiles.get(profile) if isinstance(profiles, Mapping) else None
    return table if isinstance(table, Mapping) else {}


def key_host_of(data: Mapping[str, Any], profile: str | None) -> str:
    """The host the key of a table is sent to, as keys.stored_keys decides it: the table's
    `api_key_host`, else its own `base_url`'s host, else the default host."""
    from .keys import DEFAULT_KEY_HOST, key_host

    table = _table(data, profile)
    for bound in (table.get("api_key_host"), table.get("base_url")):
        if isinstance(bound, str) and bound.strip():
            return key_host(bound) or f"(no host in {bound!r})"
    return DEFAULT_KEY_HOST


def file_keys(data: Mapping[str, Any]) -> list[FileKey]:
    """Every key in the file: the top level's first, then the profiles' in file order."""
    found = []
    if isinstance(data.get("api_key"), str):
        found.append(FileKey(None, key_host_of(data, None), str(data["api_key"])))
    profiles = data.get("profiles")
    for name, table in profiles.items() if isinstance(profiles, Mapping) else ():
        if isinstance(table, Mapping) and isinstance(table.get("api_key"), str):
            found.append(FileKey(str(name), key_host_of(data, str(name)), str(table["api_key"])))
    return found


def remove_key(doc: TOMLDocument, profile: str | None, path: Path) -> FileKey | None:
    """Take the stored key (and the host it is bound to) out of the top level or a profile;
    the key removed, if any."""
    table: Any = profile_table(doc, profile, path) if profile else doc
    if "api_key" not in table:
        return None
    gone = FileKey(profile, key_host_of(doc, profile), str(table["api_key"]))
    del table["api_key"]
    if "api_key_host" in table:
        del table["api_key_host"]
    return gone
