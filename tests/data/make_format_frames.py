"""Reference frames of three text-to-speech front ends, made by their own published code: tests/data/format_frames.npz.

audiornn's ``--features speecht5 / hifigan / vocos`` (audiornn.features.format_frames) are tested against these.
Run once from the repository root, in a separate environment (none of these is a dependency of audiornn):

    python -m venv /tmp/refenv && /tmp/refenv/bin/pip install transformers librosa scipy soundfile torch \
        torchaudio einops huggingface_hub pyyaml && /tmp/refenv/bin/pip install --no-deps vocos encodec
    git clone https://github.com/jik876/hifi-gan /tmp/hifi-gan
    PYTHONPATH=/tmp/hifi-gan /tmp/refenv/bin/python tests/data/make_format_frames.py

The audio: the first 2 s of data/vm-forward.wav at half its level (the frames carry the level), resampled to each
front end's rate with scipy's resample_poly, with a noise floor at -60 dB (the test makes the same). Made with
transformers' SpeechT5FeatureExtractor (audio_target), HiFi-GAN's meldataset.mel_spectrogram (commit 1198d8c; written for librosa
< 0.10 and torch < 2, so its two calls of those are adapted below, the computation untouched) and Vocos'
MelSpectrogramFeatures (torchaudio's MelSpectrogram).
"""

import math
import sys
import types

import librosa
import numpy as np
import scipy.signal
import soundfile
import torch


def audio_at(rate):
    audio, source = soundfile.read("data/vm-forward.wav", dtype="float64")
    audio = audio[:2 * source] * 0.5
    common = math.gcd(rate, source)
    audio = scipy.signal.resample_poly(audio, rate // common, source // common)
    # A noise floor 60 dB under full scale: every band holds sound (above 4 kHz this recording has none), so
    # the comparison is of the computation, not of float rounding in empty bands.
    return audio + 1e-3 * np.random.default_rng(0).standard_normal(audio.size)


def speecht5():
    from transformers import SpeechT5FeatureExtractor

    extractor = SpeechT5FeatureExtractor()
    return extractor(audio_target=audio_at(16000), sampling_rate=16000, return_tensors="np")["input_values"][0]


def hifigan():
    import meldataset

    meldataset.librosa_mel_fn = lambda sr, n_fft, n_mels, fmin, fmax: librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    stft = torch.stft
    meldataset.torch = types.SimpleNamespace(**{name: getattr(torch, name) for name in dir(torch)
                                                 if not name.startswith("__")})
    meldataset.torch.stft = lambda *args, **kwargs: torch.view_as_real(stft(*args, return_complex=True, **kwargs))
    audio = torch.FloatTensor(audio_at(22050))[None]
    return meldataset.mel_spectrogram(audio, 1024, 80, 22050, 256, 1024, 0, 8000)[0].T.numpy()


def vocos():
    sys.modules.setdefault("encodec", types.SimpleNamespace(EncodecModel=None))
    from vocos.feature_extractors import MelSpectrogramFeatures

    audio = torch.FloatTensor(audio_at(24000))[None]
    return MelSpectrogramFeatures()(audio)[0].T.numpy()


if __name__ == "__main__":
    frames = {"speecht5": speecht5(), "hifigan": hifigan(), "vocos": vocos()}
    for name, values in frames.items():
        print(name, values.shape, values.dtype, float(values.min()), float(values.max()))
    np.savez_compressed("tests/data/format_frames.npz", **{name: values.astype(np.float32)
                                                          for name, values in frames.items()})
