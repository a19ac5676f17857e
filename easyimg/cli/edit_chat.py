"""`easyimg edit` by a chat image model: the inputs go as data URLs in the user message."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Settings
    from ..console import Console
    from ..generate import Writing
    from .generation import Showing


def edit_by_chat(
    console: "Console",
    settings: "Settings",
    images: list[str],
    body: dict[str, Any],
    count: int,
    writing: "Writing",
    showing: "Showing",
    *,
    mask: str | None,
    validate: bool,
    dry_run: bool,
    offline: bool,
    retry_timeouts: bool,
) -> None:
    """Check the inputs, then run (or show with --dry-run) the edit through chat."""
    from ..errors import UsageError
    from ..generate import Ask
    from ..inputs import check_edit
    from ..models import rules_for
    from .dialects import chat_request
    from .gen import show_dry_run
    from .generation import run_generation

    if mask is not None:
        raise UsageError("--mask is for the images API: chat image models edit from the prompt")
    if writing.save_partials:
        raise UsageError("--save-partials is for the images API: chat answers no partials")
    body, dialect = chat_request(console, settings, body, validate=validate)
    if not str(body.get("prompt", "")).strip():
        raise UsageError("prompt is empty")
    model = str(body["model"])
    found, _ = check_edit(images, None, rules_for(model), model, validate=validate)
    file_ids = [getattr(i, "label", "") for i in found if getattr(i, "kind", None) == "file_id"]
    if file_ids:
        raise UsageError(
            f"{file_ids[0]}: uploaded file ids are for the images API; chat image models "
            "take local files or URLs"
        )
    dialect.images = found
    if dry_run:
        show_dry_run(console, settings, body, count, 1, showing.json_out, dialect=dialect)
        return
    run_generation(
        console,
        settings,
        Ask(body, count=count, max_n=1, dialect=dialect, command="edit"),
        writing,
        showing,
        offline=offline,
        retry_timeouts=retry_timeouts,
    )
