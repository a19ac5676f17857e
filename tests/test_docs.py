"""docs/cli.md and completions/* are fresh, valid, and complete what they should."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated

import pytest
import typer

from easyimg.completion import FILES, collect, script, tree_from_app

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = {shell: ROOT / "completions" / name for shell, name in FILES.items()}
EASYIMG = Path(sys.executable).parent / "easyimg"


def load_gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen_docs() -> ModuleType:
    return load_gen_docs()


def test_generated_files_are_fresh(gen_docs):
    for path, text in gen_docs.outputs().items():
        name = path.relative_to(ROOT)
        assert path.exists(), f"{name} is missing: run `python scripts/gen_docs.py`"
        assert path.read_text(encoding="utf-8") == text, (
            f"{name} is stale: run `python scripts/gen_docs.py` and commit the result"
        )


@pytest.mark.parametrize("shell", sorted(FILES))
def test_completions_command_prints_the_checked_in_script(cli, shell):
    r = cli("completions", shell)
    assert r.code == 0, r.err
    assert r.out == SCRIPTS[shell].read_text(encoding="utf-8")
    assert r.err == ""


def test_docs_cover_every_visible_command_and_option(gen_docs):
    from easyimg.cli import app

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for cmd in tree_from_app(app):
        if cmd.hidden or not cmd.path:
            continue
        assert f"\n## {cmd.name}\n" in text
        for p in cmd.visible_options():
            if p.name == "help":
                continue
            assert f"`{', '.join([*p.opts, *p.secondary])}" in text, (cmd.name, p.opts)
    assert "| 130 | interrupted |" in text
    assert "Also available as `easyimg generate`" in text


def test_generator_copes_with_new_commands(gen_docs):
    """Commands, groups and options added later show up without touching the generator."""
    app = typer.Typer()

    @app.command()
    def paint(
        files: Annotated[list[Path], typer.Argument(help="pictures")],
        model: Annotated[str | None, typer.Option("-m", "--model", help="which")] = None,
        tone: Annotated[int, typer.Option(min=0, max=9, help="how much | pipes")] = 3,
    ) -> None:
        """Paint <things>."""

    tools = typer.Typer(help="Tools.")
    app.add_typer(tools, name="tools")

    @tools.command("sharpen")
    def sharpen(level: Annotated[str, typer.Argument()] = "low") -> None:
        """Sharpen."""

    tree = collect(typer.main.get_command(app))
    assert [c.path for c in tree] == [(), ("paint",), ("tools",), ("tools", "sharpen")]
    md = gen_docs.render_markdown(tree)
    assert "## easyimg tools sharpen" in md
    assert "Paint &lt;things&gt;." in md
    assert "how much \\| pipes [range: 0 ≤ N ≤ 9] [default: `3`]" in md
    assert "`FILES...`" in md and "`[LEVEL]`" in md
    for shell in FILES:
        text = script(shell, tree)
        assert "tools/sharpen" in text or '"tools" sharpen' in text or "tools sharpen" in text
    bash = script("bash", tree)
    assert '"paint -m"|"paint --model"' in bash


def test_check_mode_reports_stale_files(gen_docs, tmp_path, capsys):
    assert gen_docs.main(["--check"]) == 0
    assert gen_docs.stale(tmp_path) == list(gen_docs.outputs(tmp_path))


# --- the scripts are valid and complete the right things ----------------------------------------


def _syntax(shell: str, path: Path) -> None:
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed")
    r = subprocess.run([exe, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("shell", sorted(FILES))
def test_scripts_parse(shell):
    _syntax(shell, SCRIPTS[shell])


def _env(user_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EASYIMG_")}
    env["EASYIMG_CONFIG"] = str(user_dir / "config.toml")
    env["PATH"] = f"{EASYIMG.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


BASH_CASES = [
    (["easyimg", ""], {"gen", "edit", "models", "usage", "config", "completions"}, {"generate"}),
    (
        ["easyimg", "gen", "-m", "gpt-i"],
        {"gpt-image-2", "gpt-image-1", "gpt-image-1.5"},
        {"dall-e-3"},
    ),
    (["easyimg", "gen", "a cat", "--model", ""], {"dall-e-3", "gpt-image-2"}, set()),
    (["easyimg", "gen", "--model", "=", "dall"], {"dall-e-2", "dall-e-3"}, set()),
    (["easyimg", "gen", "-s", ""], {"1024x1024", "1792x1024", "auto", "landscape"}, set()),
    (["easyimg", "gen", "-q", "h"], {"high", "hd"}, {"low"}),
    (["easyimg", "gen", "-f", ""], {"png", "jpeg", "webp"}, set()),
    (["easyimg", "gen", "--background", ""], {"auto", "transparent", "opaque"}, set()),
    (["easyimg", "gen", "--response-format", ""], {"url", "b64_json"}, set()),
    (["easyimg", "gen", "--si"], {"--size", "--sidecar"}, {"--model"}),
    (["easyimg", "--debug", "gen", "--st"], {"--style", "--stream"}, set()),
    (["easyimg", "config", ""], {"path", "show", "set", "unset"}, set()),
    (["easyimg", "config", "set", ""], {"model", "base_url", "history"}, set()),
    (
        ["easyimg", "config", "set", "--profile", "x", "model", "gpt-image-2."],
        {"gpt-image-2.5-flare", "gpt-image-2.6-sunburst"},
        {"gpt-image-2"},
    ),
    (["easyimg", "completions", ""], {"bash", "zsh", "fish"}, set()),
    (["easyimg", "usage", "--by", ""], {"model", "day", "host"}, set()),
    (["easyimg", "gen", "--profile", ""], {"work", "local"}, set()),
    (["easyimg", "models", "--profile", "w"], {"work"}, {"local"}),
]


@pytest.mark.parametrize(
    ("words", "wanted", "unwanted"), BASH_CASES, ids=[" ".join(c[0]) for c in BASH_CASES]
)
def test_bash_completes(words, wanted, unwanted, user_dir):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    if "--profile" in words and not EASYIMG.exists():
        pytest.skip(f"profiles are listed by running {EASYIMG}, which is not installed")
    (user_dir / "config.toml").write_text("[profiles.work]\n[profiles.local]\n")
    words = [str(EASYIMG) if w == "easyimg" and i == 0 else w for i, w in enumerate(words)]
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    code = (
        f"source {SCRIPTS['bash']}\nCOMP_WORDS=({quoted})\nCOMP_CWORD={len(words) - 1}\n"
        "_easyimg\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    r = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", code],
        capture_output=True,
        text=True,
        env=_env(user_dir),
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    got = set(r.stdout.split())
    assert wanted <= got, got
    assert not (unwanted & got), got


def test_bash_completes_files_for_image_arguments(user_dir, tmp_path):
    (tmp_path / "photo one.png").write_bytes(b"x")
    code = (
        f"source {SCRIPTS['bash']}\ncd {tmp_path}\nCOMP_WORDS=(easyimg edit ph)\n"
        "COMP_CWORD=2\n_easyimg\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    r = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", code],
        capture_output=True,
        text=True,
        env=_env(user_dir),
        timeout=30,
    )
    assert r.stdout.splitlines() == ["photo one.png"]


def test_fish_completes(user_dir):
    fish = shutil.which("fish")
    if fish is None:
        pytest.skip("fish is not installed")
    (user_dir / "config.toml").write_text("[profiles.work]\n")
    lines = [
        "easyimg gen -m gpt-image-2.",
        "easyimg config set model dall",
        "easyimg gen --profile ",
        "easyimg ",
        "easyimg config ",
        "easyimg usage --by ",
    ]
    code = f"source {SCRIPTS['fish']}\n" + "\n".join(
        f"echo '>>'; complete -C '{line}'" for line in lines
    )
    r = subprocess.run(
        [fish, "--no-config", "-c", code],
        capture_output=True,
        text=True,
        env=_env(user_dir),
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    blocks = [
        [row.split("\t")[0] for row in b.strip().splitlines()] for b in r.stdout.split(">>")[1:]
    ]
    assert set(blocks[0]) == {
        "gpt-image-2.5-flare",
        "gpt-image-2.5-sunburst",
        "gpt-image-2.6-flare",
        "gpt-image-2.6-sunburst",
    }
    assert set(blocks[1]) == {"dall-e-2", "dall-e-3"}
    assert blocks[2] == ["work"]
    assert {"gen", "models", "history", "usage"} <= set(blocks[3])
    assert "generate" not in blocks[3]
    assert set(blocks[4]) == {"path", "show", "get", "set", "unset"}
    assert set(blocks[5]) == {"model", "day", "host"}


def test_zsh_helpers(user_dir):
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed")
    code = (
        f"autoload -Uz compinit && compinit -u -D\nsource {SCRIPTS['zsh']}\n"
        "_easyimg_option_kind gen -m; _easyimg_option_kind 'config set' --profile\n"
        "_easyimg_option_kind gen --stream || echo flag\n"
        "_easyimg_arg_kind edit 3; _easyimg_arg_kind 'config set' 0\n"
        "_easyimg_subcommand_specs config | head -1\n"
        "_easyimg_words quality | tr '\\n' ' '\n"
    )
    r = subprocess.run(
        [zsh, "-f", "-c", code],
        capture_output=True,
        text=True,
        env={**_env(user_dir), "HOME": str(user_dir)},
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:6] == [
        "model",
        "profile",
        "flag",
        "file",
        "config_key",
        "path:Print the config file's path.",
    ]
    assert "high" in r.stdout.splitlines()[6]
