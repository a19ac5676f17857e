"""The dialect seam: how a generation request is sent and how its answer becomes images."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import requests

    from .client import Client

# Called once per image item as it arrives: the item (`b64_json` or `url`, plus whatever else
# the answer says of that image) and the answer's top-level fields read so far.
OnImage = Callable[[dict[str, Any], dict[str, Any]], None]


class Dialect(Protocol):
    """One way of asking a server for images. `Generation` drives it and never looks inside.

    `send` makes one request for `count` images from the request body; `read` reads its
    answer as a stream, calling `on_image` per image, and returns the top-level fields
    (`created`, `usage`, ...). An answer that is an error raises an EasyImgError.
    """

    name: ClassVar[str]
    # The path below the base URL that requests go to: shown by --dry-run, kept in sidecars.
    endpoint: str

    def send(self, client: Client, body: Mapping[str, Any], count: int) -> requests.Response: ...

    def read(self, resp: requests.Response, on_image: OnImage) -> dict[str, Any]: ...
