"""Every price runner knows, with its source, for ``tools/gen_models.py`` (``x-runway.pricing``).

One entry per model: the pricing fields ``runner.catalog.pricing`` reads, plus where the figure
comes from (``source``), the date it is true as of (``as_of``), the figure as the source words
it (``published``) and, for a third-party copy of Runway's pages, ``copy: true``. A field
priced by another document than the entry's own names it in ``other_sources``.

Sources, judged in this order (a copy is used only where it agrees with Runway's own figures
wherever both give one; ``tests/test_price_sources.py`` checks each copy, figure by figure):
1. Runway's API reference, the public repository ``runwayml/skills`` (commit c5674fd,
   2026-04-21): ``skills/rw-api-reference/SKILL.md`` (video, image and audio tables) and the
   ``cost`` strings of ``scripts/runway_helpers.py``, which say the same.
2. The request-type docstrings of the runwayml 5.24.0 SDK (released 2026-10-23): prices some
   models state in their field descriptions (bria_fibo_1_5, ideogram_4_0, ideogram_4_5,
   muse_image, ruby, the outputFormat surcharges of gen4.5 and aleph2, +1 credit per reference
   image of gpt_image_2_5_*). @runwayml/sdk 4.20.1 (npm) says the same and no more.
3. Third-party copies of the docs site's pricing page (docs.dev.runwayml.com/guides/pricing),
   each named by repository, path and commit, with the date it was checked against the page
   (``copy: true``):
   - vericontext/vibeframe ``.agents/references/providers/runway.md`` @6cf1c270, checked
     2026-10-04 (video models, including wan3, wan3_prime and h3_max);
   - cluely/unmodel ``src/providers/runway/pricing.ts`` and ``models.ts`` @196d9bec, verified
     2026-08-13 (video and image models, with the per-reference and start-frame credits, and
     gpt_image_2 and grok_imagine_image_2 by quality and size);
   - coledtouch/Atelier ``src/runway.js`` @57026bd2, read 2026-10-08 (grok_imagine_1_5_lite).
   Copies found and not used (they disagree with Runway somewhere, or name no model, or their
   repository could not be recorded) are listed in docs/costs.md.
   Not counted yet: seedance2_5's charge for seconds of input and reference video (10 / 15 / 34
   credits a second, as vibeframe gives it) and hailuo3's for reference video: a plan of a shot
   that sends video to them counts the output only.

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
VIBEFRAME = ("third-party copy of docs.dev.runwayml.com/guides/pricing: github.com/vericontext/vibeframe, "
             ".agents/references/providers/runway.md @6cf1c270 (checked against the page 2026-10-04)")
VIBEFRAME_AS_OF = "2026-10-04"
UNMODEL = ("third-party copy of docs.dev.runwayml.com/guides/pricing.md: github.com/cluely/unmodel, "
           "src/providers/runway/pricing.ts and models.ts @196d9bec (verified against the page 2026-08-13)")
UNMODEL_AS_OF = "2026-08-13"
ATELIER = ("third-party copy of docs.dev.runwayml.com/guides/pricing: github.com/coledtouch/Atelier, "
           "src/runway.js @57026bd2 (read 2026-10-08)")
ATELIER_AS_OF = "2026-10-08"
COPIES = {VIBEFRAME: VIBEFRAME_AS_OF, UNMODEL: UNMODEL_AS_OF, ATELIER: ATELIER_AS_OF}
CHECKED = "2026-12-07"  # the day the sources above were searched for the models they leave unpriced
NO_SOURCE = ("unpublished: neither Runway's API reference (runwayml/skills) nor the runwayml 5.24 docstrings "
             "give a price; set one in a price file")


def _skills(published: str, **fields: Any) -> dict[str, Any]:
    return {**fields, "source": SKILLS, "as_of": SKILLS_AS_OF, "published": published}


def _sdk(published: str, **fields: Any) -> dict[str, Any]:
    return {**fields, "source": SDK_DOC, "as_of": SDK_AS_OF, "published": published}


def _copy(source: str, published: str, **fields: Any) -> dict[str, Any]:
    return {**fields, "source": source, "as_of": COPIES[source], "copy": True, "published": published}


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

# Image sizes by the tier they are sold as (the copy splits seedream5_pro's list at 2 megapixels
# and gemini_image3_pro's at 8; the SDK's lists have nothing near either line).
SEEDREAM5_PRO_RATIOS = ["1024:1024", "1184:896", "896:1184", "1376:768", "768:1376", "1296:864", "864:1296",
                        "2048:2048", "2304:1728", "1728:2304", "2720:1530", "1530:2720", "2496:1664", "1664:2496"]
GEMINI_IMAGE3_PRO_RATIOS = ["1344:768", "768:1344", "1024:1024", "1184:864", "864:1184", "1536:672", "832:1248",
                            "1248:832", "896:1152", "1152:896", "2048:2048", "1696:2528", "2528:1696", "1792:2400",
                            "2400:1792", "1856:2304", "2304:1856", "1536:2752", "2752:1536", "3168:1344",
                            "4096:4096", "3392:5056", "5056:3392", "3584:4800", "4800:3584", "3712:4608",
                            "4608:3712", "3072:5504", "5504:3072", "6336:2688"]

# gpt_image_2's 4K sizes (the copy lists them; `auto` bills as 4K too) and its others.
GPT_IMAGE_2_4K = ["3840:1648", "3840:2160", "3504:2336", "3264:2448", "3200:2560", "2880:2880", "2560:3200",
                  "2448:3264", "2336:3504", "2160:3840"]
GPT_IMAGE_2_SMALL = ["2048:880", "1920:1088", "1920:1280", "1920:1440", "1920:1536", "1920:1920", "1536:1920",
                     "1440:1920", "1280:1920", "1088:1920", "2912:1248", "2560:1440", "2560:1712", "2560:1920",
                     "2560:2048", "2560:2560", "2048:2560", "1920:2560", "1712:2560", "1440:2560"]
GROK_IMAGE_2_RATIOS = ["1024:1024", "1280:720", "720:1280", "1152:864", "864:1152", "1248:832", "832:1248",
                       "1248:576", "576:1248", "1280:576", "576:1280", "1408:704", "704:1408", "2048:2048",
                       "2816:1584", "1584:2816", "2368:1776", "1776:2368", "2496:1664", "1664:2496", "2912:1344",
                       "1344:2912", "3200:1440", "1440:3200", "2912:1456", "1456:2912"]

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
                  "other_sources": [{"fields": ["by_resolution"], "source": VIBEFRAME, "as_of": VIBEFRAME_AS_OF,
                                     "copy": True, "published": "36 cr/s (480p/720p), 40 (1080p), 150 (4K)"}]},
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
    # --- third-party copies of the pricing page (see the module doc) ---------------------------
    "aleph2": _copy(VIBEFRAME, "28 cr/s, 56 cr minimum", credits_per_second=28, minimum_credits=56),
    "seedance2_fast": _copy(VIBEFRAME, "29 cr/s (480p / 720p)", credits_per_second=29),
    "seedance2_mini": _copy(VIBEFRAME, "16 cr/s (64 cr minimum)", credits_per_second=16, minimum_credits=64),
    # The input and reference video it also bills (10 / 15 / 34 cr/s) is not counted (module doc).
    "seedance2_5": _copy(VIBEFRAME, "20 / 30 / 68 cr/s at 480p / 720p / 1080p, plus 10 / 15 / 34 cr/s of input "
                         "video; 80 cr minimum", credits_per_second=30,
                         by_resolution={"480p": 20, "720p": 30, "1080p": 68}, minimum_credits=80),
    "hailuo3": _copy(UNMODEL, "10 credits/s at 768P, 15 credits/s at 2K, plus 2 credits per reference image",
                     credits_per_second=15, by_resolution={"768p": 10, "2k": 15}, per_reference_image=2),
    "h3_max": _copy(VIBEFRAME, "h3_max 5 / 8 cr/s (its resolutions: 480p, 768p)", credits_per_second=8,
                    by_resolution={"480p": 5, "768p": 8}),
    "happyhorse_1_0": _copy(VIBEFRAME, "15 / 30 cr/s (720p / 1080p)", credits_per_second=30,
                            by_resolution={"720p": 15, "1080p": 30}),
    # 10/s of output on text and image to video (+1 for the first-frame image); video-to-video
    # 11/s of the input video (at most 10 s), +1 per reference image.
    "gemini_omni_flash": _copy(UNMODEL, "10 credits/s (text- and image-to-video; image-to-video adds 1 credit for "
                               "the first-frame image); video-to-video: 11 credits per second of input video",
                               credits_per_second=10, by_endpoint={"video_to_video": 11}, per_reference_image=1,
                               per_prompt_image=1),
    "grok_imagine_1_5": _copy(UNMODEL, "10/16/29 credits/s at 480p/720p/1080p, plus 1 credit per image or audio "
                              "reference (including an image-to-video start frame)", credits_per_second=16,
                              by_resolution={"480p": 10, "720p": 16, "1080p": 29}, per_reference_image=1,
                              per_prompt_image=1),
    "grok_imagine_1_5_lite": _copy(ATELIER, "Lite 2 / 3 / 14 [credits a second at 480p / 720p / 1080p], plus 1 credit "
                                   "for an image → video start frame", credits_per_second=3,
                                   by_resolution={"480p": 2, "720p": 3, "1080p": 14}, per_prompt_image=1),
    "wan3": _copy(VIBEFRAME, "5 / 10 / 20 cr/s [480p / 720p / 1080p]", credits_per_second=10,
                  by_resolution={"480p": 5, "720p": 10, "1080p": 20}),
    "wan3_prime": _copy(VIBEFRAME, "prime 6.8 / 14 / 28 [cr/s, after wan3's 5 / 10 / 20 at 480p / 720p / 1080p]",
                        credits_per_second=14, by_resolution={"480p": 6.8, "720p": 14, "1080p": 28}),
    "seedream5_lite": _copy(UNMODEL, "4 credits per image, any resolution", credits_per_image=4),
    "seedream5_pro": _copy(UNMODEL, "5 credits per 1K image, 9 per 2K image (auto_1k/auto_2k bill at their tier)",
                           credits_per_image=9, by_resolution={"1k": 5, "2k": 9},
                           ratio_resolution={**_ratio_tiers(SEEDREAM5_PRO_RATIOS, [(2_000_000, "1k"), (10**9, "2k")]),
                                             "auto_1k": "1k", "auto_2k": "2k"}),
    "gemini_image3_pro": _copy(UNMODEL, "20 credits per 1K/2K image, 40 per 4K image", credits_per_image=40,
                               by_resolution={"1k_2k": 20, "4k": 40},
                               ratio_resolution=_ratio_tiers(GEMINI_IMAGE3_PRO_RATIOS,
                                                             [(8_000_000, "1k_2k"), (10**9, "4k")])),
    # By quality, then size. The SDK says the defaults (gpt_image_2 "Defaults to `high`";
    # grok_imagine_image_2 "Defaults to `medium`; `low` ... costs 2 fewer credits per image",
    # "2K ratios cost 2 additional credits per image", each reference "adds 1 credit").
    "gpt_image_2": _copy(UNMODEL, "credits/image by quality x tier: low 1 / 2, medium 5 / 11, high 20 / 41, auto "
                         "20 / 41 (1K-2K / 4K); default quality high; `auto` bills at the 4K tier",
                         credits_per_image=None, default_quality="high",
                         by_quality_resolution={"low": {"1k_2k": 1, "4k": 2}, "medium": {"1k_2k": 5, "4k": 11},
                                                "high": {"1k_2k": 20, "4k": 41}, "auto": {"1k_2k": 20, "4k": 41}},
                         ratio_resolution={**dict.fromkeys(GPT_IMAGE_2_4K, "4k"), "auto": "4k",
                                           **dict.fromkeys(GPT_IMAGE_2_SMALL, "1k_2k")}),
    "grok_imagine_image_2": _copy(UNMODEL, "outputCount x perImage + referenceCount x 1, perImage 4 (low/1K), 6 "
                                  "(low/2K or medium/1K), 8 (medium/2K); default quality medium",
                                  credits_per_image=None, default_quality="medium", per_reference_image=1,
                                  by_quality_resolution={"low": {"1k": 4, "2k": 6}, "medium": {"1k": 6, "2k": 8}},
                                  ratio_resolution={**_ratio_tiers(GROK_IMAGE_2_RATIOS,
                                                                   [(2_000_000, "1k"), (10**9, "2k")]),
                                                    "auto_1k": "1k", "auto_2k": "2k"}),
    # The one copy that names it gives a range without its tiers: unpriced.
    "gemini_omni_flash_1.1": {"source": f"{NO_SOURCE}; the one copy that names it (vibeframe, 2026-10-04) gives only "
                                        "'3.4-30 cr/s by resolution', not which resolution costs what",
                              "as_of": VIBEFRAME_AS_OF},
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
