"""Shell completion scripts (bash, zsh, fish) generated from the command tree and the rule table."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import models
from .config import KEYS as CONFIG_KEYS
from .errors import UsageError

SHELLS = ("bash", "zsh", "fish")
PROG = "easyimg"
GENERATED = "generated from the easyimg CLI by scripts/gen_docs.py; do not edit"

# Sizes offered for --size besides each model's fixed ones: the named sizes and a few large
# sizes the arbitrary-size models (gpt-image-1-mini, 1.5, 2 and newer) accept.
EXTRA_SIZES = ("auto", "square", "landscape", "portrait", "2048x2048", "2048x1152",
               "1152x2048", "3840x2160", "2160x3840")

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
CONFIG_VALUE_KINDS = {"model": "model", "size": "size", "quality": "quality",
                      "format": "format", "history": "bool", "out_dir": "file"}


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
    is_option = type(param).__name__.endswith("Option") or bool(getattr(param, "opts", [""])[0]
                                                                 .startswith("-"))
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
        name=name, opts=opts, secondary=tuple(getattr(param, "secondary_opts", ()) or ()),
        is_option=is_option, is_flag=bool(getattr(param, "is_flag", False)), kind=kind,
        help=_text(getattr(param, "help", None)), hidden=bool(getattr(param, "hidden", False)),
        required=bool(param.required), multiple=bool(getattr(param, "multiple", False)),
        nargs=int(getattr(param, "nargs", 1) or 1), default=param.default,
        show_default=getattr(param, "show_default", None),
        panel=getattr(param, "rich_help_panel", None), type_name=type_name, choices=choices,
        envvar=envvars, metavar=getattr(param, "metavar", None), low=low, high=high,
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
            path=path, help=help_text,
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
            twin = next((n for n, c in subs.items() if not c.hidden
                         and _callback_id(c) is not None and _callback_id(c) is _callback_id(sub)),
                        None)
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


# --- shared pieces ------------------------------------------------------------------------------

def _kinds_in_use(tree: list[Command]) -> dict[str, tuple[str, ...]]:
    """Word lists for every static kind in use, choice lists named choice_1, choice_2, ..."""
    words = value_words()
    used: dict[str, tuple[str, ...]] = {}
    choice_names: dict[tuple[str, ...], str] = {}
    for cmd in tree:
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
    # Rename "choice" kinds in place so each script refers to its list by name.
    for cmd in tree:
        for p in [*cmd.options, *cmd.arguments]:
            if p.kind == "choice":
                p.kind = choice_names[p.choices]
    return dict(sorted(used.items()))


def _prepare(tree: list[Command]) -> tuple[list[Command], dict[str, tuple[str, ...]]]:
    # Work on copies: _kinds_in_use renames choice kinds.
    import copy

    tree = copy.deepcopy(tree)
    return tree, _kinds_in_use(tree)


def _path_str(path: tuple[str, ...]) -> str:
    return " ".join(path)


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _one_line(text: str, limit: int = 72) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _arg_kinds(cmd: Command) -> tuple[list[str], str | None]:
    """Kinds of the fixed positions, and the kind of a variadic tail (None: no tail)."""
    fixed: list[str] = []
    for arg in cmd.arguments:
        if arg.nargs == -1:
            return fixed, arg.kind
        fixed.extend([arg.kind] * max(1, arg.nargs))
    return fixed, None


def _sh_functions(tree: list[Command], words: Mapping[str, tuple[str, ...]]) -> str:
    """Helper functions written in the subset of shell syntax bash and zsh share."""
    lines = [
        "# _easyimg_is_child PATH WORD: is WORD a subcommand of the command at PATH?",
        "_easyimg_is_child() {",
        '    case "$1/$2" in',
    ]
    pairs = [f'"{_path_str(c.path)}/{s}"' for c in tree
             for s in (*c.subcommands, *c.hidden_subcommands)]
    if pairs:
        lines.append(f"        {'|'.join(pairs)}) return 0 ;;")
    lines += ["    esac", "    return 1", "}", ""]

    lines += ["# _easyimg_subcommands PATH: the visible subcommands of PATH.",
              "_easyimg_subcommands() {", '    case "$1" in']
    for c in tree:
        if c.subcommands:
            lines.append(f'        "{_path_str(c.path)}") printf \'%s\\n\' '
                         f"{' '.join(c.subcommands)} ;;")
    lines += ["    esac", "}", ""]

    lines += ["# _easyimg_options PATH: the options of PATH.",
              "_easyimg_options() {", '    case "$1" in']
    for c in tree:
        names = [o for p in c.visible_options() for o in (*p.opts, *p.secondary)]
        if names:
            lines.append(f'        "{_path_str(c.path)}") printf \'%s\\n\' {" ".join(names)} ;;')
    lines += ["    esac", "}", ""]

    lines += ["# _easyimg_option_kind PATH OPTION: how the option's value is completed",
              "# (empty: free text); fails for flags and unknown options.",
              "_easyimg_option_kind() {", '    case "$1 $2" in']
    by_kind: dict[str, list[str]] = {}
    for c in tree:
        for p in c.options:
            if p.takes_value:
                by_kind.setdefault(p.kind, []).extend(
                    f'"{_path_str(c.path)} {o}"' for o in p.opts)
    for kind, pats in sorted(by_kind.items()):
        lines.append(f"        {'|'.join(pats)})")
        lines.append(f"            printf '%s\\n' {_sh_quote(kind)} ;;")
    lines += ["        *) return 1 ;;", "    esac", "}", ""]

    lines += ["# _easyimg_arg_kind PATH INDEX: how the INDEX-th argument (from 0) is completed.",
              "_easyimg_arg_kind() {", '    case "$1" in']
    for c in tree:
        fixed, tail = _arg_kinds(c)
        if not any(fixed) and not tail:
            continue
        cases = [f"{i}) printf '%s\\n' {k} ;;" for i, k in enumerate(fixed) if k]
        if tail:
            cases.append(f"*) printf '%s\\n' {tail} ;;")
        lines.append(f'        "{_path_str(c.path)}") case "$2" in {" ".join(cases)} esac ;;')
    lines += ["    esac", "}", ""]

    lines += ["# _easyimg_config_value_kind KEY: how `config set KEY VALUE` completes VALUE.",
              "_easyimg_config_value_kind() {", '    case "$1" in']
    for key, kind in CONFIG_VALUE_KINDS.items():
        lines.append(f"        {key}) printf '%s\\n' {kind} ;;")
    lines += ["    esac", "}", ""]

    lines += ["# _easyimg_words KIND: the fixed words of a kind (from the model rule table).",
              "_easyimg_words() {", '    case "$1" in']
    for kind, values in words.items():
        lines.append(f"        {kind}) printf '%s\\n' {' '.join(_sh_quote(v) for v in values)} ;;")
    lines += ["    esac", "}", ""]
    return "\n".join(lines)


# --- bash ---------------------------------------------------------------------------------------

_BASH_MAIN = r'''
# _easyimg_reply KIND WORD: fill COMPREPLY with the values of KIND that start with WORD.
_easyimg_reply() {
    local IFS=$'\n' words
    case "$1" in
        file)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$2"))
            return ;;
        profile)
            local prog="${_easyimg_prog:-easyimg}"
            words=$("${prog/#\~/$HOME}" completions --list-profiles 2>/dev/null) ;;
        "") return ;;
        *) words=$(_easyimg_words "$1") ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$2"))
}

_easyimg() {
    local cur="${COMP_WORDS[COMP_CWORD]}" cmdpath="" word kind opt="" prefix="" i=1
    local _easyimg_prog="${COMP_WORDS[0]}"
    local -a args=()
    COMPREPLY=()
    # Walk the words before the cursor: subcommands, options (skipping their values), arguments.
    while ((i < COMP_CWORD)); do
        word="${COMP_WORDS[i]}"
        if [[ "$word" == -* ]]; then
            if [[ "$word" != *=* ]] && _easyimg_option_kind "$cmdpath" "$word" >/dev/null; then
                if [[ "${COMP_WORDS[i+1]}" == "=" ]]; then ((i += 2)); else ((i += 1)); fi
            fi
        elif ((${#args[@]} == 0)) && _easyimg_is_child "$cmdpath" "$word"; then
            cmdpath="${cmdpath:+$cmdpath }$word"
        else
            args+=("$word")
        fi
        ((i += 1))
    done

    # The value of an option: `-m VALUE`, `--model VALUE`, `--model=VALUE`.
    if [[ "$cur" == "=" && "${COMP_WORDS[COMP_CWORD-1]}" == --* ]]; then
        opt="${COMP_WORDS[COMP_CWORD-1]}"
        cur=""
    elif ((COMP_CWORD > 2)) && [[ "${COMP_WORDS[COMP_CWORD-1]}" == "=" ]]; then
        opt="${COMP_WORDS[COMP_CWORD-2]}"
    elif [[ "$cur" == --*=* ]]; then
        opt="${cur%%=*}"
        prefix="$opt="
        cur="${cur#*=}"
    elif ((COMP_CWORD > 1)) && [[ "${COMP_WORDS[COMP_CWORD-1]}" == -* ]]; then
        opt="${COMP_WORDS[COMP_CWORD-1]}"
    fi
    if [[ -n "$opt" ]] && kind=$(_easyimg_option_kind "$cmdpath" "$opt"); then
        _easyimg_reply "$kind" "$cur"
        if [[ -n "$prefix" ]]; then
            COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
        fi
        return 0
    fi

    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$(_easyimg_options "$cmdpath")" -- "$cur"))
        return 0
    fi
    if ((${#args[@]} == 0)) && [[ -n "$(_easyimg_subcommands "$cmdpath")" ]]; then
        COMPREPLY=($(compgen -W "$(_easyimg_subcommands "$cmdpath")" -- "$cur"))
        return 0
    fi
    kind=$(_easyimg_arg_kind "$cmdpath" "${#args[@]}")
    if [[ "$kind" == config_value ]]; then
        kind=$(_easyimg_config_value_kind "${args[0]}")
    fi
    _easyimg_reply "$kind" "$cur"
    return 0
}

complete -F _easyimg easyimg
'''


def bash_script(tree: list[Command]) -> str:
    tree, words = _prepare(tree)
    head = (
        f"# bash completion for easyimg; {GENERATED}\n"
        "#\n"
        "# Install: easyimg completions bash > ~/.local/share/bash-completion/completions/easyimg\n"
        "# (needs the bash-completion package), or add to ~/.bashrc:\n"
        "#   source <(easyimg completions bash)\n\n"
    )
    return head + _sh_functions(tree, words) + _BASH_MAIN.lstrip("\n")


# --- zsh ----------------------------------------------------------------------------------------

_ZSH_MAIN = r'''
# _easyimg_reply KIND: offer the values of KIND.
_easyimg_reply() {
    local -a vals
    case "$1" in
        file) _files; return ;;
        profile)
            local prog="${(Q)words[1]}"
            vals=(${(f)"$("${prog/#\~/$HOME}" completions --list-profiles 2>/dev/null)"}) ;;
        "") _message 'value'; return ;;
        *) vals=(${(f)"$(_easyimg_words "$1")"}) ;;
    esac
    compadd -a vals
}

_easyimg() {
    local cur="${words[CURRENT]}" cmdpath="" word kind opt="" i=2
    local -a args specs
    while (( i < CURRENT )); do
        word="${words[i]}"
        if [[ "$word" == -* ]]; then
            if [[ "$word" != *=* ]] && _easyimg_option_kind "$cmdpath" "$word" >/dev/null; then
                (( i += 1 ))
            fi
        elif (( ${#args} == 0 )) && _easyimg_is_child "$cmdpath" "$word"; then
            cmdpath="${cmdpath:+$cmdpath }$word"
        else
            args+=("${(Q)word}")
        fi
        (( i += 1 ))
    done

    if [[ "$cur" == --*=* ]]; then
        opt="${cur%%=*}"
        compset -P '*='
    elif (( CURRENT > 2 )) && [[ "${words[CURRENT-1]}" == -* ]]; then
        opt="${words[CURRENT-1]}"
    fi
    if [[ -n "$opt" ]] && kind=$(_easyimg_option_kind "$cmdpath" "$opt"); then
        _easyimg_reply "$kind"
        return
    fi

    if [[ "$cur" == -* ]]; then
        specs=(${(f)"$(_easyimg_option_specs "$cmdpath")"})
        _describe -t options 'option' specs
        return
    fi
    if (( ${#args} == 0 )) && [[ -n "$(_easyimg_subcommands "$cmdpath")" ]]; then
        specs=(${(f)"$(_easyimg_subcommand_specs "$cmdpath")"})
        _describe -t commands 'command' specs
        return
    fi
    kind=$(_easyimg_arg_kind "$cmdpath" "${#args}")
    if [[ "$kind" == config_value ]]; then
        kind=$(_easyimg_config_value_kind "${args[1]}")
    fi
    _easyimg_reply "$kind"
}

if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then
    _easyimg "$@"
else
    compdef _easyimg easyimg
fi
'''


def _zsh_spec(name: str, help_text: str) -> str:
    return _sh_quote(f"{name.replace(':', chr(92) + ':')}:{_one_line(help_text)}")


def zsh_script(tree: list[Command]) -> str:
    tree, words = _prepare(tree)
    lines = [
        "#compdef easyimg",
        f"# zsh completion for easyimg; {GENERATED}",
        "#",
        "# Install: easyimg completions zsh > ~/.zfunc/_easyimg, with ~/.zfunc in $fpath",
        "# before compinit in ~/.zshrc: fpath=(~/.zfunc $fpath); autoload -Uz compinit; compinit",
        "# or after compinit in ~/.zshrc: source <(easyimg completions zsh)",
        "",
        _sh_functions(tree, words),
        "# _easyimg_subcommand_specs PATH: NAME:DESCRIPTION for each subcommand.",
        "_easyimg_subcommand_specs() {",
        '    case "$1" in',
    ]
    by_path = {c.path: c for c in tree}
    for c in tree:
        if not c.subcommands:
            continue
        specs = [_zsh_spec(s, by_path[(*c.path, s)].short_help) for s in c.subcommands]
        lines.append(f'        "{_path_str(c.path)}") printf \'%s\\n\' {" ".join(specs)} ;;')
    lines += ["    esac", "}", "",
              "# _easyimg_option_specs PATH: OPTION:DESCRIPTION for each option.",
              "_easyimg_option_specs() {", '    case "$1" in']
    for c in tree:
        specs = [_zsh_spec(o, p.help) for p in c.visible_options()
                 for o in (*p.opts, *p.secondary)]
        if specs:
            lines.append(f'        "{_path_str(c.path)}") printf \'%s\\n\' \\')
            lines += [f"            {s} \\" for s in specs[:-1]]
            lines.append(f"            {specs[-1]} ;;")
    lines += ["    esac", "}", ""]
    return "\n".join(lines) + _ZSH_MAIN


# --- fish ---------------------------------------------------------------------------------------

def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_FISH_HELPERS = r'''
# __easyimg_parse: the subcommand path on the first line, then each argument typed so far.
function __easyimg_parse
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmdpath ''
    set -l args
    set -l skip 0
    for token in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $token
            case '--*=*'
                continue
            case '-*'
                if __easyimg_option_kind "$cmdpath" $token >/dev/null
                    set skip 1
                end
                continue
        end
        if test (count $args) -eq 0; and __easyimg_is_child "$cmdpath" $token
            set cmdpath (string trim -- "$cmdpath $token")
        else
            set -a args $token
        end
    end
    printf '%s\n' "$cmdpath" $args
end

# __easyimg_at PATH: completing options of the command at PATH?
function __easyimg_at
    set -l parsed (__easyimg_parse)
    test "$parsed[1]" = "$argv[1]"
end

# __easyimg_sub PATH: completing a subcommand name of the group at PATH?
function __easyimg_sub
    set -l parsed (__easyimg_parse)
    test "$parsed[1]" = "$argv[1]"; and test (count $parsed) -eq 1
end

# __easyimg_arg PATH N: completing argument N (from 0; +N for N and later) of PATH?
function __easyimg_arg
    set -l parsed (__easyimg_parse)
    test "$parsed[1]" = "$argv[1]"; or return 1
    set -l have (math (count $parsed) - 1)
    if string match -q -- '+*' $argv[2]
        test $have -ge (string sub -s 2 -- $argv[2])
    else
        test $have -eq $argv[2]
    end
end

function __easyimg_profiles
    set -l prog (commandline -opc)[1]
    $prog completions --list-profiles 2>/dev/null
end

# `config set KEY VALUE`: values that fit KEY.
function __easyimg_config_values
    set -l parsed (__easyimg_parse)
    set -l kind (__easyimg_config_value_kind $parsed[2])
    test -n "$kind"; and __easyimg_words $kind
end
'''


def _fish_switch(name: str, comment: str, subject: str, cases: list[tuple[list[str], str]],
                 default: str = "") -> list[str]:
    lines = [f"# {comment}", f"function {name}", f"    switch {subject}"]
    for patterns, body in cases:
        lines.append(f"        case {' '.join(_fish_quote(p) for p in patterns)}")
        lines.append(f"            {body}")
    if default:
        lines += ["        case '*'", f"            {default}"]
    lines += ["    end", "end", ""]
    return lines


def fish_script(tree: list[Command]) -> str:
    tree, words = _prepare(tree)
    lines = [
        f"# fish completion for easyimg; {GENERATED}",
        "#",
        "# Install: easyimg completions fish > ~/.config/fish/completions/easyimg.fish",
        "",
    ]
    children = [f"{_path_str(c.path)}/{s}" for c in tree
                for s in (*c.subcommands, *c.hidden_subcommands)]
    lines += _fish_switch("__easyimg_is_child", "__easyimg_is_child PATH WORD",
                          '"$argv[1]/$argv[2]"', [(children, "return 0")] if children else [],
                          "return 1")
    by_kind: dict[str, list[str]] = {}
    for c in tree:
        for p in c.options:
            if p.takes_value:
                by_kind.setdefault(p.kind, []).extend(f"{_path_str(c.path)} {o}" for o in p.opts)
    lines += _fish_switch(
        "__easyimg_option_kind", "__easyimg_option_kind PATH OPTION: the kind of its value",
        '"$argv[1] $argv[2]"',
        [(pats, f"echo {_fish_quote(kind)}") for kind, pats in sorted(by_kind.items())],
        "return 1")
    lines += _fish_switch(
        "__easyimg_config_value_kind", "__easyimg_config_value_kind KEY", "$argv[1]",
        [([key], f"echo {kind}") for key, kind in CONFIG_VALUE_KINDS.items()])
    lines += _fish_switch(
        "__easyimg_words", "__easyimg_words KIND: the fixed words of a kind", "$argv[1]",
        [([kind], "printf '%s\\n' " + " ".join(_fish_quote(v) for v in values))
         for kind, values in words.items()])
    lines.append(_FISH_HELPERS.strip("\n"))
    lines += ["", "complete -c easyimg -f"]

    def values(kind: str) -> str:
        if kind == "file":
            return " -r -F"
        if kind == "profile":
            return " -x -a '(__easyimg_profiles)'"
        if kind == "config_value":
            return " -x -a '(__easyimg_config_values)'"
        if kind in words:
            return f" -x -a {_fish_quote(' '.join(words[kind]))}"
        return " -x"

    by_path = {c.path: c for c in tree}
    for c in tree:
        where = f'"{_path_str(c.path)}"'
        lines += ["", f"# {c.name}"]
        for s in c.subcommands:
            desc = _fish_quote(_one_line(by_path[(*c.path, s)].short_help))
            lines.append(f"complete -c easyimg -n {_fish_quote('__easyimg_sub ' + where)} "
                         f"-a {s} -d {desc}")
        for p in c.visible_options():
            flags = "".join(f" -l {o[2:]}" if o.startswith("--") else f" -s {o[1:]}"
                            for o in p.opts)
            extra = values(p.kind) if p.takes_value else ""
            lines.append(f"complete -c easyimg -n {_fish_quote('__easyimg_at ' + where)}{flags}"
                         f"{extra} -d {_fish_quote(_one_line(p.help))}")
            for o in p.secondary:
                lines.append(f"complete -c easyimg -n {_fish_quote('__easyimg_at ' + where)}"
                             f" -l {o[2:]} -d {_fish_quote(_one_line(p.help))}")
        fixed, tail = _arg_kinds(c)
        positions = [(str(i), k) for i, k in enumerate(fixed)]
        if tail is not None:
            positions.append((f"+{len(fixed)}", tail))
        for index, kind in positions:
            if not kind:
                continue
            cond = _fish_quote(f"__easyimg_arg {where} {index}")
            lines.append(f"complete -c easyimg -n {cond}{values(kind).replace(' -r', '')}")
    return "\n".join(lines) + "\n"


GENERATORS: dict[str, Callable[[list[Command]], str]] = {
    "bash": bash_script, "zsh": zsh_script, "fish": fish_script,
}
FILES = {"bash": "easyimg.bash", "zsh": "_easyimg", "fish": "easyimg.fish"}


def script(shell: str, tree: list[Command]) -> str:
    """The completion script for `shell`."""
    try:
        return GENERATORS[shell](tree)
    except KeyError:
        raise UsageError(f"no completion for shell {shell!r}; choose one of: "
                         f"{', '.join(SHELLS)}") from None

