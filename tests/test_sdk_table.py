"""The rule table held against the installed openai package; when the SDK moves, this says what."""

from __future__ import annotations

import ast
import fnmatch
import inspect
import re
import typing
from typing import Any

import pytest

openai = pytest.importorskip("openai")

from openai.types import image_edit_params, image_generate_params  # noqa: E402
from openai.types.image_model import ImageModel  # noqa: E402

from easyimg import models  # noqa: E402
from easyimg.errors import ValidationError  # noqa: E402
from easyimg.models import lookup, validate  # noqa: E402

GEN = image_generate_params.ImageGenerateParamsBase
EDIT = image_edit_params.ImageEditParamsBase
SDK_MODELS: tuple[str, ...] = typing.get_args(ImageModel)

# Values the SDK's types allow that our table refuses for a model, each with the reason.
# (model pattern, field, value): reason. A pattern that no longer matches a refusal is stale.
EXCEPTIONS: dict[tuple[str, str, str], str] = {
    ("dall-e-*", "quality", "low"): "GPT image qualities; DALL-E takes standard (and hd)",
    ("dall-e-*", "quality", "medium"): "GPT image qualities",
    ("dall-e-*", "quality", "high"): "GPT image qualities",
    ("dall-e-*", "quality", "auto"): "GPT image qualities",
    ("dall-e-*", "quality", "xhigh"): "2.5 and newer only",
    ("dall-e-*", "quality", "max"): "2.5 and newer only",
    ("dall-e-2", "quality", "hd"): "hd was dall-e-3's",
    ("gpt-image-*", "quality", "standard"): "deprecated: only the retired DALL-E models took it",
    ("gpt-image-*", "quality", "hd"): "deprecated: only dall-e-3 took it",
    ("chatgpt-image-latest", "quality", "standard"): "deprecated DALL-E quality",
    ("chatgpt-image-latest", "quality", "hd"): "deprecated DALL-E quality",
    ("gpt-image-1*", "quality", "xhigh"): "SDK: xhigh and max only on the 2.5 models",
    ("gpt-image-1*", "quality", "max"): "SDK: xhigh and max only on the 2.5 models",
    ("chatgpt-image-latest", "quality", "xhigh"): "SDK: xhigh and max only on the 2.5 models",
    ("chatgpt-image-latest", "quality", "max"): "SDK: xhigh and max only on the 2.5 models",
    ("gpt-image-2", "quality", "xhigh"): "SDK: xhigh and max only on the 2.5 models",
    ("gpt-image-2", "quality", "max"): "SDK: xhigh and max only on the 2.5 models",
    ("gpt-image-2-2026-04-21", "quality", "xhigh"): "SDK: xhigh and max only on 2.5",
    ("gpt-image-2-2026-04-21", "quality", "max"): "SDK: xhigh and max only on 2.5",
    ("dall-e-*", "output_format", "*"): "DALL-E always returns PNG and takes no output_format",
    ("gpt-image-1*", "output_format", "gif"): "ROUTERS.md §1: gif is new in 2.6",
    ("gpt-image-1*", "output_format", "svg"): "ROUTERS.md §1: svg is new in 2.6",
    ("chatgpt-image-latest", "output_format", "gif"): "gif is new in 2.6",
    ("chatgpt-image-latest", "output_format", "svg"): "svg is new in 2.6",
    ("gpt-image-2", "output_format", "gif"): "gif is new in 2.6",
    ("gpt-image-2", "output_format", "svg"): "svg is new in 2.6",
    ("gpt-image-2-*", "output_format", "gif"): "gif is new in 2.6",
    ("gpt-image-2-*", "output_format", "svg"): "svg is new in 2.6",
    ("gpt-image-2.5-*", "output_format", "gif"): "ROUTERS.md §1: 2.5 has no gif (wavespeed.ai)",
    ("gpt-image-2.5-*", "output_format", "svg"): "ROUTERS.md §1: svg is new in 2.6",
    ("gpt-image-*", "size", "256x256"): "deprecated dall-e-2 size; below the 655,360-pixel floor",
    ("gpt-image-*", "size", "512x512"): "deprecated dall-e-2 size; below the 655,360-pixel floor",
    ("chatgpt-image-latest", "size", "256x256"): "deprecated dall-e-2 size",
    ("chatgpt-image-latest", "size", "512x512"): "deprecated dall-e-2 size",
    ("gpt-image-1*", "size", "1792x1024"): "deprecated dall-e-3 size; three fixed sizes only",
    ("gpt-image-1*", "size", "1024x1792"): "deprecated dall-e-3 size; three fixed sizes only",
    ("chatgpt-image-latest", "size", "1792x1024"): "deprecated dall-e-3 size",
    ("chatgpt-image-latest", "size", "1024x1792"): "deprecated dall-e-3 size",
    ("dall-e-2", "size", "1536x1024"): "GPT image size",
    ("dall-e-2", "size", "1024x1536"): "GPT image size",
    ("dall-e-2", "size", "1792x1024"): "dall-e-3 size",
    ("dall-e-2", "size", "1024x1792"): "dall-e-3 size",
    ("dall-e-2", "size", "auto"): "GPT image value",
    ("dall-e-3", "size", "1536x1024"): "GPT image size",
    ("dall-e-3", "size", "1024x1536"): "GPT image size",
    ("dall-e-3", "size", "256x256"): "dall-e-2 size",
    ("dall-e-3", "size", "512x512"): "dall-e-2 size",
    ("dall-e-3", "size", "auto"): "GPT image value",
}
# Where our table goes beyond what the SDK documents, and why.
BEYOND_SDK = {
    "arbitrary sizes": {"gpt-image-2.6-sunburst", "gpt-image-2.6-flare"},  # ROUTERS.md §1, assumed
    "xhigh/max": {"gpt-image-2.6-sunburst", "gpt-image-2.6-flare"},  # ROUTERS.md §1, assumed
}


def literals(annotation: Any) -> set[str]:
    """Every string a (possibly nested Optional/Union) Literal annotation allows."""
    if typing.get_origin(annotation) is typing.Literal:
        return {a for a in typing.get_args(annotation) if isinstance(a, str)}
    found: set[str] = set()
    for arg in typing.get_args(annotation):
        found |= literals(arg)
    return found


def field_values(cls: type, key: str) -> set[str]:
    return literals(typing.get_type_hints(cls)[key])


def field_doc(cls: type, key: str) -> str:
    """The docstring the SDK writes under a TypedDict field (only its source has it)."""
    tree = ast.parse(inspect.getsource(inspect.getmodule(cls)))  # type: ignore[arg-type]
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            body = node.body
            for i, stmt in enumerate(body[:-1]):
                target = getattr(stmt, "target", None)
                if isinstance(stmt, ast.AnnAssign) and getattr(target, "id", "") == key:
                    doc = body[i + 1]
                    if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
                        return " ".join(str(doc.value.value).split())
    raise AssertionError(f"no docstring for {cls.__name__}.{key}")


def ids_in(text: str) -> set[str]:
    """Model ids named in backticks, with "including their `DATE` snapshots" expanded."""
    ids = set(re.findall(r"`((?:gpt-image|chatgpt-image|dall-e)[\w.\-]*)`", text))
    dates = re.findall(r"including their `(\d{4}-\d{2}-\d{2})` snapshots", text)
    return ids | {f"{i}-{d}" for i in ids for d in dates if not re.search(r"\d{4}-\d\d-\d\d$", i)}


# Edits only: what the edit endpoint adds to EXCEPTIONS.
EDIT_EXCEPTIONS: dict[tuple[str, str, str], str] = {
    ("dall-e-3", "*", "*"): "dall-e-3 never had an edits endpoint",
}


def exception_for(
    model: str, key: str, value: str, table: dict[tuple[str, str, str], str] = EXCEPTIONS
) -> str | None:
    for (pattern, field, val), reason in table.items():
        if all(
            fnmatch.fnmatchcase(a, b) for a, b in ((key, field), (model, pattern), (value, val))
        ):
            return reason
    return None


def accepted(body: dict[str, Any], endpoint: str = "generations") -> bool:
    try:
        validate(body, endpoint=endpoint)
    except ValidationError:
        return False
    return True


def test_every_sdk_model_is_in_the_table():
    unknown = [m for m in SDK_MODELS if lookup(m) is None]
    assert not unknown, (
        f"add these ids of the openai SDK's ImageModel to easyimg/models.py: {unknown}"
    )


def test_every_table_model_is_still_in_the_sdk():
    gone = [m for m in models.MODELS if m not in SDK_MODELS]
    assert not gone, f"the openai SDK no longer lists {gone}: retire them in easyimg/models.py"


@pytest.mark.parametrize(
    ("field", "cls"), [("quality", GEN), ("output_format", GEN), ("size", GEN)]
)
def test_each_sdk_value_is_accepted_or_an_exception(field, cls):
    wrong: list[str] = []
    for model in SDK_MODELS:
        for value in sorted(field_values(cls, field)):
            body = {"model": model, "prompt": "a cat", "n": 1, field: value}
            reason = exception_for(model, field, value)
            ok = accepted(body)
            if ok and reason:
                wrong.append(f"{model} {field}={value} is now accepted: drop exception ({reason})")
            elif not ok and not reason:
                wrong.append(f"{model} {field}={value}: the SDK allows it, the table refuses it")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("field", ["quality", "output_format", "size"])
def test_each_sdk_edit_value_is_accepted_or_an_exception(field):
    wrong: list[str] = []
    for model in SDK_MODELS:
        for value in sorted(field_values(EDIT, field)):
            body = {"model": model, "prompt": "a cat", "n": 1, field: value}
            reason = exception_for(model, field, value, EDIT_EXCEPTIONS) or exception_for(
                model, field, value
            )
            ok = accepted(body, "edits")
            if ok and reason:
                wrong.append(f"edit: {model} {field}={value} is now accepted ({reason})")
            elif not ok and not reason:
                wrong.append(f"edit: {model} {field}={value}: the SDK allows it, we refuse it")
    assert not wrong, "\n".join(wrong)


def test_no_exception_is_stale():
    stale = []
    for pattern, field, value in EXCEPTIONS:
        hits = [
            (m, v)
            for m in SDK_MODELS
            for v in field_values(GEN, field)
            if fnmatch.fnmatchcase(m, pattern) and fnmatch.fnmatchcase(v, value)
        ]
        if not hits:
            stale.append((pattern, field, value))
    assert not stale, f"exceptions that match nothing the SDK allows: {stale}"


def test_shared_vocabularies_match_the_sdk():
    assert field_values(GEN, "background") == set(models.BACKGROUNDS)
    assert field_values(GEN, "moderation") == set(models.MODERATIONS)
    assert field_values(GEN, "style") == set(models.STYLES)
    assert field_values(GEN, "response_format") == set(models.RESPONSE_FORMATS)
    assert field_values(GEN, "complexity") == set(models.COMPLEXITIES)
    assert field_values(EDIT, "input_fidelity") == set(models.FIDELITIES)
    assert field_values(GEN, "output_format") == set(models.ALL_FORMATS)


def test_arbitrary_sizes_are_where_the_sdk_documents_them():
    documented = ids_in(field_doc(GEN, "size").split("arbitrary")[0])
    ours = {m for m in SDK_MODELS if lookup(m).sizes is None}  # type: ignore[union-attr]
    assert ours - documented == BEYOND_SDK["arbitrary sizes"]
    assert documented - ours == set()


def test_xhigh_and_max_are_where_the_sdk_documents_them():
    doc = field_doc(GEN, "quality")
    documented = ids_in(doc[doc.index("also support `xhigh`") - 200 :])
    ours = {m for m in SDK_MODELS if "xhigh" in lookup(m).qualities}  # type: ignore[union-attr]
    assert ours - documented == BEYOND_SDK["xhigh/max"]
    assert documented - ours == set()


def test_input_fidelity_as_the_sdk_documents_it():
    doc = field_doc(EDIT, "input_fidelity")
    assert "Supports `high` and `low` on `gpt-image-1.5`" in doc
    assert "`gpt-image-1-mini` supports only `low`" in doc
    assert "For `gpt-image-2`, omit this parameter" in doc
    edit = {"prompt": "x", "n": 1}
    assert accepted({**edit, "model": "gpt-image-1.5", "input_fidelity": "high"}, "edits")
    assert accepted({**edit, "model": "gpt-image-1-mini", "input_fidelity": "low"}, "edits")
    assert not accepted({**edit, "model": "gpt-image-1-mini", "input_fidelity": "high"}, "edits")
    assert not accepted({**edit, "model": "gpt-image-2", "input_fidelity": "low"}, "edits")


def test_gif_fields_as_the_sdk_documents_them():
    frames = field_doc(GEN, "frame_count")
    assert f"from {models.GIF_FRAMES[0]} through {models.GIF_FRAMES[1]}" in frames
    assert f"Defaults to {models.GIF_FRAMES_DEFAULT} when omitted" in frames
    assert (
        "does not support streaming, partial images, masks, or custom output compression" in frames
    )
    assert "Defaults to 200" in field_doc(GEN, "frame_duration_ms")
    assert "SVG generation requires n=1" in field_doc(GEN, "svg")


def test_retirement_dates_match_the_sdk():
    source = " ".join(inspect.getsource(image_generate_params).split())
    assert "GPT Image 1 was shut down on October 23, 2026" in source
    assert models.MODELS["gpt-image-1"].retired.isoformat() == "2026-10-23"  # type: ignore[union-attr]
    assert "retired on May 12, 2026" in source
    for name in ("dall-e-2", "dall-e-3"):
        assert models.MODELS[name].retired.isoformat() == "2026-05-12"  # type: ignore[union-attr]
