"""Bash, zsh and fish completion scripts rendered from a completion description."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import CompletionSpec

GENERATED = "generated from the easyimg CLI by scripts/gen_docs.py; do not edit"


def _path_str(path: tuple[str, ...]) -> str:
    return " ".join(path)


def _one_line(text: str, limit: int = 72) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _printf(words: Iterable[str]) -> str:
    # The same in all three shells: one word a line.
    return "printf '%s\\n' " + " ".join(words)


# --- bash and zsh -------------------------------------------------------------------------------


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _sh_case(name: str, usage: str, subject: str, cases: list[str], after: str = "") -> list[str]:
    """A function that is one `case` over `subject`; `cases` are lines inside it."""
    lines = [
        *(f"# {c}" for c in f"{name} {usage}".split("\n")),
        f"{name}() {{",
        f"    case {subject} in",
    ]
    lines += [*(f"        {c}" for c in cases), "    esac"]
    if after:
        lines.append(f"    {after}")
    return [*lines, "}", ""]


def _sh_functions(spec: CompletionSpec) -> list[str]:
    """Helper functions written in the subset of shell syntax bash and zsh share."""
    tree = spec.commands
    pairs = [f'"{_path_str(path)}/{s}"' for path, s in spec.children()]
    lines = _sh_case(
        "_easyimg_is_child",
        "PATH WORD: is WORD a subcommand of the command at PATH?",
        '"$1/$2"',
        [f"{'|'.join(pairs)}) return 0 ;;"] if pairs else [],
        "return 1",
    )
    lines += _sh_case(
        "_easyimg_subcommands",
        "PATH: the visible subcommands of PATH.",
        '"$1"',
        [f'"{_path_str(c.path)}") {_printf(c.subcommands)} ;;' for c in tree if c.subcommands],
    )
    options = {
        c.path: [o for p in c.visible_options() for o in (*p.opts, *p.secondary)] for c in tree
    }
    lines += _sh_case(
        "_easyimg_options",
        "PATH: the options of PATH.",
        '"$1"',
        [f'"{_path_str(path)}") {_printf(names)} ;;' for path, names in options.items() if names],
    )

    kind_cases = []
    for kind, opts in spec.value_options().items():
        kind_cases.append("|".join(f'"{_path_str(path)} {o}"' for path, o in opts) + ")")
        kind_cases.append(f"    {_printf([_sh_quote(kind)])} ;;")
    lines += _sh_case(
        "_easyimg_option_kind",
        "PATH OPTION: how the option's value is completed\n"
        "(empty: free text); fails for flags and unknown options.",
        '"$1 $2"',
        [*kind_cases, "*) return 1 ;;"],
    )

    arg_cases = []
    for c in tree:
        fixed, tail = c.argument_kinds()
        if not any(fixed) and not tail:
            continue
        cases = [f"{i}) {_printf([k])} ;;" for i, k in enumerate(fixed) if k]
        if tail:
            cases.append(f"*) {_printf([tail])} ;;")
        arg_cases.append(f'"{_path_str(c.path)}") case "$2" in {" ".join(cases)} esac ;;')
    lines += _sh_case(
        "_easyimg_arg_kind",
        "PATH INDEX: how the INDEX-th argument (from 0) is completed.",
        '"$1"',
        arg_cases,
    )

    lines += _sh_case(
        "_easyimg_config_value_kind",
        "KEY: how `config set KEY VALUE` completes VALUE.",
        '"$1"',
        [f"{key}) {_printf([kind])} ;;" for key, kind in spec.config_value_kinds.items()],
    )
    lines += _sh_case(
        "_easyimg_words",
        "KIND: the fixed words of a kind (from the model rule table).",
        '"$1"',
        [
            f"{kind}) {_printf(_sh_quote(v) for v in values)} ;;"
            for kind, values in spec.words.items()
        ],
    )
    return lines


# --- bash ---------------------------------------------------------------------------------------

_BASH_MAIN = r"""
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
"""


def bash_script(spec: CompletionSpec) -> str:
    head = (
        f"# bash completion for easyimg; {GENERATED}\n"
        "#\n"
        "# Install: easyimg completions bash > ~/.local/share/bash-completion/completions/easyimg\n"
        "# (needs the bash-completion package), or add to ~/.bashrc:\n"
        "#   source <(easyimg completions bash)\n\n"
    )
    return head + "\n".join(_sh_functions(spec)) + _BASH_MAIN.lstrip("\n")


# --- zsh ----------------------------------------------------------------------------------------

_ZSH_MAIN = r"""
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
"""


def _zsh_spec(name: str, help_text: str) -> str:
    return _sh_quote(f"{name.replace(':', chr(92) + ':')}:{_one_line(help_text)}")


def zsh_script(spec: CompletionSpec) -> str:
    lines = [
        "#compdef easyimg",
        f"# zsh completion for easyimg; {GENERATED}",
        "#",
        "# Install: easyimg completions zsh > ~/.zfunc/_easyimg, with ~/.zfunc in $fpath",
        "# before compinit in ~/.zshrc: fpath=(~/.zfunc $fpath); autoload -Uz compinit; compinit",
        "# or after compinit in ~/.zshrc: source <(easyimg completions zsh)",
        "",
        *_sh_functions(spec),
    ]
    sub_cases = []
    for c in spec.commands:
        if c.subcommands:
            specs = [_zsh_spec(s, h) for s, h in spec.subcommand_helps(c)]
            sub_cases.append(f'"{_path_str(c.path)}") {_printf(specs)} ;;')
    lines += _sh_case(
        "_easyimg_subcommand_specs",
        "PATH: NAME:DESCRIPTION for each subcommand.",
        '"$1"',
        sub_cases,
    )
    option_cases = []
    for c in spec.commands:
        specs = [_zsh_spec(o, p.help) for p in c.visible_options() for o in (*p.opts, *p.secondary)]
        if specs:
            # One spec a line: these lists are long.
            option_cases.append(f"\"{_path_str(c.path)}\") printf '%s\\n' \\")
            option_cases += [f"    {s} \\" for s in specs[:-1]]
            option_cases.append(f"    {specs[-1]} ;;")
    lines += _sh_case(
        "_easyimg_option_specs", "PATH: OPTION:DESCRIPTION for each option.", '"$1"', option_cases
    )
    return "\n".join(lines) + _ZSH_MAIN


# --- fish ---------------------------------------------------------------------------------------


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_FISH_HELPERS = r"""
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
"""


def _fish_switch(
    name: str, usage: str, subject: str, cases: list[tuple[list[str], str]], default: str = ""
) -> list[str]:
    """A function that is one `switch` over `subject`: (patterns, body) cases, then `default`."""
    lines = [f"# {name} {usage}", f"function {name}", f"    switch {subject}"]
    for patterns, body in cases:
        lines.append(f"        case {' '.join(_fish_quote(p) for p in patterns)}")
        lines.append(f"            {body}")
    if default:
        lines += ["        case '*'", f"            {default}"]
    lines += ["    end", "end", ""]
    return lines


def _fish_values(kind: str, words: Mapping[str, tuple[str, ...]]) -> str:
    """The `complete` flags that offer the values of `kind`."""
    if kind == "file":
        return " -r -F"
    if kind == "profile":
        return " -x -a '(__easyimg_profiles)'"
    if kind == "config_value":
        return " -x -a '(__easyimg_config_values)'"
    if kind in words:
        return f" -x -a {_fish_quote(' '.join(words[kind]))}"
    return " -x"


def _fish_complete(condition: str, flags: str) -> str:
    return f"complete -c easyimg -n {_fish_quote(condition)}{flags}"


def fish_script(spec: CompletionSpec) -> str:
    words = spec.words
    lines = [
        f"# fish completion for easyimg; {GENERATED}",
        "#",
        "# Install: easyimg completions fish > ~/.config/fish/completions/easyimg.fish",
        "",
    ]
    children = [f"{_path_str(path)}/{s}" for path, s in spec.children()]
    lines += _fish_switch(
        "__easyimg_is_child",
        "PATH WORD",
        '"$argv[1]/$argv[2]"',
        [(children, "return 0")] if children else [],
        "return 1",
    )
    lines += _fish_switch(
        "__easyimg_option_kind",
        "PATH OPTION: the kind of its value",
        '"$argv[1] $argv[2]"',
        [
            ([f"{_path_str(path)} {o}" for path, o in opts], f"echo {_fish_quote(kind)}")
            for kind, opts in spec.value_options().items()
        ],
        "return 1",
    )
    lines += _fish_switch(
        "__easyimg_config_value_kind",
        "KEY",
        "$argv[1]",
        [([key], f"echo {kind}") for key, kind in spec.config_value_kinds.items()],
    )
    lines += _fish_switch(
        "__easyimg_words",
        "KIND: the fixed words of a kind",
        "$argv[1]",
        [([kind], _printf(_fish_quote(v) for v in values)) for kind, values in words.items()],
    )
    lines.append(_FISH_HELPERS.strip("\n"))
    lines += ["", "complete -c easyimg -f"]

    for c in spec.commands:
        where = f'"{_path_str(c.path)}"'
        lines += ["", f"# {c.name}"]
        for s, short_help in spec.subcommand_helps(c):
            lines.append(
                _fish_complete(
                    f"__easyimg_sub {where}", f" -a {s} -d {_fish_quote(_one_line(short_help))}"
                )
            )
        for p in c.visible_options():
            flags = "".join(
                f" -l {o[2:]}" if o.startswith("--") else f" -s {o[1:]}" for o in p.opts
            )
            extra = _fish_values(p.kind, words) if p.takes_value else ""
            desc = f" -d {_fish_quote(_one_line(p.help))}"
            lines.append(_fish_complete(f"__easyimg_at {where}", f"{flags}{extra}{desc}"))
            lines += [
                _fish_complete(f"__easyimg_at {where}", f" -l {o[2:]}{desc}") for o in p.secondary
            ]
        fixed, tail = c.argument_kinds()
        positions = [(str(i), k) for i, k in enumerate(fixed)]
        if tail is not None:
            positions.append((f"+{len(fixed)}", tail))
        for index, kind in positions:
            if kind:
                # -r says an option needs a value: meaningless for an argument.
                lines.append(
                    _fish_complete(
                        f"__easyimg_arg {where} {index}",
                        _fish_values(kind, words).replace(" -r", ""),
                    )
                )
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[CompletionSpec], str]] = {
    "bash": bash_script,
    "zsh": zsh_script,
    "fish": fish_script,
}
