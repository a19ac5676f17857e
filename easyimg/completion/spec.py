"""What shell completion completes: the command tree, its options and their values."""

from __future__ import annotations

import copy
import enum
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import aspect, models
from ..config import KEYS as CONFIG_KEYS

PROG = "easyimg"
SHELLS = ("bash", "zsh", "fish")  # each a module here with a `render(spec)`

# Sizes offered for --size besides each model's fixed ones: the named sizes and a few large
# sizes the arbitrary-size models (gpt-image-1-mini, 1.5, 2 and newer) accept.
EXTRA_SIZES = (
    "auto",
    "square",
    "landscape",
    "portrait",
    "2048x2048",
    "2048x1152",
    "1152x2048",
    "3840x2160",
    "2160x3840",
)

# How the value of an option is completed, by its long name.
OPTION_KINDS = {
    "--model": "model",
    "--size": "size",
    "--quality": "quality",
    "--format": "format",
    "--background": "background",
    "--moderation": "moderation",
    "--style": "style",
    "--response-format": "response_format",
    "--input-fidelity": "input_fidelity",
    "--complexity": "complexity",
    "--api": "api",
    "--chat-style": "chat_style",
    "--batch-api": "batch_api",
    "--resolution": "resolution",
    "--profile": "profile",
    "--out": "file",
    "--mask": "file",
    "--prompt-file": "file",
    "--image": "file",
    "--file": "file",
}
# ... and of an argument, by its name (or its command path and name).
ARGUMENT_KINDS = {
    "image": "file",
    "images": "file",
    "file": "file",
    "files": "file",
    "mask": "file",
    "path": "file",
    "shell": "shell",
}
PATH_ARGUMENT_KINDS: dict[tuple[str, ...], str] = {
    ("config", "set", "key"): "config_key",
    ("config", "set", "value"): "config_value",
    ("config", "unset", "key"): "config_key",
}
# `config set KEY VALUE`: how VALUE is completed for each KEY.
CONFIG_VALUE_KINDS = {
    "model": "model",
    "size": "size",
    "quality": "quality",
    "format": "format",
    "history": "bool",
    "out_dir": "file",
    "api": "api",
    "chat_style": "chat_style",
    "batch_api": "batch_api",
}


def _unique(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v) for v in values))


def value_words() -> dict[str, tuple[str, ...]]:
    """The static word lists, from the rule table and the config keys."""
    rules = list(models.MODELS.values())
    fixed = [s for r in rules for s in (r.sizes or ()) if s != "auto"]
    return {
        "model": _unique([*models.MODELS, *(a for r in rules for a in r.aliases)]),
        "size": _unique([*sorted(set(fixed), key=_size_key), *EXTRA_SIZES]),
        "quality": _unique(q for r in rules for q in r.qualities),
        "format": _unique([*models.FORMATS, *(f for r in rules for f in r.formats)]),
        "background": tuple(models.BACKGROUNDS),
        "moderation": tuple(models.MODERATIONS),
        "style": tuple(models.STYLES),
        "response_format": tuple(models.RESPONSE_FORMATS),
        "input_fidelity": tuple(models.FIDELITIES),
        "complexity": tuple(models.COMPLEXITIES),
        "api": tuple(models.DIALECTS),
        "chat_style": ("new-api", "openrouter"),
        "batch_api": ("openai", "easyrouter"),
        "resolution": (aspect.SMALL_SIZE, *aspect.IMAGE_SIZES),
        "bool": ("true", "false"),
        "shell": SHELLS,
        "config_key": tuple(CONFIG_KEYS),
    }


def _size_key(size: str) -> tuple[int, int]:
    dims = models.parse_size(size) or (0, 0)
    return (dims[0] * dims[1], dims[0])


# --- the command tree ---------------------------------------------------------------------------


@dataclass
class Param:
    """One option or argument, as the docs and the completion scripts need it."""

    name: str
    opts: tuple[str, ...]
    secondary: tuple[str, ...]
    is_option: bool
    is_flag: bool
    kind: str
    help: str
    hidden: bool
    required: bool
    multiple: bool
    nargs: int
    default: Any
    show_default: Any
    panel: str | None
    type_name: str
    choices: tuple[str, ...]
    envvar: tuple[str, ...]
    metavar: str | None = None
    low: Any = None
    high: Any = None

    @property
    def takes_value(self) -> bool:
        return self.is_option and not self.is_flag

    @property
    def long(self) -> str:
        longs = [o for o in self.opts if o.startswith("--")]
        return longs[0] if longs else self.opts[0] if self.opts else self.name


@dataclass
class Command:
    path: tuple[str, ...]
    help: str
    short_help: str
    hidden: bool
    options: list[Param]
    arguments: list[Param]
    # Visible and hidden subcommand names, in registration order.
    subcommands: list[str] = field(default_factory=list)
    hidden_subcommands: list[str] = field(default_factory=list)
    alias_of: tuple[str, ...] | None = None
    is_group: bool = False

    @property
    def name(self) -> str:
        return " ".join((PROG, *self.path))

    def visible_options(self) -> list[Param]:
        return [p for p in self.options if not p.hidden]

    def argument_kinds(self) -> tuple[list[str], str | None]:
        """Kinds of the fixed positions, and the kind of a variadic tail (None: no tail)."""
        fixed: list[str] = []
        for arg in self.arguments:
            if arg.nargs == -1:
                return fixed, arg.kind
            fixed.extend([arg.kind] * max(1, arg.nargs))
        return fixed, None


def _text(value: Any) -> str:
    # `\[` keeps a bracket literal in typer's rich help; elsewhere it is a plain bracket.
    return inspect.cleandoc(value).replace("\\[", "[") if isinstance(value, str) else ""


def _type_info(param: Any) -> tuple[str, tuple[str, ...], bool]:
    """(type name, choices, is a path) across typer versions (own click fork or click)."""
    desc = getattr(param, "type_descriptor", None)
    if desc is not None:
        annotation = desc.annotation
        choices = tuple(_choice_value(c) for c in (desc.choices or ()))
        while getattr(annotation, "__origin__", None) in (list, tuple):
            annotation = annotation.__args__[0]
        name = getattr(annotation, "__name__", str(annotation)).lower()
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            choices = tuple(_choice_value(m) for m in annotation)
        return name, choices, bool(getattr(desc, "is_path", False))
    ptype = getattr(param, "type", None)
    name = str(getattr(ptype, "name", "text")).lower()
    choices = tuple(_choice_value(c) for c in getattr(ptype, "choices", ()) or ())
    return name, choices, name == "path"


def _choice_value(value: Any) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


def _range(param: Any) -> tuple[Any, Any]:
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is None and high is None:
        ptype = getattr(param, "type", None)
        low, high = getattr(ptype, "min", None), getattr(ptype, "max", None)
    return low, high


def _param(param: Any, path: tuple[str, ...]) -> Param:
    is_option = type(param).__name__.endswith("Option") or bool(
        getattr(param, "opts", [""])[0].startswith("-")
    )
    type_name, choices, is_path = _type_info(param)
    opts = tuple(param.opts) if is_option else ()
    name = str(param.name or "")
    if name == "help":
        # Click builds the help option's names from a set: order them for stable output.
        opts = tuple(sorted(opts, key=lambda o: (len(o), o)))
    if is_option:
        long = next((o for o in opts if o.startswith("--")), "")
        kind = OPTION_KINDS.get(long, "")
    else:
        kind = PATH_ARGUMENT_KINDS.get((*path, name)) or ARGUMENT_KINDS.get(name, "")
    if not kind and choices:
        kind = "choice"
    if not kind and is_path:
        kind = "file"
    envvar = getattr(param, "envvar", None)
    envvars = (envvar,) if isinstance(envvar, str) else tuple(envvar or ())
    low, high = _range(param)
    return Param(
        name=name,
        opts=opts,
        secondary=tuple(getattr(param, "secondary_opts", ()) or ()),
        is_option=is_option,
        is_flag=bool(getattr(param, "is_flag", False)),
        kind=kind,
        help=_text(getattr(param, "help", None)),
        hidden=bool(getattr(param, "hidden", False)),
        required=bool(param.required),
        multiple=bool(getattr(param, "multiple", False)),
        nargs=int(getattr(param, "nargs", 1) or 1),
        default=param.default,
        show_default=getattr(param, "show_default", None),
        panel=getattr(param, "rich_help_panel", None),
        type_name=type_name,
        choices=choices,
        envvar=envvars,
        metavar=getattr(param, "metavar", None),
        low=low,
        high=high,
    )


def _callback_id(cmd: Any) -> Any:
    callback = getattr(cmd, "callback", None)
    return getattr(callback, "__wrapped__", callback)


def collect(root: Any) -> list[Command]:
    """Every command of a click/typer command tree, depth first in registration order."""
    import typer

    out: list[Command] = []

    def walk(cmd: Any, path: tuple[str, ...], parent: Any) -> None:
        settings = dict(getattr(cmd, "context_settings", None) or {})
        ctx = typer.Context(cmd, parent=parent, info_name=path[-1] if path else PROG, **settings)
        params = [_param(p, path) for p in cmd.get_params(ctx)]
        subs: dict[str, Any] = dict(getattr(cmd, "commands", {}) or {})
        help_text = _text(cmd.help)
        node = Command(
            path=path,
            help=help_text,
            short_help=_text(getattr(cmd, "short_help", None)) or _first_sentence(help_text),
            hidden=bool(getattr(cmd, "hidden", False)),
            options=[p for p in params if p.is_option],
            arguments=[p for p in params if not p.is_option],
            subcommands=[n for n, c in subs.items() if not c.hidden],
            hidden_subcommands=[n for n, c in subs.items() if c.hidden],
            is_group=bool(subs) or hasattr(cmd, "commands"),
        )
        out.append(node)
        for name, sub in subs.items():
            walk(sub, (*path, name), ctx)
        # A hidden command running the same function as a visible one is an alias of it.
        for name, sub in subs.items():
            if not sub.hidden:
                continue
            twin = next(
                (
                    n
                    for n, c in subs.items()
                    if not c.hidden
                    and _callback_id(c) is not None
                    and _callback_id(c) is _callback_id(sub)
                ),
                None,
            )
            if twin:
                for found in out:
                    if found.path == (*path, name):
                        found.alias_of = (*path, twin)

    walk(root, (), None)
    return out


def _first_sentence(text: str) -> str:
    first = text.split("\n\n", 1)[0].replace("\n", " ").strip()
    return first


def tree_from_app(app: Any) -> list[Command]:
    import typer

    return collect(typer.main.get_command(app))


# --- the description the scripts are rendered from ----------------------------------------------


@dataclass
class CompletionSpec:
    """Commands, options and arguments, and the fixed words of every kind of value they use."""

    # Each "choice" kind is renamed choice_1, choice_2, ... after its entry in `words`.
    commands: list[Command]
    words: dict[str, tuple[str, ...]]
    config_value_kinds: Mapping[str, str]

    def children(self) -> list[tuple[tuple[str, ...], str]]:
        """(group path, name) of every subcommand, hidden ones too."""
        return [(c.path, s) for c in self.commands for s in (*c.subcommands, *c.hidden_subcommands)]

    def subcommand_helps(self, cmd: Command) -> list[tuple[str, str]]:
        """(name, short help) of each visible subcommand of `cmd`."""
        by_path = {c.path: c for c in self.commands}
        return [(s, by_path[(*cmd.path, s)].short_help) for s in cmd.subcommands]

    def value_options(self) -> dict[str, list[tuple[tuple[str, ...], str]]]:
        """(command path, option name) of every option taking a value, by kind of value."""
        by_kind: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for c in self.commands:
            for p in c.options:
                if p.takes_value:
                    by_kind.setdefault(p.kind, []).extend((c.path, o) for o in p.opts)
        return dict(sorted(by_kind.items()))


def describe(tree: list[Command]) -> CompletionSpec:
    """The description of `tree` the scripts are rendered from; `tree` itself is left as is."""
    commands = copy.deepcopy(tree)
    words = value_words()
    used: dict[str, tuple[str, ...]] = {}
    choice_names: dict[tuple[str, ...], str] = {}
    for cmd in commands:
        for p in [*cmd.options, *cmd.arguments]:
            if p.kind == "choice":
                if p.choices not in choice_names:
                    choice_names[p.choices] = f"choice_{len(choice_names) + 1}"
                used[choice_names[p.choices]] = p.choices
            elif p.kind in words:
                used[p.kind] = words[p.kind]
            if p.kind == "config_value":
                for kind in CONFIG_VALUE_KINDS.values():
                    if kind in words:
                        used[kind] = words[kind]
    # Rename "choice" kinds so each script refers to its list by name.
    for cmd in commands:
        for p in [*cmd.options, *cmd.arguments]:
            if p.kind == "choice":
                p.kind = choice_names[p.choices]
    return CompletionSpec(commands, dict(sorted(used.items())), CONFIG_VALUE_KINDS)
