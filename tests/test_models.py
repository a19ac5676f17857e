"""The rule table: per-model checks, snapshots, named sizes, request planning."""

from __future__ import annotations

from datetime import date

import pytest

from easyimg.errors import ValidationError
from easyimg.models import (
    MODELS,
    advisories,
    lookup,
    plan_counts,
    request_limit,
    resolve_size,
    validate,
)


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


# --- the 2026 table ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest"]
)
def test_older_gpt_models_take_only_the_three_sizes(model):
    for size in ("1024x1024", "1536x1024", "1024x1536", "auto"):
        validate(body(model=model, size=size))
    with pytest.raises(ValidationError, match="allowed: 1024x1024, 1536x1024, 1024x1536, auto"):
        validate(body(model=model, size="2048x2048"))


@pytest.mark.parametrize(
    "model", ["gpt-image-2", "gpt-image-2.5-flare-2026-09-08", "gpt-image-2.6-sunburst"]
)
def test_the_pixel_floor_for_still_images(model):
    validate(body(model=model, size="1024x640"))
    with pytest.raises(ValidationError, match=r"'512x512' for .*at least 655,360 pixels") as info:
        validate(body(model=model, size="512x512"))
    assert (info.value.param, info.value.code) == ("size", "invalid_size")


def test_xhigh_and_max_from_2_5_on():
    for model in ("gpt-image-2.5-flare", "gpt-image-2.6-flare"):
        validate(body(model=model, quality="xhigh"))
    with pytest.raises(ValidationError, match="quality 'xhigh' is not supported by gpt-image-2"):
        validate(body(quality="xhigh"))


def gif(**kw):
    return body(model="gpt-image-2.6-flare", output_format="gif", **kw)


def test_gif_only_on_2_6():
    validate(gif(frame_count=4, frame_duration_ms=100))
    with pytest.raises(ValidationError, match=r"'gif' is not supported by gpt-image-2\.5-sunburst"):
        validate(body(model="gpt-image-2.5-sunburst", output_format="gif"))


@pytest.mark.parametrize(
    ("frames", "fits", "too_big"),
    [
        (None, "960x960", "976x976"),
        (2, "960x960", "976x976"),
        (9, "960x960", "960x976"),
        (10, "816x816", "832x816"),
        (12, "816x816", "960x960"),
        (13, "720x720", "736x720"),
        (16, "720x720", "816x816"),
    ],
)
def test_gif_frame_size_caps(frames, fits, too_big):
    validate(gif(size=fits, frame_count=frames))
    with pytest.raises(ValidationError, match=r"frames are at most \d+x\d+") as info:
        validate(gif(size=too_big, frame_count=frames))
    assert info.value.param == "size"


def test_gif_frames_are_not_held_to_the_still_floor():
    validate(gif(size="512x512"))
    validate(gif(size="256x512", frame_count=16))


@pytest.mark.parametrize(
    ("extra", "message", "param"),
    [
        ({"frame_count": 1}, "frame_count must be 2-16, not 1", "frame_count"),
        ({"frame_count": 17}, "frame_count must be 2-16", "frame_count"),
        ({"frame_count": "4"}, "frame_count must be 2-16, not '4'", "frame_count"),
        (
            {"frame_duration_ms": 10},
            "frame_duration_ms must be 20-2000, not 10",
            "frame_duration_ms",
        ),
        ({"frame_duration_ms": 2001}, "frame_duration_ms must be 20-2000", "frame_duration_ms"),
        ({"stream": True}, "gif output cannot be combined with streaming", "stream"),
        (
            {"partial_images": 1},
            "gif output cannot be combined with partial images",
            "partial_images",
        ),
        (
            {"output_compression": 50},
            "gif output cannot be combined with output_compression",
            "output_compression",
        ),
        ({"mask": {"file_id": "file-1"}}, "gif output cannot be combined with a mask", "mask"),
    ],
)
def test_gif_refusals(extra, message, param):
    with pytest.raises(ValidationError, match=message) as info:
        validate(gif(**extra), endpoint="edits")
    assert info.value.param == param


def test_gif_refuses_a_multipart_mask():
    validate(gif(), endpoint="edits")
    with pytest.raises(ValidationError, match="with a mask"):
        validate(gif(), endpoint="edits", mask=True)


def test_frame_fields_need_gif():
    for key, value in (("frame_count", 4), ("frame_duration_ms", 100)):
        with pytest.raises(ValidationError, match=f"{key} needs output_format gif"):
            validate(body(model="gpt-image-2.6-flare", **{key: value}))


def svg(**kw):
    return body(model="gpt-image-2.6-sunburst", output_format="svg", **kw)


def test_svg_rules():
    validate(svg(svg={"model": "gpt-5"}, complexity="low"))
    with pytest.raises(ValidationError, match="n=2: svg output makes one image a request"):
        validate(svg(n=2))
    with pytest.raises(ValidationError, match="svg output cannot be combined with streaming"):
        validate(svg(stream=True))
    with pytest.raises(ValidationError, match="the svg object needs output_format svg"):
        validate(body(model="gpt-image-2.6-sunburst", svg={"model": "gpt-5"}))
    with pytest.raises(ValidationError, match="'svg' is not supported by gpt-image-2;"):
        validate(body(output_format="svg"))


def test_request_limit_is_one_for_svg():
    assert request_limit("gpt-image-2.6-flare", "svg") == 1
    assert request_limit("gpt-image-2.6-flare", "png") == 10
    assert request_limit("dall-e-3") == 1


def test_complexity_is_a_2_6_field():
    validate(body(model="gpt-image-2.6-flare", complexity="medium"))
    with pytest.raises(ValidationError, match="complexity is not supported by gpt-image-2 "):
        validate(body(complexity="low"))
    with pytest.raises(ValidationError, match="complexity 'ultra' is not supported"):
        validate(body(model="gpt-image-2.6-flare", complexity="ultra"))


def test_input_fidelity_per_model():
    edit = {"prompt": "x", "n": 1}
    with pytest.raises(
        ValidationError,
        match=r"input_fidelity is not supported by gpt-image-2-2026-04-21 \(it always keeps",
    ) as info:
        validate(
            {**edit, "model": "gpt-image-2-2026-04-21", "input_fidelity": "low"}, endpoint="edits"
        )
    assert info.value.code == "unsupported_input_fidelity"
    validate({**edit, "model": "gpt-image-1-mini", "input_fidelity": "low"}, endpoint="edits")
    with pytest.raises(ValidationError, match="not supported by gpt-image-1-mini; allowed: low"):
        validate({**edit, "model": "gpt-image-1-mini", "input_fidelity": "high"}, endpoint="edits")
    validate({**edit, "model": "gpt-image-1.5", "input_fidelity": "high"}, endpoint="edits")


def test_safety_identifier_is_a_string():
    validate(body(safety_identifier="user-7f3a"))
    with pytest.raises(ValidationError, match="safety_identifier must be a string"):
        validate(body(safety_identifier=7))


def test_named_sizes_for_gif_frames():
    assert resolve_size("gpt-image-2.6-flare", "square", "gif") == "960x960"
    assert resolve_size("gpt-image-2.6-flare", "square", "gif", 16) == "720x720"
    landscape = resolve_size("gpt-image-2.6-flare", "landscape", "gif", 12)
    validate(gif(size=landscape, frame_count=12))
    assert resolve_size("gpt-image-2.6-flare", "square", "png") == "1024x1024"


def test_transparent_on_gpt_image_2_is_a_warning_not_a_refusal():
    request = body(background="transparent")
    validate(request)
    assert advisories(request, host="easyrouter.io", today=date(2026, 6, 1)) == [
        "background=transparent on gpt-image-2 is a preview; some relays answer it with a 400"
    ]
    other = body(model="gpt-image-2.5-flare", background="transparent")
    assert advisories(other, host="easyrouter.io", today=date(2026, 6, 1)) == []


def test_retirement_warns_only_against_openai():
    old = body(model="gpt-image-1")
    assert advisories(old, host="api.openai.com", today=date(2026, 11, 1)) == [
        "gpt-image-1 was shut down on OpenAI on 2026-10-23; "
        "use gpt-image-2.5-sunburst or gpt-image-2.5-flare"
    ]
    assert advisories(old, host="easyrouter.io", today=date(2026, 11, 1)) == []
    soon = body(model="gpt-image-1.5")
    assert advisories(soon, host="API.OPENAI.COM", today=date(2026, 11, 1)) == [
        "gpt-image-1.5 shuts down on OpenAI on 2026-12-01; "
        "use gpt-image-2.5-sunburst or gpt-image-2.5-flare"
    ]
    assert advisories(body(), host="api.openai.com", today=date(2026, 11, 1)) == []
    assert advisories(body(model="flux-pro"), host="api.openai.com", today=date(2030, 1, 1)) == []
