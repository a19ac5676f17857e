"""Pieces the shell scripts share: quoting, and the option tables bash and zsh both read."""

from __future__ import annotations

from collections.abc import Iterable

from .spec import CompletionSpec

GENERATED = "generated from the easyimg CLI by scripts/gen_docs.py; do not edit"


def path_str(path: tuple[str, ...]) -> str:
    return " ".join(path)


def one_line(text: str, limit: int = 72) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def printf_words(words: Iterable[str]) -> str:
    # The same in all three shells: one word a line.
    return "printf '%s\\n' " + " ".join(words)


# --- bash and zsh -------------------------------------------------------------------------------


def sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def sh_case(name: str, usage: str, subject: str, cases: list[str], after: str = "") -> list[str]:
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


def sh_functions(spec: CompletionSpec) -> list[str]:
    """Helper functions written in the subset of shell syntax bash and zsh share."""
    tree = spec.commands
    pairs = [f'"{path_str(path)}/{s}"' for path, s in spec.children()]
    lines = sh_case(
        "_easyimg_is_child",
        "PATH WORD: is WORD a subcommand of the command at PATH?",
        '"$1/$2"',
        [f"{'|'.join(pairs)}) return 0 ;;"] if pairs else [],
        "return 1",
    )
    lines += sh_case(
        "_easyimg_subcommands",
        "PATH: the visible subcommands of PATH.",
        '"$1"',
        [f'"{path_str(c.path)}") {printf_words(c.subcommands)} ;;' for c in tree if c.subcommands],
    )
    options = {
        c.path: [o for p in c.visible_options() for o in (*p.opts, *p.secondary)] for c in tree
    }
    lines += sh_case(
        "_easyimg_options",
        "PATH: the options of PATH.",
        '"$1"',
        [
            f'"{path_str(path)}") {printf_words(names)} ;;'
            for path, names in options.items()
            if names
        ],
    )

    kind_cases = []
    for kind, opts in spec.value_options().items():
        kind_cases.append("|".join(f'"{path_str(path)} {o}"' for path, o in opts) + ")")
        kind_cases.append(f"    {printf_words([sh_quote(kind)])} ;;")
    lines += sh_case(
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
        cases = [f"{i}) {printf_words([k])} ;;" for i, k in enumerate(fixed) if k]
        if tail:
            cases.append(f"*) {printf_words([tail])} ;;")
        arg_cases.append(f'"{path_str(c.path)}") case "$2" in {" ".join(cases)} esac ;;')
    lines += sh_case(
        "_easyimg_arg_kind",
        "PATH INDEX: how the INDEX-th argument (from 0) is completed.",
        '"$1"',
        arg_cases,
    )

    lines += sh_case(
        "_easyimg_config_value_kind",
        "KEY: how `config set KEY VALUE` completes VALUE.",
        '"$1"',
        [f"{key}) {printf_words([kind])} ;;" for key, kind in spec.config_value_kinds.items()],
    )
    lines += sh_case(
        "_easyimg_words",
        "KIND: the fixed words of a kind (from the model rule table).",
        '"$1"',
        [
            f"{kind}) {printf_words(sh_quote(v) for v in values)} ;;"
            for kind, values in spec.words.items()
        ],
    )
    return lines


# --- bash ---------------------------------------------------------------------------------------
