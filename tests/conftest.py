"""Shared fixtures: an isolated user dir, a CLI runner on injected streams, test images."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from easyimg import redact
from easyimg.cli import run
from easyimg.console import Environment


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


# What the caller's shell may hold that changes how easyimg, rich or requests behave: colour and
# terminal size, image protocols (and, below, proxies and CA bundles). Tests set what they need.
_CALLER_VARIABLES = (
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "TERM",
    "COLORTERM",
    "COLUMNS",
    "LINES",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "TMUX",
    "KITTY_WINDOW_ID",
    "TERM_PROGRAM",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
)


@pytest.fixture(autouse=True)
def caller_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests pass whatever the caller's environment holds (NO_COLOR=1, COLUMNS=40, EASYIMG_*)."""
    for name in list(os.environ):
        if (
            name.startswith("EASYIMG_")
            or name in _CALLER_VARIABLES
            or name.lower().endswith("_proxy")
            or name.endswith("_CA_BUNDLE")
        ):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def no_registered_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no keys to mask, as a fresh process does."""
    monkeypatch.setattr(redact, "_keys", ())


@pytest.fixture(autouse=True)
def user_dir(
    caller_environment: None,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """No test reads a real key, config or history: they live in a fresh temporary home."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("EASYIMG_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("EASYIMG_HISTORY", str(home / "history.jsonl"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    return home


@pytest.fixture
def cli(user_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `easyimg ARGS` in-process with its own streams and environment."""

    def invoke(
        *args: str,
        stdin: str = "",
        env: dict[str, str] | None = None,
        tty: bool = False,
        cwd: Path | None = None,
    ) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        variables = {
            "EASYIMG_CONFIG": str(user_dir / "config.toml"),
            "EASYIMG_HISTORY": str(user_dir / "history.jsonl"),
            **(env or {}),
        }
        out, err = io.StringIO(), io.StringIO()
        environment = Environment(io.StringIO(stdin), out, err, tty, tty, tty, variables)
        code = run(list(args), environment)
        return Result(code, out.getvalue(), err.getvalue())

    return invoke


def make_image(
    fmt: str = "PNG",
    size: tuple[int, int] = (64, 48),
    color: tuple[int, ...] = (200, 40, 90),
    mode: str = "RGB",
) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, fmt)
    return buf.getvalue()


def images_answer(
    *images: bytes, usage: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "created": 1700000000,
        "data": [{"b64_json": base64.b64encode(i).decode()} for i in images],
    }
    if usage is not None:
        doc["usage"] = usage
    doc.update(extra)
    return doc
