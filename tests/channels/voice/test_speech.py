"""eSpeak NG from the espeakng-loader wheel: real speech, at the documented rate."""

from __future__ import annotations

import io
import wave

import pytest

from dovecote.channels.voice import languages, speech

PROSE = (
    "Your appointment with doctor Smith is tomorrow at ten in the morning. Please press "
    "one to confirm or two to cancel the appointment. Thank you and goodbye."
)


@pytest.mark.parametrize("voice", ["en-us", "en+f3", "de"])
def test_speech_lasts_words_divided_by_the_speaking_rate_within_20_percent(voice: str) -> None:
    spoken = speech.synthesize(PROSE, voice)

    expected = len(PROSE.split()) / speech.SPEAKING_RATE * 60
    assert abs(spoken.seconds - expected) <= 0.2 * expected, (spoken.seconds, expected)


def test_the_wav_is_mono_16_bit_audio_that_is_not_silence() -> None:
    spoken = speech.synthesize("Hello from the sandbox.", "en-us")

    with wave.open(io.BytesIO(spoken.wav())) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        frames = wav.readframes(wav.getnframes())
        assert wav.getnframes() / wav.getframerate() == pytest.approx(spoken.seconds)
    samples = memoryview(frames).cast("h")
    assert max(abs(sample) for sample in samples) > 1000


def test_every_listed_language_and_voice_can_speak() -> None:
    for language in languages.languages().values():
        for gender in language.genders:
            assert speech.synthesize("one", language.espeak_voice(gender)).seconds > 0.1


def test_an_unknown_espeak_voice_is_refused() -> None:
    with pytest.raises(speech.SpeechError):
        speech.synthesize("hello", "no-such-voice")
