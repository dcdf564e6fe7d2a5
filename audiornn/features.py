"""Spectrogram features: what a vocoder is conditioned on, from one function that every path uses.

:func:`log_mel` turns audio into log-mel frames, and :func:`prepare_audio_features`
(audio of any rate to classes and the frames aligned to them) is the one way
dataset building, training data, ``vocode`` and scoring get them, so they can
never disagree. librosa provides the short-time Fourier transform and the mel
filter bank (the Slaney-style bank that text-to-speech front ends also use).

Alignment: frame ``k`` is centred on sample ``k * hop`` (the STFT is padded by
half a window at both ends), and samples ``k * hop .. (k + 1) * hop - 1`` are
conditioned on frame ``k``: a stretch of ``n`` samples has ``ceil(n / hop)``
frames. The frames are of the audio after resampling (and trimming), scaled to
a peak of 1, before pre-emphasis: a plain spectrogram, as other systems make them.
"""

import dataclasses
import math
import warnings

import numpy as np
import scipy.signal

from .config import JSONConfig, check_positive_int
from .errors import ParameterError

__all__ = ["FeatureConfig", "envelope_matrices", "frame_count", "log_mel"]

KINDS = ("mel",)


@dataclasses.dataclass(frozen=True)
class FeatureConfig(JSONConfig):
    """How audio becomes spectrogram frames.

    kind: "mel" (log-mel power).
    bands: mel bands from 0 Hz to the Nyquist frequency.
    hop: samples between frames (80: 10 ms at 8 kHz).
    window: the analysis window in samples (200: 25 ms at 8 kHz), Hann.
    fft: FFT length (at least ``window``).
    floor: the smallest power before the logarithm (-115 dB under full scale).
    """

    kind: str = "mel"
    bands: int = 40
    hop: int = 80
    window: int = 200
    fft: int = 256
    floor: float = 1e-5

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ParameterError(f"features must be one of {KINDS}, got {self.kind!r}")
        for name in ("bands", "hop", "window", "fft"):
            check_positive_int(getattr(self, name), name)
        if self.fft < self.window:
            raise ParameterError(f"the FFT length ({self.fft}) must be at least the window ({self.window})")
        if not isinstance(self.floor, (int, float)) or not 0 < self.floor < 1:
            raise ParameterError(f"floor must be a number between 0 and 1, got {self.floor!r}")

    @classmethod
    def for_rate(cls, sample_rate, **overrides):
        """The default frames for ``sample_rate``: 10 ms hop, 25 ms window, 40 bands, fewer for a low rate
        (as many as have an FFT bin each: a mel band with none is empty)."""
        hop, window = int(round(sample_rate / 100)), int(round(sample_rate / 40))
        values = dict(hop=hop, window=window, fft=2 ** math.ceil(math.log2(window)))
        values.update(overrides)
        if "bands" not in overrides:
            values["bands"] = _most_bands(sample_rate, values["fft"], cls.bands)
        return cls(**values)

    def describe(self):
        """In words: ``40 mel bands, a frame every 80 samples``."""
        return f"{self.bands} {self.kind} bands, a frame every {self.hop} samples"


def _most_bands(sample_rate, fft, most):
    """The most mel bands, up to ``most``, from 0 Hz to the Nyquist frequency of which none is empty at ``fft``."""
    import librosa

    for bands in range(most, 0, -1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bank = librosa.filters.mel(sr=sample_rate, n_fft=fft, n_mels=bands, fmin=0.0, fmax=sample_rate / 2)
        if np.all(bank.max(axis=1) > 0):
            return bands
    return 1


def frame_count(samples, hop):
    """Frames conditioning ``samples`` samples: one per started hop."""
    return -(-int(samples) // int(hop))


def log_mel(audio, sample_rate, config):
    """Log-mel frames ``(frame_count(len(audio), hop), bands)`` float32 of 1-D ``audio`` at ``sample_rate``."""
    import librosa

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ParameterError(f"log_mel takes 1-D audio, got shape {audio.shape}")
    with warnings.catch_warnings():
        # A recording shorter than one window is padded with zeros, as every recording's ends are.
        warnings.filterwarnings("ignore", message="n_fft=.* is too large for input signal")
        power = librosa.feature.melspectrogram(
            y=audio, sr=sample_rate, n_fft=config.fft, hop_length=config.hop, win_length=config.window,
            window="hann", center=True, pad_mode="constant", power=2.0, n_mels=config.bands, fmin=0.0,
            fmax=sample_rate / 2)
    frames = np.log(np.maximum(power, config.floor)).T
    return np.ascontiguousarray(frames[:frame_count(audio.size, config.hop)], dtype=np.float32)


def audio_to_features(mono, sample_rate, config):
    """The frames of resampled (and trimmed) mono audio, scaled to a peak of 1 first (see the module)."""
    peak = float(np.max(np.abs(mono))) if np.size(mono) else 0.0
    return log_mel(np.asarray(mono, np.float32) / max(peak, 1e-9), sample_rate, config)


def envelope_matrices(config, sample_rate, preemphasis, order):
    """What turns log-mel frames into the autocorrelation of the signal they describe (LPCNet's linear
    prediction from the features): ``(to_bins, to_lags, variance)``.

    ``exp(frames @ to_bins)`` is each frame's power spectrum on the FFT's bins
    (the log-mel values interpolated linearly between the bands' centre
    frequencies, numpy's ``interp``), ``@ to_lags`` its autocorrelation at lags
    ``0 .. order`` after the pre-emphasis filter (the cosine transform of the
    power, ``(bins, order + 1)``), the signal the model's classes hold. Times
    ``variance``, lag 0 is the power per sample of audio of peak 1: a slaney-
    normalised band of a Hann-windowed STFT holds the power density times the
    window's energy over the bin spacing.
    """
    import librosa

    bins = config.fft // 2 + 1
    frequencies = np.linspace(0.0, sample_rate / 2, bins)
    # The bands' triangles peak at these, as librosa.filters.mel places them.
    centres = librosa.mel_frequencies(config.bands + 2, fmin=0.0, fmax=sample_rate / 2)[1:-1]
    to_bins = np.stack([np.interp(frequencies, centres, row) for row in np.eye(config.bands)])
    omega = np.pi * np.arange(bins) / (bins - 1)
    emphasis = np.abs(1.0 - preemphasis * np.exp(-1j * omega)) ** 2
    sides = np.where((np.arange(bins) == 0) | (np.arange(bins) == bins - 1), 1.0, 2.0)  # the half spectrum
    to_lags = (emphasis * sides)[:, None] * np.cos(np.outer(omega, np.arange(order + 1)))
    window = scipy.signal.get_window("hann", config.window)  # the STFT's window, as librosa makes it
    variance = sample_rate / config.fft ** 2 / float(np.sum(window ** 2))
    return to_bins.astype("float32"), to_lags.astype("float32"), variance
