"""Small, real audio files for emulated audio tasks: a tone of the requested length.

The pitch comes from the prompt (so takes of different shots sound different), the length
from the task (its ``duration``, or the input clip it follows), the container from the
request's ``outputFormat`` / ``format`` (MP3 by default): a test can check both with PyAV.
"""

from __future__ import annotations

import hashlib
import io
import math
from array import array
from fractions import Fraction
from typing import cast

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer

# Extension -> (PyAV container, codec, sample rate). Opus only runs at 48 kHz.
CODECS = {"mp3": ("mp3", "libmp3lame", 44_100), "wav": ("wav", "pcm_s16le", 44_100),
          "flac": ("flac", "flac", 44_100), "ogg": ("ogg", "libopus", 48_000)}
CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg"}
CHUNK = 1024


def tone_hz(prompt: str) -> float:
    """A pitch between 220 and 880 Hz of the prompt's own."""
    return 220.0 + hashlib.sha256(prompt.encode("utf-8")).digest()[0] / 255 * 660.0


def render_audio(prompt: str, seconds: float, ext: str = "mp3", look: str = "") -> bytes:
    """A mono tone of ``seconds`` (at least a tenth of a second) in the container of ``ext``;
    ``look`` (take and seed, ``sim.Task.look``) moves the pitch, so takes sound different."""
    container, codec, rate = CODECS.get(ext, CODECS["mp3"])
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = tone_stream(out, codec, rate)
        mux_tone(out, stream, max(int(rate * max(seconds, 0.1)), CHUNK), tone_hz(prompt + look))
    return buf.getvalue()


def tone_stream(out: OutputContainer, codec: str, rate: int) -> AudioStream:
    """A mono audio stream of ``codec`` in ``out``, for ``mux_tone`` (a video's sound track too)."""
    stream = cast(AudioStream, out.add_stream(codec, rate=rate))
    stream.layout = "mono"
    stream.time_base = Fraction(1, rate)
    return stream


def mux_tone(out: OutputContainer, stream: AudioStream, samples: int, hz: float) -> None:
    """Encode ``samples`` of a sine at ``hz`` into ``stream`` and mux them into ``out``."""
    rate = stream.rate
    step = 2 * math.pi * hz / rate
    for start in range(0, samples, CHUNK):
        n = min(CHUNK, samples - start)
        # 16-bit samples; the codec context converts them to what its encoder takes.
        pcm = array("h", (int(9830 * math.sin(step * i)) for i in range(start, start + n)))
        frame = av.AudioFrame(format="s16", layout="mono", samples=n)
        frame.planes[0].update(pcm.tobytes())
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
