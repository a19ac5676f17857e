"""The bash completion script, rendered from a completion description."""

from __future__ import annotations

from .sh import GENERATED, sh_functions
from .spec import CompletionSpec

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
    return head + "\n".join(sh_functions(spec)) + _BASH_MAIN.lstrip("\n")


# --- zsh ----------------------------------------------------------------------------------------


render = bash_script
