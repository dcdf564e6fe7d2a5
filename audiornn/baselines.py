"""Scores that need no network, to tell whether a model learned anything.

Each baseline is fitted only on training classes and scores held-out classes
in bits per sample (the mean of -log2 p(class)):

- uniform: every class equally likely, ``log2(classes)`` bits;
- unigram: the class histogram of the training audio (add-one smoothed);
- linear predictor: a 16th-order predictor of the next decoded μ-law value
  from the previous 16 (Yule-Walker on the training audio), with a Laplace
  residual whose scale follows the recent absolute residuals, integrated
  over each μ-law bin's interval, mixed with a little of the uniform
  distribution (its weight and the scale's smoothing fitted on training).

Pure numpy and scipy. Inputs are lists of 1-D class arrays, one per source
file, so that no prediction reaches across two files.
"""

import math

import numpy as np
import scipy.linalg
import scipy.signal

from . import dsp

__all__ = ["LinearPredictor", "bin_edges", "score_baselines", "unigram_bits", "uniform_bits"]

INITIAL_SCALE = 0.05
MINIMUM_SCALE = 1e-6


def _pieces(classes):
    if isinstance(classes, np.ndarray) and classes.ndim == 1:
        return [classes]
    return [np.asarray(piece) for piece in classes]


def uniform_bits(mu):
    return math.log2(mu + 1)


def unigram_bits(train, test, *, mu):
    """Bits per sample of ``test`` under the add-one smoothed histogram of ``train``."""
    counts = sum(np.bincount(piece.astype(np.int64), minlength=mu + 1) for piece in _pieces(train)) + 1.0
    log_probabilities = np.log2(counts / counts.sum())
    joined = np.concatenate([piece.astype(np.int64) for piece in _pieces(test)])
    return float(-log_probabilities[joined].mean())


def bin_edges(mu):
    """Lower and upper edges ``(mu + 1,)`` in [-inf, inf] of each class's interval of values."""
    boundaries = (np.arange(mu) + 0.5) * (2.0 / mu) - 1.0  # companded decision boundaries
    linear = np.sign(boundaries) * np.expm1(np.abs(boundaries) * np.log1p(mu)) / mu
    return np.concatenate([[-np.inf], linear]), np.concatenate([linear, [np.inf]])


def _laplace_cdf(x, scale):
    z = x / scale
    return np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0)), 1.0 - 0.5 * np.exp(-np.maximum(z, 0)))


class LinearPredictor:
    """A ``order``-th order linear predictor with an adaptive Laplace residual."""

    def __init__(self, *, mu=255, order=16, smoothing=(0.02, 0.05, 0.1, 0.2, 0.4),
                 uniform_weights=(1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5, 0.9, 0.999)):
        self.mu, self.order = mu, order
        self.smoothing_grid, self.uniform_grid = smoothing, uniform_weights
        self.lower, self.upper = bin_edges(mu)
        self.values = dsp.mu_law_decode(np.arange(mu + 1), mu=mu).astype(np.float64)

    def fit_filter(self, train):
        """Fit the predictor's coefficients (Yule-Walker) and the mean absolute residual on ``train``."""
        pieces = _pieces(train)
        signals = [self.values[piece.astype(np.int64)] for piece in pieces]
        correlation = np.zeros(self.order + 1)
        for signal in signals:
            full = scipy.signal.correlate(signal, signal, mode="full", method="fft")
            middle = signal.size - 1
            lags = full[middle:middle + self.order + 1]
            correlation[:lags.size] += lags
        correlation[0] *= 1.0 + 1e-6  # a touch of regularisation keeps the system well posed
        self.coefficients = scipy.linalg.solve_toeplitz(correlation[:-1], correlation[1:])
        residuals = np.concatenate([np.abs(signal - self._predict(signal)) for signal in signals])
        self.residual_scale = float(max(residuals.mean(), MINIMUM_SCALE))
        return self

    def synthesise(self, samples, *, seed=0):
        """``samples`` classes of the predictor's own audio: its all-pole filter driven by Laplace
        noise of the fitted residual scale (what knows only the average short-term spectrum)."""
        noise = np.random.default_rng(seed).laplace(scale=self.residual_scale, size=int(samples))
        signal = scipy.signal.lfilter([1.0], np.concatenate([[1.0], -self.coefficients]), noise)
        return dsp.mu_law_encode(np.clip(signal, -1.0, 1.0), mu=self.mu)

    def fit(self, train, *, max_fit_samples=2_000_000):
        """Fit the predictor (Yule-Walker), then the residual scale's smoothing and the
        weight of a uniform mixture on (at most ``max_fit_samples`` of) ``train``."""
        self.fit_filter(train)
        pieces = _pieces(train)
        # Grid search on an evenly spread subset of the training files.
        step = max(1, int(sum(piece.size for piece in pieces) // max_fit_samples))
        subset = pieces[::step] if len(pieces) > step else [pieces[0][:max_fit_samples]]
        best = None
        for alpha in self.smoothing_grid:
            laplace = np.concatenate([self._laplace_probability(piece, alpha) for piece in subset])
            for weight in self.uniform_grid:
                bits = float(self._mix(laplace, weight).mean())
                if best is None or bits < best[0]:
                    best = (bits, alpha, weight)
        _, self.smoothing, self.uniform_weight = best
        return self

    def _predict(self, signal):
        # prediction[n] = sum_k a_k * signal[n - 1 - k]
        return scipy.signal.lfilter(np.concatenate([[0.0], self.coefficients]), [1.0], signal)

    def _laplace_probability(self, classes, alpha):
        """Probability of each class under the Laplace residual, before mixing."""
        classes = classes.astype(np.int64)
        signal = self.values[classes]
        prediction = self._predict(signal)
        # Scale (mean absolute residual) from past residuals only: an exponential
        # average, shifted by one sample.
        average = scipy.signal.lfilter([alpha], [1.0, -(1.0 - alpha)], np.abs(signal - prediction),
                                       zi=[(1.0 - alpha) * INITIAL_SCALE])[0]
        scale = np.maximum(np.concatenate([[INITIAL_SCALE], average[:-1]]), MINIMUM_SCALE)
        probability = _laplace_cdf(self.upper[classes] - prediction, scale) \
            - _laplace_cdf(self.lower[classes] - prediction, scale)
        return np.clip(probability, 0.0, 1.0)

    def _mix(self, laplace, weight):
        return -np.log2((1.0 - weight) * laplace + weight / (self.mu + 1))

    def bits(self, test):
        """Bits per sample of ``test`` (classes, or a list of per-file class arrays)."""
        return float(np.concatenate([
            self._mix(self._laplace_probability(piece, self.smoothing), self.uniform_weight)
            for piece in _pieces(test)]).mean())


def score_baselines(train, test, *, mu=255, order=16):
    """``{"uniform", "unigram", "linear_predictor"}`` bits per sample of ``test``, fitted on ``train``."""
    return {
        "uniform": uniform_bits(mu),
        "unigram": unigram_bits(train, test, mu=mu),
        f"linear_predictor_{order}": LinearPredictor(mu=mu, order=order).fit(train).bits(test),
    }
