"""Which API dialect a command sends with: --api or the rule table, chat's form, a batch's pick."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..api.chat import Dialect as ChatDialect
    from ..config import Settings
    from ..console import Console


def api_for(settings: "Settings", model: str) -> str:
    """The API a generation uses: --api or config `api`, else the rule table's, by model."""
    from ..errors import UsageError
    from ..models import DIALECTS, dialect_for

    name = settings.api or dialect_for(model)
    if name not in DIALECTS:
        raise UsageError(f"--api {name!r}: use images or chat")
    return name


def chat_request(
    console: "Console", settings: "Settings", body: dict[str, Any], *, validate: bool
) -> "tuple[dict[str, Any], ChatDialect]":
    """An images-style body in chat's terms (warning where a size had to be mapped), and the
    dialect that sends it in the form the host expects."""
    from ..api import chat

    body, notes = chat.prepare(body, validate=validate)
    for note in notes:
        console.warn(note)
    return body, chat.Dialect(form=chat.form_for(settings.base_url, settings.chat_style))


def no_resolution(resolution: str | None) -> None:
    if resolution is not None:
        from ..errors import UsageError

        raise UsageError(
            "--resolution is for chat image models (--api chat); give the images API -s WxH"
        )


def dialect_picker(settings: "Settings") -> Any:
    """For a batch: each item's dialect, by the API the prompt file gave it."""
    from ..api import chat, images, tasks

    form = chat.form_for(settings.base_url, settings.chat_style)

    def pick(item: Any) -> Any:
        if item.api == "chat":
            return chat.Dialect(form=form)
        endpoint = images.EDITS if item.is_edit else images.GENERATIONS
        return tasks.Dialect(images.Dialect(endpoint), poll=settings.task_poll)

    return pick
