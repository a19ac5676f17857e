"""Bounds on one answer: its deadline, how much of it may be read, what a failed read means."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ..errors import NetworkError, ResponseError

if TYPE_CHECKING:
    from .deadline import Deadline

MB = 1 << 20
DEFAULT_MAX_IMAGE = 100 * MB
# A JSON answer that is not images (a model list, a batch, a file object) is far smaller.
MAX_DOC = 8 * MB
# Room beside one image's base64 in the same JSON value: line breaks, the item's other
# fields, and the coarseness of counting per read (two reads of client.PARSE_BUFFER).
_SLACK = 9 * MB
TIMEOUT_HINT = (
    "the image may already have been generated and billed, so it was not retried; "
    "use --stream (its events keep slow requests alive through proxies) "
    "or --retry-timeouts to retry anyway"
)
# What a read of a body raises when the connection breaks, times out or is shut under it.
READ_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)
_ATTR = "_easyimg_bounds"


def mb(n: int) -> str:
    return f"{n / MB:.4g} MB"


@dataclass
class Bounds:
    """What one answer may take: until `deadline`, and `max_image` bytes per image."""

    host: str
    timeout: float = 600.0
    deadline: Deadline | None = None
    max_image: int = DEFAULT_MAX_IMAGE

    @property
    def expired(self) -> bool:
        return self.deadline is not None and self.deadline.expired

    @property
    def max_value(self) -> int:
        """Bytes one JSON value (or one event) may hold: one image's base64 and some room."""
        return self.max_image // 3 * 4 + self.max_image // 32 + _SLACK

    def too_big(self, what: str = "the answer holds a value that") -> ResponseError:
        return too_big(self.max_image, what)

    def late(self, what: str | None = None) -> NetworkError:
        """The deadline passed: the answer (or `what`, e.g. "event stream") was not whole."""
        if what is not None:
            return NetworkError(f"no complete {what} within {self.timeout:g} s (--timeout)")
        return NetworkError(
            f"no complete answer from {self.host} within {self.timeout:g} s (--timeout)",
            hint=TIMEOUT_HINT,
        )

    def failure(
        self, exc: BaseException, got: int, what: str | None = None
    ) -> NetworkError | ResponseError:
        """What a failed read of the answer (or `what`), after `got` bytes, tells the user."""
        if self.expired or is_timeout(exc):
            return self.late(what)
        if isinstance(
            exc, requests.exceptions.ContentDecodingError | urllib3.exceptions.DecodeError
        ):
            return ResponseError(f"the {what or 'answer'} is compressed wrongly (Content-Encoding)")
        return NetworkError(f"the {what or 'answer'} broke off after {got} bytes")


def too_big(max_image: int, what: str) -> ResponseError:
    return ResponseError(
        f"{what} is larger than one image may be ({mb(max_image)} decoded; config key max_image_mb)"
    )


def attach(resp: requests.Response, bounds: Bounds) -> None:
    setattr(resp, _ATTR, bounds)


def bounds_of(resp: requests.Response) -> Bounds:
    """The bounds the client gave this response (defaults for one it did not make)."""
    found = getattr(resp, _ATTR, None)
    return found if isinstance(found, Bounds) else Bounds(urlsplit(resp.url or "").netloc)


def is_timeout(exc: BaseException | None) -> bool:
    """True when a read ended because a socket timed out, however deep that is wrapped."""
    for _ in range(6):
        if exc is None:
            return False
        if isinstance(exc, TimeoutError | requests.Timeout | urllib3.exceptions.TimeoutError):
            return True
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        exc = inner or exc.__cause__ or exc.__context__
    return False


def read_body(resp: requests.Response, limit: int = MAX_DOC) -> bytes:
    """A whole (decompressed) body of at most `limit` bytes; the response is closed after."""
    bounds = bounds_of(resp)
    chunks: list[bytes] = []
    got = 0
    try:
        for chunk in resp.iter_content(1 << 16):
            got += len(chunk)
            if got > limit:
                raise ResponseError(f"the answer is larger than {mb(limit)}; not read further")
            chunks.append(chunk)
    except READ_ERRORS as exc:
        raise bounds.failure(exc, got) from None
    finally:
        resp.close()
    if bounds.expired:
        raise bounds.late()  # shut at the deadline: what came is not the whole answer
    return b"".join(chunks)


def iter_body(
    resp: requests.Response, what: str | None = None, chunk_size: int = 1 << 16
) -> Iterator[bytes]:
    """A body in chunks as it arrives; a broken or late one raises, naming `what`."""
    bounds = bounds_of(resp)
    got = 0
    try:
        for chunk in resp.iter_content(chunk_size):
            got += len(chunk)
            yield chunk
    except READ_ERRORS as exc:
        raise bounds.failure(exc, got, what) from None
    if bounds.expired:
        raise bounds.late(what)
