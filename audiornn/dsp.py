"""Signal functions: pure numpy, vectorised, no Keras, no globals.

Shapes: a signal is a 1-D array ``(samples,)``; multichannel audio is
``(samples, channels)`` as soundfile returns it.
"""

from fractions import Fraction

import numpy as np
import scipy.linalg
import scipy.signal

from .errors import ParameterError

__all__ = [
    "adaptive_linear_prediction",
    "check_mu",
    "check_preemphasis",
    "check_sample_rate",
    "deemphasis",
    "mu_law_decode",
    "mu_law_encode",
    "normalise_level",
    "prediction_window",
    "preemphasis",
    "resample",
    "to_mono",
    "trim_silence",
]


def check_mu(mu):
    """Validate μ: an integer in [1, 255] so that classes fit in one byte."""
    if isinstance(mu, bool) or not isinstance(mu, (int, np.integer)) or not 1 <= mu <= 255:
        raise ParameterError(
            f"--mu must be an integer from 1 to 255 (it gives mu + 1 classes stored "
            f"in one byte), got {mu!r}"
        )
    return int(mu)


def check_preemphasis(coefficient):
    """Validate a pre-emphasis coefficient: a float in [0, 1)."""
    if isinstance(coefficient, bool) or not isinstance(coefficient, (int, float, np.floating)) \
            or not np.isfinite(coefficient) or not 0.0 <= coefficient < 1.0:
        raise ParameterError(
            f"--preemphasis must be a number in [0, 1) (0 turns it off; 0.95 is usual), "
            f"got {coefficient!r}"
        )
    return float(coefficient)


# The rates a recording may have: up to DXD's 768 kHz (a model's own rate stays from 1000 to 192000 Hz).
SOURCE_RATES = (1000, 768_000)


def check_sample_rate(sample_rate, *, name="--sample-rate", highest=192_000):
    """Validate a sample rate in Hz: an integer from 1000 to ``highest``."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or not 1000 <= sample_rate <= highest:
        raise ParameterError(
            f"{name} must be an integer number of Hz from 1000 to {highest}, got {sample_rate!r}"
        )
    return int(sample_rate)


def mu_law_encode(audio, *, mu=255):
    """Quantise audio in [-1, 1] to ``mu + 1`` classes, returned as uint8.

    Values outside [-1, 1] are clipped. Class ``mu // 2`` and ``mu // 2 + 1``
    straddle zero; class 0 is -1 and class ``mu`` is +1.
    """
    mu = check_mu(mu)
    x = np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0)
    companded = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    # Map [-1, 1] onto the bin centres 0..mu and round to the nearest one.
    return np.rint((companded + 1.0) * (mu / 2.0)).astype(np.uint8)


def mu_law_decode(classes, *, mu=255):
    """Invert :func:`mu_law_encode`: classes ``0..mu`` to float32 in [-1, 1]."""
    mu = check_mu(mu)
    classes = np.asarray(classes)
    if classes.size and (classes.min() < 0 or classes.max() > mu):
        raise ParameterError(
            f"classes must lie in [0, {mu}] for mu={mu}, got values from "
            f"{classes.min()} to {classes.max()}"
        )
    companded = classes.astype(np.float64) * (2.0 / mu) - 1.0
    x = np.sign(companded) * np.expm1(np.abs(companded) * np.log1p(mu)) / mu
    return x.astype(np.float32)


def preemphasis(audio, *, coefficient=0.95, state=None):
    """Apply ``y[n] = x[n] - coefficient * x[n-1]`` to a 1-D signal.

    ``state`` is the last input sample of the previous chunk (0.0 at the
    start). Returns ``(y, new_state)`` so that long signals can be filtered
    chunk by chunk with the same result as in one piece.
    """
    coefficient = check_preemphasis(coefficient)
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ParameterError(f"preemphasis expects a 1-D signal, got shape {x.shape}")
    previous = 0.0 if state is None else float(state)
    if x.size == 0:
        return x.astype(np.float32), previous
    zi = np.array([-coefficient * previous])
    y, _ = scipy.signal.lfilter([1.0, -coefficient], [1.0], x, zi=zi)
    return y.astype(np.float32), float(x[-1])


def deemphasis(audio, *, coefficient=0.95, state=None):
    """Invert :func:`preemphasis`: ``x[n] = y[n] + coefficient * x[n-1]``.

    ``state`` is the last output sample of the previous chunk (0.0 at the
    start). Returns ``(x, new_state)`` for chunk-by-chunk use.
    """
    coefficient = check_preemphasis(coefficient)
    y = np.asarray(audio, dtype=np.float64)
    if y.ndim != 1:
        raise ParameterError(f"deemphasis expects a 1-D signal, got shape {y.shape}")
    previous = 0.0 if state is None else float(state)
    if y.size == 0:
        return y.astype(np.float32), previous
    zi = np.array([coefficient * previous])
    x, _ = scipy.signal.lfilter([1.0], [1.0, -coefficient], y, zi=zi)
    return x.astype(np.float32), float(x[-1])


def to_mono(audio):
    """Average the channels of ``(samples, channels)`` audio; 1-D passes through."""
    audio = np.asarray(audio)
    if audio.ndim == 1:
        return audio.astype(np.float32, copy=False)
    if audio.ndim != 2:
        raise ParameterError(f"audio must be 1-D or (samples, channels), got shape {audio.shape}")
    return audio.mean(axis=1, dtype=np.float64).astype(np.float32)


def resample(audio, *, source_rate, target_rate):
    """Resample a 1-D signal with scipy's polyphase filter; duration is kept."""
    source_rate = check_sample_rate(source_rate, name="source_rate", highest=SOURCE_RATES[1])
    target_rate = check_sample_rate(target_rate, name="target_rate")
    audio = np.asarray(audio, dtype=np.float32)
    if source_rate == target_rate:
        return audio
    ratio = Fraction(target_rate, source_rate)
    return scipy.signal.resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def normalise_level(audio, *, peak=1.0):
    """Scale a signal so that its largest magnitude is ``peak``.

    Returns ``(scaled, gain)``; dividing by ``gain`` restores the input level.
    A silent signal cannot be normalised and raises :class:`ParameterError`.
    """
    audio = np.asarray(audio, dtype=np.float32)
    largest = float(np.max(np.abs(audio))) if audio.size else 0.0
    if largest == 0.0:
        raise ParameterError("cannot normalise the level of silent audio (every sample is 0)")
    gain = peak / largest
    return (audio * gain).astype(np.float32), gain


def trim_silence(audio, *, sample_rate, threshold_db, frame_seconds=0.02):
    """Cut the start and end of a 1-D signal where it is quieter than the peak.

    A frame of ``frame_seconds`` is silent when its RMS level (about the
    signal's mean: a DC offset is no sound) is more than ``threshold_db``
    decibels below the loudest frame's. Returns the slice
    from the first loud frame to the end of the last; an all-silent signal
    gives an empty array.
    """
    if not np.isfinite(threshold_db) or threshold_db <= 0:
        raise ParameterError(
            f"trim_silence threshold must be a positive number of decibels below "
            f"the peak (for example 40), got {threshold_db!r}"
        )
    audio = np.asarray(audio, dtype=np.float32)
    frame = max(1, int(round(frame_seconds * sample_rate)))
    frames = -(-audio.size // frame)
    if frames == 0:
        return audio
    padded = np.zeros(frames * frame, dtype=np.float32)
    padded[: audio.size] = audio - np.mean(audio, dtype=np.float64)  # an offset is no sound: silence stays silence
    rms = np.sqrt(np.mean(np.square(padded.reshape(frames, frame), dtype=np.float64), axis=1))
    loudest = rms.max()
    if loudest == 0.0:
        return audio[:0]
    loud = np.flatnonzero(rms >= loudest * 10.0 ** (-threshold_db / 20.0))
    return audio[loud[0] * frame: min(audio.size, (loud[-1] + 1) * frame)]


def prediction_window(length):
    """The analysis window of the adaptive linear predictor, oldest sample first: ``(length,)`` float64.

    Asymmetric, as speech coders use (G.729): half a Hann window rising over
    the first three quarters, a quarter cosine falling over the newest
    quarter, so the newest samples weigh much more than in a Hann window.
    """
    length = int(length)
    rise = length - length // 4
    up = 0.5 - 0.5 * np.cos(np.pi * (np.arange(rise) + 0.5) / rise)
    down = np.cos(0.5 * np.pi * (np.arange(length - rise) + 0.5) / max(1, length - rise))
    return np.concatenate([up, down])


PREDICTION_NOISE_FLOOR = 1e-3  # white-noise correction: r[0] is raised by this fraction
PREDICTION_SILENCE = 1e-9  # added to r[0] per unit of window energy, so silence gives zero coefficients
# The smallest residual scale: models saved before it was a setting (ModelConfig.prediction_floor) used
# about one μ-law step at zero, which traps a briefly trained model generating from silence (each sample
# near zero makes the next fit's scale smaller still); new models use ten times it.
PREDICTION_MIN_SCALE = 1e-4
PREDICTION_FLOOR = 1e-3


def adaptive_linear_prediction(values, *, order, window, hop=1, before=None, floor=PREDICTION_FLOOR):
    """Causal adaptive linear prediction of a 1-D signal: the numpy reference.

    At every position ``t`` that is a multiple of ``hop``, ``order``
    coefficients are fitted to the ``window`` values ending at ``values[t]``
    (zeros before the start, or ``before``, oldest first): the analysis
    window of :func:`prediction_window` applied, autocorrelation, a little
    white-noise correction, Yule-Walker solved by scipy (Levinson-Durbin).
    They predict ``values[t + 1]``, ..., ``values[t + hop]``.

    Returns ``(prediction, scale)``, each ``(len(values),)``: position ``t``
    holds the prediction of ``values[t + 1]`` and the Laplace scale of its
    error that the window's residual energy gives, at least ``floor``.
    """
    values = np.asarray(values, dtype=np.float64)
    padding = np.zeros(window - 1) if before is None else np.asarray(before, dtype=np.float64)[-(window - 1):]
    padded = np.concatenate([np.zeros(window - 1 - padding.size), padding, values])
    weights = prediction_window(window)
    energy = float(np.sum(weights ** 2))
    prediction, scale = np.zeros(values.size), np.zeros(values.size)
    for start in range(0, values.size, hop):
        segment = padded[start:start + window] * weights
        correlation = np.array([segment[lag:] @ segment[:window - lag] for lag in range(order + 1)])
        correlation[0] = correlation[0] * (1.0 + PREDICTION_NOISE_FLOOR) + PREDICTION_SILENCE * energy
        coefficients = scipy.linalg.solve_toeplitz(correlation[:-1], correlation[1:])
        residual = max(correlation[0] - coefficients @ correlation[1:], 0.0)
        for t in range(start, min(start + hop, values.size)):
            past = padded[t + window - order:t + window][::-1]  # values[t], values[t - 1], ...
            prediction[t] = coefficients @ past
            scale[t] = max(np.sqrt(residual / energy / 2.0), floor)
    return prediction.astype(np.float32), scale.astype(np.float32)
