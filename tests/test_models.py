"""The rule table: per-model checks, snapshots, named sizes, request planning."""

from __future__ import annotations

import pytest

from easyimg.errors import ValidationError
from easyimg.models import MODELS, lookup, plan_counts, resolve_size, validate


def body(**kw):
    return {"model": "gpt-image-2", "prompt": "a cat", "n": 1, **kw}


def test_plan_counts():
    assert plan_counts(25, 10) == [10, 10, 5]
    assert plan_counts(4, 1) == [1, 1, 1, 1]
    assert plan_counts(10, 10) == [10]
    assert plan_counts(0, 10) == []


def test_snapshot_ids_use_their_base_rules():
    assert lookup("gpt-image-2-2026-04-21") is MODELS["gpt-image-2"]
    assert lookup("flux-pro") is None


@pytest.mark.parametrize(
    "size", ["1024x1024", "3840x2160", "2160x3840", "1536x864", "auto", "1024x3072"]
)
def test_gpt_image_2_arbitrary_sizes_ok(size):
    validate(body(size=size))


@pytest.mark.parametrize(
    ("size", "why"),
    [
        ("1000x1000", "divisible by 16"),
        ("1024x3088", "aspect ratio"),
        ("3840x2176", "at most 3840x2160"),
        ("4000x16", "aspect"),
        ("big", "is not WxH"),
    ],
)
def test_gpt_image_2_bad_sizes(size, why):
    with pytest.raises(ValidationError, match=why) as info:
        validate(body(size=size))
    assert info.value.param == "size"


def test_gpt_image_1_fixed_sizes():
    validate(body(model="gpt-image-1", size="1536x1024"))
    with pytest.raises(ValidationError, match="allowed: 1024x1024, 1536x1024, 1024x1536, auto"):
        validate(body(model="gpt-image-1", size="1536x864"))


def test_n_limits():
    validate(body(n=10))
    with pytest.raises(ValidationError, match="at most 10"):
        validate(body(n=11))
    with pytest.raises(ValidationError, match="dall-e-3 makes at most 1 image a request"):
        validate(body(model="dall-e-3", n=2))


def test_named_sizes_per_model():
    assert resolve_size("dall-e-3", "portrait") == "1024x1792"
    assert resolve_size("gpt-image-2", "landscape") == "1536x1024"
    assert resolve_size("whatever", "square") == "1024x1024"
    assert resolve_size("gpt-image-2", "800x600") == "800x600"


def test_quality_extensions_for_newer_models():
    validate(body(model="gpt-image-2.5-sunburst", quality="max"))
    with pytest.raises(ValidationError, match="allowed: low, medium, high, auto"):
        validate(body(quality="max"))


def test_edits_and_variations_per_model():
    validate({"model": "dall-e-2", "n": 1}, endpoint="variations")
    with pytest.raises(ValidationError, match="only dall-e-2"):
        validate({"model": "gpt-image-2", "n": 1}, endpoint="variations")
    with pytest.raises(ValidationError, match="cannot edit"):
        validate(body(model="dall-e-3"), endpoint="edits")


def test_unknown_model_generic_checks():
    validate(
        {
            "model": "seedream-4",
            "prompt": "x",
            "n": 4,
            "size": "2000x3000",
            "quality": "ultra",
            "output_format": "avif",
        }
    )
    with pytest.raises(ValidationError, match="empty"):
        validate({"model": "seedream-4", "prompt": " ", "n": 1})
