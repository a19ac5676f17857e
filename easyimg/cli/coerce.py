"""Option values coerced without pydantic when they are plain: typer builds a pydantic
TypeAdapter for every option on every run (~0.2 s of imports and set-up, more than the rest of
`easyimg history`); anything not plain, and every invalid value, still goes to typer's own."""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MISSING = object()


class _Plain:
    """Stands in for typer's runtime coercion of one parameter (its `coerce` contract)."""

    def __init__(self, param: Any) -> None:
        self._param = param
        desc = param.type_descriptor
        self._annotation = desc.annotation
        info = desc.parameter_info
        self._min, self._max = info.min, info.max
        self._exact = bool(getattr(info, "case_sensitive", False))
        self._typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        quick = self._quick(value, ctx)
        if quick is not _MISSING:
            return quick
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self._param.type_descriptor)
        return self._typer.coerce(value, param=param, ctx=ctx)

    def _quick(self, value: Any, ctx: Any) -> Any:
        kind = self._annotation
        if isinstance(kind, type) and issubclass(kind, Enum):
            if isinstance(value, kind):
                return value
            if not isinstance(value, str) or not self._exact:
                return _MISSING
            if getattr(ctx, "token_normalize_func", None) is not None:
                return _MISSING
            return next((m for m in kind if str(m.value) == value), _MISSING)
        if kind is str:
            return value if isinstance(value, str) else _MISSING
        if kind == list[str]:
            if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                return list(value)
            return _MISSING
        number: Any = _MISSING
        if kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                number = value
            elif isinstance(value, str) and _INT.fullmatch(value):
                number = int(value)
        elif kind is float:
            plain = isinstance(value, int | float) and not isinstance(value, bool)
            if plain or (isinstance(value, str) and _FLOAT.fullmatch(value)):
                number = float(value)
        if number is _MISSING:
            return _MISSING
        if (self._min is not None and number < self._min) or (
            self._max is not None and number > self._max
        ):
            return _MISSING  # typer words the error
        return number


def plain_values(command: Any) -> None:
    """Give every typer parameter of `command` and its subcommands the quick coercion; one
    typer does not describe (another typer version) is left as it is."""
    for param in getattr(command, "params", ()):
        _install(param)
    made = getattr(command, "get_help_option", None)
    if made is not None:
        # Each command's -h/--help is made on first use, from the context's names.
        def help_option(ctx: Any, made: Any = made) -> Any:
            option = made(ctx)
            if option is not None:
                _install(option)
            return option

        command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        plain_values(sub)


def _install(param: Any) -> None:
    desc = getattr(param, "type_descriptor", None)
    if desc is None or getattr(param, "_runtime_param", _MISSING) is not None:
        return
    info = desc.parameter_info
    if desc.file_annotation is not None or getattr(info, "parser", None) is not None:
        return
    if getattr(info, "clamp", False) or getattr(info, "click_type", None) is not None:
        return
    param._runtime_param = _Plain(param)
