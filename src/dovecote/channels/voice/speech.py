"""Text to speech with eSpeak NG, the engine the `espeakng-loader` wheel ships.

The wheel carries the shared library and its voice data, so `pip install` is all a
machine needs (no system package). eSpeak's API is one global synthesizer per process,
so every call holds `_LOCK`; a call costs milliseconds of CPU per second of speech
(formant synthesis, no model), which is why the price preview can afford to synthesize
a message to measure it. Callers on the event loop go through `asyncio.to_thread`.
"""

from __future__ import annotations

import ctypes
import io
import threading
import wave
from dataclasses import dataclass

import espeakng_loader

# Words per minute. eSpeak's own default is 175; a phone message is read slower.
SPEAKING_RATE = 160
# The rate eSpeak is set to: measured on ordinary prose, its words come out faster than
# its nominal rate (pauses aside), so 145 speaks close to SPEAKING_RATE words a minute.
_ESPEAK_RATE = 145
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE_PARAMETER = 1
_DONT_EXIT = 0x8000  # espeakINITIALIZE_DONT_EXIT: report errors, never exit() the process

_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class SpeechError(RuntimeError):
    """The engine could not be loaded or refused the text or voice."""


@dataclass(frozen=True, slots=True)
class Speech:
    pcm: bytes  # 16-bit signed mono, native byte order
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate

    def wav(self) -> bytes:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.pcm)
        return buffer.getvalue()


class _Engine:
    def __init__(self) -> None:
        try:
            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as exc:
            raise SpeechError(f"eSpeak NG could not be loaded: {exc}") from None
        self.lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise SpeechError("eSpeak NG failed to initialise")
        self.chunks: list[bytes] = []
        # Kept on the instance: the library holds the pointer for the process's life.
        self.callback = _Callback(self._collect)
        self.lib.espeak_SetSynthCallback(self.callback)
        self.lib.espeak_SetParameter(_RATE_PARAMETER, _ESPEAK_RATE, 0)

    def _collect(self, samples: ctypes._Pointer[ctypes.c_short], count: int, _: int) -> int:
        if count > 0:
            self.chunks.append(ctypes.string_at(samples, count * 2))
        return 0  # 0: go on synthesizing

    def speak(self, text: str, voice: str) -> Speech:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise SpeechError(f"eSpeak NG has no voice {voice!r}")
        encoded = text.encode()
        self.chunks = []
        status = self.lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if status != 0 or self.lib.espeak_Synchronize() != 0:
            raise SpeechError(f"eSpeak NG failed to synthesize (status {status})")
        pcm = b"".join(self.chunks)
        self.chunks = []
        return Speech(pcm, self.sample_rate)


_LOCK = threading.Lock()
_engine: _Engine | None = None


def synthesize(text: str, voice: str) -> Speech:
    """`text` spoken by the eSpeak voice `voice` (`en-us`, `de+f3`, …) at SPEAKING_RATE."""
    global _engine
    with _LOCK:
        if _engine is None:
            _engine = _Engine()
        return _engine.speak(text, voice)
