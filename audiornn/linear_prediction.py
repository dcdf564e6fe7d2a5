"""The adaptive linear predictor in Keras ops: what the model computes inside training, scoring and generation.

At each position, ``order`` coefficients are fitted to the last ``window``
decoded values (the audio is already pre-emphasised by the dataset): the
analysis window of :func:`audiornn.dsp.prediction_window`, autocorrelation,
white-noise correction, Levinson-Durbin. They predict the next value, and the
residual energy they leave gives the Laplace scale of its error. The numpy
reference, which the tests compare with, is :func:`audiornn.dsp.adaptive_linear_prediction`.

Shapes: ``segments`` are ``(..., window)`` oldest value first, or newest
first (the autocorrelation of a reversed segment is the same, and the window
is reversed with it); ``recent`` is ``(..., order)``, newest first.
"""

import numpy as np
from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
from keras import ops

from . import backend, dsp

__all__ = ["fit_predictor", "fit_to_frames", "levinson_durbin", "predict"]


def levinson_durbin(correlation, order):
    """Yule-Walker by Levinson-Durbin over leading dims: ``(..., order + 1)`` -> coefficients ``(..., order)``
    (the first weighs the newest value) and the residual energy ``(...,)``."""
    coefficients, error = None, correlation[..., 0]
    for index in range(order):
        accumulated = correlation[..., index + 1]
        if index:
            accumulated = accumulated - ops.sum(coefficients * ops.flip(correlation[..., 1:index + 1], axis=-1),
                                                axis=-1)
        reflection = (accumulated / error)[..., None]
        coefficients = reflection if coefficients is None else ops.concatenate(
            [coefficients - reflection * ops.flip(coefficients, axis=-1), reflection], axis=-1)
        error = ops.maximum(error * (1.0 - reflection[..., 0] ** 2), 0.0)
    return coefficients, error


def fit_predictor(segments, order, *, floor=dsp.PREDICTION_FLOOR, newest_first=False):
    """Coefficients ``(..., order)`` and Laplace scales ``(...,)``, at least ``floor``, fitted to ``segments``
    ``(..., window)``."""
    window = int(segments.shape[-1])
    weights = dsp.prediction_window(window)
    energy = float(np.sum(weights ** 2))
    weights = ops.convert_to_tensor((weights[::-1] if newest_first else weights).astype("float32"))
    weighted = segments * weights
    correlation = ops.stack([ops.sum(weighted[..., lag:] * weighted[..., :window - lag], axis=-1)
                             for lag in range(order + 1)], axis=-1)
    energy_0 = correlation[..., :1] * (1.0 + dsp.PREDICTION_NOISE_FLOOR) + dsp.PREDICTION_SILENCE * energy
    correlation = ops.concatenate([energy_0, correlation[..., 1:]], axis=-1)
    coefficients, residual = levinson_durbin(correlation, order)
    scale = ops.maximum(ops.sqrt(residual / (2.0 * energy)), floor)
    return coefficients, scale


def fit_to_frames(frames, matrices, order, *, floor=dsp.PREDICTION_FLOOR):
    """Coefficients ``(..., order)`` and Laplace scales ``(...,)`` from log-mel ``frames`` ``(..., bands)``:
    the spectral envelope each frame describes (``matrices`` from
    :func:`audiornn.features.envelope_matrices`) to its autocorrelation, white-noise
    correction, Levinson-Durbin (LPCNet's prediction from the features). The
    scale is the residual power the envelope leaves for audio of peak 1."""
    to_bins, to_lags, variance = matrices
    # Sums over one axis, not matrix products, and in float64 where the backend has it: a stream vocoded in
    # chunks gets the very coefficients it gets in one pass (float32 products rounded otherwise for another
    # number of frames, on TensorFlow, and a sampled stream parts at the first near tie).
    wide = backend.wide_float()
    power = ops.exp(ops.sum(ops.cast(frames, wide)[..., :, None] * ops.cast(to_bins, wide), axis=-2))
    correlation = ops.sum(power[..., :, None] * ops.cast(to_lags, wide), axis=-2)
    correlation = ops.concatenate([correlation[..., :1] * (1.0 + dsp.PREDICTION_NOISE_FLOOR), correlation[..., 1:]],
                                  axis=-1)
    coefficients, residual = levinson_durbin(correlation, order)
    scale = ops.maximum(ops.sqrt(residual * (variance / 2.0)), floor)
    return ops.cast(coefficients, "float32"), ops.cast(scale, "float32")


def predict(coefficients, recent):
    """The next value from coefficients and the ``order`` most recent values (newest first): ``(...,)``."""
    return ops.sum(coefficients * recent, axis=-1)
