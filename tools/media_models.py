"""The endpoints beyond video and images (upscales, HDR, sound, speech, voice), for
``tools/gen_models.py``: which spec modes each one gets, what its price is per, and the
overlay of prices and prose rules for its models.
"""

from __future__ import annotations

from typing import Any

# Media endpoints beyond video and images (upscales, HDR, sound, speech, voice). Their prices
# and sources are in tools/price_table.py.
ONE_FILE_PER_TAKE = {
    "properties": {
        "numVariants": {"const": 1, "x-error": "a take is one file: leave numVariants out and use takes: N"},
    }
}
# Rules the SDK states only in prose: seed_audio takes "up to three reference audio clips";
# eleven_text_to_sound_v2 makes "between 0.5 and 30 seconds".
THREE_REFERENCE_AUDIOS = {"properties": {"referenceAudios": {
    "maxItems": 3, "x-error": "seed_audio takes up to three reference audio clips"}}}
SOUND_SECONDS = {"properties": {"duration": {
    "minimum": 0.5, "maximum": 30, "x-error": "must be 0.5–30 seconds (or leave it out: the model picks)"}}}
MEDIA_OVERLAY: dict[str, dict[str, Any]] = {
    "seed_audio": {"defaults": {},
                   "rules": {"reference": [THREE_REFERENCE_AUDIOS], "text": [THREE_REFERENCE_AUDIOS]}},
    "eleven_text_to_sound_v2": {"defaults": {}, "rules": {"all": [SOUND_SECONDS]},
                                # without duration the model picks 0.5-30 s: a plan prices the most
                                "price_extra": {"unset_duration_billed_seconds": 30}},
}

# Spec mode -> endpoint for the endpoints beyond video and images. One model may serve two
# endpoints (seed_audio: sound_effect and text_to_speech; mirelo_sfx_2_0: sound_effect and
# video_to_audio), so each endpoint gets modes of its own, told apart by the shot's fields:
# text (a prompt) and reference (a prompt plus reference audio) make a sound, speech (a prompt
# plus voice) speaks, image / video / audio name the input the endpoint works on.
MEDIA_MODES: dict[str, tuple[str, ...]] = {
    "image_upscale": ("image",),
    "video_upscale": ("video",),
    "video_to_hdr": ("video",),
    "sound_effect": ("text",),
    "text_to_speech": ("speech",),
    "video_to_audio": ("video",),
    "speech_to_speech": ("audio", "video"),
    "voice_dubbing": ("audio",),
    "voice_isolation": ("audio",),
}


def media_modes(bodies: dict[str, dict[str, Any]]) -> dict[str, str]:
    modes: dict[str, str] = {}
    for endpoint, names in MEDIA_MODES.items():
        body = bodies.get(endpoint)
        if body:
            modes.update(dict.fromkeys(names, endpoint))
            if endpoint == "sound_effect" and "referenceAudios" in body["properties"]:
                modes["reference"] = endpoint
    return modes


# What one unit of a model's price is, per endpoint (runner.catalog.endpoints says the same).
PRICE_UNITS = {"text_to_image": "image", "image_upscale": "image", "text_to_speech": "character"}
