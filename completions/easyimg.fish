# fish completion for easyimg; generated from the easyimg CLI by scripts/gen_docs.py; do not edit
#
# Install: easyimg completions fish > ~/.config/fish/completions/easyimg.fish

# __easyimg_is_child PATH WORD
function __easyimg_is_child
    switch "$argv[1]/$argv[2]"
        case '/gen' '/edit' '/vary' '/batch' '/models' '/usage' '/rerun' '/info' '/login' '/logout' '/serve' '/completions' '/gallery' '/batches' '/history' '/auth' '/config' '/generate' 'batches/list' 'batches/show' 'batches/fetch' 'batches/cancel' 'history/show' 'auth/status' 'config/path' 'config/show' 'config/get' 'config/set' 'config/unset'
            return 0
        case '*'
            return 1
    end
end

# __easyimg_option_kind PATH OPTION: the kind of its value
function __easyimg_option_kind
    switch "$argv[1] $argv[2]"
        case 'gen -n' 'gen --count' 'gen --compression' 'gen --partial-images' 'gen --frames' 'gen --frame-ms' 'gen --safety-id' 'gen --user' 'gen -x' 'gen --extra' 'gen --name' 'gen --base-url' 'gen --api-key' 'gen --timeout' 'gen --retries' 'gen --max-cost' 'generate -n' 'generate --count' 'generate --compression' 'generate --partial-images' 'generate --frames' 'generate --frame-ms' 'generate --safety-id' 'generate --user' 'generate -x' 'generate --extra' 'generate --name' 'generate --base-url' 'generate --api-key' 'generate --timeout' 'generate --retries' 'generate --max-cost' 'edit -p' 'edit --prompt' 'edit -n' 'edit --count' 'edit --compression' 'edit --partial-images' 'edit --frames' 'edit --frame-ms' 'edit --safety-id' 'edit --user' 'edit -x' 'edit --extra' 'edit --name' 'edit --base-url' 'edit --api-key' 'edit --timeout' 'edit --retries' 'vary -n' 'vary --count' 'vary --user' 'vary -x' 'vary --extra' 'vary --name' 'vary --base-url' 'vary --api-key' 'vary --timeout' 'vary --retries' 'batch -j' 'batch --jobs' 'batch -n' 'batch --count' 'batch --compression' 'batch --frames' 'batch --frame-ms' 'batch --safety-id' 'batch --user' 'batch -x' 'batch --extra' 'batch --name' 'batch --max-batch-lines' 'batch --base-url' 'batch --api-key' 'batch --timeout' 'batch --retries' 'batch --head' 'batch --shard' 'batch --max-cost' 'models --base-url' 'models --api-key' 'models --timeout' 'models --retries' 'usage --since' 'rerun -p' 'rerun --prompt' 'rerun -n' 'rerun --count' 'rerun --compression' 'rerun --user' 'rerun -x' 'rerun --extra' 'rerun --name' 'rerun --base-url' 'rerun --api-key' 'rerun --timeout' 'rerun --retries' 'rerun --max-cost' 'login --base-url' 'serve --host' 'serve --port' 'serve -p' 'serve --latency' 'serve --api-key' 'batches list --limit' 'batches list --base-url' 'batches list --api-key' 'batches list --timeout' 'batches list --retries' 'batches show --base-url' 'batches show --api-key' 'batches show --timeout' 'batches show --retries' 'batches fetch --base-url' 'batches fetch --api-key' 'batches fetch --timeout' 'batches fetch --retries' 'batches cancel --base-url' 'batches cancel --api-key' 'batches cancel --timeout' 'batches cancel --retries' 'history -n' 'history --limit' 'history --grep' 'history --since'
            echo ''
        case 'gen --api' 'generate --api' 'edit --api' 'batch --api'
            echo 'api'
        case 'gen --background' 'generate --background' 'edit --background' 'batch --background' 'rerun --background'
            echo 'background'
        case 'batch --batch-api' 'batches list --batch-api' 'batches show --batch-api' 'batches fetch --batch-api' 'batches cancel --batch-api'
            echo 'batch_api'
        case 'serve --chat-style'
            echo 'chat_style'
        case 'usage --by'
            echo 'choice_1'
        case 'history --status'
            echo 'choice_2'
        case 'gen --complexity' 'generate --complexity' 'edit --complexity' 'batch --complexity'
            echo 'complexity'
        case 'gen -o' 'gen --out' 'generate -o' 'generate --out' 'edit --prompt-file' 'edit --mask' 'edit -o' 'edit --out' 'vary -o' 'vary --out' 'batch -o' 'batch --out' 'rerun -o' 'rerun --out' 'gallery -o' 'gallery --out' 'batches fetch -o' 'batches fetch --out'
            echo 'file'
        case 'gen -f' 'gen --format' 'generate -f' 'generate --format' 'edit -f' 'edit --format' 'batch -f' 'batch --format' 'rerun -f' 'rerun --format'
            echo 'format'
        case 'edit --input-fidelity'
            echo 'input_fidelity'
        case 'gen -m' 'gen --model' 'generate -m' 'generate --model' 'edit -m' 'edit --model' 'vary -m' 'vary --model' 'batch -m' 'batch --model' 'rerun -m' 'rerun --model' 'history -m' 'history --model'
            echo 'model'
        case 'gen --moderation' 'generate --moderation' 'batch --moderation' 'rerun --moderation'
            echo 'moderation'
        case 'gen --profile' 'generate --profile' 'edit --profile' 'vary --profile' 'batch --profile' 'models --profile' 'rerun --profile' 'login --profile' 'logout --profile' 'batches list --profile' 'batches show --profile' 'batches fetch --profile' 'batches cancel --profile' 'config show --profile' 'config get --profile' 'config set --profile' 'config unset --profile'
            echo 'profile'
        case 'gen -q' 'gen --quality' 'generate -q' 'generate --quality' 'edit -q' 'edit --quality' 'batch -q' 'batch --quality' 'rerun -q' 'rerun --quality'
            echo 'quality'
        case 'gen --resolution' 'generate --resolution' 'edit --resolution' 'batch --resolution'
            echo 'resolution'
        case 'gen --response-format' 'generate --response-format' 'edit --response-format' 'vary --response-format' 'batch --response-format' 'rerun --response-format'
            echo 'response_format'
        case 'gen -s' 'gen --size' 'generate -s' 'generate --size' 'edit -s' 'edit --size' 'vary -s' 'vary --size' 'batch -s' 'batch --size' 'rerun -s' 'rerun --size'
            echo 'size'
        case 'gen --style' 'generate --style' 'batch --style' 'rerun --style'
            echo 'style'
        case '*'
            return 1
    end
end

# __easyimg_config_value_kind KEY
function __easyimg_config_value_kind
    switch $argv[1]
        case 'model'
            echo model
        case 'size'
            echo size
        case 'quality'
            echo quality
        case 'format'
            echo format
        case 'history'
            echo bool
        case 'out_dir'
            echo file
        case 'api'
            echo api
        case 'chat_style'
            echo chat_style
        case 'batch_api'
            echo batch_api
    end
end

# __easyimg_words KIND: the fixed words of a kind
function __easyimg_words
    switch $argv[1]
        case 'api'
            printf '%s\n' 'images' 'chat'
        case 'background'
            printf '%s\n' 'auto' 'transparent' 'opaque'
        case 'batch_api'
            printf '%s\n' 'openai' 'easyrouter'
        case 'bool'
            printf '%s\n' 'true' 'false'
        case 'chat_style'
            printf '%s\n' 'new-api' 'openrouter'
        case 'choice_1'
            printf '%s\n' 'model' 'day' 'host'
        case 'choice_2'
            printf '%s\n' 'ok' 'partial' 'error'
        case 'complexity'
            printf '%s\n' 'low' 'medium' 'high'
        case 'config_key'
            printf '%s\n' 'base_url' 'api_key' 'api_key_host' 'model' 'size' 'quality' 'format' 'out_dir' 'name' 'timeout' 'retries' 'jobs' 'history' 'max_image_mb' 'max_retry_wait' 'api' 'chat_style' 'task_poll' 'batch_api' 'confirm_over'
        case 'format'
            printf '%s\n' 'png' 'jpeg' 'webp' 'gif' 'svg'
        case 'input_fidelity'
            printf '%s\n' 'high' 'low'
        case 'model'
            printf '%s\n' 'gpt-image-1' 'gpt-image-1-mini' 'gpt-image-1.5' 'chatgpt-image-latest' 'gpt-image-2' 'gpt-image-2.5-sunburst' 'gpt-image-2.5-flare' 'gpt-image-2.6-sunburst' 'gpt-image-2.6-flare' 'dall-e-2' 'dall-e-3'
        case 'moderation'
            printf '%s\n' 'auto' 'low'
        case 'quality'
            printf '%s\n' 'low' 'medium' 'high' 'auto' 'xhigh' 'max' 'standard' 'hd'
        case 'resolution'
            printf '%s\n' '0.5K' '1K' '2K' '4K'
        case 'response_format'
            printf '%s\n' 'url' 'b64_json'
        case 'shell'
            printf '%s\n' 'bash' 'zsh' 'fish'
        case 'size'
            printf '%s\n' '256x256' '512x512' '1024x1024' '1024x1536' '1536x1024' '1024x1792' '1792x1024' 'auto' 'square' 'landscape' 'portrait' '2048x2048' '2048x1152' '1152x2048' '3840x2160' '2160x3840'
        case 'style'
            printf '%s\n' 'vivid' 'natural'
    end
end

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

complete -c easyimg -f

# easyimg
complete -c easyimg -n '__easyimg_sub ""' -a gen -d 'Generate images from a prompt.'
complete -c easyimg -n '__easyimg_sub ""' -a edit -d 'Edit or extend images with a prompt.'
complete -c easyimg -n '__easyimg_sub ""' -a vary -d 'Variations of one image (the legacy dall-e-2 endpoint).'
complete -c easyimg -n '__easyimg_sub ""' -a batch -d 'Generate images for every prompt in FILE; generation options are the de…'
complete -c easyimg -n '__easyimg_sub ""' -a models -d 'List the image models the endpoint offers (GET /models), with what easy…'
complete -c easyimg -n '__easyimg_sub ""' -a usage -d 'Token totals and cost per model, day or host from the history file.'
complete -c easyimg -n '__easyimg_sub ""' -a rerun -d 'Send a past request again, as it was but for the options given here.'
complete -c easyimg -n '__easyimg_sub ""' -a info -d 'Show what image files carry: prompt, model, parameters, created, softwa…'
complete -c easyimg -n '__easyimg_sub ""' -a login -d 'Store an API key in the config file (asked for hidden, or read from std…'
complete -c easyimg -n '__easyimg_sub ""' -a logout -d 'Remove the stored API key (of one profile with --profile) from the conf…'
complete -c easyimg -n '__easyimg_sub ""' -a serve -d 'Serve an OpenAI-format image API on this machine that draws placeholder…'
complete -c easyimg -n '__easyimg_sub ""' -a completions -d 'Print the shell completion script for bash, zsh or fish.'
complete -c easyimg -n '__easyimg_sub ""' -a gallery -d 'Write a static page of an output folder: thumbnails, prompts, failures,…'
complete -c easyimg -n '__easyimg_sub ""' -a batches -d 'The provider\'s Batch API: list, show, fetch, cancel.'
complete -c easyimg -n '__easyimg_sub ""' -a history -d 'Show past generations from the history file, newest first, each with it…'
complete -c easyimg -n '__easyimg_sub ""' -a auth -d 'Stored API keys: which profile and host each is for.'
complete -c easyimg -n '__easyimg_sub ""' -a config -d 'Read and change the config file.'
complete -c easyimg -n '__easyimg_at ""' -l version -d 'print the version and exit'
complete -c easyimg -n '__easyimg_at ""' -l debug -d 'show a traceback for unexpected errors'
complete -c easyimg -n '__easyimg_at ""' -s h -l help -d 'Show this message and exit.'

# easyimg gen
complete -c easyimg -n '__easyimg_at "gen"' -s m -l model -x -a 'gpt-image-1 gpt-image-1-mini gpt-image-1.5 chatgpt-image-latest gpt-image-2 gpt-image-2.5-sunburst gpt-image-2.5-flare gpt-image-2.6-sunburst gpt-image-2.6-flare dall-e-2 dall-e-3' -d 'model id [default: config model, else gpt-image-2]'
complete -c easyimg -n '__easyimg_at "gen"' -s n -l count -x -d 'number of images'
complete -c easyimg -n '__easyimg_at "gen"' -s s -l size -x -a '256x256 512x512 1024x1024 1024x1536 1536x1024 1024x1792 1792x1024 auto square landscape portrait 2048x2048 2048x1152 1152x2048 3840x2160 2160x3840' -d 'WxH, auto, square, landscape or portrait'
complete -c easyimg -n '__easyimg_at "gen"' -s q -l quality -x -a 'low medium high auto xhigh max standard hd' -d 'low, medium, high, auto (GPT image); xhigh, max (2.5 and newer); standa…'
complete -c easyimg -n '__easyimg_at "gen"' -l background -x -a 'auto transparent opaque' -d 'auto, transparent or opaque'
complete -c easyimg -n '__easyimg_at "gen"' -l moderation -x -a 'auto low' -d 'auto or low'
complete -c easyimg -n '__easyimg_at "gen"' -l style -x -a 'vivid natural' -d 'vivid or natural (dall-e-3)'
complete -c easyimg -n '__easyimg_at "gen"' -s f -l format -x -a 'png jpeg webp gif svg' -d 'png, jpeg or webp; gif or svg on gpt-image-2.6 (output_format)'
complete -c easyimg -n '__easyimg_at "gen"' -l compression -x -d 'jpeg/webp quality, 0-100'
complete -c easyimg -n '__easyimg_at "gen"' -l response-format -x -a 'url b64_json' -d 'url or b64_json (legacy models and some routers)'
complete -c easyimg -n '__easyimg_at "gen"' -l stream -d 'stream the answer (SSE) with partial images'
complete -c easyimg -n '__easyimg_at "gen"' -l partial-images -x -d 'partial images to stream'
complete -c easyimg -n '__easyimg_at "gen"' -l save-partials -d 'keep streamed partials as NAME.partial-K.EXT'
complete -c easyimg -n '__easyimg_at "gen"' -l frames -x -d 'frames of an animated gif, 2-16 [default: 9] (with -f gif)'
complete -c easyimg -n '__easyimg_at "gen"' -l frame-ms -x -d 'milliseconds a gif frame shows, 20-2000 [default: 200] (with -f gif)'
complete -c easyimg -n '__easyimg_at "gen"' -l complexity -x -a 'low medium high' -d 'low, medium or high: planning spent on the image (gpt-image-2.6)'
complete -c easyimg -n '__easyimg_at "gen"' -l safety-id -x -d 'a stable (hashed) end-user id for abuse monitoring, sent as safety_iden…'
complete -c easyimg -n '__easyimg_at "gen"' -l user -x -d 'deprecated: use --safety-id; end-user id sent as `user`'
complete -c easyimg -n '__easyimg_at "gen"' -s x -l extra -x -d 'extra body field KEY=VALUE (VALUE as JSON if it parses); repeatable'
complete -c easyimg -n '__easyimg_at "gen"' -l no-validate -d 'skip client-side model rules'
complete -c easyimg -n '__easyimg_at "gen"' -l api -x -a 'images chat' -d 'images (/images/*) or chat (/chat/completions) [default: config api, el…'
complete -c easyimg -n '__easyimg_at "gen"' -l resolution -x -a '0.5K 1K 2K 4K' -d '1K, 2K or 4K (chat image models: image_size; -s gives the aspect ratio)'
complete -c easyimg -n '__easyimg_at "gen"' -s o -l out -r -F -d 'output directory; or a file name, whose extension sets the format (.png…'
complete -c easyimg -n '__easyimg_at "gen"' -l name -x -d 'file name template: {date} {time} {slug} {index} {model} {ext}'
complete -c easyimg -n '__easyimg_at "gen"' -l overwrite -d 'replace existing files'
complete -c easyimg -n '__easyimg_at "gen"' -l no-metadata -d 'no PNG text chunks'
complete -c easyimg -n '__easyimg_at "gen"' -l sidecar -d 'also write NAME.json with the request and response'
complete -c easyimg -n '__easyimg_at "gen"' -l json -d 'print one JSON object instead of paths'
complete -c easyimg -n '__easyimg_at "gen"' -l quiet -d 'print errors only'
complete -c easyimg -n '__easyimg_at "gen"' -l dry-run -d 'print the request and exit'
complete -c easyimg -n '__easyimg_at "gen"' -l open -d 'open the files in the system viewer (with --gallery: the page, in the b…'
complete -c easyimg -n '__easyimg_at "gen"' -l gallery -d 'write or refresh the output folder\'s gallery page (index.html) at the e…'
complete -c easyimg -n '__easyimg_at "gen"' -l preview -d 'draw a small preview in the terminal'
complete -c easyimg -n '__easyimg_at "gen"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "gen"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "gen"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "gen"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "gen"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "gen"' -l retry-timeouts -d 'also retry read timeouts, dropped connections, 504 and 520-524 (the ima…'
complete -c easyimg -n '__easyimg_at "gen"' -l offline -d 'use an in-process placeholder server: no key, no network'
complete -c easyimg -n '__easyimg_at "gen"' -l max-cost -x -d 'start no request that would take spending past DOLLARS (USD); exit 6 wh…'
complete -c easyimg -n '__easyimg_at "gen"' -s h -l help -d 'Show this message and exit.'

# easyimg generate
complete -c easyimg -n '__easyimg_at "generate"' -s m -l model -x -a 'gpt-image-1 gpt-image-1-mini gpt-image-1.5 chatgpt-image-latest gpt-image-2 gpt-image-2.5-sunburst gpt-image-2.5-flare gpt-image-2.6-sunburst gpt-image-2.6-flare dall-e-2 dall-e-3' -d 'model id [default: config model, else gpt-image-2]'
complete -c easyimg -n '__easyimg_at "generate"' -s n -l count -x -d 'number of images'
complete -c easyimg -n '__easyimg_at "generate"' -s s -l size -x -a '256x256 512x512 1024x1024 1024x1536 1536x1024 1024x1792 1792x1024 auto square landscape portrait 2048x2048 2048x1152 1152x2048 3840x2160 2160x3840' -d 'WxH, auto, square, landscape or portrait'
complete -c easyimg -n '__easyimg_at "generate"' -s q -l quality -x -a 'low medium high auto xhigh max standard hd' -d 'low, medium, high, auto (GPT image); xhigh, max (2.5 and newer); standa…'
complete -c easyimg -n '__easyimg_at "generate"' -l background -x -a 'auto transparent opaque' -d 'auto, transparent or opaque'
complete -c easyimg -n '__easyimg_at "generate"' -l moderation -x -a 'auto low' -d 'auto or low'
complete -c easyimg -n '__easyimg_at "generate"' -l style -x -a 'vivid natural' -d 'vivid or natural (dall-e-3)'
complete -c easyimg -n '__easyimg_at "generate"' -s f -l format -x -a 'png jpeg webp gif svg' -d 'png, jpeg or webp; gif or svg on gpt-image-2.6 (output_format)'
complete -c easyimg -n '__easyimg_at "generate"' -l compression -x -d 'jpeg/webp quality, 0-100'
complete -c easyimg -n '__easyimg_at "generate"' -l response-format -x -a 'url b64_json' -d 'url or b64_json (legacy models and some routers)'
complete -c easyimg -n '__easyimg_at "generate"' -l stream -d 'stream the answer (SSE) with partial images'
complete -c easyimg -n '__easyimg_at "generate"' -l partial-images -x -d 'partial images to stream'
complete -c easyimg -n '__easyimg_at "generate"' -l save-partials -d 'keep streamed partials as NAME.partial-K.EXT'
complete -c easyimg -n '__easyimg_at "generate"' -l frames -x -d 'frames of an animated gif, 2-16 [default: 9] (with -f gif)'
complete -c easyimg -n '__easyimg_at "generate"' -l frame-ms -x -d 'milliseconds a gif frame shows, 20-2000 [default: 200] (with -f gif)'
complete -c easyimg -n '__easyimg_at "generate"' -l complexity -x -a 'low medium high' -d 'low, medium or high: planning spent on the image (gpt-image-2.6)'
complete -c easyimg -n '__easyimg_at "generate"' -l safety-id -x -d 'a stable (hashed) end-user id for abuse monitoring, sent as safety_iden…'
complete -c easyimg -n '__easyimg_at "generate"' -l user -x -d 'deprecated: use --safety-id; end-user id sent as `user`'
complete -c easyimg -n '__easyimg_at "generate"' -s x -l extra -x -d 'extra body field KEY=VALUE (VALUE as JSON if it parses); repeatable'
complete -c easyimg -n '__easyimg_at "generate"' -l no-validate -d 'skip client-side model rules'
complete -c easyimg -n '__easyimg_at "generate"' -l api -x -a 'images chat' -d 'images (/images/*) or chat (/chat/completions) [default: config api, el…'
complete -c easyimg -n '__easyimg_at "generate"' -l resolution -x -a '0.5K 1K 2K 4K' -d '1K, 2K or 4K (chat image models: image_size; -s gives the aspect ratio)'
complete -c easyimg -n '__easyimg_at "generate"' -s o -l out -r -F -d 'output directory; or a file name, whose extension sets the format (.png…'
complete -c easyimg -n '__easyimg_at "generate"' -l name -x -d 'file name template: {date} {time} {slug} {index} {model} {ext}'
complete -c easyimg -n '__easyimg_at "generate"' -l overwrite -d 'replace existing files'
complete -c easyimg -n '__easyimg_at "generate"' -l no-metadata -d 'no PNG text chunks'
complete -c easyimg -n '__easyimg_at "generate"' -l sidecar -d 'also write NAME.json with the request and response'
complete -c easyimg -n '__easyimg_at "generate"' -l json -d 'print one JSON object instead of paths'
complete -c easyimg -n '__easyimg_at "generate"' -l quiet -d 'print errors only'
complete -c easyimg -n '__easyimg_at "generate"' -l dry-run -d 'print the request and exit'
complete -c easyimg -n '__easyimg_at "generate"' -l open -d 'open the files in the system viewer (with --gallery: the page, in the b…'
complete -c easyimg -n '__easyimg_at "generate"' -l gallery -d 'write or refresh the output folder\'s gallery page (index.html) at the e…'
complete -c easyimg -n '__easyimg_at "generate"' -l preview -d 'draw a small preview in the terminal'
complete -c easyimg -n '__easyimg_at "generate"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "generate"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "generate"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "generate"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "generate"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "generate"' -l retry-timeouts -d 'also retry read timeouts, dropped connections, 504 and 520-524 (the ima…'
complete -c easyimg -n '__easyimg_at "generate"' -l offline -d 'use an in-process placeholder server: no key, no network'
complete -c easyimg -n '__easyimg_at "generate"' -l max-cost -x -d 'start no request that would take spending past DOLLARS (USD); exit 6 wh…'
complete -c easyimg -n '__easyimg_at "generate"' -s h -l help -d 'Show this message and exit.'

# easyimg edit
complete -c easyimg -n '__easyimg_at "edit"' -s p -l prompt -x -d 'what to change; - reads it from stdin'
complete -c easyimg -n '__easyimg_at "edit"' -l prompt-file -r -F -d 'read the prompt from this file'
complete -c easyimg -n '__easyimg_at "edit"' -l mask -r -F -d 'PNG whose transparent pixels mark where to edit (size of the first imag…'
complete -c easyimg -n '__easyimg_at "edit"' -l input-fidelity -x -a 'high low' -d 'how closely to keep the input\'s features'
complete -c easyimg -n '__easyimg_at "edit"' -s m -l model -x -a 'gpt-image-1 gpt-image-1-mini gpt-image-1.5 chatgpt-image-latest gpt-image-2 gpt-image-2.5-sunburst gpt-image-2.5-flare gpt-image-2.6-sunburst gpt-image-2.6-flare dall-e-2 dall-e-3' -d 'model id [default: config model, else gpt-image-2]'
complete -c easyimg -n '__easyimg_at "edit"' -s n -l count -x -d 'number of images'
complete -c easyimg -n '__easyimg_at "edit"' -s s -l size -x -a '256x256 512x512 1024x1024 1024x1536 1536x1024 1024x1792 1792x1024 auto square landscape portrait 2048x2048 2048x1152 1152x2048 3840x2160 2160x3840' -d 'WxH, auto, square, landscape or portrait'
complete -c easyimg -n '__easyimg_at "edit"' -s q -l quality -x -a 'low medium high auto xhigh max standard hd' -d 'low, medium, high, auto (GPT image); xhigh, max (2.5 and newer); standa…'
complete -c easyimg -n '__easyimg_at "edit"' -l background -x -a 'auto transparent opaque' -d 'auto, transparent or opaque'
complete -c easyimg -n '__easyimg_at "edit"' -s f -l format -x -a 'png jpeg webp gif svg' -d 'png, jpeg or webp; gif or svg on gpt-image-2.6 (output_format)'
complete -c easyimg -n '__easyimg_at "edit"' -l compression -x -d 'jpeg/webp quality, 0-100'
complete -c easyimg -n '__easyimg_at "edit"' -l response-format -x -a 'url b64_json' -d 'url or b64_json (legacy models and some routers)'
complete -c easyimg -n '__easyimg_at "edit"' -l stream -d 'stream the answer (SSE) with partial images'
complete -c easyimg -n '__easyimg_at "edit"' -l partial-images -x -d 'partial images to stream'
complete -c easyimg -n '__easyimg_at "edit"' -l save-partials -d 'keep streamed partials as NAME.partial-K.EXT'
complete -c easyimg -n '__easyimg_at "edit"' -l frames -x -d 'frames of an animated gif, 2-16 [default: 9] (with -f gif)'
complete -c easyimg -n '__easyimg_at "edit"' -l frame-ms -x -d 'milliseconds a gif frame shows, 20-2000 [default: 200] (with -f gif)'
complete -c easyimg -n '__easyimg_at "edit"' -l complexity -x -a 'low medium high' -d 'low, medium or high: planning spent on the image (gpt-image-2.6)'
complete -c easyimg -n '__easyimg_at "edit"' -l safety-id -x -d 'a stable (hashed) end-user id for abuse monitoring, sent as safety_iden…'
complete -c easyimg -n '__easyimg_at "edit"' -l user -x -d 'deprecated: use --safety-id; end-user id sent as `user`'
complete -c easyimg -n '__easyimg_at "edit"' -s x -l extra -x -d 'extra body field KEY=VALUE (VALUE as JSON if it parses); repeatable'
complete -c easyimg -n '__easyimg_at "edit"' -l no-validate -d 'skip client-side model rules'
complete -c easyimg -n '__easyimg_at "edit"' -l api -x -a 'images chat' -d 'images (/images/*) or chat (/chat/completions) [default: config api, el…'
complete -c easyimg -n '__easyimg_at "edit"' -l resolution -x -a '0.5K 1K 2K 4K' -d '1K, 2K or 4K (chat image models: image_size; -s gives the aspect ratio)'
complete -c easyimg -n '__easyimg_at "edit"' -s o -l out -r -F -d 'output directory; or a file name, whose extension sets the format (.png…'
complete -c easyimg -n '__easyimg_at "edit"' -l name -x -d 'file name template: {date} {time} {slug} {index} {model} {ext}'
complete -c easyimg -n '__easyimg_at "edit"' -l overwrite -d 'replace existing files'
complete -c easyimg -n '__easyimg_at "edit"' -l no-metadata -d 'no PNG text chunks'
complete -c easyimg -n '__easyimg_at "edit"' -l sidecar -d 'also write NAME.json with the request and response'
complete -c easyimg -n '__easyimg_at "edit"' -l json -d 'print one JSON object instead of paths'
complete -c easyimg -n '__easyimg_at "edit"' -l quiet -d 'print errors only'
complete -c easyimg -n '__easyimg_at "edit"' -l dry-run -d 'print the request and exit'
complete -c easyimg -n '__easyimg_at "edit"' -l open -d 'open the files in the system viewer'
complete -c easyimg -n '__easyimg_at "edit"' -l preview -d 'draw a small preview in the terminal'
complete -c easyimg -n '__easyimg_at "edit"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "edit"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "edit"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "edit"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "edit"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "edit"' -l retry-timeouts -d 'also retry read timeouts, dropped connections, 504 and 520-524 (the ima…'
complete -c easyimg -n '__easyimg_at "edit"' -l offline -d 'use an in-process placeholder server: no key, no network'
complete -c easyimg -n '__easyimg_at "edit"' -s h -l help -d 'Show this message and exit.'
complete -c easyimg -n '__easyimg_arg "edit" +0' -F

# easyimg vary
complete -c easyimg -n '__easyimg_at "vary"' -s m -l model -x -a 'gpt-image-1 gpt-image-1-mini gpt-image-1.5 chatgpt-image-latest gpt-image-2 gpt-image-2.5-sunburst gpt-image-2.5-flare gpt-image-2.6-sunburst gpt-image-2.6-flare dall-e-2 dall-e-3' -d 'model id [default: dall-e-2]'
complete -c easyimg -n '__easyimg_at "vary"' -s n -l count -x -d 'number of images'
complete -c easyimg -n '__easyimg_at "vary"' -s s -l size -x -a '256x256 512x512 1024x1024 1024x1536 1536x1024 1024x1792 1792x1024 auto square landscape portrait 2048x2048 2048x1152 1152x2048 3840x2160 2160x3840' -d '256x256, 512x512, 1024x1024 or square'
complete -c easyimg -n '__easyimg_at "vary"' -l response-format -x -a 'url b64_json' -d 'url or b64_json (legacy models and some routers)'
complete -c easyimg -n '__easyimg_at "vary"' -l user -x -d 'deprecated: use --safety-id; end-user id sent as `user`'
complete -c easyimg -n '__easyimg_at "vary"' -s x -l extra -x -d 'extra body field KEY=VALUE (VALUE as JSON if it parses); repeatable'
complete -c easyimg -n '__easyimg_at "vary"' -l no-validate -d 'skip client-side model rules'
complete -c easyimg -n '__easyimg_at "vary"' -s o -l out -r -F -d 'output directory; or a file name, whose extension sets the format (.png…'
complete -c easyimg -n '__easyimg_at "vary"' -l name -x -d 'file name template: {date} {time} {slug} {index} {model} {ext}'
complete -c easyimg -n '__easyimg_at "vary"' -l overwrite -d 'replace existing files'
complete -c easyimg -n '__easyimg_at "vary"' -l no-metadata -d 'no PNG text chunks'
complete -c easyimg -n '__easyimg_at "vary"' -l sidecar -d 'also write NAME.json with the request and response'
complete -c easyimg -n '__easyimg_at "vary"' -l json -d 'print one JSON object instead of paths'
complete -c easyimg -n '__easyimg_at "vary"' -l quiet -d 'print errors only'
complete -c easyimg -n '__easyimg_at "vary"' -l dry-run -d 'print the request and exit'
complete -c easyimg -n '__easyimg_at "vary"' -l open -d 'open the files in the system viewer'
complete -c easyimg -n '__easyimg_at "vary"' -l preview -d 'draw a small preview in the terminal'
complete -c easyimg -n '__easyimg_at "vary"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "vary"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "vary"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "vary"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "vary"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "vary"' -l retry-timeouts -d 'also retry read timeouts, dropped connections, 504 and 520-524 (the ima…'
complete -c easyimg -n '__easyimg_at "vary"' -l offline -d 'use an in-process placeholder server: no key, no network'
complete -c easyimg -n '__easyimg_at "vary"' -s h -l help -d 'Show this message and exit.'
complete -c easyimg -n '__easyimg_arg "vary" 0' -F

# easyimg batch
complete -c easyimg -n '__easyimg_at "batch"' -s j -l jobs -x -d 'concurrent requests [default: config jobs, else 4]'
complete -c easyimg -n '__easyimg_at "batch"' -s m -l model -x -a 'gpt-image-1 gpt-image-1-mini gpt-image-1.5 chatgpt-image-latest gpt-image-2 gpt-image-2.5-sunburst gpt-image-2.5-flare gpt-image-2.6-sunburst gpt-image-2.6-flare dall-e-2 dall-e-3' -d 'model id [default: config model, else gpt-image-2]'
complete -c easyimg -n '__easyimg_at "batch"' -s n -l count -x -d 'number of images'
complete -c easyimg -n '__easyimg_at "batch"' -s s -l size -x -a '256x256 512x512 1024x1024 1024x1536 1536x1024 1024x1792 1792x1024 auto square landscape portrait 2048x2048 2048x1152 1152x2048 3840x2160 2160x3840' -d 'WxH, auto, square, landscape or portrait'
complete -c easyimg -n '__easyimg_at "batch"' -s q -l quality -x -a 'low medium high auto xhigh max standard hd' -d 'low, medium, high, auto (GPT image); xhigh, max (2.5 and newer); standa…'
complete -c easyimg -n '__easyimg_at "batch"' -l background -x -a 'auto transparent opaque' -d 'auto, transparent or opaque'
complete -c easyimg -n '__easyimg_at "batch"' -l moderation -x -a 'auto low' -d 'auto or low'
complete -c easyimg -n '__easyimg_at "batch"' -l style -x -a 'vivid natural' -d 'vivid or natural (dall-e-3)'
complete -c easyimg -n '__easyimg_at "batch"' -s f -l format -x -a 'png jpeg webp gif svg' -d 'png, jpeg or webp; gif or svg on gpt-image-2.6 (output_format)'
complete -c easyimg -n '__easyimg_at "batch"' -l compression -x -d 'jpeg/webp quality, 0-100'
complete -c easyimg -n '__easyimg_at "batch"' -l response-format -x -a 'url b64_json' -d 'url or b64_json (legacy models and some routers)'
complete -c easyimg -n '__easyimg_at "batch"' -l frames -x -d 'frames of an animated gif, 2-16 [default: 9] (with -f gif)'
complete -c easyimg -n '__easyimg_at "batch"' -l frame-ms -x -d 'milliseconds a gif frame shows, 20-2000 [default: 200] (with -f gif)'
complete -c easyimg -n '__easyimg_at "batch"' -l complexity -x -a 'low medium high' -d 'low, medium or high: planning spent on the image (gpt-image-2.6)'
complete -c easyimg -n '__easyimg_at "batch"' -l safety-id -x -d 'a stable (hashed) end-user id for abuse monitoring, sent as safety_iden…'
complete -c easyimg -n '__easyimg_at "batch"' -l user -x -d 'deprecated: use --safety-id; end-user id sent as `user`'
complete -c easyimg -n '__easyimg_at "batch"' -s x -l extra -x -d 'extra body field KEY=VALUE (VALUE as JSON if it parses); repeatable'
complete -c easyimg -n '__easyimg_at "batch"' -l no-validate -d 'skip client-side model rules'
complete -c easyimg -n '__easyimg_at "batch"' -l api -x -a 'images chat' -d 'images (/images/*) or chat (/chat/completions) [default: config api, el…'
complete -c easyimg -n '__easyimg_at "batch"' -l resolution -x -a '0.5K 1K 2K 4K' -d '1K, 2K or 4K (chat image models: image_size; -s gives the aspect ratio)'
complete -c easyimg -n '__easyimg_at "batch"' -s o -l out -r -F -d 'output directory: the images and easyimg-manifest.jsonl [default: confi…'
complete -c easyimg -n '__easyimg_at "batch"' -l name -x -d 'file name template: {date} {time} {slug} {index} {model} {ext}'
complete -c easyimg -n '__easyimg_at "batch"' -l overwrite -d 'replace existing files'
complete -c easyimg -n '__easyimg_at "batch"' -l no-metadata -d 'no PNG text chunks'
complete -c easyimg -n '__easyimg_at "batch"' -l sidecar -d 'also write NAME.json with the request and response'
complete -c easyimg -n '__easyimg_at "batch"' -l no-resume -d 'redo items the manifest lists as done'
complete -c easyimg -n '__easyimg_at "batch"' -l json -d 'print one JSON object instead of paths'
complete -c easyimg -n '__easyimg_at "batch"' -l quiet -d 'print errors only'
complete -c easyimg -n '__easyimg_at "batch"' -l gallery -d 'write or refresh the output folder\'s gallery page (index.html) at the e…'
complete -c easyimg -n '__easyimg_at "batch"' -l open -d 'open the gallery page in the browser at the end (implies --gallery)'
complete -c easyimg -n '__easyimg_at "batch"' -l dry-run -d 'print the requests (with --remote: the JSONL to upload) and exit'
complete -c easyimg -n '__easyimg_at "batch"' -l remote -d 'hand the run to the provider\'s Batch API (24 h window)'
complete -c easyimg -n '__easyimg_at "batch"' -l wait -d 'wait for the batch to finish, then fetch it'
complete -c easyimg -n '__easyimg_at "batch"' -l batch-api -x -a 'openai easyrouter' -d 'openai (/files + /batches) or easyrouter (/image-files + /image-batches…'
complete -c easyimg -n '__easyimg_at "batch"' -l accept-batch-privacy -d 'accept EasyRouter\'s batch privacy terms (asked once per host; remembere…'
complete -c easyimg -n '__easyimg_at "batch"' -l max-batch-lines -x -d 'with --remote: at most N requests a batch; more make several batches [d…'
complete -c easyimg -n '__easyimg_at "batch"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "batch"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "batch"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "batch"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "batch"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "batch"' -l retry-timeouts -d 'also retry read timeouts, dropped connections, 504 and 520-524 (the ima…'
complete -c easyimg -n '__easyimg_at "batch"' -l offline -d 'use an in-process placeholder server: no key, no network'
complete -c easyimg -n '__easyimg_at "batch"' -l head -x -d 'run only the first N items of the file (of the shard, with --shard)'
complete -c easyimg -n '__easyimg_at "batch"' -l shard -x -d 'run only the items whose key falls in shard K of N (split a file over m…'
complete -c easyimg -n '__easyimg_at "batch"' -l max-cost -x -d 'start no request that would take spending past DOLLARS (USD); exit 6 wh…'
complete -c easyimg -n '__easyimg_at "batch"' -s y -l yes -d 'do not ask before a run estimated above config confirm_over (default $5)'
complete -c easyimg -n '__easyimg_at "batch"' -s h -l help -d 'Show this message and exit.'
complete -c easyimg -n '__easyimg_arg "batch" 0' -F

# easyimg models
complete -c easyimg -n '__easyimg_at "models"' -l all -d 'list every model the endpoint offers, not only image models'
complete -c easyimg -n '__easyimg_at "models"' -l json -d 'print the list as JSON'
complete -c easyimg -n '__easyimg_at "models"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "models"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "models"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "models"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "models"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "models"' -l offline -d 'use an in-process placeholder server: no key, no network'
complete -c easyimg -n '__easyimg_at "models"' -s h -l help -d 'Show this message and exit.'

# easyimg usage
complete -c easyimg -n '__easyimg_at "usage"' -l since -x -d 'only from DATE on: YYYY-MM-DD, today, yesterday, or Nd / Nw (days or we…'
complete -c easyimg -n '__easyimg_at "usage"' -l by -x -a 'model day host' -d 'one row per model, day or host'
complete -c easyimg -n '__easyimg_at "usage"' -l all -d 'count placeholder images too (--offline, easyimg serve): they cost $0'
complete -c easyimg -n '__easyimg_at "usage"' -l json -d 'print the totals as JSON'
complete -c easyimg -n '__easyimg_at "usage"' -s h -l help -d 'Show this message and exit.'

# easyimg rerun
complete -c easyimg -n '__easyimg_at "rerun"' -s p -l prompt -x -d 'a new prompt; - reads it from stdin'
complete -c easyimg -n '__easyimg_at "rerun"' -s m -l model -x -a 'gpt-image-1 gpt-image-1-mini gpt-image-1.5 chatgpt-image-latest gpt-image-2 gpt-image-2.5-sunburst gpt-image-2.5-flare gpt-image-2.6-sunburst gpt-image-2.6-flare dall-e-2 dall-e-3' -d 'model id [default: config model, else gpt-image-2]'
complete -c easyimg -n '__easyimg_at "rerun"' -s n -l count -x -d 'number of images [default: as before]'
complete -c easyimg -n '__easyimg_at "rerun"' -s s -l size -x -a '256x256 512x512 1024x1024 1024x1536 1536x1024 1024x1792 1792x1024 auto square landscape portrait 2048x2048 2048x1152 1152x2048 3840x2160 2160x3840' -d 'WxH, auto, square, landscape or portrait'
complete -c easyimg -n '__easyimg_at "rerun"' -s q -l quality -x -a 'low medium high auto xhigh max standard hd' -d 'low, medium, high, auto (GPT image); xhigh, max (2.5 and newer); standa…'
complete -c easyimg -n '__easyimg_at "rerun"' -l background -x -a 'auto transparent opaque' -d 'auto, transparent or opaque'
complete -c easyimg -n '__easyimg_at "rerun"' -l moderation -x -a 'auto low' -d 'auto or low'
complete -c easyimg -n '__easyimg_at "rerun"' -l style -x -a 'vivid natural' -d 'vivid or natural (dall-e-3)'
complete -c easyimg -n '__easyimg_at "rerun"' -s f -l format -x -a 'png jpeg webp gif svg' -d 'png, jpeg or webp; gif or svg on gpt-image-2.6 (output_format)'
complete -c easyimg -n '__easyimg_at "rerun"' -l compression -x -d 'jpeg/webp quality, 0-100'
complete -c easyimg -n '__easyimg_at "rerun"' -l response-format -x -a 'url b64_json' -d 'url or b64_json (legacy models and some routers)'
complete -c easyimg -n '__easyimg_at "rerun"' -l user -x -d 'deprecated: use --safety-id; end-user id sent as `user`'
complete -c easyimg -n '__easyimg_at "rerun"' -s x -l extra -x -d 'extra body field KEY=VALUE (VALUE as JSON if it parses); repeatable'
complete -c easyimg -n '__easyimg_at "rerun"' -l no-validate -d 'skip client-side model rules'
complete -c easyimg -n '__easyimg_at "rerun"' -s o -l out -r -F -d 'output directory; or a file name, whose extension sets the format (.png…'
complete -c easyimg -n '__easyimg_at "rerun"' -l name -x -d 'file name template: {date} {time} {slug} {index} {model} {ext}'
complete -c easyimg -n '__easyimg_at "rerun"' -l overwrite -d 'replace existing files'
complete -c easyimg -n '__easyimg_at "rerun"' -l no-metadata -d 'no PNG text chunks'
complete -c easyimg -n '__easyimg_at "rerun"' -l sidecar -d 'also write NAME.json with the request and response'
complete -c easyimg -n '__easyimg_at "rerun"' -l json -d 'print one JSON object instead of paths'
complete -c easyimg -n '__easyimg_at "rerun"' -l quiet -d 'print errors only'
complete -c easyimg -n '__easyimg_at "rerun"' -l dry-run -d 'print the request and exit'
complete -c easyimg -n '__easyimg_at "rerun"' -l open -d 'open the files in the system viewer'
complete -c easyimg -n '__easyimg_at "rerun"' -l preview -d 'draw a small preview in the terminal'
complete -c easyimg -n '__easyimg_at "rerun"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "rerun"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "rerun"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "rerun"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "rerun"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "rerun"' -l retry-timeouts -d 'also retry read timeouts, dropped connections, 504 and 520-524 (the ima…'
complete -c easyimg -n '__easyimg_at "rerun"' -l offline -d 'use an in-process placeholder server: no key, no network'
complete -c easyimg -n '__easyimg_at "rerun"' -l max-cost -x -d 'start no request that would take spending past DOLLARS (USD); exit 6 wh…'
complete -c easyimg -n '__easyimg_at "rerun"' -s h -l help -d 'Show this message and exit.'

# easyimg info
complete -c easyimg -n '__easyimg_at "info"' -l json -d 'print one JSON list, an object a file'
complete -c easyimg -n '__easyimg_at "info"' -s h -l help -d 'Show this message and exit.'
complete -c easyimg -n '__easyimg_arg "info" +0' -F

# easyimg login
complete -c easyimg -n '__easyimg_at "login"' -l profile -x -a '(__easyimg_profiles)' -d 'the key of this [profiles.NAME] table instead of the top level\'s'
complete -c easyimg -n '__easyimg_at "login"' -l base-url -x -d 'also store this base URL with the key'
complete -c easyimg -n '__easyimg_at "login"' -l no-verify -d 'store the key without checking it with GET /models'
complete -c easyimg -n '__easyimg_at "login"' -s h -l help -d 'Show this message and exit.'

# easyimg logout
complete -c easyimg -n '__easyimg_at "logout"' -l profile -x -a '(__easyimg_profiles)' -d 'the key of this [profiles.NAME] table instead of the top level\'s'
complete -c easyimg -n '__easyimg_at "logout"' -s h -l help -d 'Show this message and exit.'

# easyimg serve
complete -c easyimg -n '__easyimg_at "serve"' -l host -x -d 'address to listen on (0.0.0.0 or :: for every interface)'
complete -c easyimg -n '__easyimg_at "serve"' -l port -s p -x -d 'port to listen on (0 picks a free one)'
complete -c easyimg -n '__easyimg_at "serve"' -l latency -x -d 'seconds each image request waits, to imitate a slow model'
complete -c easyimg -n '__easyimg_at "serve"' -l api-key -x -d 'require this key (401 otherwise)'
complete -c easyimg -n '__easyimg_at "serve"' -l chat-style -x -a 'new-api openrouter' -d 'how chat completions carry images: new-api (markdown in content) or ope…'
complete -c easyimg -n '__easyimg_at "serve"' -l tasks -d 'answer image generations with a task to poll at /v1/tasks/ID (APIMart\'s…'
complete -c easyimg -n '__easyimg_at "serve"' -l quiet -d 'print nothing but errors'
complete -c easyimg -n '__easyimg_at "serve"' -s h -l help -d 'Show this message and exit.'

# easyimg completions
complete -c easyimg -n '__easyimg_at "completions"' -s h -l help -d 'Show this message and exit.'
complete -c easyimg -n '__easyimg_arg "completions" 0' -x -a 'bash zsh fish'

# easyimg gallery
complete -c easyimg -n '__easyimg_at "gallery"' -l open -d 'open the page in the browser (on a terminal only)'
complete -c easyimg -n '__easyimg_at "gallery"' -s o -l out -r -F -d 'write the page here [default: DIR/index.html]'
complete -c easyimg -n '__easyimg_at "gallery"' -l json -d 'print one JSON object instead of paths'
complete -c easyimg -n '__easyimg_at "gallery"' -l quiet -d 'print errors only'
complete -c easyimg -n '__easyimg_at "gallery"' -s h -l help -d 'Show this message and exit.'

# easyimg batches
complete -c easyimg -n '__easyimg_sub "batches"' -a list -d 'List recent batches with their progress.'
complete -c easyimg -n '__easyimg_sub "batches"' -a show -d 'Show one batch: status, request counts, times and result files.'
complete -c easyimg -n '__easyimg_sub "batches"' -a fetch -d 'Download a batch\'s results: images and manifest lines, as a local run w…'
complete -c easyimg -n '__easyimg_sub "batches"' -a cancel -d 'Cancel a batch; what finished before can still be fetched.'
complete -c easyimg -n '__easyimg_at "batches"' -s h -l help -d 'Show this message and exit.'

# easyimg batches list
complete -c easyimg -n '__easyimg_at "batches list"' -l limit -x -d 'how many batches, newest first'
complete -c easyimg -n '__easyimg_at "batches list"' -l json -d 'print the page of batches as JSON'
complete -c easyimg -n '__easyimg_at "batches list"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "batches list"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "batches list"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "batches list"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "batches list"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "batches list"' -l batch-api -x -a 'openai easyrouter' -d 'openai (/files + /batches) or easyrouter (/image-files + /image-batches…'
complete -c easyimg -n '__easyimg_at "batches list"' -s h -l help -d 'Show this message and exit.'

# easyimg batches show
complete -c easyimg -n '__easyimg_at "batches show"' -l json -d 'print the batch as JSON'
complete -c easyimg -n '__easyimg_at "batches show"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "batches show"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "batches show"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "batches show"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "batches show"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "batches show"' -l batch-api -x -a 'openai easyrouter' -d 'openai (/files + /batches) or easyrouter (/image-files + /image-batches…'
complete -c easyimg -n '__easyimg_at "batches show"' -s h -l help -d 'Show this message and exit.'

# easyimg batches fetch
complete -c easyimg -n '__easyimg_at "batches fetch"' -s o -l out -r -F -d 'output directory [default: the one `batch --remote` was given, else con…'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l wait -d 'wait for the batch to finish, then fetch it'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l overwrite -d 'replace existing files'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l no-metadata -d 'no PNG text chunks'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l sidecar -d 'also write NAME.json with the request and response'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l json -d 'print one JSON object instead of paths'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l quiet -d 'print errors only'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l gallery -d 'write or refresh the output folder\'s gallery page (index.html) at the e…'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l open -d 'open the gallery page in the browser at the end (implies --gallery)'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "batches fetch"' -l batch-api -x -a 'openai easyrouter' -d 'openai (/files + /batches) or easyrouter (/image-files + /image-batches…'
complete -c easyimg -n '__easyimg_at "batches fetch"' -s h -l help -d 'Show this message and exit.'

# easyimg batches cancel
complete -c easyimg -n '__easyimg_at "batches cancel"' -l json -d 'print the batch as JSON'
complete -c easyimg -n '__easyimg_at "batches cancel"' -l base-url -x -d 'API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]'
complete -c easyimg -n '__easyimg_at "batches cancel"' -l api-key -x -d 'API key [env: EASYIMG_API_KEY]'
complete -c easyimg -n '__easyimg_at "batches cancel"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "batches cancel"' -l timeout -x -d 'seconds the whole answer may take, body included [default: 600]'
complete -c easyimg -n '__easyimg_at "batches cancel"' -l retries -x -d 'retries after the first try [default: 3]'
complete -c easyimg -n '__easyimg_at "batches cancel"' -l batch-api -x -a 'openai easyrouter' -d 'openai (/files + /batches) or easyrouter (/image-files + /image-batches…'
complete -c easyimg -n '__easyimg_at "batches cancel"' -s h -l help -d 'Show this message and exit.'

# easyimg history
complete -c easyimg -n '__easyimg_sub "history"' -a show -d 'Show one history entry in full: request, files, usage and cost.'
complete -c easyimg -n '__easyimg_at "history"' -s n -l limit -x -d 'show the last N entries; 0 shows them all'
complete -c easyimg -n '__easyimg_at "history"' -l grep -x -d 'only entries whose prompt or file names hold TEXT (any case)'
complete -c easyimg -n '__easyimg_at "history"' -s m -l model -x -a 'gpt-image-1 gpt-image-1-mini gpt-image-1.5 chatgpt-image-latest gpt-image-2 gpt-image-2.5-sunburst gpt-image-2.5-flare gpt-image-2.6-sunburst gpt-image-2.6-flare dall-e-2 dall-e-3' -d 'only this model (and its dated snapshots)'
complete -c easyimg -n '__easyimg_at "history"' -l since -x -d 'only from DATE on: YYYY-MM-DD, today, yesterday, Nd or Nw, in local time'
complete -c easyimg -n '__easyimg_at "history"' -l status -x -a 'ok partial error' -d 'only entries that ended so'
complete -c easyimg -n '__easyimg_at "history"' -l json -d 'print the entries, as stored (with their ids), as JSON'
complete -c easyimg -n '__easyimg_at "history"' -s h -l help -d 'Show this message and exit.'

# easyimg history show
complete -c easyimg -n '__easyimg_at "history show"' -l json -d 'print the entry, as stored, as JSON'
complete -c easyimg -n '__easyimg_at "history show"' -s h -l help -d 'Show this message and exit.'

# easyimg auth
complete -c easyimg -n '__easyimg_sub "auth"' -a status -d 'List each API key easyimg can use: its profile, host and masked value.'
complete -c easyimg -n '__easyimg_at "auth"' -s h -l help -d 'Show this message and exit.'

# easyimg auth status
complete -c easyimg -n '__easyimg_at "auth status"' -l json -d 'print the keys as JSON'
complete -c easyimg -n '__easyimg_at "auth status"' -s h -l help -d 'Show this message and exit.'

# easyimg config
complete -c easyimg -n '__easyimg_sub "config"' -a path -d 'Print the config file\'s path.'
complete -c easyimg -n '__easyimg_sub "config"' -a show -d 'Show every setting in effect (the key masked) and where it comes from.'
complete -c easyimg -n '__easyimg_sub "config"' -a get -d 'Print the value in effect for KEY, alone on a line, for scripts.'
complete -c easyimg -n '__easyimg_sub "config"' -a set -d 'Set KEY to VALUE (in a profile with --profile), checked as the flag wou…'
complete -c easyimg -n '__easyimg_sub "config"' -a unset -d 'Remove KEY (from a profile with --profile); works on a file with bad va…'
complete -c easyimg -n '__easyimg_at "config"' -s h -l help -d 'Show this message and exit.'

# easyimg config path
complete -c easyimg -n '__easyimg_at "config path"' -s h -l help -d 'Show this message and exit.'

# easyimg config show
complete -c easyimg -n '__easyimg_at "config show"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "config show"' -l json -d 'print the settings and their sources as JSON'
complete -c easyimg -n '__easyimg_at "config show"' -s h -l help -d 'Show this message and exit.'

# easyimg config get
complete -c easyimg -n '__easyimg_at "config get"' -l profile -x -a '(__easyimg_profiles)' -d 'config profile to use [env: EASYIMG_PROFILE]'
complete -c easyimg -n '__easyimg_at "config get"' -s h -l help -d 'Show this message and exit.'

# easyimg config set
complete -c easyimg -n '__easyimg_at "config set"' -l profile -x -a '(__easyimg_profiles)' -d 'change this [profiles.NAME] table instead of the top level'
complete -c easyimg -n '__easyimg_at "config set"' -s h -l help -d 'Show this message and exit.'
complete -c easyimg -n '__easyimg_arg "config set" 0' -x -a 'base_url api_key api_key_host model size quality format out_dir name timeout retries jobs history max_image_mb max_retry_wait api chat_style task_poll batch_api confirm_over'
complete -c easyimg -n '__easyimg_arg "config set" 1' -x -a '(__easyimg_config_values)'

# easyimg config unset
complete -c easyimg -n '__easyimg_at "config unset"' -l profile -x -a '(__easyimg_profiles)' -d 'change this [profiles.NAME] table instead of the top level'
complete -c easyimg -n '__easyimg_at "config unset"' -s h -l help -d 'Show this message and exit.'
complete -c easyimg -n '__easyimg_arg "config unset" 0' -x -a 'base_url api_key api_key_host model size quality format out_dir name timeout retries jobs history max_image_mb max_retry_wait api chat_style task_poll batch_api confirm_over'
