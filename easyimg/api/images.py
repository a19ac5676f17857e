"""OpenAI's images API: JSON or multipart requests, answers read as JSON or as SSE events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .answers import read_images

if TYPE_CHECKING:
    import requests

    from ..inputs import InputImage
    from .client import Client
    from .dialect import OnImage

GENERATIONS = "images/generations"
EDITS = "images/edits"
VARIATIONS = "images/variations"

Read = Callable[["requests.Response", "OnImage"], dict[str, Any]]


@dataclass
class Dialect:
    """Generations as JSON; edits and variations as multipart when `files` are given.

    `reader` replaces the JSON reader, e.g. with a StreamReader for `--stream`.
    """

    endpoint: str = GENERATIONS
    files: list[tuple[str, InputImage]] | None = None
    reader: Read | None = None
    name: ClassVar[str] = "images"

    def send(self, client: Client, body: Mapping[str, Any], count: int) -> requests.Response:
        if self.files is None:
            return client.request("POST", self.endpoint, json_body={**body, "n": count})
        from ..inputs import MultipartBody, form_fields, post_multipart

        # A body object per request, so concurrent requests read the files separately.
        multipart = MultipartBody(form_fields({**body, "n": count}), self.files)
        return post_multipart(client, self.endpoint, multipart)

    def read(self, resp: requests.Response, on_image: OnImage) -> dict[str, Any]:
        return (self.reader or read_images)(resp, on_image)
