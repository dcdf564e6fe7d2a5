"""Copy-synthesis scores of a vocoder: PESQ, STOI and log-mel distance, beside Griffin-Lim from the same frames.

For each held-out recording: its frames (:mod:`audiornn.features`), the
vocoder's audio from them (:func:`audiornn.vocoder.vocode`) and Griffin-Lim's
phase reconstruction from the same frames (librosa: the mel power inverted to
a linear spectrogram, then 32 iterations), which needs no network. Each is
compared with the recording as the model hears it (resampled to its rate,
mixed to mono, scaled to a peak of 1):

- **PESQ** (ITU-T P.862, the ``pesq`` package): narrow band at 8 kHz, wide
  band at 16 kHz; 1 (bad) to 4.5. It hears phase artefacts, which Griffin-Lim
  makes and a magnitude distance does not see.
- **STOI** (``pystoi``): intelligibility, 0 to 1.
- **log-mel distance**: the mean absolute difference of the log-mel frames in
  dB. Griffin-Lim rebuilds the very magnitudes it was given, so it wins this
  one by construction.
"""

import math

import numpy as np

from .audio_io import read_audio
from .config import VOCODE_TAIL
from .dsp import resample, to_mono
from .errors import AudioRNNError
from .features import audio_to_features

__all__ = ["griffin_lim", "resynthesis_scores", "format_resynthesis_table"]

DB_PER_NEPER = 10.0 / math.log(10.0)  # natural-log power to dB


def griffin_lim(frames, sample_rate, config, *, iterations=32, seed=0):
    """Audio ``(frames * hop,)`` from log-mel frames ``(frames, bands)`` by Griffin-Lim (librosa), its random
    first phases drawn from ``seed`` (the same frames give the same audio and scores every time)."""
    import librosa

    frames = np.asarray(frames, np.float64)
    # librosa's centred STFT of frames * hop samples has one frame more than the features keep: the last again.
    power = np.exp(np.concatenate([frames, frames[-1:]])).T
    magnitude = librosa.feature.inverse.mel_to_stft(power, sr=sample_rate, n_fft=config.fft, power=2.0, fmin=0.0,
                                                    fmax=sample_rate / 2)
    audio = librosa.griffinlim(magnitude, n_iter=iterations, hop_length=config.hop, win_length=config.window,
                               n_fft=config.fft, window="hann", center=True, pad_mode="constant",
                               length=frames.shape[0] * config.hop, random_state=seed)
    return audio.astype(np.float32)


def _reference(path, model):
    """A recording as the model hears it: mono, at the model's rate, at a peak of 1."""
    audio, rate = read_audio(path)
    mono = resample(to_mono(audio), source_rate=rate, target_rate=model.audio_config.sample_rate)
    return mono / max(float(np.max(np.abs(mono))), 1e-9)


def _scores(reference, degraded, rate, config):
    from pesq import pesq
    from pystoi import stoi

    length = min(reference.size, degraded.size)
    reference, degraded = reference[:length].astype(np.float64), degraded[:length].astype(np.float64)
    frames = [audio_to_features(audio, rate, config) for audio in (reference, degraded)]
    try:
        quality = float(pesq(rate, reference, degraded, "wb" if rate >= 16000 else "nb"))
    except Exception as error:  # the package raises its own kinds for silent or too short audio
        raise AudioRNNError(f"PESQ cannot score this audio ({type(error).__name__}: {error})") from None
    return {"pesq": quality, "stoi": float(stoi(reference, degraded, rate, extended=False)),
            "log_mel_db": float(np.mean(np.abs(frames[0] - frames[1]))) * DB_PER_NEPER}


def resynthesis_scores(model, files, *, seed=0, temperature=1.0, progress=False, tail=VOCODE_TAIL):
    """PESQ, STOI and log-mel distance of the vocoder's and Griffin-Lim's copy-synthesis of ``files``.

    Returns ``{"files": [...], "vocoder": {...}, "griffin_lim": {...}}`` with
    each measure's mean over the files, ``"per_file"`` rows, and the first
    file's three sounds (``"example"``: original, vocoder, Griffin-Lim) for a
    figure. The pesq package needs a sample rate of 8 or 16 kHz. ``tail``: as
    :func:`audiornn.vocode` takes it.
    """
    from .vocoder import load_features, vocode

    rate, config = model.audio_config.sample_rate, model.feature_config
    if rate not in (8000, 16000):
        raise AudioRNNError(f"PESQ scores audio at 8 or 16 kHz; this model's rate is {rate} Hz")
    files = [str(path) for path in files]
    frames = [load_features(path, model) for path in files]
    vocoded = vocode(model, frames, seed=seed, temperature=temperature, progress=progress, tail=tail)
    rows, example = [], None
    for path, own, audio in zip(files, frames, vocoded):
        reference = _reference(path, model)
        rebuilt = griffin_lim(own, rate, config, seed=seed)
        rows.append({"file": path, "vocoder": _scores(reference, audio, rate, config),
                     "griffin_lim": _scores(reference, rebuilt, rate, config)})
        if example is None:
            example = {"original": reference, "vocoder": np.asarray(audio), "griffin_lim": rebuilt}
    summary = {"files": files, "per_file": rows, "example": example}
    for method in ("vocoder", "griffin_lim"):
        summary[method] = {measure: float(np.mean([row[method][measure] for row in rows]))
                           for measure in ("pesq", "stoi", "log_mel_db")}
    return summary


def format_resynthesis_table(scores):
    """The means as a small text table."""
    lines = [f"{'copy-synthesis':<16}{'PESQ':>8}{'STOI':>8}{'log-mel dB':>12}"]
    for method, name in (("vocoder", "vocoder"), ("griffin_lim", "Griffin-Lim")):
        row = scores[method]
        lines.append(f"{name:<16}{row['pesq']:>8.2f}{row['stoi']:>8.3f}{row['log_mel_db']:>12.2f}")
    lines.append(f"({len(scores['files'])} file(s); PESQ 1-4.5 and STOI 0-1 higher is better, the distance lower; "
                 f"Griffin-Lim rebuilds the very magnitudes it is given, so it wins the distance by construction)")
    return "\n".join(lines)
