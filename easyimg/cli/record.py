"""History entries for what gen, edit, vary and rerun did: made images, or failed."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Settings
    from ..console import Console


def record(
    console: "Console",
    settings: "Settings",
    command: str,
    body: dict[str, Any],
    *,
    files: list[str],
    usage: dict[str, Any] | None,
    request_id: str | None,
    status: str,
    placeholder: bool,
    offline: bool,
    inputs: dict[str, Any] | None = None,
    error: str | None = None,
    answer: dict[str, Any] | None = None,
) -> None:
    """Append one history entry (unless config `history = false`)."""
    from .. import history
    from ..generate import recordable

    if not settings.history:
        return
    entry = history.record(
        command,
        model=str(body.get("model") or ""),
        prompt=body.get("prompt"),
        # Inlined images (data: URLs) are cut short: a history line is not a copy of them.
        parameters=recordable({k: v for k, v in body.items() if k != "prompt"}),
        files=files,
        usage=usage,
        request_id=request_id,
        base_url=settings.base_url,
        status=status,
        placeholder=placeholder,
        host="offline" if offline else None,
        inputs=inputs,
        error=error,
        answer=answer,
    )
    try:
        history.append(settings.history_file, entry)
    except Exception as exc:
        # A history file that cannot be written must never cost the user their images, nor
        # hide the error that happened.
        console.warn(str(exc))


def failed(
    console: "Console",
    settings: "Settings",
    command: str,
    body: dict[str, Any],
    exc: Exception,
    offline: bool,
    inputs: dict[str, Any] | None,
) -> None:
    """A request that made no image is in the history too (`history --status error`)."""
    record(
        console,
        settings,
        command,
        body,
        files=[],
        usage=None,
        request_id=getattr(exc, "request_id", None),
        status="error",
        placeholder=offline,
        offline=offline,
        inputs=inputs,
        error=str(exc),
    )


def inputs_of(dialect: Any) -> dict[str, Any] | None:
    """The files an edit or variation sends (`image`: paths, `mask`: a path), for rerun."""
    files = getattr(dialect, "files", None)
    if not files:
        return None
    out: dict[str, Any] = {}
    for field, image in files:
        path = str(image.path.resolve())
        if field == "mask":
            out["mask"] = path
        else:
            out.setdefault("image", []).append(path)
    return out


def command_endpoint(command: str) -> str:
    return {"edit": "edits", "vary": "variations"}.get(command, "generations")
