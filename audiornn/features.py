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

Besides audiornn's own ``mel`` (40 bands, 10 ms, natural-log power), the
frames of text-to-speech front ends are named formats (:data:`FORMATS`:
``speecht5``, ``hifigan``, ``vocos``), each made as its reference code makes it
(:func:`format_frames`, at the level of the audio given: tested against frames
made by that code, ``tests/data/make_format_frames.py``), so that a vocoder
trained on one takes that front end's output as it is. A format fixes the
sample rate. Inside a dataset and a model their frames are of audio at a peak
of 1 as the ``mel`` frames are; ``vocode`` moves a front end's frames, at any
level, there and its output back to their level.
"""

import dataclasses
import math
import warnings

import numpy as np
import scipy.signal

from .config import JSONConfig, check_positive_int
from .errors import ParameterError

__all__ = ["FORMATS", "LOUD_PERCENTILE", "FeatureConfig", "FrameFormat", "envelope_matrices", "format_frames",
           "frame_count", "frame_spectrum", "frame_values", "log_mel", "loud_level", "mel_bank", "rate_for"]



@dataclasses.dataclass(frozen=True)
class FrameFormat:
    """A text-to-speech front end's frames, as its own code makes them.

    ``padding``: "center" (half an FFT reflected at both ends: frame ``k``
    centred on sample ``k * hop``, ``1 + n // hop`` frames) or "hifigan"
    (``(fft - hop) / 2`` reflected at both ends, not centred: frame ``k``
    centred on the middle of hop ``k``, ``n // hop`` frames). The values are
    ``log`` ("ln" or "log10") of the mel bands' magnitude, at least ``floor``;
    ``epsilon`` is added to the power before its square root (HiFi-GAN's).
    """

    sample_rate: int
    fft: int
    hop: int
    window: int
    bands: int
    fmin: float
    fmax: float
    log: str
    floor: float
    padding: str = "center"
    norm: str = "slaney"  # the mel bank's normalisation (None: none), librosa's and transformers' word
    htk: bool = False  # the HTK mel scale (torchaudio's default) instead of Slaney's
    epsilon: float = 0.0
    source: str = ""

    @property
    def unit(self):
        return "log10 of magnitude" if self.log == "log10" else "natural-log magnitude"


FORMATS = {
    "speecht5": FrameFormat(16000, 1024, 256, 1024, 80, 80.0, 7600.0, "log10", 1e-10,
                            source="transformers' SpeechT5FeatureExtractor (audio_target)"),
    "hifigan": FrameFormat(22050, 1024, 256, 1024, 80, 0.0, 8000.0, "ln", 1e-5, padding="hifigan", epsilon=1e-9,
                           source="HiFi-GAN's meldataset.mel_spectrogram (Tacotron 2, SpeechBrain)"),
    "vocos": FrameFormat(24000, 1024, 256, 1024, 100, 0.0, 12000.0, "ln", 1e-7, norm=None, htk=True,
                         source="Vocos' MelSpectrogramFeatures (torchaudio's MelSpectrogram, power 1)"),
}
KINDS = ("mel",) + tuple(FORMATS)
# The mel kind's settings where none are given: 40 bands every 10 ms at 8 kHz, 25 ms windows.
MEL_SETTINGS = {"bands": 40, "hop": 80, "window": 200, "fft": 256, "floor": 1e-5}


@dataclasses.dataclass(frozen=True)
class FeatureConfig(JSONConfig):
    """How audio becomes spectrogram frames.

    kind: "mel" (log-mel power), or a text-to-speech front end's format
        (:data:`FORMATS`), whose settings are fixed (:meth:`for_format`).
    bands: mel bands from 0 Hz to the Nyquist frequency (mel: 40).
    hop: samples between frames (mel: 80, 10 ms at 8 kHz).
    window: the analysis window in samples (mel: 200, 25 ms at 8 kHz), Hann.
    fft: FFT length (at least ``window``; mel: 256).
    floor: the smallest power before the logarithm (mel: 1e-5, -115 dB under full scale).
    A setting left out is the kind's own (:data:`MEL_SETTINGS`, or the format's); one given to a format must be
    the format's.
    """

    kind: str = "mel"
    bands: int = None
    hop: int = None
    window: int = None
    fft: int = None
    floor: float = None

    def __post_init__(self):
        from .config import plain_numbers

        plain_numbers(self)
        if self.kind not in KINDS:
            raise ParameterError(f"features must be one of {KINDS}, got {self.kind!r}")
        spec = FORMATS.get(self.kind)
        for name, value in MEL_SETTINGS.items():  # what is left out: the kind's own setting
            if getattr(self, name) is None:
                object.__setattr__(self, name, value if spec is None else getattr(spec, name))
        for name in ("bands", "hop", "window", "fft"):
            check_positive_int(getattr(self, name), name)
        if self.fft < self.window:
            raise ParameterError(f"the FFT length ({self.fft}) must be at least the window ({self.window})")
        if not isinstance(self.floor, (int, float)) or not 0 < self.floor < 1:
            raise ParameterError(f"floor must be a number between 0 and 1, got {self.floor!r}")
        spec = FORMATS.get(self.kind)
        if spec is not None and (self.bands, self.hop, self.window, self.fft, self.floor) != (
                spec.bands, spec.hop, spec.window, spec.fft, spec.floor):
            given = ", ".join(f"{name} {getattr(self, name)} (the format's: {getattr(spec, name)})"
                              for name in MEL_SETTINGS if getattr(self, name) != getattr(spec, name))
            raise ParameterError(f"the {self.kind} frames have fixed settings (bands {spec.bands}, hop {spec.hop}, "
                                 f"window {spec.window}, fft {spec.fft}, floor {spec.floor}); got {given}: leave "
                                 f"them out (FeatureConfig(kind={self.kind!r}))")

    @classmethod
    def for_format(cls, kind):
        """The settings of a front end's format (:data:`FORMATS`)."""
        spec = FORMATS[kind]
        return cls(kind=kind, bands=spec.bands, hop=spec.hop, window=spec.window, fft=spec.fft, floor=spec.floor)

    @property
    def format(self):
        """The :class:`FrameFormat` of a named format, or None for ``mel``."""
        return FORMATS.get(self.kind)

    @property
    def unit(self):
        """The values' unit: "natural-log power" (``mel``), or the format's."""
        return "natural-log power" if self.format is None else self.format.unit

    @property
    def to_log_power(self):
        """What turns a value into natural-log power: the factor."""
        return {"natural-log power": 1.0, "natural-log magnitude": 2.0,
                "log10 of magnitude": 2.0 * math.log(10)}[self.unit]

    @classmethod
    def for_rate(cls, sample_rate, **overrides):
        """The default frames for ``sample_rate``: 10 ms hop, 25 ms window, 40 bands, fewer for a low rate
        (as many as have an FFT bin each: a mel band with none is empty)."""
        hop, window = int(round(sample_rate / 100)), int(round(sample_rate / 40))
        values = dict(hop=hop, window=window, fft=2 ** math.ceil(math.log2(window)))
        values.update(overrides)
        if "bands" not in overrides:
            values["bands"] = _most_bands(sample_rate, values["fft"], MEL_SETTINGS["bands"])
        return cls(**values)

    def describe(self):
        """In words: ``40 mel bands, a frame every 80 samples``."""
        if self.format is not None:
            return f"{self.kind} frames ({self.bands} mel bands, {self.unit}, a frame every {self.hop} samples)"
        return f"{self.bands} {self.kind} bands, a frame every {self.hop} samples"


def rate_for(features, sample_rate):
    """The sample rate to build ``features`` (a kind's name or None) at: a format's own rate when
    ``sample_rate`` is None; a different ``sample_rate`` for a format is refused, naming both."""
    spec = FORMATS.get(features) if isinstance(features, str) else None
    if spec is None or sample_rate == spec.sample_rate:
        return sample_rate
    if sample_rate is None:
        return spec.sample_rate
    raise ParameterError(f"--features {features} are made at {spec.sample_rate} Hz ({spec.source}), not at "
                         f"--sample-rate {sample_rate}: leave --sample-rate out, or give {spec.sample_rate}")


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


def mel_bank(config, sample_rate):
    """The mel filter bank ``(bands, fft // 2 + 1)`` the frames are made with (librosa's)."""
    import librosa

    spec = config.format
    if spec is None:
        return librosa.filters.mel(sr=sample_rate, n_fft=config.fft, n_mels=config.bands, fmin=0.0,
                                   fmax=sample_rate / 2)
    return librosa.filters.mel(sr=sample_rate, n_fft=spec.fft, n_mels=spec.bands, fmin=spec.fmin, fmax=spec.fmax,
                               htk=spec.htk, norm=spec.norm)


def format_frames(audio, config):
    """A front end's frames ``(frames, bands)`` float32 of 1-D ``audio`` at its format's rate, at the audio's
    own level, as its reference code makes them (:class:`FrameFormat`): as many frames as it makes."""
    spec = config.format
    audio = np.asarray(audio, np.float64)
    if audio.ndim != 1:
        raise ParameterError(f"{config.kind} frames are made of 1-D audio, got shape {audio.shape}")
    spectrum = frame_spectrum(audio, config)[0]
    return np.ascontiguousarray(frame_values(np.abs(spectrum), config, mel_bank(config, spec.sample_rate)).T,
                                dtype=np.float32)


def frame_spectrum(audio, config):
    """1-D ``audio``'s short-time Fourier transform ``(bins, frames)`` as its frames are made: a front end's
    reflected padding (:class:`FrameFormat`), or ``log_mel``'s centred zero padding for ``mel``; with the padding
    at each end and the padded length."""
    import librosa

    spec = config.format
    if spec is None:
        pad, mode = config.fft // 2, "constant"
    else:
        pad, mode = (spec.fft // 2 if spec.padding == "center" else (spec.fft - spec.hop) // 2), "reflect"
    if mode == "reflect" and audio.size <= pad:  # reflection needs more samples than it reflects: silence after
        audio = np.concatenate([audio, np.zeros(pad + 1 - audio.size, audio.dtype)])  # a short one
    padded = np.pad(audio, pad, mode=mode)
    spectrum = librosa.stft(padded, n_fft=config.fft, hop_length=config.hop, win_length=config.window,
                            window="hann", center=False)
    return spectrum, pad, padded.size


def frame_values(magnitude, config, bank):
    """The frames' values ``(bands, frames)`` of a short-time Fourier transform's magnitude ``(bins, frames)``
    through the mel ``bank``: natural-log power for ``mel``, a format's log of magnitude (at least its floor)."""
    spec = config.format
    if spec is None:
        return np.log(np.maximum(bank @ np.square(magnitude), config.floor))
    if spec.epsilon:
        magnitude = np.sqrt(np.square(magnitude) + spec.epsilon)
    bands = np.maximum(bank @ magnitude, spec.floor)
    return np.log10(bands) if spec.log == "log10" else np.log(bands)


# A front end's frames are read at a level by their loud frames: this percentile, over the frames, of each
# frame's power. On the 16 kHz prompts (bench/vocoder_level.py) it follows the recording's peak to within 1.1 to
# 1.4 dB from file to file, where the mean over all frames and bands wandered 3 to 5 dB (it also counts the pauses).
LOUD_PERCENTILE = 95.0


def loud_level(frames, config):
    """Where a run of a format's frames ``(frames, bands)`` is loud: the :data:`LOUD_PERCENTILE`-th percentile,
    over the frames, of each frame's power summed over its bands, in natural-log power (empty bands add nothing
    to it: a recording of a lower rate, resampled up, reads as the same recording)."""
    from scipy.special import logsumexp

    power = logsumexp(np.asarray(frames, np.float64) * config.to_log_power, axis=1)
    return float(np.percentile(power, LOUD_PERCENTILE)) if power.size else 0.0


def audio_to_features(mono, sample_rate, config, *, own_level=False):
    """The frames of resampled (and trimmed) mono audio, scaled to a peak of 1 first (see the module; a
    format's at the audio's ``own_level`` if asked): ``frame_count(len(mono), hop)`` of them, a format's
    last frame again where it makes fewer."""
    peak = float(np.max(np.abs(mono))) if np.size(mono) and not own_level else 1.0
    scaled = np.asarray(mono, np.float32) / max(peak, 1e-9)
    if config.format is None:
        return log_mel(scaled, sample_rate, config)
    if sample_rate != config.format.sample_rate:
        raise ParameterError(f"{config.kind} frames are made at {config.format.sample_rate} Hz, not {sample_rate} Hz: "
                             f"build at --sample-rate {config.format.sample_rate}")
    frames = format_frames(scaled, config)
    wanted = frame_count(scaled.size, config.hop)
    return np.ascontiguousarray(frames[np.minimum(np.arange(wanted), frames.shape[0] - 1)])


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

    spec = config.format
    bins = config.fft // 2 + 1
    frequencies = np.linspace(0.0, sample_rate / 2, bins)
    # The bands' triangles peak at these, as librosa.filters.mel places them.
    low, high, htk = (0.0, sample_rate / 2, False) if spec is None else (spec.fmin, spec.fmax, spec.htk)
    centres = librosa.mel_frequencies(config.bands + 2, fmin=low, fmax=high, htk=htk)[1:-1]
    to_bins = np.stack([np.interp(frequencies, centres, row) for row in np.eye(config.bands)])
    omega = np.pi * np.arange(bins) / (bins - 1)
    emphasis = np.abs(1.0 - preemphasis * np.exp(-1j * omega)) ** 2
    sides = np.where((np.arange(bins) == 0) | (np.arange(bins) == bins - 1), 1.0, 2.0)  # the half spectrum
    to_lags = (emphasis * sides)[:, None] * np.cos(np.outer(omega, np.arange(order + 1)))
    window = scipy.signal.get_window("hann", config.window)  # the STFT's window, as librosa makes it
    if spec is None:
        variance = sample_rate / config.fft ** 2 / float(np.sum(window ** 2))
        return to_bins.astype("float32"), to_lags.astype("float32"), variance
    # A front end's band holds its bins' magnitudes (not power) summed with its weights: a bin's power at the
    # band's centre is about (value / weights' sum) squared, the sums read off the bank itself (Slaney's or none).
    sums = np.log(np.maximum(mel_bank(config, sample_rate).sum(axis=1), 1e-12))
    to_lags = np.exp(-2.0 * (to_bins.T @ sums))[:, None] * to_lags
    # A noise-like bin's mean magnitude squared is pi / 4 of its mean power (Rayleigh).
    variance = 4.0 / np.pi / (config.fft * float(np.sum(window ** 2)))
    return (config.to_log_power * to_bins).astype("float32"), to_lags.astype("float32"), variance
