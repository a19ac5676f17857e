"""Image strings taken out of a JSON byte stream and decoded as they arrive; the rest parsed.

A JSON parser holds a string whole until it ends: for an image that is its base64 (4/3 of
the image) plus the parser's copy. `Diverter` sits between the socket and the parser. It
follows the JSON strings in the bytes it passes on, and the value of a `b64_json` key (or
of a `url` key that is a base64 `data:` URL) goes to a `Base64Stream` instead, the parser
seeing a short token in its place. So an answer in flight holds its decoded image and one
read, and the cap on an image is kept on its decoded size as it streams.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import IO, Any

from .b64stream import Base64Stream, Decoded, invalid, spill_file
from .limits import Bounds

READ = 1 << 20
_KEYS = {b"b64_json": "b64", b"url": "url"}
_KEY_MAX = 16  # longer strings cannot be one of _KEYS: their text is not kept
_HEAD_MAX = 256  # `data:image/png;base64,` and its parameters fit well within this
_DATA_URL = re.compile(rb"data:[\w.+/-]*(?:;[\w.+=-]+)*;base64\Z", re.ASCII)
_QUOTE_OR_ESCAPE = re.compile(rb'["\\]')
_NOT_SPACE = re.compile(rb"[^ \t\r\n]")
_HEAD_END = re.compile(rb'[,"\\]')
# Escapes a base64 string may carry: JSON lets a writer escape `/`, and wrapped base64
# comes with `\n`; anything else is not base64.
_SKIPPED = frozenset(b"nrt")
_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")

_SPILL_ATTR = "_easyimg_spill_dir"


def data_url_payload(url: str) -> str | None:
    """The base64 after the comma of a `url` value this reader would divert; None when it is
    not a base64 `data:` URL."""
    if not url.startswith("data:"):
        return None
    comma = url.find(",", 0, _HEAD_MAX + 1)
    head = url[:comma] if comma > 0 else ""
    if not head.isascii() or not _DATA_URL.match(head.encode()):
        return None
    return url[comma + 1 :]


def spill_to(resp: Any, directory: Path) -> None:
    """Have the images of `resp` that outgrow memory wait in a file in `directory`."""
    setattr(resp, _SPILL_ATTR, directory)


def spill_dir_of(resp: Any) -> Path | None:
    found = getattr(resp, _SPILL_ATTR, None)
    return found if isinstance(found, Path) else None


# Where the scanner is in the JSON text.
OUT, IN, KEY, COLON, HEAD, IMAGE = range(6)


class Diverter:
    """A file-like reader for the JSON parser, diverting image strings as described above.

    `held` maps each token to its image's decoded slices until the reader takes them
    (`take`) or lets them go (`release`). Each image is capped, and so are all held at once
    (beyond what one read ahead of the parser adds): a hostile item may hold many.
    `pending` counts the bytes passed on since the caller last reset it, bounded by the
    size one value may have (the parser holds an undiverted string whole).
    """

    def __init__(self, raw: IO[bytes] | Any, bounds: Bounds, spill_dir: Path | None = None) -> None:
        self._raw = raw
        self._spill_dir = spill_dir
        self._bounds = bounds
        self.head = b""
        self.total = 0
        self.pending = 0
        self.held: dict[str, Decoded] = {}
        self._held_size = 0
        self._prefix = f"easyimg-image-{secrets.token_hex(4)}-"
        self._count = 0
        self._seen = -1  # the last token the parser has gone past
        self._state = OUT
        self._text = bytearray()  # the string being read, while it may still be a key
        self._long = False  # ... or not: longer than any key, or escaped
        self._escape = False  # a backslash ended the last read, inside a string
        self._kind = ""
        self._head = bytearray()  # the start of a `url` value: is it a data URL?
        self._image: Base64Stream | None = None
        self._carry = b""  # an escape in an image string cut by the end of a read

    # -- the parser's side

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson asks for nothing first, to learn whether this gives bytes
        while True:
            chunk = self._raw.read(READ)
            if not chunk:
                return b""
            out = self.feed(chunk)
            if out:
                return out

    def feed(self, chunk: bytes) -> bytes:
        """The JSON text in `chunk` for the parser, its image strings taken out."""
        if len(self.head) < 200:
            self.head += chunk[: 200 - len(self.head)]
        self.total += len(chunk)
        out = self._scan(chunk)
        self.pending += len(out)
        if self.pending > self._bounds.max_value:
            raise self._bounds.too_big()
        return out

    def seen(self, value: str) -> None:
        """The parser read `value`, a string: note it when it is one of our tokens."""
        if value.startswith(self._prefix):
            number = value[len(self._prefix) :]
            if number.isdigit():
                self._seen = max(self._seen, int(number))

    def take(self, token: Any) -> Decoded | None:
        """The decoded image `token` stands for (None when it is not one of ours)."""
        if not isinstance(token, str):
            return None
        image = self.held.pop(token, None)
        if image is not None:
            self._held_size -= image.size
        return image

    def release(self) -> None:
        """Let go of the images the parser went past that no item took (a `b64_json`
        somewhere else); those read ahead of it stay."""
        while self.held:
            token = next(iter(self.held))
            if int(token[len(self._prefix) :]) > self._seen:
                break
            self.held.pop(token).close()
            self._held_size = sum(image.size for image in self.held.values())

    def close(self) -> None:
        """Let go of everything held, and of an image half read (the answer ended)."""
        for image in self.held.values():
            image.close()
        self.held.clear()
        self._held_size = 0
        if self._image is not None:
            self._image.discard()
            self._image = None

    # -- the scanner

    def _scan(self, buf: bytes) -> bytes:
        if self._carry:
            buf, self._carry = self._carry + buf, b""
        out: list[bytes] = []
        n = len(buf)
        pos = mark = 0  # buf[mark:pos] is to be passed on
        while pos < n:
            state = self._state
            if state == OUT:
                q = buf.find(b'"', pos)
                if q < 0:
                    pos = n
                    break
                pos = q + 1
                self._state, self._long = IN, False
                self._text.clear()
            elif state == IN:
                pos = self._string(buf, pos)
            elif state in (KEY, COLON):
                found = _NOT_SPACE.search(buf, pos)
                if found is None:
                    pos = n
                    break
                pos = found.start()
                c = buf[pos]
                if state == KEY:
                    self._state = COLON if c == 0x3A else OUT  # ":"
                    pos += c == 0x3A
                elif c != 0x22:  # not a string: `"b64_json": null` and the like
                    self._state = OUT
                else:
                    pos += 1
                    out.append(buf[mark:pos])
                    mark = pos
                    if self._kind == "b64":
                        self._start()
                    else:
                        self._state = HEAD
                        self._head.clear()
            elif state == HEAD:
                pos, emit = self._data_url(buf, pos)
                if emit is not None:
                    out.append(emit)
                mark = pos
            else:
                pos = self._divert(buf, pos)
                mark = pos
                if self._state == OUT:
                    out.append(self._finish().encode() + b'"')
        if self._state not in (HEAD, IMAGE) and mark < n:
            out.append(buf[mark:])
        return out[0] if len(out) == 1 else b"".join(out)

    def _string(self, buf: bytes, pos: int) -> int:
        """Inside a string: find its end; note whether it was a key worth watching."""
        n = len(buf)
        if self._escape:
            self._escape, self._long = False, True
            return pos + 1
        found = _QUOTE_OR_ESCAPE.search(buf, pos)
        end = n if found is None else found.start()
        if not self._long:
            if len(self._text) + end - pos > _KEY_MAX:
                self._long = True
            else:
                self._text += buf[pos:end]
        if found is None:
            return n
        if buf[end] == 0x5C:  # a backslash: the next byte is escaped; no key has one
            self._long = True
            if end + 1 >= n:
                self._escape = True
                return n
            return end + 2
        kind = None if self._long else _KEYS.get(bytes(self._text))
        if kind is None:
            self._state = OUT
        else:
            self._state, self._kind = KEY, kind
        return end + 1

    def _data_url(self, buf: bytes, pos: int) -> tuple[int, bytes | None]:
        """The start of a `url` value: divert it when it is base64 data, else pass it on."""
        window = min(len(buf), pos + _HEAD_MAX + 1 - len(self._head))
        found = _HEAD_END.search(buf, pos, window)
        end = window if found is None else found.start()
        self._head += buf[pos:end]
        if found is None and len(self._head) <= _HEAD_MAX:
            return end, None  # the end of the read: wait for more
        if found is not None and buf[end] == 0x2C and _DATA_URL.match(self._head):  # ","
            self._start()
            return end + 1, None
        # Not a data URL: an ordinary string, passed on as it came.
        self._state, self._long = IN, True
        return end, bytes(self._head)

    def _start(self) -> None:
        self._image = Base64Stream(
            self._bounds.max_image, self._too_big, lambda: spill_file(self._spill_dir)
        )
        self._state = IMAGE

    def _divert(self, buf: bytes, pos: int) -> int:
        """Image characters to the decoder, up to the closing quote (then state OUT)."""
        assert self._image is not None
        q = buf.find(b'"', pos)
        end = len(buf) if q < 0 else q
        if buf.find(b"\\", pos, end) < 0:
            self._image.feed(memoryview(buf)[pos:end])
        else:
            part = buf[pos:end].replace(b"\\/", b"/")
            if b"\\" in part:
                return self._escaped(buf, pos, end, q)
            self._image.feed(part)
        self._check()
        if q < 0:
            return end
        self._state = OUT
        return q + 1

    def _check(self) -> None:
        assert self._image is not None
        if self._held_size + self._image.size > self._bounds.max_image + READ:
            raise self._too_big()

    def _too_big(self) -> Exception:
        return self._bounds.too_big("an image in the answer")

    def _escaped(self, buf: bytes, pos: int, end: int, q: int) -> int:
        """The careful way through escapes other than `\\/`, one at a time."""
        assert self._image is not None
        at = pos
        while (b := buf.find(b"\\", at, end)) >= 0:
            self._image.feed(buf[at:b])
            if b + 6 > len(buf) and q < 0:
                self._carry = buf[b:]  # the escape may go on in the next read
                return len(buf)
            c = buf[b + 1]
            if c == 0x2F:  # "/"
                self._image.feed(b"/")
                at = b + 2
            elif c in _SKIPPED:
                at = b + 2
            elif c == 0x75:  # "u"
                try:
                    char = int(buf[b + 2 : b + 6], 16)
                except ValueError:
                    raise invalid() from None
                if char in _B64_CHARS:
                    self._image.feed(bytes([char]))
                elif char not in (0x20, 0x09, 0x0A, 0x0D):
                    raise invalid()
                at = b + 6
            else:
                raise invalid()  # `\"`, `\\` and the rest are not base64
        self._image.feed(buf[at:end])
        self._check()
        if q < 0:
            return end
        self._state = OUT
        return q + 1

    def _finish(self) -> str:
        assert self._image is not None
        image = self._image.close()
        self._image = None
        if not image:
            return ""  # an empty string stays one: "neither b64_json nor url"
        token = f"{self._prefix}{self._count}"
        self._count += 1
        self.held[token] = image
        self._held_size += image.size
        return token
