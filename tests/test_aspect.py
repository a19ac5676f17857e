"""Which API a model uses by default, and chat images' aspect ratios and sizes."""

from __future__ import annotations

import pytest

from easyimg import aspect, models


@pytest.mark.parametrize(
    ("model", "dialect"),
    [
        ("gpt-image-2", "images"),
        ("gpt-image-2-2026-04-21", "images"),
        ("dall-e-3", "images"),
        ("gemini-3.1-flash-image-preview", "chat"),
        ("gemini-2.5-flash-image", "chat"),
        ("google/gemini-3-pro-image-preview", "chat"),
        ("nano-banana-pro", "chat"),
        ("Nano-Banana", "chat"),
        ("gemini-2.5-flash", "images"),
        ("imagen-4.0-generate-001", "images"),
        ("flux-1.1-pro", "images"),
    ],
)
def test_dialect_by_rule_then_name(model, dialect):
    assert models.dialect_for(model) == dialect


def test_every_table_entry_names_a_known_dialect():
    assert {rules.dialect for rules in models.MODELS.values()} <= set(models.DIALECTS)


@pytest.mark.parametrize(
    ("size", "ratio"),
    [
        ((1920, 1080), "16:9"),
        ((1024, 1024), "1:1"),
        ((1000, 1500), "2:3"),
        ((2560, 1080), "21:9"),
        ((1080, 1350), "4:5"),
        ((4000, 1000), "21:9"),
    ],
)
def test_nearest_ratio(size, ratio):
    assert aspect.nearest_ratio(*size) == ratio


def test_wide_ratios_only_where_the_model_has_them():
    assert aspect.nearest_ratio(4000, 1000, aspect.ratios_for("gemini-3.1-flash-image")) == "4:1"
    assert "1:8" not in aspect.ratios_for("gemini-3-pro-image-preview")
    assert aspect.sizes_for("gemini-3.1-flash-image-preview")[0] == "0.5K"
    assert "0.5K" not in aspect.sizes_for("gemini-2.5-flash-image")


@pytest.mark.parametrize(
    ("ratio", "size", "pixels"),
    [
        ("1:1", "1K", (1024, 1024)),
        ("16:9", "1K", (1360, 768)),
        ("16:9", "4K", (5456, 3072)),
        ("9:16", "2K", (1536, 2720)),
        ("21:9", "4K", (6256, 2672)),
    ],
)
def test_pixels_keep_the_area_and_multiples_of_16(ratio, size, pixels):
    w, h = aspect.pixels(ratio, size)
    assert (w, h) == pixels
    assert w % 16 == 0 and h % 16 == 0


@pytest.mark.parametrize(
    ("text", "value"), [("2k", "2K"), (" 4K ", "4K"), ("0.5k", "0.5K"), ("3K", None), ("", None)]
)
def test_normalize_size(text, value):
    assert aspect.normalize_size(text) == value


@pytest.mark.parametrize(("text", "value"), [("16:9", (16, 9)), ("0:1", None), ("16x9", None)])
def test_parse_ratio(text, value):
    assert aspect.parse_ratio(text) == value
