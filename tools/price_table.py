"""Every price runner knows, with its source, for ``tools/gen_models.py`` (``x-runway.pricing``).

One entry per model: the pricing fields ``runner.catalog.pricing`` reads, plus where the figure
comes from (``source``), the date it is true as of (``as_of``), the figure as the source words
it (``published``) and, for a third-party copy of Runway's pages, ``copy: true``. A field
priced by another document than the entry's own names it in ``other_sources``.

Sources, judged in this order (a copy is used only where it agrees with Runway's own figures
wherever both give one; ``tests/test_price_sources.py`` checks that):
1. Runway's API reference, the public repository ``runwayml/skills`` (commit c5674fd,
   2026-04-21): ``skills/rw-api-reference/SKILL.md`` (video, image and audio tables) and the
   ``cost`` strings of ``scripts/runway_helpers.py``, which say the same.
2. The request-type docstrings of the runwayml 5.24.0 SDK (released 2026-10-23): prices some
   models state in their field descriptions (bria_fibo_1_5, ideogram_4_0, ideogram_4_5,
   muse_image, ruby, the outputFormat surcharges of gen4.5 and aleph2, +1 credit per reference
   image of gpt_image_2_5_*).
3. Third-party copies of the docs site's pricing page, recorded as the earlier rounds found
   them (``copy: true``). They agree with (1) where both give a figure (seedance2: 36/s at
   480p and 720p).

A model none of them prices has ``credits_per_<unit>: null`` and says so in ``source``: it is
unpriced, and refused under a budget cap unless a price file prices it (or --allow-unpriced).
"""

from __future__ import annotations

from typing import Any

SKILLS = ("Runway API reference: github.com/runwayml/skills, skills/rw-api-reference/SKILL.md "
          "and scripts/runway_helpers.py (commit c5674fd)")
SKILLS_AS_OF = "2026-04-21"
GUIDE_SPLIT = "with and without audio as the Runway API integration guide splits the range"
SDK_DOC = "runwayml 5.24.0 SDK request-type docstrings"
SDK_AS_OF = "2026-10-23"
TRANSCRIBED = ("third-party transcriptions of Runway's API pricing page (Aug-Oct 2026), as recorded in "
               "round 2; not re-checked against Runway's page")
TRANSCRIBED_AS_OF = "2026-08-01"
CHECKED = "2026-12-07"  # the day the sources above were searched for the models they leave unpriced
NO_SOURCE = ("unpublished: neither Runway's API reference (runwayml/skills) nor the runwayml 5.24 docstrings "
             "give a price; set one in a price file")


def _skills(published: str, **fields: Any) -> dict[str, Any]:
    return {**fields, "source": SKILLS, "as_of": SKILLS_AS_OF, "published": published}


def _sdk(published: str, **fields: Any) -> dict[str, Any]:
    return {**fields, "source": SDK_DOC, "as_of": SDK_AS_OF, "published": published}


def _copy(published: str, **fields: Any) -> dict[str, Any]:
    return {**fields, "source": TRANSCRIBED, "as_of": TRANSCRIBED_AS_OF, "copy": True, "published": published}


def _ratio_tiers(ratios: list[str], tiers: list[tuple[int, str]]) -> dict[str, str]:
    """Each ``W:H`` ratio -> the first tier whose pixel limit it fits (bria's 1 MP / 4 MP sizes)."""
    out: dict[str, str] = {}
    for ratio in ratios:
        w, h = (int(x) for x in ratio.split(":"))
        out[ratio] = next(name for limit, name in tiers if w * h <= limit)
    return out


# gen4_image's ratios by the resolution they are sold as (the API reference lists them so;
# pixel counts cannot tell: 1024:1024 is a 1080p size, 1680:720 a 720p one).
GEN4_IMAGE_720P = ["1280:720", "720:1280", "720:720", "960:720", "720:960", "1680:720"]
GEN4_IMAGE_1080P = ["1920:1080", "1080:1920", "1024:1024", "1080:1080", "1168:880", "1360:768", "1440:1080",
                    "1080:1440", "1808:768", "2112:912"]
BRIA_RATIOS = ["1024:1024", "768:1152", "1152:768", "768:1024", "1024:768", "768:960", "960:768", "576:1024",
               "1024:576", "2048:2048", "1536:2304", "2304:1536", "1536:2048", "2048:1536", "1536:1920",
               "1920:1536", "1152:2048", "2048:1152"]

PRICING: dict[str, dict[str, Any]] = {
    # --- Runway's API reference ------------------------------------------------------------
    "gen4.5": _skills("12 credits/sec", credits_per_second=12),
    "gen4_turbo": _skills("5 credits/sec", credits_per_second=5),
    "gen4_aleph": _skills("15 credits/sec", credits_per_second=15),
    "act_two": _skills("5 credits/sec", credits_per_second=5),
    "veo3": _skills("40 credits/sec", credits_per_second=40),
    "veo3.1": _skills(f"20-40 credits/sec ({GUIDE_SPLIT}: 40, 20 without)", credits_per_second=40,
                      credits_per_second_no_audio=20),
    "veo3.1_fast": _skills(f"10-15 credits/sec ({GUIDE_SPLIT}: 15, 10 without)", credits_per_second=15,
                           credits_per_second_no_audio=10),
    "seedance2": {**_skills("36 credits/sec", credits_per_second=36,
                            by_resolution={"480p": 36, "720p": 36, "1080p": 40, "4k": 150}),
                  "other_sources": [{"fields": ["by_resolution"], "source": TRANSCRIBED, "as_of": TRANSCRIBED_AS_OF,
                                     "copy": True, "published": "480p/720p 36, 1080p 40, 4k 150 credits/sec"}]},
    "gen4_image": _skills("5 credits (720p), 8 (1080p)", credits_per_image=8,
                          by_resolution={"720p": 5, "1080p": 8},
                          ratio_resolution={**dict.fromkeys(GEN4_IMAGE_720P, "720p"),
                                            **dict.fromkeys(GEN4_IMAGE_1080P, "1080p")}),
    "gen4_image_turbo": _skills("2 credits", credits_per_image=2),
    "gemini_2.5_flash": _skills("5 credits", credits_per_image=5),
    "eleven_multilingual_v2": _skills("1 credit/50 chars", credits_per_character=1 / 50),
    # "1-2 credits" a sound, whatever its length: a plan counts the most, as an upper bound.
    "eleven_text_to_sound_v2": _skills("1-2 credits", credits_per_second=None, credits_range=[1, 2]),
    "eleven_voice_isolation": _skills("1 credit/6 sec", credits_per_second=1 / 6),
    "eleven_voice_dubbing": _skills("1 credit/2 sec", credits_per_second=1 / 2),
    "eleven_multilingual_sts_v2": _skills("1 credit/3 sec", credits_per_second=1 / 3),
    # --- the SDK's docstrings ----------------------------------------------------------------
    "bria_fibo_1_5": _sdk("1MP sizes cost 5 credits per image and 4MP sizes 10", credits_per_image=10,
                          by_resolution={"1mp": 5, "4mp": 10},
                          ratio_resolution=_ratio_tiers(BRIA_RATIOS, [(1_200_000, "1mp"), (10**9, "4mp")])),
    # No default quality is documented: without one the plan counts the dearest, as an upper bound.
    "ideogram_4_0": _sdk("low costs 4 credits per image, medium 7 and high 11", credits_per_image=None,
                         by_quality={"low": 4, "medium": 7, "high": 11}),
    "ideogram_4_5": _sdk("medium (8 credits per image) by default with reference images and high (25) otherwise, "
                         "including preciseEdit; low 4, very_low 1", credits_per_image=None,
                         by_quality={"very_low": 1, "low": 4, "medium": 8, "high": 25},
                         default_quality="high", default_quality_with_reference_images="medium"),
    "muse_image": _sdk("each image costs 1 credit", credits_per_image=1),
    "ruby": _sdk("20 credits per second of output, rising to 40 credits per second when the source is larger "
                 "than 4 megapixels", credits_per_second=20, over_4mp_source_credits_per_second=40),
    "gpt_image_2_5_flare": {**_sdk("each reference image adds 1 credit per generated image; no base price",
                                   credits_per_image=None, per_reference_image=1),
                            "source": f"{NO_SOURCE} (the docstrings give only the reference surcharge)"},
    "gpt_image_2_5_sunburst": {**_sdk("each reference image adds 1 credit per generated image; no base price",
                                      credits_per_image=None, per_reference_image=1),
                               "source": f"{NO_SOURCE} (the docstrings give only the reference surcharge)"},
    # --- third-party copies -------------------------------------------------------------------
    "seedance2_fast": _copy("29 credits/sec", credits_per_second=29),
    "seedance2_mini": _copy("16 credits/sec, 64 minimum", credits_per_second=16, minimum_credits=64),
    "seedance2_5": _copy("480p 20, 720p 30, 1080p 68 credits/sec, 80 minimum", credits_per_second=30,
                         by_resolution={"480p": 20, "720p": 30, "1080p": 68}, minimum_credits=80),
    "aleph2": _copy("28 credits/sec, 56 minimum", credits_per_second=28, minimum_credits=56),
    "hailuo3": _copy("768p 10, 2k 15 credits/sec, +2 per reference image", credits_per_second=15,
                     by_resolution={"768p": 10, "2k": 15}, per_reference_image=2),
    "h3_max": _copy("480p 5, 768p 8 credits/sec", credits_per_second=8, by_resolution={"480p": 5, "768p": 8}),
    "happyhorse_1_0": _copy("720p 15, 1080p 30 credits/sec", credits_per_second=30,
                            by_resolution={"720p": 15, "1080p": 30}),
    "gemini_omni_flash": _copy("10 credits/sec, +1 per reference image", credits_per_second=10,
                               per_reference_image=1),
    "gemini_omni_flash_1.1": _copy("10 credits/sec, +1 per reference image", credits_per_second=10,
                                   per_reference_image=1),
    "grok_imagine_1_5": _copy("480p 10, 720p 16, 1080p 29 credits/sec, +1 per reference image",
                              credits_per_second=16, by_resolution={"480p": 10, "720p": 16, "1080p": 29},
                              per_reference_image=1),
    "grok_imagine_1_5_lite": _copy("480p 2, 720p 3, 1080p 14 credits/sec", credits_per_second=3,
                                   by_resolution={"480p": 2, "720p": 3, "1080p": 14}),
    "wan3": _copy("480p 5, 720p 10, 1080p 20 credits/sec", credits_per_second=10,
                  by_resolution={"480p": 5, "720p": 10, "1080p": 20}),
}


def pricing_for(name: str, units: list[str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``x-runway.pricing`` block of ``name``: its PRICING entry (one rate per unit the model's
    endpoints bill; unpublished units null), or an unpriced block that says so; ``extra`` adds
    rules of the overlay (billed lengths of ``auto`` and of a model-picked length)."""
    entry = dict(PRICING.get(name) or {"source": NO_SOURCE, "as_of": CHECKED})
    pricing: dict[str, Any] = {f"credits_per_{unit}": entry.pop(f"credits_per_{unit}", None) for unit in units}
    pricing.update(entry)
    pricing.update(extra or {})
    return pricing
