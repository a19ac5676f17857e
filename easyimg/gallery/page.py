"""The gallery page: cards as plain HTML, every text escaped, every path relative to the page."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import quote

from .assets import CSS, JS
from .collect import Card

GENERATOR = "easyimg gallery"
# C0 controls (but tab and newline), DEL, C1 controls and lone surrogates: not for a page.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_NB = "\u00a0"
_STATUS_LABEL = {"ok": "ok", "error": "failed", "missing": "file missing"}


@dataclass
class Totals:
    images: int = 0
    failures: int = 0
    missing: int = 0
    tokens: int | None = None
    cost: float | None = None


def totals(cards: Sequence[Card]) -> Totals:
    t = Totals()
    for card in cards:
        if card.status == "ok":
            t.images += 1
        elif card.status == "error":
            t.failures += 1
        else:
            t.missing += 1
        if card.tokens is not None:
            t.tokens = (t.tokens or 0) + card.tokens
        if card.cost is not None:
            t.cost = (t.cost or 0.0) + card.cost
    return t


def text(value: object) -> str:
    """Escaped for HTML text and quoted attributes, with characters a page cannot hold removed."""
    return escape(_UNSAFE.sub("", str(value)), quote=True)


def url(path: str) -> str:
    """A relative URL for a "/"-separated path: every byte of the name percent-encoded."""
    return text(quote(os.fsencode(path)))


def cost_text(cost: float) -> str:
    return f"${cost:,.2f}" if cost >= 1 else f"${cost:.4f}"


def when(iso: str | None) -> str | None:
    """An ISO UTC time as `YYYY-MM-DD HH:MM UTC` (other text as given)."""
    if not iso:
        return None
    if len(iso) >= 16 and iso[10] == "T" and iso.endswith("Z"):
        # Non-breaking hyphens and spaces: a narrow card wraps around the time, not inside it.
        return f"{iso[:10]} {iso[11:16]} UTC".replace("-", "\u2011").replace(" ", _NB)
    return iso[:40]


def rerun_command(path: str) -> str:
    return f"easyimg rerun {shlex.quote(path)}"


def _meta(card: Card) -> str:
    parts = []
    if card.line is not None:
        parts.append(f"line{_NB}{card.line}")
    if card.status != "ok":
        parts.append(_STATUS_LABEL.get(card.status, card.status))
    if card.model:
        parts.append(card.model)
    if card.width and card.height:
        parts.append(f"{card.width}\u00d7{card.height}")
    if card.format:
        parts.append(card.format)
    if card.bytes is not None and card.status == "ok":
        parts.append(_size(card.bytes))
    if card.tokens is not None:
        per = f" for {card.item_images}{_NB}images" if card.item_images > 1 else ""
        parts.append(f"{card.tokens:,}{_NB}tokens{per}")
    if card.cost is not None:
        parts.append(cost_text(card.cost))
    stamp = when(card.created)
    if stamp:
        parts.append(stamp)
    return text(" \u00b7 ".join(parts))


def _size(n: int) -> str:
    if n < 1000:
        return f"{n}{_NB}B"
    if n < 1_000_000:
        return f"{n / 1000:.0f}{_NB}KB"
    return f"{n / 1_000_000:.1f}{_NB}MB"


def _card(card: Card, prefix: str) -> str:
    prompt = text(card.prompt) if card.prompt else ""
    attrs = f' data-s="{text(card.status)}"'
    if card.model:
        attrs += f' data-m="{text(card.model)}"'
    caption = f"<p>{prompt}</p>" if prompt else ""
    if card.path is None:
        error = f'<p class="e">{text(card.error)}</p>' if card.error else ""
        label = "failed" if card.status == "error" else "missing"
        return (
            f'<li class="c f"{attrs}><div class="ph">{label}</div>{caption}{error}'
            f"<small>{_meta(card)}</small></li>"
        )
    if not prompt:
        # Nothing says what the image is: its file name has to.
        prompt = text(card.path)
        caption = f'<p class="n">{prompt}</p>'
    href = url(prefix + card.path)
    command = rerun_command(card.path)
    if prefix or command != f"easyimg rerun {card.path}":
        # Otherwise the script spells the command from the link: 90 bytes a card saved.
        attrs += f' data-c="{text(command)}"'
    if card.thumb is not None:
        thumb = url(prefix + card.thumb)
        inner = (
            f'<a href="{href}"><img src="{thumb}" alt="{prompt}" loading="lazy" '
            f'decoding="async"></a>'
        )
    else:
        inner = f'<a class="ph" href="{href}">no preview</a>'
    return f'<li class="c"{attrs}>{inner}{caption}<small>{_meta(card)}</small></li>'


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def _header_line(t: Totals) -> str:
    parts = [f"{t.images:,} image{'s' if t.images != 1 else ''}"]
    if t.failures:
        parts.append(f"{t.failures:,} failed")
    if t.missing:
        parts.append(f"{t.missing:,} missing")
    if t.tokens is not None:
        parts.append(f"{t.tokens:,} tokens")
    if t.cost is not None:
        parts.append(cost_text(t.cost) + " where known")
    return " \u00b7 ".join(parts)


def _options(values: Sequence[str], everything: str) -> str:
    return f'<option value="">{everything}</option>' + "".join(
        f'<option value="{text(v)}">{text(_STATUS_LABEL.get(v, v))}</option>' for v in values
    )


def render(cards: Sequence[Card], *, title: str, prefix: str = "", made: str | None = None) -> str:
    """The whole page; `prefix` leads from the page's folder to the gallery folder ("" or
    "../out/")."""
    t = totals(cards)
    models = sorted({c.model for c in cards if c.model})
    statuses = [s for s in ("ok", "error", "missing") if any(c.status == s for c in cards)]
    csp = (
        "default-src 'none'; img-src 'self' data:; "
        f"style-src {_csp_hash(CSS)}; script-src {_csp_hash(JS)}; base-uri 'none'; "
        "form-action 'none'"
    )
    stamp = when(made)
    head_line = _header_line(t) + (f" \u00b7 page made {stamp}" if stamp else "")
    body = "\n".join(_card(c, prefix) for c in cards)
    grid = (
        f'<ul class="g" id="g">\n{body}\n</ul>'
        if cards
        else '<p class="none">No images in this folder yet.</p>'
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="generator" content="{GENERATOR}">
<meta name="referrer" content="no-referrer">
<meta http-equiv="Content-Security-Policy" content="{text(csp)}">
<title>{text(title)} · easyimg gallery</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{text(title)}</h1>
<p class="tot">{text(head_line)}</p>
<form class="bar" id="bar" role="search" hidden>
<input id="q" type="search" placeholder="filter: prompt, model, line…" aria-label="filter" \
autocomplete="off">
<select id="fm" aria-label="model">{_options(models, "all models")}</select>
<select id="fs" aria-label="status">{_options(statuses, "any status")}</select>
<output id="n" aria-live="polite"></output>
</form>
</header>
<main>
{grid}
</main>
<dialog id="lb" aria-label="image">
<img id="lbi" alt="">
<div class="cap">
<p id="lbp"></p>
<small id="lbm"></small>
<code id="lbc" title="run it in the folder that holds the image"></code>
<div class="act">
<button type="button" id="lbprev" aria-label="previous image">\u2190 previous</button>
<button type="button" id="lbnext" aria-label="next image">next \u2192</button>
<button type="button" id="lbcp">copy command</button>
<a id="lbo" href="">open file</a>
<button type="button" id="lbx" aria-label="close">close (Esc)</button>
<span id="lbk"></span>
</div>
</div>
</dialog>
<script>{JS}</script>
</body>
</html>
"""


def page_prefix(page: Path, directory: Path) -> str:
    """The relative path from the page's folder to the gallery folder, "/"-terminated."""
    rel = os.path.relpath(directory.resolve(), page.parent.resolve())
    return "" if rel == "." else Path(rel).as_posix() + "/"
