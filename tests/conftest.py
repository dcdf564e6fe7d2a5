"""Shared fixtures: made-up audio written to temporary files."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import soundfile


def sine(frequency, seconds, rate, amplitude=0.5, phase=0.0):
    time = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * time + phase)).astype(np.float32)


@pytest.fixture
def write_audio(tmp_path):
    """write_audio(name, audio, rate, subtype) -> path of a new audio file under tmp_path."""

    def write(name, audio, rate=8000, subtype="PCM_16"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(path), audio, rate, subtype=subtype)
        return path

    return write


@pytest.fixture
def speech_like_folder(tmp_path, write_audio):
    """Five files of tones plus noise at mixed rates and channel counts."""
    generator = np.random.default_rng(0)
    for index, (rate, channels) in enumerate([(8000, 1), (16000, 2), (44100, 1), (22050, 2), (8000, 1)]):
        mono = sine(200 + 50 * index, 1.0 + 0.25 * index, rate) \
            + 0.05 * generator.standard_normal(int(round((1.0 + 0.25 * index) * rate))).astype(np.float32)
        audio = mono if channels == 1 else np.stack([mono, 0.5 * mono], axis=1)
        write_audio(f"recordings/take{index}.wav" if index % 2 else f"recordings/sub/take{index}.flac",
                    audio, rate)
    (tmp_path / "recordings" / "notes.txt").write_text("not audio")
    return tmp_path / "recordings"
