"""`easyimg models`: the image models an endpoint offers, with their rules."""

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .common import (
    ApiKey,
    BaseUrl,
    Offline,
    Profile,
    Retries,
    Timeout,
    connect,
    make_console,
    settings_for,
    state,
)

if TYPE_CHECKING:
    from ..console import Console
    from ..models import ModelRules


from .tables import emit, json_flag

# Ids that name an image model, besides those in the rule table: a documented heuristic,
# matched case-insensitively anywhere in the id. `models --all` shows every id regardless.
IMAGE_HINTS = (
    "image",
    "dall-e",
    "dalle",
    "flux",
    "stable-diffusion",
    "sdxl",
    "sd3",
    "sd1",
    "sd2",
    "seedream",
    "seededit",
    "imagen",
    "recraft",
    "ideogram",
    "midjourney",
    "kolors",
    "hunyuan",
    "cogview",
    "kandinsky",
    "playground",
    "hidream",
    "nano-banana",
    "wanx",
    "omnigen",
    "photon",
    "dreamshaper",
    "juggernaut",
)


def _is_image_model(model_id: str) -> bool:
    from ..models import lookup

    low = model_id.lower()
    return lookup(model_id) is not None or any(hint in low for hint in IMAGE_HINTS)


def models(
    all_models: Annotated[
        bool,
        typer.Option("--all", help="list every model the endpoint offers, not only image models"),
    ] = False,
    json_out: Annotated[bool, json_flag("the list")] = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    timeout: Timeout = None,
    retries: Retries = None,
    offline: Offline = False,
) -> None:
    """List the image models the endpoint offers (GET /models), with what easyimg knows of each.

    Image models: the ids in easyimg's rule table, and ids with image, dall-e, flux, sd3, ...

    easyimg models --base-url http://localhost:4000/v1 --json | jq -r '.[].id'
    """
    import json

    from ..api.limits import read_body
    from ..errors import ResponseError
    from ..models import lookup

    console = make_console(json_mode=json_out)
    settings = settings_for(
        base_url=base_url, api_key=api_key, profile=profile, timeout=timeout, retries=retries
    )
    conn = connect(settings, offline=offline, console=console)
    try:
        body = read_body(conn.client.request("GET", "models"))
        try:
            payload = json.loads(body)
        except ValueError:
            text = body[:200].decode("utf-8", "replace")
            raise ResponseError(
                f"the models list from {settings.base_url} is not JSON: "
                f"{' '.join(text.split())[:80]}"
            ) from None
    finally:
        conn.close()
    listed = _model_items(payload)
    if listed is None:
        raise ResponseError(f"the answer from {settings.base_url}/models holds no model list")
    everything = sorted(listed, key=lambda m: m["id"])
    shown = [m for m in everything if all_models or _is_image_model(m["id"])]
    docs = [_describe(m, lookup(m["id"])) for m in shown]
    if json_out:
        console.out_json(docs)
        return
    if shown or not everything:
        sep = ", " if state.env.stdout_isatty else ","
        emit(
            [
                ("id", "left"),
                ("known", "left"),
                ("api", "left"),
                ("sizes", "left"),
                ("qualities", "left"),
                ("formats", "left"),
                ("owned_by", "left"),
            ],
            [
                [
                    d["id"],
                    "yes" if d["known"] else "no",
                    d["api"],
                    _sizes_text(d, sep),
                    sep.join(d["qualities"] or ()),
                    sep.join(d["formats"] or ()),
                    d["owned_by"] or "",
                ]
                for d in docs
            ],
            wrap=("sizes", "qualities", "formats", "owned_by"),
        )
    where = "the offline server" if offline else settings.base_url
    _models_note(console, len(shown), len(everything), all_models, where)


def _model_items(payload: Any) -> list[dict[str, Any]] | None:
    """Model objects from an OpenAI list, a bare list, or a router's `models` key."""
    items = payload
    if isinstance(payload, dict):
        items = payload.get("data", payload.get("models"))
    if not isinstance(items, list):
        return None
    found = []
    for item in items:
        if isinstance(item, str):
            item = {"id": item}
        if isinstance(item, dict) and isinstance(item.get("id") or item.get("name"), str):
            found.append({**item, "id": item.get("id") or item["name"]})
    return found


def _describe(item: dict[str, Any], rules: Optional["ModelRules"]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": item["id"],
        "known": rules is not None,
        "image": _is_image_model(item["id"]),
        **_api(item),
        "owned_by": item.get("owned_by"),
        "created": item.get("created"),
        "sizes": None,
        "size_rule": None,
        "qualities": None,
        "formats": None,
    }
    if rules is not None:
        doc["sizes"] = list(rules.sizes) if rules.sizes is not None else None
        if rules.sizes is None:
            doc["size_rule"] = (
                f"auto or any WxH: sides divisible by {rules.size_multiple}, "
                f"aspect 1:{rules.max_aspect:g} to {rules.max_aspect:g}:1, "
                f"at least {rules.min_pixels:,} pixels, "
                f"at most {rules.max_edge}x{rules.max_pixels // rules.max_edge}"
            )
        doc["named_sizes"] = dict(rules.named_sizes)
        doc["qualities"] = list(rules.qualities)
        # No output_format means PNG, always.
        doc["formats"] = list(rules.formats) or ["png"]
        doc["max_n"] = rules.max_n
        # Shut down on OpenAI that day; routers may still serve it.
        doc["retired"] = rules.retired.isoformat() if rules.retired else None
    return doc


def _api(item: dict[str, Any]) -> dict[str, str]:
    """Which API reaches the model: the router's `supported_endpoint_types` when it sends
    them (new-api: `image-generation` is /images/*; chat image models show as openai or
    gemini), else easyimg's rule table."""
    from ..models import dialect_for

    types = item.get("supported_endpoint_types")
    if isinstance(types, list) and types:
        return {"api": "images" if "image-generation" in types else "chat", "api_from": "router"}
    return {"api": dialect_for(item["id"]), "api_from": "table"}


def _sizes_text(doc: dict[str, Any], sep: str) -> str:
    if doc["sizes"] is not None:
        return sep.join(doc["sizes"])
    if doc["size_rule"]:
        return f"auto{sep}any WxH ÷16 up to {doc['size_rule'].rsplit(' ', 1)[-1]}"
    return ""


def _models_note(console: "Console", shown: int, listed: int, all_models: bool, where: str) -> None:
    if not state.env.stderr_isatty:
        return
    if not listed:
        console.info(f"{where} lists no models")
    elif all_models:
        console.info(f"{listed} models at {where}")
    elif not shown:
        console.info(
            f"none of the {listed} models at {where} looks like an image model; "
            "--all lists them all"
        )
    else:
        console.info(f"{shown} image models of {listed} at {where}; --all lists them all")
