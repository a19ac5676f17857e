"""Request bodies checked against the openai SDK's param TypedDicts (where they cover a field)."""

from __future__ import annotations

import collections.abc
import typing
from typing import Any

import pytest


def _allows(annotation: Any, value: Any) -> bool:
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return True
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return any(_allows(a, value) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if annotation is type(None):
        return value is None
    if annotation is str:
        return isinstance(value, str)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is bool:
        return isinstance(value, bool)
    if typing.is_typeddict(annotation):
        return isinstance(value, dict) and not check_typed(value, annotation, raise_=False)
    if isinstance(origin, type) and issubclass(origin, collections.abc.Sequence):
        return isinstance(value, list)
    return True  # file types and the like: not a JSON value to check


def check_typed(body: dict[str, Any], cls: type, *, raise_: bool = True) -> list[str]:
    """Problems of `body` as a `cls` TypedDict: unknown keys and values its types refuse."""
    hints = typing.get_type_hints(cls)
    problems = [
        f"{key}={value!r} is not what {cls.__name__}.{key} allows"
        if key in hints
        else f"{key} is not a field of {cls.__name__}"
        for key, value in body.items()
        if key not in hints or not _allows(hints[key], value)
    ]
    if raise_ and problems:
        pytest.fail("; ".join(problems))
    return problems


def check_generate(body: dict[str, Any]) -> None:
    p = pytest.importorskip("openai.types.image_generate_params")

    cls = (
        p.ImageGenerateParamsStreaming if body.get("stream") else p.ImageGenerateParamsNonStreaming
    )
    check_typed(body, cls)


def check_edit(body: dict[str, Any], *, json_fields: tuple[str, ...] = ()) -> None:
    """An edit body; `json_fields` (images, mask of a JSON edit) are the OpenAPI schema's."""
    p = pytest.importorskip("openai.types.image_edit_params")

    cls = p.ImageEditParamsStreaming if body.get("stream") else p.ImageEditParamsNonStreaming
    check_typed({k: v for k, v in body.items() if k not in json_fields}, cls)
