"""`history` and `usage` start without the other commands and without typer's pydantic layer."""

from __future__ import annotations

import json
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer

from easyimg.cli.coerce import _Plain, plain_values


# The quick coercion stands in for typer 0.29's runtime coercion; a typer without it is left to
# do its own (easyimg.cli.coerce steps aside), and these comparisons do not apply.
def typer_coercion() -> Any:
    return pytest.importorskip("typer._coercion")


HEAVY = {"requests", "urllib3", "rich", "PIL", "ijson", "pydantic"}
PROBE = """
import json, sys
from easyimg.__main__ import main
code = main(sys.argv[1:])
tops = {m.split(".")[0] for m in sys.modules}
loaded = sorted(tops | {m for m in sys.modules if m.startswith("easyimg.cli.")})
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def probe(args: list[str], user_dir: Path) -> dict[str, Any]:
    history = user_dir / "history.jsonl"
    line = {"id": "0123456789", "time": "2026-01-01T00:00:00Z", "command": "gen", "model": "m"}
    history.write_text(json.dumps(line) + "\n")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env={"EASYIMG_HISTORY": str(history), "EASYIMG_CONFIG": str(user_dir / "c.toml")},
        check=False,
    )
    return json.loads(proc.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args", [["history", "-n", "5"], ["history", "--status", "ok"], ["usage", "--by", "day"]]
)
def test_history_and_usage_import_neither_other_commands_nor_heavy_packages(args, user_dir):
    found = probe(args, user_dir)
    assert found["code"] == 0
    assert not HEAVY & set(found["loaded"])
    commands = {m for m in found["loaded"] if m.startswith("easyimg.cli.")}
    assert "easyimg.cli.history_cmd" in commands
    assert not commands & {"easyimg.cli.gen", "easyimg.cli.batch", "easyimg.cli.edit"}


def test_every_command_is_there_again_after_history_ran_alone(cli):
    before = cli("--help")
    assert cli("history", "-n", "1").code == 0
    after = cli("--help")
    assert after.code == 0 and after.out == before.out
    listed = {line.split()[0] for line in after.out.splitlines() if line.startswith("  ")}
    assert {"gen", "batch", "history", "usage", "models"} <= listed


def test_a_bad_value_is_still_typers_usage_error(cli):
    r = cli("history", "-n", "x")
    assert r.code == 2 and "Invalid value for '-n'" in r.err
    r = cli("history", "-n", "-1")
    assert r.code == 2 and "-n" in r.err
    r = cli("usage", "--by", "week")
    assert r.code == 2 and "'week' is not one of" in r.err


class Colour(StrEnum):
    red = "red"
    blue = "blue"


def sample(
    word: Annotated[str | None, typer.Option()] = None,
    count: Annotated[int, typer.Option(min=0)] = 3,
    ratio: Annotated[float, typer.Option()] = 1.5,
    tags: Annotated[list[str] | None, typer.Option()] = None,
    colour: Annotated[Colour | None, typer.Option()] = None,
) -> None:
    pass


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("word", "a fox"),
        ("word", None),
        ("count", "5"),
        ("count", "+7"),
        ("count", 3),
        ("ratio", "2"),
        ("ratio", ".5"),
        ("ratio", "1e3"),
        ("ratio", 600),
        ("tags", ("a", "b")),
        ("tags", None),
        ("colour", "blue"),
        ("colour", Colour.red),
        ("colour", None),
    ],
)
def test_plain_values_come_out_as_typer_makes_them(name, value):
    app = typer.Typer()
    app.command()(sample)
    command = typer.main.get_command(app)
    ctx = typer.Context(command)
    param = next(p for p in command.params if p.name == name)
    runtime = typer_coercion().build_runtime_param(param.type_descriptor)
    theirs = runtime.coerce(value, param=param, ctx=ctx)
    ours = _Plain(param).coerce(value, param, ctx)
    assert ours == theirs and type(ours) is type(theirs)


def test_every_option_of_every_command_takes_the_quick_coercion():
    from easyimg.cli import app

    typer_coercion()

    command = typer.main.get_command(app)
    plain_values(command)

    def params(cmd: Any) -> list[Any]:
        found = list(cmd.params)
        for sub in getattr(cmd, "commands", {}).values():
            found += params(sub)
        return found

    every = params(command)
    assert every and all(isinstance(p._runtime_param, _Plain) for p in every)
