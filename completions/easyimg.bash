# bash completion for easyimg; generated from the easyimg CLI by scripts/gen_docs.py; do not edit
#
# Install: easyimg completions bash > ~/.local/share/bash-completion/completions/easyimg
# (needs the bash-completion package), or add to ~/.bashrc:
#   source <(easyimg completions bash)

# _easyimg_is_child PATH WORD: is WORD a subcommand of the command at PATH?
_easyimg_is_child() {
    case "$1/$2" in
        "/gen"|"/edit"|"/vary"|"/batch"|"/models"|"/usage"|"/rerun"|"/info"|"/login"|"/logout"|"/serve"|"/completions"|"/gallery"|"/batches"|"/history"|"/auth"|"/config"|"/generate"|"batches/list"|"batches/show"|"batches/fetch"|"batches/cancel"|"history/show"|"auth/status"|"config/path"|"config/show"|"config/get"|"config/set"|"config/unset") return 0 ;;
    esac
    return 1
}

# _easyimg_subcommands PATH: the visible subcommands of PATH.
_easyimg_subcommands() {
    case "$1" in
        "") printf '%s\n' gen edit vary batch models usage rerun info login logout serve completions gallery batches history auth config ;;
        "batches") printf '%s\n' list show fetch cancel ;;
        "history") printf '%s\n' show ;;
        "auth") printf '%s\n' status ;;
        "config") printf '%s\n' path show get set unset ;;
    esac
}

# _easyimg_options PATH: the options of PATH.
_easyimg_options() {
    case "$1" in
        "") printf '%s\n' --version --debug -h --help ;;
        "gen") printf '%s\n' -m --model -n --count -s --size -q --quality --background --moderation --style -f --format --compression --response-format --stream --partial-images --save-partials --frames --frame-ms --complexity --safety-id --user -x --extra --no-validate --api --resolution -o --out --name --overwrite --no-metadata --sidecar --json --quiet --dry-run --open --gallery --preview --base-url --api-key --profile --timeout --retries --retry-timeouts --offline --max-cost -h --help ;;
        "generate") printf '%s\n' -m --model -n --count -s --size -q --quality --background --moderation --style -f --format --compression --response-format --stream --partial-images --save-partials --frames --frame-ms --complexity --safety-id --user -x --extra --no-validate --api --resolution -o --out --name --overwrite --no-metadata --sidecar --json --quiet --dry-run --open --gallery --preview --base-url --api-key --profile --timeout --retries --retry-timeouts --offline --max-cost -h --help ;;
        "edit") printf '%s\n' -p --prompt --prompt-file --mask --input-fidelity -m --model -n --count -s --size -q --quality --background -f --format --compression --response-format --stream --partial-images --save-partials --frames --frame-ms --complexity --safety-id --user -x --extra --no-validate --api --resolution -o --out --name --overwrite --no-metadata --sidecar --json --quiet --dry-run --open --preview --base-url --api-key --profile --timeout --retries --retry-timeouts --offline -h --help ;;
        "vary") printf '%s\n' -m --model -n --count -s --size --response-format --user -x --extra --no-validate -o --out --name --overwrite --no-metadata --sidecar --json --quiet --dry-run --open --preview --base-url --api-key --profile --timeout --retries --retry-timeouts --offline -h --help ;;
        "batch") printf '%s\n' -j --jobs -m --model -n --count -s --size -q --quality --background --moderation --style -f --format --compression --response-format --frames --frame-ms --complexity --safety-id --user -x --extra --no-validate --api --resolution -o --out --name --overwrite --no-metadata --sidecar --no-resume --json --quiet --gallery --open --dry-run --remote --wait --batch-api --accept-batch-privacy --max-batch-lines --base-url --api-key --profile --timeout --retries --retry-timeouts --offline --head --shard --max-cost -y --yes -h --help ;;
        "models") printf '%s\n' --all --json --base-url --api-key --profile --timeout --retries --offline -h --help ;;
        "usage") printf '%s\n' --since --by --all --json -h --help ;;
        "rerun") printf '%s\n' -p --prompt -m --model -n --count -s --size -q --quality --background --moderation --style -f --format --compression --response-format --user -x --extra --no-validate -o --out --name --overwrite --no-metadata --sidecar --json --quiet --dry-run --open --preview --base-url --api-key --profile --timeout --retries --retry-timeouts --offline --max-cost -h --help ;;
        "info") printf '%s\n' --json -h --help ;;
        "login") printf '%s\n' --profile --base-url --no-verify -h --help ;;
        "logout") printf '%s\n' --profile -h --help ;;
        "serve") printf '%s\n' --host --port -p --latency --api-key --chat-style --tasks --quiet -h --help ;;
        "completions") printf '%s\n' -h --help ;;
        "gallery") printf '%s\n' --open -o --out --json --quiet -h --help ;;
        "batches") printf '%s\n' -h --help ;;
        "batches list") printf '%s\n' --limit --json --base-url --api-key --profile --timeout --retries --batch-api -h --help ;;
        "batches show") printf '%s\n' --json --base-url --api-key --profile --timeout --retries --batch-api -h --help ;;
        "batches fetch") printf '%s\n' -o --out --wait --overwrite --no-metadata --sidecar --json --quiet --gallery --open --base-url --api-key --profile --timeout --retries --batch-api -h --help ;;
        "batches cancel") printf '%s\n' --json --base-url --api-key --profile --timeout --retries --batch-api -h --help ;;
        "history") printf '%s\n' -n --limit --grep -m --model --since --status --json -h --help ;;
        "history show") printf '%s\n' --json -h --help ;;
        "auth") printf '%s\n' -h --help ;;
        "auth status") printf '%s\n' --json -h --help ;;
        "config") printf '%s\n' -h --help ;;
        "config path") printf '%s\n' -h --help ;;
        "config show") printf '%s\n' --profile --json -h --help ;;
        "config get") printf '%s\n' --profile -h --help ;;
        "config set") printf '%s\n' --profile -h --help ;;
        "config unset") printf '%s\n' --profile -h --help ;;
    esac
}

# _easyimg_option_kind PATH OPTION: how the option's value is completed
# (empty: free text); fails for flags and unknown options.
_easyimg_option_kind() {
    case "$1 $2" in
        "gen -n"|"gen --count"|"gen --compression"|"gen --partial-images"|"gen --frames"|"gen --frame-ms"|"gen --safety-id"|"gen --user"|"gen -x"|"gen --extra"|"gen --name"|"gen --base-url"|"gen --api-key"|"gen --timeout"|"gen --retries"|"gen --max-cost"|"generate -n"|"generate --count"|"generate --compression"|"generate --partial-images"|"generate --frames"|"generate --frame-ms"|"generate --safety-id"|"generate --user"|"generate -x"|"generate --extra"|"generate --name"|"generate --base-url"|"generate --api-key"|"generate --timeout"|"generate --retries"|"generate --max-cost"|"edit -p"|"edit --prompt"|"edit -n"|"edit --count"|"edit --compression"|"edit --partial-images"|"edit --frames"|"edit --frame-ms"|"edit --safety-id"|"edit --user"|"edit -x"|"edit --extra"|"edit --name"|"edit --base-url"|"edit --api-key"|"edit --timeout"|"edit --retries"|"vary -n"|"vary --count"|"vary --user"|"vary -x"|"vary --extra"|"vary --name"|"vary --base-url"|"vary --api-key"|"vary --timeout"|"vary --retries"|"batch -j"|"batch --jobs"|"batch -n"|"batch --count"|"batch --compression"|"batch --frames"|"batch --frame-ms"|"batch --safety-id"|"batch --user"|"batch -x"|"batch --extra"|"batch --name"|"batch --max-batch-lines"|"batch --base-url"|"batch --api-key"|"batch --timeout"|"batch --retries"|"batch --head"|"batch --shard"|"batch --max-cost"|"models --base-url"|"models --api-key"|"models --timeout"|"models --retries"|"usage --since"|"rerun -p"|"rerun --prompt"|"rerun -n"|"rerun --count"|"rerun --compression"|"rerun --user"|"rerun -x"|"rerun --extra"|"rerun --name"|"rerun --base-url"|"rerun --api-key"|"rerun --timeout"|"rerun --retries"|"rerun --max-cost"|"login --base-url"|"serve --host"|"serve --port"|"serve -p"|"serve --latency"|"serve --api-key"|"batches list --limit"|"batches list --base-url"|"batches list --api-key"|"batches list --timeout"|"batches list --retries"|"batches show --base-url"|"batches show --api-key"|"batches show --timeout"|"batches show --retries"|"batches fetch --base-url"|"batches fetch --api-key"|"batches fetch --timeout"|"batches fetch --retries"|"batches cancel --base-url"|"batches cancel --api-key"|"batches cancel --timeout"|"batches cancel --retries"|"history -n"|"history --limit"|"history --grep"|"history --since")
            printf '%s\n' '' ;;
        "gen --api"|"generate --api"|"edit --api"|"batch --api")
            printf '%s\n' 'api' ;;
        "gen --background"|"generate --background"|"edit --background"|"batch --background"|"rerun --background")
            printf '%s\n' 'background' ;;
        "batch --batch-api"|"batches list --batch-api"|"batches show --batch-api"|"batches fetch --batch-api"|"batches cancel --batch-api")
            printf '%s\n' 'batch_api' ;;
        "serve --chat-style")
            printf '%s\n' 'chat_style' ;;
        "usage --by")
            printf '%s\n' 'choice_1' ;;
        "history --status")
            printf '%s\n' 'choice_2' ;;
        "gen --complexity"|"generate --complexity"|"edit --complexity"|"batch --complexity")
            printf '%s\n' 'complexity' ;;
        "gen -o"|"gen --out"|"generate -o"|"generate --out"|"edit --prompt-file"|"edit --mask"|"edit -o"|"edit --out"|"vary -o"|"vary --out"|"batch -o"|"batch --out"|"rerun -o"|"rerun --out"|"gallery -o"|"gallery --out"|"batches fetch -o"|"batches fetch --out")
            printf '%s\n' 'file' ;;
        "gen -f"|"gen --format"|"generate -f"|"generate --format"|"edit -f"|"edit --format"|"batch -f"|"batch --format"|"rerun -f"|"rerun --format")
            printf '%s\n' 'format' ;;
        "edit --input-fidelity")
            printf '%s\n' 'input_fidelity' ;;
        "gen -m"|"gen --model"|"generate -m"|"generate --model"|"edit -m"|"edit --model"|"vary -m"|"vary --model"|"batch -m"|"batch --model"|"rerun -m"|"rerun --model"|"history -m"|"history --model")
            printf '%s\n' 'model' ;;
        "gen --moderation"|"generate --moderation"|"batch --moderation"|"rerun --moderation")
            printf '%s\n' 'moderation' ;;
        "gen --profile"|"generate --profile"|"edit --profile"|"vary --profile"|"batch --profile"|"models --profile"|"rerun --profile"|"login --profile"|"logout --profile"|"batches list --profile"|"batches show --profile"|"batches fetch --profile"|"batches cancel --profile"|"config show --profile"|"config get --profile"|"config set --profile"|"config unset --profile")
            printf '%s\n' 'profile' ;;
        "gen -q"|"gen --quality"|"generate -q"|"generate --quality"|"edit -q"|"edit --quality"|"batch -q"|"batch --quality"|"rerun -q"|"rerun --quality")
            printf '%s\n' 'quality' ;;
        "gen --resolution"|"generate --resolution"|"edit --resolution"|"batch --resolution")
            printf '%s\n' 'resolution' ;;
        "gen --response-format"|"generate --response-format"|"edit --response-format"|"vary --response-format"|"batch --response-format"|"rerun --response-format")
            printf '%s\n' 'response_format' ;;
        "gen -s"|"gen --size"|"generate -s"|"generate --size"|"edit -s"|"edit --size"|"vary -s"|"vary --size"|"batch -s"|"batch --size"|"rerun -s"|"rerun --size")
            printf '%s\n' 'size' ;;
        "gen --style"|"generate --style"|"batch --style"|"rerun --style")
            printf '%s\n' 'style' ;;
        *) return 1 ;;
    esac
}

# _easyimg_arg_kind PATH INDEX: how the INDEX-th argument (from 0) is completed.
_easyimg_arg_kind() {
    case "$1" in
        "edit") case "$2" in *) printf '%s\n' file ;; esac ;;
        "vary") case "$2" in 0) printf '%s\n' file ;; esac ;;
        "batch") case "$2" in 0) printf '%s\n' file ;; esac ;;
        "info") case "$2" in *) printf '%s\n' file ;; esac ;;
        "completions") case "$2" in 0) printf '%s\n' shell ;; esac ;;
        "config set") case "$2" in 0) printf '%s\n' config_key ;; 1) printf '%s\n' config_value ;; esac ;;
        "config unset") case "$2" in 0) printf '%s\n' config_key ;; esac ;;
    esac
}

# _easyimg_config_value_kind KEY: how `config set KEY VALUE` completes VALUE.
_easyimg_config_value_kind() {
    case "$1" in
        model) printf '%s\n' model ;;
        size) printf '%s\n' size ;;
        quality) printf '%s\n' quality ;;
        format) printf '%s\n' format ;;
        history) printf '%s\n' bool ;;
        out_dir) printf '%s\n' file ;;
        api) printf '%s\n' api ;;
        chat_style) printf '%s\n' chat_style ;;
        batch_api) printf '%s\n' batch_api ;;
    esac
}

# _easyimg_words KIND: the fixed words of a kind (from the model rule table).
_easyimg_words() {
    case "$1" in
        api) printf '%s\n' 'images' 'chat' ;;
        background) printf '%s\n' 'auto' 'transparent' 'opaque' ;;
        batch_api) printf '%s\n' 'openai' 'easyrouter' ;;
        bool) printf '%s\n' 'true' 'false' ;;
        chat_style) printf '%s\n' 'new-api' 'openrouter' ;;
        choice_1) printf '%s\n' 'model' 'day' 'host' ;;
        choice_2) printf '%s\n' 'ok' 'partial' 'error' ;;
        complexity) printf '%s\n' 'low' 'medium' 'high' ;;
        config_key) printf '%s\n' 'base_url' 'api_key' 'api_key_host' 'model' 'size' 'quality' 'format' 'out_dir' 'name' 'timeout' 'retries' 'jobs' 'history' 'max_image_mb' 'max_retry_wait' 'api' 'chat_style' 'task_poll' 'batch_api' 'confirm_over' ;;
        format) printf '%s\n' 'png' 'jpeg' 'webp' 'gif' 'svg' ;;
        input_fidelity) printf '%s\n' 'high' 'low' ;;
        model) printf '%s\n' 'gpt-image-1' 'gpt-image-1-mini' 'gpt-image-1.5' 'chatgpt-image-latest' 'gpt-image-2' 'gpt-image-2.5-sunburst' 'gpt-image-2.5-flare' 'gpt-image-2.6-sunburst' 'gpt-image-2.6-flare' 'dall-e-2' 'dall-e-3' ;;
        moderation) printf '%s\n' 'auto' 'low' ;;
        quality) printf '%s\n' 'low' 'medium' 'high' 'auto' 'xhigh' 'max' 'standard' 'hd' ;;
        resolution) printf '%s\n' '0.5K' '1K' '2K' '4K' ;;
        response_format) printf '%s\n' 'url' 'b64_json' ;;
        shell) printf '%s\n' 'bash' 'zsh' 'fish' ;;
        size) printf '%s\n' '256x256' '512x512' '1024x1024' '1024x1536' '1536x1024' '1024x1792' '1792x1024' 'auto' 'square' 'landscape' 'portrait' '2048x2048' '2048x1152' '1152x2048' '3840x2160' '2160x3840' ;;
        style) printf '%s\n' 'vivid' 'natural' ;;
    esac
}
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
