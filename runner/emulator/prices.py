"""The emulator's own price list and what one create costs on the emulated account.

This is deliberately a second, hand-written implementation: the runner plans with
``runner.catalog.pricing`` (reading ``x-runway.pricing`` from the model files); the
emulator bills with this table and nothing else, so a wrong price or a wrong rule in the
runner shows up in the tests as charged != planned instead of agreeing with itself.

Sources of the figures (copied here as literal numbers, not read at run time):
- the Runway API integration guide table (``/work/shared/runway-api.md``, "seed guide
  prices"): gen4.5, gen4_turbo, seedance2, gen4_aleph, veo3, veo3.1 (with and without
  audio), veo3.1_fast (with and without audio), act_two; seedance2's ``auto`` billed at its
  maximum of 15 s and refunded after;
- third-party copies of Runway's API pricing page, as ``x-runway.pricing`` of
  ``schema/models/*.json`` names them (repository, path, commit and date):
  vericontext/vibeframe (2026-10-04) for aleph2, h3_max, happyhorse_1_0, seedance2's
  resolution tiers, seedance2_5, seedance2_fast, seedance2_mini, wan3 and wan3_prime;
  cluely/unmodel (2026-08-13) for gemini_omni_flash (11 a second of input on video_to_video,
  +1 for a start frame), grok_imagine_1_5 (+1 per reference and start frame) and hailuo3;
  coledtouch/Atelier (2026-10-08) for grok_imagine_1_5_lite (+1 for a start frame);
  the runwayml SDK's request-type docstrings for the ``outputFormat`` surcharges (and
  their larger figures above 4 megapixels);
- ``x-runway.request_defaults`` of the model files for the API's default duration and audio.
- images (text_to_image): gen4_image 5 credits per 720p image, 8 per 1080p image (the API
  reference lists which ratios are 720p); gen4_image_turbo 2 credits per image (Runway's API
  reference); seedream5_lite, seedream5_pro and gemini_image3_pro (cluely/unmodel's copy).
- ruby (video_to_hdr): its SDK docstring, "20 credits per second of output" (40 above 4
  megapixels of source, which the emulator, measuring only lengths, does not bill).
- Runway's API reference (github.com/runwayml/skills, skills/rw-api-reference/SKILL.md,
  2026-04-21): gemini_2.5_flash 5 credits an image; eleven_multilingual_v2 1 credit per 50
  characters; eleven_voice_isolation 1 credit per 6 s, eleven_voice_dubbing 1 per 2 s,
  eleven_multilingual_sts_v2 1 per 3 s (of the input clip); eleven_text_to_sound_v2 "1-2
  credits", which the emulator bills at 2 whatever the sound's length.
- runwayml 5.24 docstrings: bria_fibo_1_5 5 credits per 1 MP image, 10 per 4 MP (the emulator
  calls a frame under 2 megapixels 1 MP); ideogram_4_0 4 / 7 / 11 by ``quality`` (no default is
  documented: without one the emulator bills 11); ideogram_4_5 1 / 4 / 8 / 25 by ``quality``,
  8 by default with reference images (unless ``preciseEdit``), else 25; muse_image 1 an image.

Billing rules:
- Billed seconds: the request's ``duration``; without one, the model's default duration;
  without that, the input clip's length for video_to_video, else ``DEFAULT_SECONDS``.
  character_performance always bills the length of its ``reference`` video. A clip the
  emulator cannot measure (a URL, or an upload that is not a video) counts as
  ``DEFAULT_SECONDS``.
- ``duration: auto`` is billed up front at the model's ``auto_seconds`` (``DEFAULT_SECONDS``
  where no maximum is known); when the task finishes it is settled at the length the
  "model" chose (a random whole number of seconds from 4 to that maximum), and the
  difference is refunded.
- Rate per second: the base rate, or the no-audio rate when ``audio`` is false and the
  model has one, or the rate of the resolution tier: the ``resolution`` field if the model
  prices it, else an ``auto_<tier>`` ratio, else the frame size of a ``W:H`` ratio (see
  ``size_tier``). Plus the ``outputFormat`` surcharge per second (the over-4-MP figure
  when the frame is larger than 4 megapixels).
- Extras: ``per_reference_image`` credits for each item of ``references`` (or of an image
  request's ``referenceImages``), ``per_start_frame``
  for each image of ``promptImage``; then the ``minimum`` floor; the total is rounded up to a
  whole credit. A model may bill another rate per second on some endpoints (``endpoints``).
- Image endpoints bill one image per task (``outputCount`` above 1 is refused by the
  runner before it sends): the rate is then credits per image; the size tier is looked up
  in the model's list of ratios (``ratio_tiers``; a ratio not listed is billed at the base rate).
- Upscales, HDR, voice changes, dubbing and isolation bill the length of their input clip
  (``CLIP_FIELDS``), like character_performance; sound effects and video-to-audio their
  ``duration`` (a number of seconds, not always whole); image_upscale one image.
- Speech from text (text_to_speech) bills per character of ``promptText``, counted in UTF-16
  code units; a model of it without a known price costs ``DEFAULT_CHARACTER_RATE``.
- Models sold by ``quality`` bill the asked quality's figure; those sold by a flat range bill
  their ``flat`` figure whatever the length; both are rounded up to whole credits.
- Models with no known price (the kling family, gemini_omni_flash_1.1, most audio and upscale models, or
  a model file newer than this table) are billed a flat ``DEFAULT_RATE`` credits per second (or
  per image): on the emulator they cost something, so a runner that planned them as free
  shows charged > planned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_RATE = 10.0
"""Credits per second for a model this table has no price for."""
DEFAULT_CHARACTER_RATE = 0.1
"""Credits per character of speech for a model this table has no price for."""
DEFAULT_SECONDS = 5
"""Billed seconds when neither the request, the model nor a measurable clip gives a length
(the SDK documents 5 s as the default of several models)."""
SHORTEST_AUTO = 4
"""The shortest length a model picks for ``duration: auto``."""
FOUR_MEGAPIXELS = 4_000_000

# Frame sizes by pixel count. Runway lists each ratio under one resolution; these limits
# lie between the largest size listed for a tier and the smallest listed for the next
# (480p: up to 992:432 = 428,544 px; 720p from 720:720 = 518,400 to 1112:834 = 927,408;
# 1080p from 1744:1152 = 2,009,088 to 2206:946 = 2,086,876; 4k from 3840:1646 = 6,320,640).
SIZE_TIERS = ((450_000, "480p"), (1_500_000, "720p"), (4_000_000, "1080p"), (math.inf, "4k"))

# Clip fields whose length a request follows, per endpoint (first present wins).
CLIP_FIELDS: dict[str, tuple[str, ...]] = {
    "video_to_video": ("videoUri", "promptVideo"),
    "character_performance": ("reference",),
    "video_upscale": ("videoUri",),
    "video_to_hdr": ("videoUri",),
    "speech_to_speech": ("media",),
    "voice_dubbing": ("audioUri",),
    "voice_isolation": ("audioUri",),
}
# Endpoints whose output is as long as their input clip, whatever the request says.
FOLLOWS_CLIP = ("character_performance", "video_upscale", "video_to_hdr", "speech_to_speech", "voice_dubbing",
                "voice_isolation")
# Endpoints that bill per image made, not per second.
IMAGE_ENDPOINTS = ("text_to_image", "image_upscale")
# Endpoints that bill per character of the prompt.
CHARACTER_ENDPOINTS = ("text_to_speech",)


@dataclass(frozen=True)
class Price:
    """One model's prices. Rates are credits per second of output."""

    rate: float | None
    no_audio: float | None = None
    tiers: Mapping[str, float] = field(default_factory=dict)
    formats: Mapping[str, float] = field(default_factory=dict)
    formats_over_4mp: Mapping[str, float] = field(default_factory=dict)
    per_reference_image: float = 0
    minimum: float = 0
    auto_seconds: int | None = None
    default_seconds: int | None = None
    ratio_tiers: Mapping[str, str] = field(default_factory=dict)
    qualities: Mapping[str, float] = field(default_factory=dict)
    """Credits per image by the request's ``quality``."""
    quality: str | None = None
    """The quality billed when the request names none (None: the dearest)."""
    quality_with_references: str | None = None
    """The quality billed when the request names none but sends reference images."""
    flat: float | None = None
    """Credits per task whatever its length (a sound effect's published 1-2 credits)."""
    megapixel_tiers: bool = False
    """Priced by frame size: ``rate`` up to 2 megapixels, ``tiers['4mp']`` above."""
    endpoints: Mapping[str, float] = field(default_factory=dict)
    """Credits per second on these endpoints instead of ``rate`` (gemini_omni_flash's video-to-video)."""
    per_start_frame: float = 0
    """Credits per image of ``promptImage`` (a start frame grok and gemini_omni_flash bill)."""
    grid: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Credits per image by ``quality``, then size tier (``ratio_tiers``; unlisted: the dearest)."""


_GEN45_HDR = ("hdr10", "hlg", "sdr_rec709_10bit", "hdr_pq_12bit_master", "hdr_prores", "hdr_png_sequence",
              "hdr_exr_sequence", "hdr_exr_acescg_sequence_1_3", "hdr_exr_acescg_sequence_2_0")

PRICES: dict[str, Price] = {
    # The integration guide's table.
    "gen4.5": Price(12, formats={"prores": 5, "png_sequence": 5, **dict.fromkeys(_GEN45_HDR, 20)},
                    formats_over_4mp=dict.fromkeys(_GEN45_HDR, 40)),
    "gen4_turbo": Price(5, default_seconds=10),
    "seedance2": Price(36, tiers={"480p": 36, "720p": 36, "1080p": 40, "4k": 150},  # tiers: model file
                       auto_seconds=15, default_seconds=5),
    "gen4_aleph": Price(15),
    "veo3": Price(40, default_seconds=8),
    "veo3.1": Price(40, no_audio=20, default_seconds=8),
    "veo3.1_fast": Price(15, no_audio=10, default_seconds=8),
    "act_two": Price(5),
    # Newer SDK models, from the model files' recorded sources.
    "aleph2": Price(28, minimum=56, formats={"prores": 5, "png_sequence": 5, "sdr_rec709_10bit": 20},
                    formats_over_4mp={"sdr_rec709_10bit": 40}),
    "gemini_omni_flash": Price(10, endpoints={"video_to_video": 11}, per_reference_image=1, per_start_frame=1),
    "grok_imagine_1_5": Price(16, tiers={"480p": 10, "720p": 16, "1080p": 29}, per_reference_image=1,
                              per_start_frame=1),
    "grok_imagine_1_5_lite": Price(3, tiers={"480p": 2, "720p": 3, "1080p": 14}, per_start_frame=1),
    "h3_max": Price(8, tiers={"480p": 5, "768p": 8}),
    "hailuo3": Price(15, tiers={"768p": 10, "2k": 15}, per_reference_image=2),
    "happyhorse_1_0": Price(30, tiers={"720p": 15, "1080p": 30}),
    "seedance2_5": Price(30, tiers={"480p": 20, "720p": 30, "1080p": 68}, minimum=80, auto_seconds=30,
                         default_seconds=5),
    "seedance2_fast": Price(29, auto_seconds=15, default_seconds=5),
    "seedance2_mini": Price(16, minimum=64, auto_seconds=15, default_seconds=5),
    "wan3": Price(10, tiers={"480p": 5, "720p": 10, "1080p": 20}),
    "wan3_prime": Price(14, tiers={"480p": 6.8, "720p": 14, "1080p": 28}),
    # Images: credits per image. gen4_image's 720p sizes; its other ratios are 1080p.
    "gen4_image": Price(8, tiers={"720p": 5}, ratio_tiers=dict.fromkeys(
        ("1280:720", "720:1280", "720:720", "960:720", "720:960", "1680:720"), "720p")),
    "gen4_image_turbo": Price(2),
    # The copy (cluely/unmodel, 2026-08-13): seedream5_lite 4 an image; seedream5_pro 5 at 1K (these
    # sizes), 9 at 2K; gemini_image3_pro 20 at 1K/2K, 40 at 4K (these sizes).
    "seedream5_lite": Price(4),
    "seedream5_pro": Price(9, tiers={"1k": 5}, ratio_tiers=dict.fromkeys(
        ("1024:1024", "1184:896", "896:1184", "1376:768", "768:1376", "1296:864", "864:1296", "auto_1k"), "1k")),
    "gemini_image3_pro": Price(20, tiers={"4k": 40}, ratio_tiers=dict.fromkeys(
        ("4096:4096", "3392:5056", "5056:3392", "3584:4800", "4800:3584", "3712:4608", "4608:3712", "3072:5504",
         "5504:3072", "6336:2688"), "4k")),
    # The copy (cluely/unmodel): by quality, then size. gpt_image_2: these ten sizes and `auto` are
    # its 4K tier, default quality high; grok_imagine_image_2: sizes of 2 MP and more are 2K,
    # default medium, +1 per reference image.
    "gpt_image_2": Price(None, grid={"low": {"small": 1, "4k": 2}, "medium": {"small": 5, "4k": 11},
                                     "high": {"small": 20, "4k": 41}, "auto": {"small": 20, "4k": 41}},
                         quality="high", ratio_tiers={**dict.fromkeys(
                             ("3840:1648", "3840:2160", "3504:2336", "3264:2448", "3200:2560", "2880:2880", "2560:3200",
                              "2448:3264", "2336:3504", "2160:3840", "auto"), "4k"), **dict.fromkeys(
                             ("2048:880", "1920:1088", "1920:1280", "1920:1440", "1920:1536", "1920:1920", "1536:1920",
                              "1440:1920", "1280:1920", "1088:1920", "2912:1248", "2560:1440", "2560:1712", "2560:1920",
                              "2560:2048", "2560:2560", "2048:2560", "1920:2560", "1712:2560", "1440:2560"), "small")}),
    "grok_imagine_image_2": Price(None, grid={"low": {"1k": 4, "2k": 6}, "medium": {"1k": 6, "2k": 8}},
                                  quality="medium", per_reference_image=1, ratio_tiers={**dict.fromkeys(
                                      ("1024:1024", "1280:720", "720:1280", "1152:864", "864:1152", "1248:832",
                                       "832:1248", "1248:576", "576:1248", "1280:576", "576:1280", "1408:704",
                                       "704:1408", "auto_1k"), "1k"), **dict.fromkeys(
                                      ("2048:2048", "2816:1584", "1584:2816", "2368:1776", "1776:2368", "2496:1664",
                                       "1664:2496", "2912:1344", "1344:2912", "3200:1440", "1440:3200", "2912:1456",
                                       "1456:2912", "auto_2k"), "2k")}),
    # HDR: the SDK docstring's figure, credits per second of output.
    "ruby": Price(20),
    # Runway's API reference: images, speech per character, voice per second of input, sound.
    "gemini_2.5_flash": Price(5),
    "eleven_multilingual_v2": Price(1 / 50),
    "eleven_voice_isolation": Price(1 / 6),
    "eleven_voice_dubbing": Price(1 / 2),
    "eleven_multilingual_sts_v2": Price(1 / 3),
    "eleven_text_to_sound_v2": Price(None, flat=2),
    # The SDK's docstrings: per image, by size or by quality.
    "bria_fibo_1_5": Price(5, tiers={"4mp": 10}, megapixel_tiers=True),
    "ideogram_4_0": Price(None, qualities={"low": 4, "medium": 7, "high": 11}),
    "ideogram_4_5": Price(None, qualities={"very_low": 1, "low": 4, "medium": 8, "high": 25}, quality="high",
                          quality_with_references="medium"),
    "muse_image": Price(1),
    # No known price: billed at DEFAULT_RATE.
    **{name: Price(None) for name in (
        "kling2.5_turbo_pro", "kling3.0_4k", "kling3.0_pro", "kling3.0_standard", "klingO3_4k", "klingO3_pro",
        "klingO3_standard", "kling_4", "gemini_omni_flash_1.1")},
}


@dataclass(frozen=True)
class Quote:
    """What a create costs: ``credits`` held at create time for ``seconds`` of output;
    ``auto`` when the real length is chosen later (see ``settle``)."""

    credits: int
    seconds: float
    auto: bool = False


def frame_pixels(ratio: Any) -> int | None:
    """Pixels of a ``W:H`` frame size; None for anything else, aspect ratios like 16:9 included."""
    try:
        w, h = (int(x) for x in str(ratio).split(":", 1))
    except ValueError:
        return None
    return w * h if min(w, h) >= 100 else None


def size_tier(pixels: int) -> str:
    """The resolution a frame of ``pixels`` is sold as."""
    return next(name for limit, name in SIZE_TIERS if pixels <= limit)


def tier_of(price: Price, body: Mapping[str, Any]) -> str | None:
    """The priced resolution tier of ``body``: its ``resolution``, an ``auto_<tier>`` ratio or
    the size of a ``W:H`` ratio; None when the model prices no such tier."""
    if price.ratio_tiers:
        return price.ratio_tiers.get(str(body.get("ratio")))
    resolution = body.get("resolution")
    if isinstance(resolution, str) and resolution.lower() in price.tiers:
        return resolution.lower()
    ratio = str(body.get("ratio") or "")
    pixels = frame_pixels(ratio)
    if ratio.startswith("auto_"):
        tier: str | None = ratio.removeprefix("auto_").lower()
    else:
        tier = size_tier(pixels) if pixels is not None else None
    return tier if tier in price.tiers else None


def quality_price(price: Price, body: Mapping[str, Any]) -> float:
    """Credits per image of a model sold by quality: the asked one, else the model's default for
    the request, else the dearest."""
    asked = str(body.get("quality") or "")
    if not asked:
        refs = body.get("referenceImages")
        use_refs = bool(refs) and price.quality_with_references is not None and not body.get("preciseEdit")
        asked = (price.quality_with_references if use_refs else price.quality) or ""
    return price.qualities[asked] if asked in price.qualities else max(price.qualities.values())


def grid_price(price: Price, body: Mapping[str, Any]) -> float:
    """Credits per image of a model sold by quality and size: the asked quality (else the model's
    default, else the dearest), at the size tier its list gives the ratio (else that quality's dearest)."""
    asked = str(body.get("quality") or price.quality or "")
    if asked not in price.grid:
        asked = max(price.grid, key=lambda q: max(price.grid[q].values()))
    sizes = price.grid[asked]
    tier = price.ratio_tiers.get(str(body.get("ratio")), "")
    return sizes[tier] if tier in sizes else max(sizes.values())


def rate_of(price: Price, body: Mapping[str, Any], endpoint: str = "") -> float:
    """Credits per second for ``body`` before any outputFormat surcharge."""
    if price.grid:
        return grid_price(price, body)
    if price.qualities:
        return quality_price(price, body)
    if price.megapixel_tiers:
        big = (frame_pixels(body.get("ratio")) or 0) > 2_000_000
        return price.tiers["4mp"] if big else float(price.rate or DEFAULT_RATE)
    if price.rate is None:
        return DEFAULT_CHARACTER_RATE if endpoint in CHARACTER_ENDPOINTS else DEFAULT_RATE
    tier = tier_of(price, body)
    if tier is not None:
        return price.tiers[tier]
    if body.get("audio") is False and price.no_audio is not None:
        return price.no_audio
    return price.endpoints.get(endpoint, price.rate)


def surcharge(price: Price, body: Mapping[str, Any]) -> float:
    fmt = body.get("outputFormat")
    if not isinstance(fmt, str) or fmt not in price.formats:
        return 0.0
    big = (frame_pixels(body.get("ratio")) or 0) > FOUR_MEGAPIXELS
    return price.formats_over_4mp.get(fmt, price.formats[fmt]) if big else price.formats[fmt]


def billed_seconds(price: Price, endpoint: str, body: Mapping[str, Any],
                   clip_seconds: float | None) -> tuple[float, bool]:
    """Seconds billed at create time, and whether they are ``auto``'s upper bound."""
    clip = clip_seconds if clip_seconds else float(DEFAULT_SECONDS)
    if endpoint in IMAGE_ENDPOINTS:
        return 1.0, False  # one image; the "seconds" of a per-image price
    if endpoint in CHARACTER_ENDPOINTS:
        text = str(body.get("promptText") or "")
        return float(len(text.encode("utf-16-le")) // 2), False
    if endpoint in FOLLOWS_CLIP:
        return clip, False
    duration = body.get("duration")
    if duration == "auto":
        return float(price.auto_seconds or DEFAULT_SECONDS), True
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        return float(duration), False
    if price.default_seconds is not None:
        return float(price.default_seconds), False
    if endpoint == "video_to_video":
        return clip, False
    return float(DEFAULT_SECONDS), False


def credits_for(price: Price, body: Mapping[str, Any], seconds: float, endpoint: str = "") -> int:
    """Whole credits for ``seconds`` of ``body``'s output."""
    if price.flat is not None:
        return math.ceil(price.flat)
    total = (rate_of(price, body, endpoint) + surcharge(price, body)) * seconds
    refs = [*(body.get("references") or []), *(body.get("referenceImages") or [])]  # video, image requests
    if price.per_reference_image:
        total += price.per_reference_image * len(refs)
    frames = body.get("promptImage")
    if price.per_start_frame and frames:
        total += price.per_start_frame * (len(frames) if isinstance(frames, list) else 1)
    total = max(total, price.minimum)
    return math.ceil(round(total, 6))


def quote(model: str, endpoint: str, body: Mapping[str, Any], clip_seconds: float | None = None) -> Quote:
    """The price of one create of ``body`` on ``endpoint``; ``clip_seconds`` is the length of
    the input clip named by ``CLIP_FIELDS`` when the emulator could measure it."""
    price = PRICES.get(model, Price(None))
    seconds, auto = billed_seconds(price, endpoint, body, clip_seconds)
    return Quote(credits_for(price, body, seconds, endpoint), seconds, auto)


def settle(model: str, body: Mapping[str, Any], seconds: int) -> int:
    """Final credits of an ``auto`` task whose output turned out ``seconds`` long."""
    price = PRICES.get(model, Price(None))
    return credits_for(price, body, float(seconds))
