"""The price table, configured prices, estimates before sending and costs from usage."""

from __future__ import annotations

import pytest

from easyimg.cost import Tokens, cost_from_usage, money, token_cost, tokens_of
from easyimg.errors import ConfigError
from easyimg.estimate import estimate
from easyimg.prices import BUILTIN, ModelPrice, PriceBook, gpt_image_2_tokens, parse_prices


def test_gpt_image_2_tokens_give_openais_published_examples():
    # OpenAI's examples at $30/1M: 1024x1024 $0.006/$0.053/$0.211, 1024x1536 $0.005/$0.041/$0.165.
    for (w, h), dollars in {
        (1024, 1024): (0.006, 0.053, 0.211),
        (1024, 1536): (0.005, 0.041, 0.165),
        (1536, 1024): (0.005, 0.041, 0.165),
    }.items():
        for quality, usd in zip(("low", "medium", "high"), dollars, strict=True):
            tokens = gpt_image_2_tokens(quality, w, h)
            assert tokens is not None
            assert round(tokens * 30 / 1_000_000, 3) == usd, (quality, w, h)
    # The calculator's own high-quality counts.
    assert gpt_image_2_tokens("high", 1024, 1024) == 7024
    assert gpt_image_2_tokens("high", 1536, 1024) == 5488
    assert gpt_image_2_tokens("high", 1792, 1024) == 5063
    assert gpt_image_2_tokens("high", 3584, 2048) == 12329
    assert gpt_image_2_tokens("xhigh", 1024, 1024) is None


def test_gpt_image_1_family_prices_match_their_per_image_lists():
    # OpenAI's per-image prices are the published output tokens at the output price.
    per_image_1 = {"low": 0.011, "medium": 0.042, "high": 0.167}
    per_image_15 = {"low": 0.009, "medium": 0.034, "high": 0.133}
    for quality in per_image_1:
        one = estimate(
            {"model": "gpt-image-1", "prompt": "", "size": "1024x1024", "quality": quality}
        )
        assert one.per_image == pytest.approx(per_image_1[quality], abs=0.001)
        other = estimate(
            {"model": "gpt-image-1.5", "prompt": "", "size": "1024x1024", "quality": quality}
        )
        assert other.per_image == pytest.approx(per_image_15[quality], abs=0.001)


def test_estimate_for_a_fixed_request():
    body = {
        "model": "gpt-image-2",
        "prompt": "a lighthouse at dawn",  # 20 bytes: 5 prompt tokens
        "n": 4,
        "size": "1536x1024",
        "quality": "medium",
    }
    got = estimate(body)
    # 1372 output tokens at $30/1M + 5 prompt tokens at $5/1M, for each of 4 images.
    per = (1372 * 30 + 5 * 5) / 1_000_000
    assert got.dollars == pytest.approx(4 * per)
    assert (got.images, got.model, got.quality, got.size) == (
        4,
        "gpt-image-2",
        "medium",
        "1536x1024",
    )
    assert got.line() == "estimated cost: $0.16 (4 images, gpt-image-2, medium, 1536x1024)"
    assert "1,372 output tokens" in got.basis and "$30/1M" in got.basis
    assert "built-in prices of" in got.basis
    assert estimate(body, images=10).dollars == pytest.approx(10 * per)


def test_estimate_with_configured_prices_replaces_the_built_in_ones():
    book = PriceBook.from_config(
        {
            "gpt-image-2": {"input_text": 2.5, "output": 15.0},
            "flux-dev": {"per_image": 0.025},
            "dall-e-3": {"per_image": {"hd 1024x1792": 0.1, "*": 0.03}},
        },
        "config file /x/config.toml",
    )
    got = estimate(
        {"model": "gpt-image-2", "prompt": "abcd", "size": "1024x1024", "quality": "low"}, book
    )
    # The configured prices, and still the model's own output tokens (196 at low 1024x1024).
    assert got.dollars == pytest.approx((196 * 15.0 + 1 * 2.5) / 1_000_000)
    assert "prices from config file /x/config.toml" in got.basis
    flux = estimate({"model": "flux-dev", "prompt": "x", "n": 4}, book)
    assert flux.dollars == pytest.approx(0.1)
    assert flux.line() == "estimated cost: $0.10 (4 images, flux-dev, auto, auto)"
    dalle = estimate(
        {"model": "dall-e-3", "prompt": "x", "quality": "hd", "size": "1024x1792"}, book
    )
    assert dalle.dollars == pytest.approx(0.1)
    assert estimate({"model": "dall-e-3", "prompt": "x"}, book).dollars == pytest.approx(0.03)
    # A dated snapshot is priced as its model.
    snap = estimate({"model": "flux-dev-2026-01-01", "prompt": "x"}, book)
    assert snap.dollars == pytest.approx(0.025)


def test_auto_counts_the_dearest_and_says_so():
    got = estimate({"model": "gpt-image-1", "prompt": "", "n": 1})
    assert (got.quality, got.size) == ("high", "1536x1024")
    assert got.dollars == pytest.approx(6240 * 40 / 1_000_000)
    assert "quality auto counted as high" in got.basis
    assert "size auto counted as 1536x1024" in got.basis
    # On gpt-image-2 the square is the dearest of the three.
    assert estimate({"model": "gpt-image-2", "prompt": "", "size": "auto"}).size == "1024x1024"


def test_per_image_models():
    dalle3 = estimate({"model": "dall-e-3", "prompt": "a cat", "n": 1})
    assert (dalle3.dollars, dalle3.quality, dalle3.size) == (0.04, "standard", "1024x1024")
    wide = estimate({"model": "dall-e-3", "prompt": "a", "quality": "hd", "size": "1792x1024"})
    assert wide.dollars == pytest.approx(0.12)
    assert "$0.120 an image" in wide.basis
    dalle2 = estimate({"model": "dall-e-2", "prompt": "a", "n": 3, "size": "256x256"})
    assert dalle2.dollars == pytest.approx(0.048)


def test_unknown_gets_no_estimate_and_says_so_plainly():
    got = estimate({"model": "flux-dev", "prompt": "a cat", "n": 2})
    assert got.dollars is None
    assert got.line() == "estimated cost: unknown (2 images, flux-dev, auto, auto)"
    assert got.basis.startswith('no price known for flux-dev; add [prices."flux-dev"]')
    # Known prices, unpublished tokens: no number is made up.
    xhigh = estimate({"model": "gpt-image-2.5-flare", "prompt": "a", "quality": "xhigh"})
    assert xhigh.dollars is None and "xhigh" in xhigh.basis
    svg = estimate({"model": "gpt-image-2.6-flare", "prompt": "a", "output_format": "svg"})
    assert svg.dollars is None and "svg" in svg.basis
    assert estimate({"model": "chatgpt-image-latest", "prompt": "a"}).dollars is None
    assert estimate({"model": "dall-e-3", "prompt": "a", "size": "512x512"}).dollars is None


def test_streamed_partials_cost_100_tokens_each():
    plain = estimate({"model": "gpt-image-2", "prompt": "", "quality": "low", "size": "1024x1024"})
    streamed = estimate(
        {
            "model": "gpt-image-2",
            "prompt": "",
            "quality": "low",
            "size": "1024x1024",
            "stream": True,
            "partial_images": 2,
        }
    )
    assert plain.dollars is not None and streamed.dollars is not None
    assert streamed.dollars - plain.dollars == pytest.approx(200 * 30 / 1_000_000)


def test_edits_say_input_images_are_not_counted():
    got = estimate(
        {"model": "gpt-image-1", "prompt": "hat", "quality": "low", "size": "1024x1024"},
        endpoint="edits",
    )
    assert "input images not counted" in got.basis


def test_money():
    assert [money(x) for x in (0, 0.0049, 0.01, 0.2107, 1234.5)] == [
        "$0.00",
        "$0.0049",
        "$0.01",
        "$0.21",
        "$1,234.50",
    ]


def test_cost_from_usage_at_token_prices_with_cached_tokens():
    usage = {
        "input_tokens": 300,
        "input_tokens_details": {"text_tokens": 100, "image_tokens": 200, "cached_tokens": 40},
        "output_tokens": 4160,
        "total_tokens": 4460,
    }
    # gpt-image-1: 60 text at $5, 40 cached text at $1.25, 200 image at $10, 4160 out at $40.
    expected = (60 * 5 + 40 * 1.25 + 200 * 10 + 4160 * 40) / 1_000_000
    assert cost_from_usage("gpt-image-1", usage) == pytest.approx(expected)
    assert cost_from_usage("gpt-image-1-2025-04-15", usage) == pytest.approx(expected)
    assert tokens_of(usage) == Tokens(100, 200, 4160, 4460, 40, 0)


def test_cost_from_usage_per_image_and_unknown():
    assert cost_from_usage("dall-e-3", None, images=2, quality="hd", size="1024x1792") == (
        pytest.approx(0.24)
    )
    assert cost_from_usage("dall-e-2", {}, images=1, size="256x256") == pytest.approx(0.016)
    assert cost_from_usage("flux-dev", {"input_tokens": 5}, images=1) is None
    # Token-priced with no usage and no per-image price: nothing to measure.
    assert cost_from_usage("gpt-image-2", None, images=1) is None
    # gpt-image-1-mini has published per-image prices to fall back on.
    assert cost_from_usage(
        "gpt-image-1-mini", None, images=2, quality="low", size="1024x1024"
    ) == pytest.approx(0.01)


def test_token_cost_without_cached_prices_bills_cached_as_uncached():
    price = ModelPrice(input_text=2.0, output=10.0)
    tokens = Tokens(input_text=10, output=5, cached_text=10)
    assert token_cost(price, tokens) == pytest.approx((10 * 2 + 5 * 10) / 1_000_000)


def test_parse_prices_new_keys_and_errors():
    prices = parse_prices(
        {
            "m": {
                "input": 1,
                "cached_input_text": 0.5,
                "per_image": {"HD 1024x1792": 0.1, "1024x1024": 0.05, "low": 0.01, "*": 0.2},
                "image_tokens": {"low 1024x1024": 100},
            }
        }
    )
    m = prices["m"]
    assert (m.input_text, m.input_image, m.cached_input_text, m.cached_input_image) == (
        1.0,
        1.0,
        0.5,
        None,
    )
    assert m.per_image == {"hd 1024x1792": 0.1, "1024x1024": 0.05, "low": 0.01, "*": 0.2}
    assert m.image_tokens == {"low 1024x1024": 100}
    for bad, words in (
        ({"m": {"per_image": "cheap"}}, "per_image must be a number of USD per image"),
        ({"m": {"per_image": {"huge!": 1}}}, 'is not "QUALITY SIZE"'),
        ({"m": {"image_tokens": {"low": -1}}}, "image_tokens.low must be a number"),
        ({"m": {"outptu": 1}}, "unknown key 'outptu'"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_prices(bad, "config file c.toml")


def test_builtin_table_is_dated_data_for_known_models():
    assert set(BUILTIN) >= {"gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2"}
    assert "chatgpt-image-latest" not in BUILTIN  # no published price: no estimate
    two = BUILTIN["gpt-image-2"]
    assert (
        two.input_text,
        two.cached_input_text,
        two.input_image,
        two.cached_input_image,
        two.output,
    ) == (
        5.0,
        1.25,
        8.0,
        2.0,
        30.0,
    )
    mini = BUILTIN["gpt-image-1-mini"]
    assert (
        mini.input_text,
        mini.cached_input_text,
        mini.input_image,
        mini.cached_input_image,
        mini.output,
    ) == (
        2.0,
        0.2,
        2.5,
        0.25,
        8.0,
    )


def test_a_tally_adds_many_requests_up_by_kind():
    from easyimg.estimate import Tally

    tally = Tally(PriceBook.from_config({"m": {"per_image": 0.01}}))
    for i in range(50):
        tally.add({"model": "m", "prompt": f"prompt {i}"}, 2)
    tally.add({"model": "flux-dev", "prompt": "x"}, 3)
    got = tally.result()
    assert got.dollars == pytest.approx(1.0)
    assert (got.images, got.unpriced, got.model) == (103, 3, "2 models")
    assert got.line() == "estimated cost: $1.00 (103 images, 2 models, auto, auto)"
    assert got.basis.startswith("at least $1.00: m auto auto: $0.010 an image")
    assert "3 of 103 images have no price (flux-dev) and are not in the sum" in got.basis
    assert len(tally._cards) == 2  # one per kind of request, not one per request
    assert tally.dollars({"model": "m", "prompt": "y"}, 5) == pytest.approx(0.05)
    assert Tally(PriceBook()).result().images == 0
