"""What `easyimg rerun` sends again: a past request from the history or from an image file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import history
from .errors import UsageError

# Commands whose history entries `rerun` can send again, and the endpoint of each.
KINDS = {"gen": "generations", "batch": "generations", "edit": "edits", "vary": "variations"}


@dataclass
class Past:
    """One request to send again: its kind (gen, edit, vary), body, input files, and origin."""

    kind: str
    body: dict[str, Any]
    source: str
    inputs: dict[str, Any] = field(default_factory=dict)
    offline: bool = False


def find(ref: str, history_file: Path) -> Past:
    """`ref` names an image file (its PNG chunks or sidecar) or a history id."""
    path = Path(ref)
    if path.is_file():
        return from_file(path)
    if any(sep in ref for sep in ("/", "\\")) or path.suffix:
        raise UsageError(f"cannot read {ref}: no such file")
    return from_entry(history.find(history_file, ref))


def from_entry(entry: Mapping[str, Any]) -> Past:
    ident = history.entry_id(entry)
    command = str(entry.get("command") or "gen")
    if command not in KINDS:
        raise UsageError(f"history entry {ident} is a {command!r} run; rerun sends gen, edit, vary")
    params = entry.get("parameters")
    rest = dict(params) if isinstance(params, Mapping) else {}
    # In the order gen sends them: model, prompt, n, then the rest.
    body: dict[str, Any] = {"model": rest.pop("model", entry.get("model"))}
    if isinstance(entry.get("prompt"), str):
        body["prompt"] = entry["prompt"]
    body.update(rest)
    raw = entry.get("inputs")
    inputs = dict(raw) if isinstance(raw, Mapping) else {}
    kind = "gen" if command == "batch" else command
    if kind == "edit" and isinstance(body.get("images"), list):
        # A JSON edit (URLs, file ids): the body holds its inputs, unless they were inlined.
        if _cut_short(body.get("images")) or _cut_short(body.get("mask")):
            raise UsageError(
                f"history entry {ident} sent local files inline, and the history keeps no copy "
                "of them; run easyimg edit with the files again"
            )
    elif kind in ("edit", "vary") and not inputs.get("image"):
        raise UsageError(
            f"history entry {ident} is an {kind} from before easyimg recorded its input "
            f"images; run easyimg {kind} IMAGE... with these parameters: {_short(body)}"
        )
    return Past(
        kind,
        body,
        f"history entry {ident}",
        inputs,
        offline=history.entry_host(entry) == "offline",
    )


def from_file(path: Path) -> Past:
    from .fileinfo import read_info

    found = read_info(path)
    body = found.request()
    if not body or not isinstance(body.get("prompt"), str):
        raise UsageError(
            f"{path} says nothing of the request that made it "
            "(no PNG parameters chunk, no sidecar NAME.json with one)"
        )
    # `n` is what the recorded request asked for: from a sidecar, one request of a fan-out.
    return Past("gen", body, str(path))


def apply(past: Past, overrides: Mapping[str, Any], extras: Mapping[str, Any]) -> dict[str, Any]:
    """The past body with every override that was given (None: not given) and `-x` fields."""
    from .models import resolve_size

    body = dict(past.body)
    for key, value in overrides.items():
        if value is None or value is False:
            continue
        body[key] = value
    body.update(extras)
    if "size" in overrides and overrides["size"] is not None:
        body["size"] = resolve_size(str(body.get("model") or ""), str(overrides["size"]))
    return body


def _cut_short(value: Any) -> bool:
    """Whether `value` holds a data: URL the history shortened (see generate.recordable)."""
    if isinstance(value, str):
        return value.startswith("data:") and " characters)" in value
    if isinstance(value, Mapping):
        return any(_cut_short(v) for v in value.values())
    if isinstance(value, list):
        return any(_cut_short(v) for v in value)
    return False


def _short(body: Mapping[str, Any]) -> str:
    import json

    text = json.dumps({k: v for k, v in body.items() if k != "prompt"}, ensure_ascii=False)
    return text if len(text) <= 200 else text[:199] + "…"
