"""What the saved runs of tests/data were trained and are scored on, shared by their scripts and the tests."""

import numpy as np
import soundfile

from audiornn import build_dataset
from audiornn.audio_io import prepare_audio, read_audio
from conftest import sine

REFERENCE_AUDIO = "data/agent-user.wav"  # a bundled recording, from the repository's root


def sine_dataset(folder):
    """Three noisy tones in ``folder`` and a dataset of them in ``folder/dataset`` (as make_predictor_run.py)."""
    rng = np.random.default_rng(0)
    for index in range(3):
        audio = sine(300 + 40 * index, 1.0, 8000) + 0.01 * rng.standard_normal(8000).astype("float32")
        soundfile.write(str(folder / f"a{index}.wav"), audio, 8000)
    return build_dataset([folder], folder / "dataset", validation_fraction=0.34, progress=False)


def reference_classes(model, root):
    """The first 4,000 classes of the bundled recording, as ``model`` reads audio."""
    audio, rate = read_audio(root / REFERENCE_AUDIO)
    return prepare_audio(audio, rate, audio_config=model.audio_config)[0][:4000].astype("int32")
