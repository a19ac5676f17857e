"""SVG answers: telling SVG text from other bytes, and its size from the root element."""

from __future__ import annotations

import re

# Enough for an XML declaration, a doctype or comment and the root element's start tag.
SVG_HEAD = 4096
_BOM = b"\xef\xbb\xbf"
_SKIP = (
    (b"<?xml", b"?>"),
    (b"<!--", b"-->"),
    (b"<!DOCTYPE", b">"),
    (b"<?", b"?>"),
)
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_LENGTH = re.compile(rf"^\s*({_NUMBER})\s*(px)?\s*$")
_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def could_be_svg(head: bytes) -> bool:
    """True when the first bytes are text that starts like markup (worth a longer look)."""
    start = bytes(head).removeprefix(_BOM).lstrip()
    return start.startswith(b"<")


def _root_start(head: bytes) -> int | None:
    """Where `<svg` opens the document, after a BOM, whitespace, the XML declaration,
    comments and a doctype; None when the first element is something else."""
    text = bytes(head).removeprefix(_BOM)
    pos = 0
    xml_decl_seen = False
    while True:
        while pos < len(text) and text[pos : pos + 1].isspace():
            pos += 1
        rest = text[pos:]
        if rest[:4].lower() == b"<svg" and rest[4:5] in (b" ", b"\t", b"\r", b"\n", b">", b"/"):
            return pos
        for opener, closer in _SKIP:
            if rest.startswith(opener) and (opener != b"<?xml" or not xml_decl_seen):
                end = rest.find(closer, len(opener))
                if end < 0:
                    return None
                xml_decl_seen = xml_decl_seen or opener == b"<?xml"
                pos += end + len(closer)
                break
        else:
            return None


def is_svg(head: bytes) -> bool:
    """`<svg`, or `<?xml` (and comments) then `<svg`, allowing a BOM and whitespace first."""
    return _root_start(head) is not None


def _length(value: str | None) -> float | None:
    if value is None:
        return None
    m = _LENGTH.match(value)
    return float(m.group(1)) if m else None


def svg_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the root's width/height (plain or px), else its viewBox."""
    start = _root_start(head)
    if start is None:
        return None
    text = bytes(head).removeprefix(_BOM)
    end = text.find(b">", start)
    if end < 0:
        return None
    attrs: dict[str, str] = {}
    for m in _ATTR.finditer(text[start + 4 : end]):
        raw = m.group(2) if m.group(2) is not None else m.group(3)
        attrs[m.group(1).decode("ascii", "replace")] = raw.decode("utf-8", "replace")
    width, height = _length(attrs.get("width")), _length(attrs.get("height"))
    if width is None or height is None:
        box = re.split(r"[\s,]+", attrs.get("viewBox", "").strip())
        try:
            numbers = [float(x) for x in box] if len(box) == 4 else []
        except ValueError:
            numbers = []
        if numbers:
            width = numbers[2] if width is None else width
            height = numbers[3] if height is None else height
    if width is None or height is None or width <= 0 or height <= 0:
        return None
    return round(width), round(height)
