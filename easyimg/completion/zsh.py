"""The zsh completion script, rendered from a completion description."""

from __future__ import annotations

from .sh import GENERATED, one_line, path_str, printf_words, sh_case, sh_functions, sh_quote
from .spec import CompletionSpec

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
    return sh_quote(f"{name.replace(':', chr(92) + ':')}:{one_line(help_text)}")


def zsh_script(spec: CompletionSpec) -> str:
    lines = [
        "#compdef easyimg",
        f"# zsh completion for easyimg; {GENERATED}",
        "#",
        "# Install: easyimg completions zsh > ~/.zfunc/_easyimg, with ~/.zfunc in $fpath",
        "# before compinit in ~/.zshrc: fpath=(~/.zfunc $fpath); autoload -Uz compinit; compinit",
        "# or after compinit in ~/.zshrc: source <(easyimg completions zsh)",
        "",
        *sh_functions(spec),
    ]
    sub_cases = []
    for c in spec.commands:
        if c.subcommands:
            specs = [_zsh_spec(s, h) for s, h in spec.subcommand_helps(c)]
            sub_cases.append(f'"{path_str(c.path)}") {printf_words(specs)} ;;')
    lines += sh_case(
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
            option_cases.append(f"\"{path_str(c.path)}\") printf '%s\\n' \\")
            option_cases += [f"    {s} \\" for s in specs[:-1]]
            option_cases.append(f"    {specs[-1]} ;;")
    lines += sh_case(
        "_easyimg_option_specs", "PATH: OPTION:DESCRIPTION for each option.", '"$1"', option_cases
    )
    return "\n".join(lines) + _ZSH_MAIN


# --- fish ---------------------------------------------------------------------------------------


render = zsh_script
