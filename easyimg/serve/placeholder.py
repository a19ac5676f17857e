"""Placeholder art for `easyimg serve`: deterministic gradients with the prompt written on them."""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import re
from xml.sax.saxutils import escape

from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
MIME_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "svg": "image/svg+xml",
}
# XML 1.0 has no way to write these, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SNIFF = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif"}
_MAX_WORDS = 60
RGB = tuple[int, int, int]


@functools.cache
def _diagonal() -> Image.Image:
    # 256x256 ramp from the top-left to the bottom-right corner; stretched to any size it stays
    # smooth, so no per-pixel work happens in Python.
    vertical = Image.linear_gradient("L")
    return ImageChops.add(vertical, vertical.transpose(Image.Transpose.ROTATE_270), scale=2)


def palette(seed: str, index: int = 0) -> tuple[RGB, RGB]:
    """A light and a dark colour picked from a hash of `seed`; `index` turns the hue a little."""
    d = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
    hue = d[0] / 256 + index * 0.09
    spread = 0.15 + d[1] / 256 * 0.3
    light = colorsys.hsv_to_rgb(hue % 1.0, 0.35 + d[2] / 256 * 0.3, 0.92 + d[3] / 256 * 0.08)
    dark = colorsys.hsv_to_rgb(
        (hue + spread) % 1.0, 0.55 + d[4] / 256 * 0.35, 0.38 + d[5] / 256 * 0.22
    )
    return _rgb(light), _rgb(dark)


def _rgb(c: tuple[float, float, float]) -> RGB:
    return (round(c[0] * 255), round(c[1] * 255), round(c[2] * 255))


def gradient(width: int, height: int, light: RGB, dark: RGB) -> Image.Image:
    # Colour the 256x256 ramp first, then stretch: far cheaper than compositing at full size.
    ramp = _diagonal()
    small = Image.composite(
        Image.new("RGB", ramp.size, dark), Image.new("RGB", ramp.size, light), ramp
    )
    return small.resize((width, height), Image.Resampling.BILINEAR)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # A fresh face per call (about 30 us): FreeType faces are not safe to share across threads.
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        while font.getlength(word) > width and len(word) > 1:
            # A word wider than the line is cut where it stops fitting.
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > width:
                cut = max(1, cut * 3 // 4)
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        trial = f"{line} {word}" if line else word
        if line and font.getlength(trial) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


def _caption(
    draw: ImageDraw.ImageDraw, text: str, box: tuple[int, int, int, int], start: int = 0
) -> None:
    """Write `text` centred in `box`, starting at `start` px and shrinking until it fits."""
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    words = text.split()
    if len(words) > _MAX_WORDS:
        words = [*words[:_MAX_WORDS], "..."]
    text = " ".join(words) or "(empty prompt)"
    size = max(8, start or min(w, h) // 9)
    while True:
        font = _font(size)
        lines = _wrap(text, font, w)
        step = round(size * 1.25)
        if step * len(lines) <= h or size <= 8:
            break
        size = max(8, size * 4 // 5)
    y = top + (h - step * len(lines)) // 2
    for line in lines:
        x = left + (w - font.getlength(line)) / 2
        draw.text(
            (x, y),
            line,
            font=font,
            fill="white",
            stroke_width=max(1, size // 14),
            stroke_fill=(20, 20, 30),
        )
        y += step


def _corner_labels(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    left_text: str,
    right_text: str,
    inset: int = 0,
) -> None:
    size = _label_size(width, height)
    font = _font(size)
    pad = inset + max(4, size // 2)
    y = height - pad - size
    draw.text(
        (pad, y),
        left_text,
        font=font,
        fill="white",
        stroke_width=max(1, size // 12),
        stroke_fill=(20, 20, 30),
    )
    x = width - pad - font.getlength(right_text)
    draw.text(
        (x, y),
        right_text,
        font=font,
        fill="white",
        stroke_width=max(1, size // 12),
        stroke_fill=(20, 20, 30),
    )


def _label_size(width: int, height: int) -> int:
    return max(8, min(width, height) // 28)


def _band(image: Image.Image, top: int) -> None:
    """Darken the strip from `top` to the bottom so text on it reads over any picture."""
    box = (0, top, image.width, image.height)
    shade = Image.new("L", (box[2], box[3] - box[1]), 170)
    image.paste((15, 15, 25), box, shade)


def _transparent_frame(width: int, height: int, inset: int) -> Image.Image:
    """An alpha mask: an opaque rounded card on a fully transparent background."""
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rounded_rectangle(
        (inset, inset, width - 1 - inset, height - 1 - inset), radius=max(1, inset), fill=255
    )
    return mask


def generate(
    prompt: str,
    width: int,
    height: int,
    *,
    index: int = 0,
    total: int = 1,
    label: str = "",
    transparent: bool = False,
    seed: str = "",
) -> Image.Image:
    """The placeholder for one generated image (RGBA when `transparent`)."""
    light, dark = palette(f"{seed}\0{prompt}" if seed else prompt, index)
    img = gradient(width, height, light, dark)
    inset = 0
    if transparent:
        inset = max(1, min(width, height) // 12)
        img.putalpha(_transparent_frame(width, height, inset))
    draw = ImageDraw.Draw(img)
    margin = min(width, height) // 8
    _caption(draw, prompt, (margin, margin, width - margin, height - margin))
    _corner_labels(draw, width, height, label, f"{index + 1}/{total}", inset)
    return img


def edit(
    images: list[Image.Image],
    prompt: str,
    width: int,
    height: int,
    *,
    mask: Image.Image | None = None,
    index: int = 0,
    total: int = 1,
    label: str = "",
) -> Image.Image:
    """Draw over the first image: a tinted overlay with the prompt, only where `mask` is clear."""
    base = ImageOps.fit(images[0].convert("RGBA"), (width, height), Image.Resampling.BILINEAR)
    light, dark = palette(prompt, index)
    art = gradient(width, height, light, dark).convert("RGBA")
    if mask is None:
        out = Image.blend(base, art, 0.45)
        out.putalpha(base.getchannel("A"))
    else:
        fitted = ImageOps.fit(mask, (width, height), Image.Resampling.BILINEAR)
        alpha = fitted.getchannel("A") if "A" in fitted.getbands() else fitted.convert("L")
        # Transparent mask pixels mark the area to edit.
        out = Image.composite(base, art, alpha)
    draw = ImageDraw.Draw(out)
    # The other inputs show as thumbnails along the top so one can see they arrived.
    thumb = max(8, min(width, height) // 8)
    pad = max(2, thumb // 10)
    for i, other in enumerate(images[1:]):
        x = pad + i * (thumb + pad)
        if x + thumb > width:
            break
        small = ImageOps.fit(other.convert("RGBA"), (thumb, thumb), Image.Resampling.BILINEAR)
        out.paste(small, (x, pad), small)
    # The prompt goes on a dark band over the lower third, where the input's own text (a
    # placeholder edited again, say) cannot make it unreadable.
    top = height * 2 // 3
    _band(out, top)
    labels = _label_size(width, height) * 2
    margin = min(width, height) // 24
    _caption(
        draw,
        f"edit: {prompt}",
        (margin, top + margin, width - margin, height - labels - margin),
        min(width, height) // 14,
    )
    _corner_labels(draw, width, height, label, f"{index + 1}/{total}")
    return out


def vary(
    image: Image.Image, width: int, height: int, *, index: int = 0, total: int = 1, label: str = ""
) -> Image.Image:
    """A variation: the image with its hue turned (and mirrored on odd indices)."""
    base = ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.BILINEAR)
    h, s, v = base.convert("HSV").split()
    shift = (41 * (index + 1)) % 256
    h = h.point(lambda x: (x + shift) % 256)
    out = Image.merge("HSV", (h, s, v)).convert("RGB")
    if index % 2:
        out = ImageOps.mirror(out)
    _band(out, height - _label_size(width, height) * 2)
    _corner_labels(ImageDraw.Draw(out), width, height, label, f"variation {index + 1}/{total}")
    return out


def partials(image: Image.Image, count: int) -> list[Image.Image]:
    """`count` progressively sharper previews of `image` (downscaled then scaled back up)."""
    out = []
    w, h = image.size
    for k in range(count):
        factor = 2 ** (count - k + 2)
        small = image.resize((max(1, w // factor), max(1, h // factor)), Image.Resampling.BOX)
        out.append(small.resize((w, h), Image.Resampling.BILINEAR))
    return out


def _hex(c: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def svg(
    prompt: str,
    width: int,
    height: int,
    *,
    index: int = 0,
    total: int = 1,
    label: str = "",
    seed: str = "",
) -> bytes:
    """A real SVG document: the placeholder's gradient, prompt and labels as vector shapes."""
    light, dark = palette(f"{seed}\0{prompt}" if seed else prompt, index)
    words = _NOT_XML.sub("", prompt).split()
    if len(words) > _MAX_WORDS:
        words = [*words[:_MAX_WORDS], "..."]
    size = max(8, min(width, height) // 14)
    # A fixed advance per character stands in for font metrics, which SVG leaves to the viewer.
    per_line = max(8, int((width - min(width, height) // 4) / (size * 0.55)))
    lines: list[str] = []
    for word in words or ["(empty prompt)"]:
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    step = round(size * 1.25)
    top = (height - step * len(lines)) // 2 + size
    spans = "".join(
        f'<tspan x="{width // 2}" y="{top + i * step}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    small = _label_size(width, height)
    pad = max(4, small // 2)
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">\n'
        f"<title>{escape(' '.join(words))}</title>\n"
        '<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{_hex(light)}"/>'
        f'<stop offset="1" stop-color="{_hex(dark)}"/></linearGradient></defs>\n'
        f'<rect width="{width}" height="{height}" fill="url(#bg)"/>\n'
        '<g font-family="sans-serif" fill="white" stroke="#14141e" '
        f'stroke-width="{max(1, size // 14)}" paint-order="stroke">\n'
        f'<text font-size="{size}" text-anchor="middle">{spans}</text>\n'
        f'<text font-size="{small}" x="{pad}" y="{height - pad}">'
        f"{escape(_NOT_XML.sub('', label))}</text>\n"
        f'<text font-size="{small}" x="{width - pad}" y="{height - pad}" text-anchor="end">'
        f"{index + 1}/{total}</text>\n"
        f"</g>\n<desc>{escape('placeholder drawn by easyimg serve')}</desc>\n</svg>\n"
    )
    return doc.encode("utf-8")


def animate(image: Image.Image, frames: int, duration_ms: int) -> bytes:
    """An animated GIF of `frames` frames: `image` with a marker that sweeps across it."""
    width, height = image.size
    # One palette for every frame, with two spare entries for the marker: quantizing once
    # keeps a 16-frame animation about as cheap as one still.
    base = image.convert("RGB").quantize(colors=254)
    colours = (base.getpalette() or [])[: 254 * 3]
    colours += [0, 0, 0] * (254 - len(colours) // 3) + [255, 255, 255, 20, 20, 30]
    base.putpalette(colours)
    bar = max(2, height // 40)
    dot = max(4, min(width, height) // 16)
    out: list[Image.Image] = []
    for k in range(frames):
        frame = base.copy()
        draw = ImageDraw.Draw(frame)
        draw.rectangle((0, height - bar, width * (k + 1) // frames - 1, height - 1), fill=254)
        x = (width - dot) * k // max(1, frames - 1)
        draw.ellipse((x, bar, x + dot, bar + dot), fill=254, outline=255)
        out.append(frame)
    buf = io.BytesIO()
    out[0].save(
        buf,
        "GIF",
        save_all=True,
        append_images=out[1:],
        duration=duration_ms,
        loop=0,
        optimize=False,
    )
    return buf.getvalue()


def encode(image: Image.Image, fmt: str, compression: int | None = None) -> bytes:
    """Encode as png/jpeg/webp/gif; `compression` (OpenAI's 0-100) is the jpeg/webp quality."""
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(buf, "JPEG", quality=_quality(compression, 100))
    elif fmt == "webp":
        image.save(buf, "WEBP", quality=_quality(compression, 100), method=0)
    elif fmt == "gif":
        image.convert("RGB").save(buf, "GIF")
    else:
        image.save(buf, "PNG")
    return buf.getvalue()


def _quality(compression: int | None, default: int) -> int:
    return max(1, min(100, default if compression is None else compression))


def open_image(data: bytes) -> tuple[Image.Image, str]:
    """Decode uploaded bytes; ValueError when they are not a PNG, JPEG, WebP or GIF image."""
    try:
        img = Image.open(io.BytesIO(data))
        fmt = _SNIFF.get(img.format or "")
        if fmt is None:
            raise ValueError(f"unsupported image format {img.format}")
        img.load()
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(str(exc) or "not an image") from exc
    return img, fmt
