"""The fish completion script, rendered from a completion description."""

from __future__ import annotations

from collections.abc import Mapping

from .sh import GENERATED, one_line, path_str, printf_words
from .spec import CompletionSpec


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
    children = [f"{path_str(path)}/{s}" for path, s in spec.children()]
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
            ([f"{path_str(path)} {o}" for path, o in opts], f"echo {_fish_quote(kind)}")
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
        [([kind], printf_words(_fish_quote(v) for v in values)) for kind, values in words.items()],
    )
    lines.append(_FISH_HELPERS.strip("\n"))
    lines += ["", "complete -c easyimg -f"]

    for c in spec.commands:
        where = f'"{path_str(c.path)}"'
        lines += ["", f"# {c.name}"]
        for s, short_help in spec.subcommand_helps(c):
            lines.append(
                _fish_complete(
                    f"__easyimg_sub {where}", f" -a {s} -d {_fish_quote(one_line(short_help))}"
                )
            )
        for p in c.visible_options():
            flags = "".join(
                f" -l {o[2:]}" if o.startswith("--") else f" -s {o[1:]}" for o in p.opts
            )
            extra = _fish_values(p.kind, words) if p.takes_value else ""
            desc = f" -d {_fish_quote(one_line(p.help))}"
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


render = fish_script
